//! A blob's bytes between the network and the store's blocking reads and writes: a download
//! (from a file or a bucket) as a response body, and an upload's body as a `Read` that the
//! store streams to where blobs live. Neither holds more than a few chunks.

use axum::body::{Body, Bytes};
use futures_util::StreamExt;

use crate::error::{RelayError, Result};

/// Chunks in flight between the network and the store, each way.
const IN_FLIGHT: usize = 4;

/// The bytes `reader` gives, a chunk at a time: one blocking task reads and feeds the response,
/// and stops when the client goes.
pub(super) fn chunks_of(
    mut reader: Box<dyn std::io::Read + Send>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut chunk = vec![0u8; 64 * 1024];
            let sent = match reader.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    chunk.truncate(n);
                    tx.blocking_send(Ok(chunk))
                }
                Err(e) => tx.blocking_send(Err(e)),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// An upload's body as a blocking `Read` (`BodyReader`), and the task that feeds it from the
/// network (`pump`). The pump holds the body to `limit` bytes and `deadline` for all of it; it
/// returns why it stopped feeding when that is the body's fault (too large, too slow, broken
/// off), which says more than the reader's side ever can. A reader dropped early (the store
/// refused the upload) stops the pump quietly.
pub(super) fn incoming(
    body: Body,
    limit: u64,
    deadline: std::time::Duration,
) -> (
    BodyReader,
    impl std::future::Future<Output = Result<()>> + Send,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(IN_FLIGHT);
    let pump = async move {
        let mut stream = body.into_data_stream();
        let mut received = 0u64;
        let fed = tokio::time::timeout(deadline, async {
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx
                            .send(Err(std::io::Error::other("the upload broke off")))
                            .await;
                        return Err(RelayError::BadRequest(format!("the upload broke off: {e}")));
                    }
                };
                received += chunk.len() as u64;
                if received > limit {
                    let _ = tx.send(Err(std::io::Error::other("over its size"))).await;
                    return Err(super::authed::too_large(limit));
                }
                if tx.send(Ok(chunk)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })
        .await;
        match fed {
            Ok(result) => result,
            Err(_) => {
                let _ = tx.try_send(Err(std::io::Error::other("too slow")));
                Err(RelayError::Timeout)
            }
        }
    };
    (
        BodyReader {
            rx,
            chunk: Bytes::new(),
        },
        pump,
    )
}

/// An upload's body, read on a blocking thread as the network brings it.
pub(crate) struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    chunk: Bytes,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}
