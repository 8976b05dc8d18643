//! Uploads as an unlucky or hostile member sends them: bytes other than it signed for, or a
//! body that breaks off.

use crate::support::*;

/// `acc` signs an upload of `honest` to `path` and sends the same bytes but for the last one,
/// flipped: the answer's status and code.
pub async fn forged_upload(acc: &Account, path: &str, honest: &[u8]) -> (u16, String) {
    let mut forged = honest.to_vec();
    *forged.last_mut().unwrap() ^= 1;
    let r = acc
        .signed_as(&acc.base, "PUT", path, honest, now_ms(), &Account::nonce())
        .body(forged)
        .send()
        .await
        .unwrap();
    status_and_code(r).await
}

/// `acc` signs an upload of `honest` to `path`, sends its first `sent` bytes and breaks off;
/// whether the relay still answered it `201`.
pub async fn broken_off_upload(acc: &Account, path: &str, honest: &[u8], sent: usize) -> bool {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(honest[..sent].to_vec()),
        Err(std::io::Error::other("the laptop's lid closed")),
    ];
    let answer = acc
        .signed_as(&acc.base, "PUT", path, honest, now_ms(), &Account::nonce())
        .header(reqwest::header::CONTENT_LENGTH, honest.len())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    answer.is_ok_and(|r| r.status() == 201)
}
