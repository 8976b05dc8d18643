//! A relay on a thread of its own, with its own runtime: for a program that is not async (the
//! desktop app's embedded local relay, tests, benches). It stops, gracefully, when dropped.

use std::net::SocketAddr;

use crate::config::RelayConfig;

#[derive(Debug)]
pub struct Background {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves on `listener` (already bound, so the caller knows the port) until dropped.
    pub fn start(listener: std::net::TcpListener, config: RelayConfig) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("consilium-relay")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("consilium-relay".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return tracing::error!(error = %e, "relay listener"),
                    };
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    if let Err(e) = crate::server::run(listener, config, shutdown).await {
                        tracing::error!(error = %e, "relay stopped on an error");
                    }
                });
            })?;
        Ok(Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
