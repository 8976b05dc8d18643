//! Writes on PostgreSQL: a fixed set of threads takes operations from one bounded queue and
//! runs each in a transaction of its own (`sql::postgres::write`), so the async side never
//! blocks on the database, and a database that stalls fills the queue instead of memory: past
//! `MAX_QUEUED` a write is answered `busy` at once.

use std::sync::{Arc, Mutex, mpsc};

use super::group_commit::Pending;
use super::sql::{self, Sql};
use crate::error::{RelayError, Result};

/// Operations waiting for a thread at most.
const MAX_QUEUED: usize = 1024;

type Job = Box<dyn FnOnce(&sql::postgres::Pool) + Send>;

#[derive(Debug)]
pub(super) struct ConcurrentWrites {
    jobs: Option<mpsc::SyncSender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for ConcurrentWrites {
    /// Lets the threads finish the queued work before returning.
    fn drop(&mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl ConcurrentWrites {
    pub(super) fn start(pool: sql::postgres::Pool, threads: u32) -> Result<ConcurrentWrites> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let queue = Arc::new(Mutex::new(queue));
        let threads = (0..threads.max(1))
            .map(|i| {
                let (queue, pool) = (Arc::clone(&queue), pool.clone());
                std::thread::Builder::new()
                    .name(format!("relay-writer-{i}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only to take the next job.
                            let job = match queue.lock() {
                                Ok(queue) => queue.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(&pool),
                                Err(_) => return,
                            }
                        }
                    })
                    .map_err(|e| RelayError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConcurrentWrites {
            jobs: Some(jobs),
            threads,
        })
    }

    /// Queues `op`; the answer comes once its transaction committed (or failed for good).
    pub(super) fn submit<T: Send + 'static>(
        &self,
        op: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        let (reply, pending) = Pending::channel();
        let job: Job = Box::new(move |pool| {
            let _ = reply.send(sql::postgres::write(pool, &op));
        });
        match self.jobs.as_ref().map(|q| q.try_send(job)) {
            Some(Ok(())) => pending,
            Some(Err(mpsc::TrySendError::Full(_))) => Pending::ready(Err(RelayError::Busy)),
            Some(Err(mpsc::TrySendError::Disconnected(_))) | None => {
                Pending::ready(Err(RelayError::Internal("the writers have stopped".into())))
            }
        }
    }
}
