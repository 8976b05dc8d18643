//! The accept loop: connections capped and timed, TLS inside each connection's task, the routes
//! served over hyper, a graceful shutdown, and the background pruning.

use std::future::Future;
use std::sync::Arc;

use consilium_model::Clock;

use crate::admission::{Admission, Admitted};
use crate::config::{RelayConfig, default_origins};
use crate::error::RelayError;
use crate::{limits, routes, stall, store};

/// Serves the relay on `listener` until `shutdown` completes, then finishes the requests in
/// flight (for at most the configured grace period) and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener as _;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

    let mut config = config;
    // Several instances share records and blobs: a data folder is one machine's alone (and its
    // blob sweep, without grace, would take another instance's upload in flight).
    if config.instances > 1
        && (config.database == crate::store::DatabaseLocation::DataFolder
            || config.blobs == crate::store::BlobLocation::Folder)
    {
        return Err(std::io::Error::other(
            "several instances (--instances) need a shared database and bucket: \
             --database postgres://… and --blobs s3://…",
        ));
    }
    // A body the CBOR decoder would refuse anyway is refused as too large before it is read.
    config.max_request_bytes = config
        .max_request_bytes
        .min(consilium_model::codec::MAX_DOCUMENT_BYTES);
    let mut origins: Vec<String> = config
        .origins
        .iter()
        .map(|o| consilium_model::wire::origin(o))
        .collect();
    origins.extend(default_origins(
        listener.local_addr()?,
        config.tls.is_some(),
    ));
    origins.sort();
    origins.dedup();
    config.origins = origins;
    let local = listener.local_addr()?;
    if config.admission == Admission::Open && !local.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "open admission lets any key use the relay: allowed only on a loopback address, not {local}"
        )));
    }
    let store = store::Store::open_in(&config.data_dir, &config.database, &config.blobs)
        .map_err(starting)?;
    let admitted = Arc::new(Admitted::new(
        config.admission,
        store.admitted_accounts().map_err(starting)?,
        store.revoked_accounts().map_err(starting)?,
    ));
    let grace = config.shutdown_grace;
    // Each instance counts alone: its share of the relay's rates.
    let share = |rate: u32| (rate / config.instances.max(1)).max(1);
    let limiter = Arc::new(limits::RateLimiter::new(
        share(config.rate_burst),
        share(config.rate_per_second),
    ));
    let tls = match &config.tls {
        Some((cert, key)) => Some(limits::tls_acceptor(cert, key)?),
        None => None,
    };
    let mut listener = limits::LimitedListener::new(
        listener,
        config.max_connections,
        config.max_connections_per_address,
        tls,
        config.trusted_proxies.clone(),
    );
    let store = Arc::new(store);
    let pruner = tokio::spawn(prune_forever(
        store.clone(),
        config.clock.clone(),
        config.retention,
        config.prune_every,
    ));
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let uploading = Arc::new(tokio::sync::Semaphore::new(
        usize::try_from(config.max_uploading_bytes / 1024)
            .unwrap_or(usize::MAX)
            .min(tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let hub: Arc<crate::push::PushHub> = Arc::default();
    let listener_of_instances = tokio::spawn(crate::wakeups::listen(
        store.clone(),
        crate::wakeups::Listeners {
            hub: hub.clone(),
            admitted: admitted.clone(),
        },
        config.clock.clone(),
    ));
    let config_uploads = config.max_uploads;
    let state = routes::AppState {
        store,
        config: Arc::new(config),
        hub,
        limiter,
        admitted,
        uploading,
        uploads: Arc::new(tokio::sync::Semaphore::new(
            config_uploads.min(tokio::sync::Semaphore::MAX_PERMITS),
        )),
        health: Arc::default(),
    };
    let (idle, write_stall) = (state.config.idle_timeout, state.config.write_stall_timeout);
    let app = routes::router(state);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let io = stall::Deadlined::new(io, idle, write_stall);
                let conn = http.serve_connection_with_upgrades(TokioIo::new(io), service);
                let conn = connections.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("connections still open after the shutdown grace period; stopping anyway");
        }
    }
    pruner.abort();
    listener_of_instances.abort();
    Ok(())
}

async fn prune_forever(
    store: Arc<store::Store>,
    clock: Arc<dyn Clock>,
    retention: std::time::Duration,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    // Nonces outside the signature window are useless; forget them often so the table stays
    // small under load.
    let mut nonce_tick = tokio::time::interval(std::time::Duration::from_secs(30));
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        let full = tokio::select! {
            _ = tick.tick() => true,
            _ = nonce_tick.tick() => false,
        };
        let (store, now) = (store.clone(), clock.now().0);
        let done = tokio::task::spawn_blocking(move || {
            store.forget_expired_nonces(now).wait()?;
            store.forget_wakeups(now)?;
            if full {
                store.prune(now, retention_ms)?;
            }
            Ok::<_, RelayError>(())
        })
        .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "pruning failed");
        }
    }
}

/// A store that cannot open stops the relay with what went wrong (an internal error's detail
/// is the operator's to read, not hidden as it is from clients).
fn starting(e: crate::error::RelayError) -> std::io::Error {
    std::io::Error::other(e.detail())
}
