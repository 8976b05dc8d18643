//! Group commit: one writer thread owns the write connection and applies the write operations
//! waiting at that moment in one SQLite transaction, each inside its own savepoint, then commits
//! (one fsync) and only then answers each of them. An operation that fails is rolled back to its
//! savepoint alone; a commit that fails fails every operation of the batch. So every answer still
//! means "on disk", and many concurrent writers share one fsync instead of queueing for one each.

use std::sync::mpsc;

use tokio::sync::oneshot;

use rusqlite::Connection;

use crate::error::{RelayError, Result};

/// Operations applied in one transaction at most.
const MAX_BATCH: usize = 256;

/// Operations waiting for the writer at most; past it a write is answered `busy` at once, so a
/// stuck disk or a flood cannot make the queue (and the request bodies it holds) grow without
/// bound.
const MAX_QUEUED: usize = 1024;

/// How to answer an operation once its batch's fate is known.
type Respond = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;

/// A queued operation: run inside the batch's transaction (`Some`), or told that the batch could
/// not run (`None`, with the reason). When it ran, it says whether it succeeded (else its
/// savepoint is rolled back) and how to answer after the commit.
type Job =
    Box<dyn FnOnce(std::result::Result<&Connection, &str>) -> Option<(bool, Respond)> + Send>;

/// The sending side of the writer thread; dropping it stops the thread after the queued work.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: Option<mpsc::SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Lets the thread finish the queued work and close the connection before returning.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    pub(super) fn start(conn: Connection) -> Result<Writer> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let thread = std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || write_forever(conn, &queue))
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues `op` for the next batch; the answer comes once the batch is committed.
    pub(super) fn submit<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        let (reply, answer) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| match conn {
            Err(why) => {
                let _ = reply.send(Err(RelayError::Internal(why.to_string())));
                None
            }
            Ok(conn) => {
                let outcome = op(conn);
                let ok = outcome.is_ok();
                let respond: Respond = Box::new(move |committed| {
                    let _ = reply.send(committed.map_err(RelayError::Internal).and(outcome));
                });
                Some((ok, respond))
            }
        });
        match self.jobs.as_ref().map(|q| q.try_send(job)) {
            Some(Ok(())) => Pending(Some(answer)),
            Some(Err(mpsc::TrySendError::Full(_))) => Pending::ready(Err(RelayError::Busy)),
            Some(Err(mpsc::TrySendError::Disconnected(_))) | None => Pending(None),
        }
    }
}

/// The answer to a queued write: `.await` it on the async side, or [`Pending::wait`] on a
/// blocking thread.
#[derive(Debug)]
#[must_use = "a write is only known to be on disk once its answer arrives"]
pub struct Pending<T>(Option<oneshot::Receiver<Result<T>>>);

fn stopped() -> RelayError {
    RelayError::Internal("the writer has stopped".into())
}

impl<T> Pending<T> {
    /// Blocks until the answer arrives (not from an async task).
    pub fn wait(self) -> Result<T> {
        self.0
            .ok_or_else(stopped)?
            .blocking_recv()
            .map_err(|_| stopped())?
    }

    /// A pending answer and where to send it.
    pub(super) fn channel() -> (oneshot::Sender<Result<T>>, Pending<T>) {
        let (reply, answer) = oneshot::channel();
        (reply, Pending(Some(answer)))
    }

    /// An answer known before anything was queued (a request refused on its face).
    pub(super) fn ready(result: Result<T>) -> Pending<T> {
        let (reply, answer) = oneshot::channel();
        let _ = reply.send(result);
        Pending(Some(answer))
    }
}

impl<T: Send + 'static> std::future::IntoFuture for Pending<T> {
    type Output = Result<T>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.0.ok_or_else(stopped)?.await.map_err(|_| stopped())? })
    }
}

fn write_forever(conn: Connection, queue: &mpsc::Receiver<Job>) {
    let conn = &conn;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        apply(conn, batch);
    }
}

fn apply(conn: &Connection, batch: Vec<Job>) {
    let mut broken: Option<String> = conn
        .execute_batch("BEGIN IMMEDIATE")
        .err()
        .map(|e| e.to_string());
    let began = broken.is_none();
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if broken.is_none() {
            broken = conn
                .execute_batch("SAVEPOINT op")
                .err()
                .map(|e| e.to_string());
        }
        if let Some(why) = &broken {
            job(Err(why));
            continue;
        }
        let Some((ok, respond)) = job(Ok(conn)) else {
            continue;
        };
        let end = if ok {
            "RELEASE op"
        } else {
            "ROLLBACK TO op; RELEASE op"
        };
        broken = conn.execute_batch(end).err().map(|e| e.to_string());
        answers.push(respond);
    }
    let committed = match broken {
        None => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
        Some(why) => Err(why),
    };
    if committed.is_err() && began {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(why) = &committed {
        tracing::error!(error = %why, "a write batch failed; its operations were refused");
    }
    for respond in answers {
        respond(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// While the writer is stuck (a slow disk), the queue of writes does not grow without bound:
    /// past its capacity a write is answered `busy` at once, and everything queued before still
    /// goes through once the writer moves again.
    #[test]
    fn a_full_write_queue_answers_busy_instead_of_growing() {
        let writer = Writer::start(Connection::open_in_memory().unwrap()).unwrap();
        let (started, wait_started) = std::sync::mpsc::channel();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let first = writer.submit(move |_| {
            started.send(()).unwrap();
            held.recv().unwrap();
            Ok(())
        });
        wait_started.recv().unwrap();
        let mut queued = Vec::new();
        let mut busy = None;
        for i in 0..100_000 {
            let mut p = writer.submit(|_| Ok(()));
            if let Some(Ok(Err(RelayError::Busy))) = p.0.as_mut().map(|answer| answer.try_recv()) {
                busy = Some(i);
                break;
            }
            queued.push(p);
        }
        let at = busy.expect("the queue refuses writes past its capacity");
        assert!(at <= MAX_QUEUED, "busy after {at} queued writes");
        release.send(()).unwrap();
        first.wait().unwrap();
        for p in queued {
            p.wait().unwrap();
        }
    }
}
