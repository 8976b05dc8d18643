//! Blobs in a real S3-protocol server (moto's): what the relay keeps there, what a member reads
//! back, what a wrong digest leaves (nothing), and a bucket outage, which answers `busy` for
//! blobs alone while the circles' messages go on (health says what is down), and passes by
//! itself: an upload tried again after it goes through.

use consilium_relay::store::{BlobLocation, BucketAddress};
use consilium_testkit::services::S3Server;

use crate::support::*;
use crate::uploads::{broken_off_upload, forged_upload};

pub fn bucket_of(s3: &S3Server, prefix: &str) -> BlobLocation {
    BlobLocation::Bucket(BucketAddress {
        bucket: s3.bucket.clone(),
        prefix: prefix.into(),
        endpoint: Some(s3.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some("consilium-test".into()),
        secret_access_key: Some("consilium-test-secret".into()),
        allow_http: true,
    })
}

/// The bucket as any S3 client sees it (signed requests).
fn client_of(s3: &S3Server) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_endpoint(s3.endpoint())
        .with_region("us-east-1")
        .with_access_key_id("consilium-test")
        .with_secret_access_key("consilium-test-secret")
        .with_allow_http(true)
        .build()
        .unwrap()
}

/// Whether the bucket holds `key`.
async fn holds(s3: &S3Server, key: &str) -> bool {
    use object_store::ObjectStoreExt;
    match client_of(s3)
        .head(&object_store::path::Path::from(key))
        .await
    {
        Ok(_) => true,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(e) => panic!("asking the bucket: {e}"),
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_live_in_the_bucket_whole_or_not_at_all_and_an_outage_is_busy_for_blobs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut s3 = S3Server::start();
    let blobs = bucket_of(&s3, "relay/one");
    let relay = start_with(dir.path(), |c| c.blobs = blobs).await;
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;

    // A 3 MiB image's ciphertext: in the bucket under its id, read back whole by a member.
    let image: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let id = sha(&image);
    let (status, _) = alice_acc
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/blobs/{id}"),
            image.clone(),
        )
        .await;
    assert_eq!(status, 201);
    assert!(
        holds(&s3, &format!("relay/one/{id}")).await,
        "the object is in the bucket under the relay's prefix"
    );
    assert!(
        !std::fs::read_dir(dir.path().join("blobs"))
            .map(|d| d.count() > 0)
            .unwrap_or(false),
        "nothing of it on the relay's disk"
    );
    let (status, body) = bob_acc
        .send("GET", &format!("/v1/blobs/{id}"), vec![])
        .await;
    assert_eq!(status, 200);
    assert!(body == image, "the member reads the same bytes back");

    // Bytes that are not what their id says are refused and leave nothing in the bucket.
    let forged = b"not the bytes of this id".to_vec();
    let claimed = sha(b"something else");
    let (status, body) = alice_acc
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{claimed}"), forged)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "digest_mismatch")
    );
    assert!(!holds(&s3, &format!("relay/one/{claimed}")).await);

    // Withdrawn: gone from the bucket too.
    let (status, _) = alice_acc
        .send("DELETE", &format!("/v1/groups/{gid}/blobs/{id}"), vec![])
        .await;
    assert_eq!(status, 204);
    assert!(!holds(&s3, &format!("relay/one/{id}")).await);

    // The bucket goes away: blob uploads are `busy` (the client tries again), and the circle's
    // messages still go through.
    s3.stop();
    let later = vec![5u8; 4096];
    let later_id = sha(&later);
    let (status, body) = alice_acc
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/blobs/{later_id}"),
            later.clone(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (503, "busy"));
    let message = ga
        .create_message(&alice.provider, &alice.signer, b"still here")
        .unwrap();
    let (status, _) = alice_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&bundle(bytes(&message))).unwrap(),
        )
        .await;
    assert_eq!(status, 200, "messages go on while the bucket is down");
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    let (status, body) = (r.status().as_u16(), r.text().await.unwrap());
    assert_eq!(status, 503);
    assert!(
        body.contains("busy") && body.contains("blob storage"),
        "{body}"
    );

    // The bucket is back: the upload tried again goes through, and health says so (once its
    // last answer is older than the two seconds it is reused for).
    s3.restart();
    let (status, _) = alice_acc
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/blobs/{later_id}"),
            later.clone(),
        )
        .await;
    assert_eq!(status, 201, "the upload tried again after the outage");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    relay.stop().await;
}

/// The object's ETag: an object put in one request has an MD5's, one completed from `n` parts
/// ends in `-n`.
async fn etag(s3: &S3Server, key: &str) -> String {
    use object_store::ObjectStoreExt;
    let meta = client_of(s3)
        .head(&object_store::path::Path::from(key))
        .await
        .unwrap();
    meta.e_tag.unwrap_or_default()
}

/// Waits (up to 10 s) until the bucket holds no unfinished upload: the relay aborts a refused
/// one after its answer may have gone.
async fn no_open_uploads(s3: &S3Server) -> bool {
    for _ in 0..100 {
        if s3.open_uploads() == 0 {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_blob_streams_up_in_parts_and_one_that_is_not_its_id_or_breaks_off_leaves_nothing()
{
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start();
    let blobs = bucket_of(&s3, "big");
    let relay = start_with(dir.path(), |c| c.blobs = blobs).await;
    let (alice_acc, _alice, _ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;

    // A 20 MiB scan goes up as it arrives, in parts, and is read back whole.
    let scan: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let id = sha(&scan);
    let path = format!("/v1/groups/{gid}/blobs/{id}");
    let (status, body) = alice_acc.send("PUT", &path, scan.clone()).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let tag = etag(&s3, &format!("big/{id}")).await;
    assert!(
        tag.trim_matches('"').ends_with("-3"),
        "20 MiB went up as three parts, not buffered and put whole: ETag {tag}"
    );
    let (status, body) = bob_acc
        .send("GET", &format!("/v1/blobs/{id}"), vec![])
        .await;
    assert_eq!(status, 200);
    assert!(body == scan, "read back whole");

    // A member signs for one 20 MiB blob and sends other bytes, which differ only at their
    // end: the parts already sent are dropped and nothing appears under the id.
    let honest: Vec<u8> = scan.iter().map(|b| b ^ 0x5a).collect();
    let honest_id = sha(&honest);
    let path = format!("/v1/groups/{gid}/blobs/{honest_id}");
    assert_eq!(
        forged_upload(&alice_acc, &path, &honest).await,
        (400, "digest_mismatch".into())
    );
    assert!(!holds(&s3, &format!("big/{honest_id}")).await);
    assert!(
        no_open_uploads(&s3).await,
        "the forged upload's parts were dropped"
    );

    // An upload that breaks off after 12 MiB leaves nothing either.
    assert!(!broken_off_upload(&alice_acc, &path, &honest, 12 * 1024 * 1024).await);
    assert!(!holds(&s3, &format!("big/{honest_id}")).await);
    assert!(
        no_open_uploads(&s3).await,
        "the broken upload's parts were dropped"
    );

    // The honest upload of those bytes then goes through.
    let (status, _) = alice_acc.send("PUT", &path, honest).await;
    assert_eq!(status, 201);
    relay.stop().await;
}
