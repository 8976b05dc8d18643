//! Abuse limits that never take the relay down: a request-rate token bucket per account, and a
//! cap on open connections in all and per client address (over either, a connection gets a 503
//! `{code, message}` and is closed at once), so one host cannot take every slot.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::proxy_protocol;

/// Above this many known accounts, full buckets are forgotten (at most once a second).
const SWEEP_ABOVE: usize = 100_000;
/// Accounts tracked at most (about 80 MB); a new account past it is refused until some go idle.
const MAX_ACCOUNTS: usize = 1_000_000;

/// Per-account token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_account: HashMap<Account, (f64, i64)>,
    /// When full buckets were last forgotten, and how many times that has been done.
    swept_at: i64,
    sweeps: u64,
}

impl RateLimiter {
    pub fn new(burst: u32, per_second: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            buckets: Mutex::new(Buckets::default()),
        }
    }

    /// Takes one token for `account` at time `now_ms`, or refuses with `rate_limited`.
    pub fn check(&self, account: &Account, now_ms: i64) -> Result<()> {
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| RelayError::Internal("limiter poisoned".into()))?;
        let swept_long_ago = buckets.sweeps == 0 || now_ms.abs_diff(buckets.swept_at) >= 1000;
        if buckets.by_account.len() > SWEEP_ABOVE && swept_long_ago {
            // Forget full buckets (accounts idle long enough to have refilled) so the map cannot
            // grow without bound; at most once a second, so a request stays a map lookup.
            let (burst, rate) = (self.burst, self.per_second);
            buckets
                .by_account
                .retain(|_, (tokens, at)| *tokens + (now_ms - *at) as f64 / 1000.0 * rate < burst);
            buckets.sweeps += 1;
            buckets.swept_at = now_ms;
        }
        if buckets.by_account.len() >= MAX_ACCOUNTS && !buckets.by_account.contains_key(account) {
            // A flood of fresh keys, all active: newcomers wait; known accounts go on.
            return Err(RelayError::RateLimited);
        }
        let (tokens, at) = buckets
            .by_account
            .entry(*account)
            .or_insert((self.burst, now_ms));
        let refilled =
            (*tokens + (now_ms - *at).max(0) as f64 / 1000.0 * self.per_second).min(self.burst);
        *at = now_ms;
        if refilled < 1.0 {
            *tokens = refilled;
            return Err(RelayError::RateLimited);
        }
        *tokens = refilled - 1.0;
        Ok(())
    }
}

/// A listener that holds at most `max` connections open, and at most `per_address` from one
/// client address, optionally speaking TLS.
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    per_address: usize,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    tls: Option<TlsAcceptor>,
    /// Load balancers whose connections start with a PROXY v1 line naming the client.
    trusted_proxies: Vec<IpAddr>,
}

/// One connection's count against its address, given back when the connection closes.
struct AddressSlot {
    address: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressSlot {
    /// A slot for `address`, if it holds fewer than `max` connections.
    fn take(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        address: IpAddr,
        max: usize,
    ) -> Option<AddressSlot> {
        let mut map = counts.lock().unwrap_or_else(|p| p.into_inner());
        let held = map.entry(address).or_insert(0);
        if *held >= max {
            return None;
        }
        *held += 1;
        Some(AddressSlot {
            address,
            counts: counts.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = map.get_mut(&self.address) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                map.remove(&self.address);
            }
        }
    }
}

impl std::fmt::Debug for LimitedListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitedListener")
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl LimitedListener {
    pub fn new(
        inner: TcpListener,
        max: usize,
        per_address: usize,
        tls: Option<TlsAcceptor>,
        trusted_proxies: Vec<IpAddr>,
    ) -> LimitedListener {
        LimitedListener {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            per_address,
            by_address: Arc::default(),
            tls,
            trusted_proxies,
        }
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 77\r\n\r\n{\"code\":\"too_many_connections\",\"message\":\"the relay is busy; try again later\"}";

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (mut stream, addr) = match self.inner.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            // From a trusted balancer the client's address comes in the connection's first line,
            // read in the connection's own task; its share is counted then.
            if self.trusted_proxies.contains(&addr.ip()) {
                let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                    tokio::spawn(async move {
                        let _ = stream.write_all(BUSY).await;
                        let _ = stream.shutdown().await;
                    });
                    continue;
                };
                return (
                    LimitedStream {
                        conn: Conn::Proxied {
                            stream: Some(stream),
                            line: Vec::with_capacity(proxy_protocol::MAX_HEADER_BYTES),
                            proxy: addr.ip(),
                            tls: self.tls.clone(),
                            counts: self.by_address.clone(),
                            per_address: self.per_address,
                        },
                        _permit: permit,
                        _address_slot: None,
                    },
                    addr,
                );
            }
            // The address's share first: a host over it never takes a slot from the others.
            let slots = AddressSlot::take(&self.by_address, addr.ip(), self.per_address)
                .and_then(|slot| Some((slot, self.permits.clone().try_acquire_owned().ok()?)));
            match slots {
                Some((address_slot, permit)) => {
                    // The TLS handshake runs inside the connection's own task (on first read or
                    // write), so a slow client never holds up accepting others.
                    let conn = match &self.tls {
                        Some(acceptor) => Conn::Handshaking(Box::new(acceptor.accept(stream))),
                        None => Conn::Plain(stream),
                    };
                    return (
                        LimitedStream {
                            conn,
                            _permit: permit,
                            _address_slot: Some(address_slot),
                        },
                        addr,
                    );
                }
                None => {
                    tokio::spawn(async move {
                        let _ = stream.write_all(BUSY).await;
                        let _ = stream.shutdown().await;
                    });
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

enum Conn {
    /// From a trusted balancer: its PROXY line is being read (a byte at a time, so nothing of
    /// what follows is taken).
    Proxied {
        stream: Option<TcpStream>,
        line: Vec<u8>,
        proxy: IpAddr,
        tls: Option<TlsAcceptor>,
        counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
        per_address: usize,
    },
    Plain(TcpStream),
    Handshaking(Box<tokio_rustls::Accept<TcpStream>>),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Failed,
}

/// A connection that gives its slots back when it closes.
pub struct LimitedStream {
    conn: Conn,
    _permit: OwnedSemaphorePermit,
    _address_slot: Option<AddressSlot>,
}

impl std::fmt::Debug for LimitedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LimitedStream")
    }
}

impl LimitedStream {
    /// Reads a trusted balancer's PROXY line and drives the TLS handshake, if pending.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.conn {
                Conn::Proxied {
                    stream,
                    line,
                    proxy,
                    tls,
                    counts,
                    per_address,
                } => {
                    let Some(tcp) = stream.as_mut() else {
                        self.conn = Conn::Failed;
                        continue;
                    };
                    let mut byte = [0u8; 1];
                    let mut buf = ReadBuf::new(&mut byte);
                    match Pin::new(tcp).poll_read(cx, &mut buf) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => {
                            self.conn = Conn::Failed;
                            return Poll::Ready(Err(e));
                        }
                        Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                            self.conn = Conn::Failed;
                            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                        }
                        Poll::Ready(Ok(())) => line.push(byte[0]),
                    }
                    if !line.ends_with(b"\r\n") {
                        if line.len() >= proxy_protocol::MAX_HEADER_BYTES {
                            self.conn = Conn::Failed;
                            return Poll::Ready(Err(bad_proxy_line("a PROXY line too long")));
                        }
                        continue;
                    }
                    let source = match proxy_protocol::parse(&line[..line.len() - 2]) {
                        Ok(proxy_protocol::Source::Client(ip)) => ip,
                        Ok(proxy_protocol::Source::Unknown) => *proxy,
                        Err(why) => {
                            self.conn = Conn::Failed;
                            return Poll::Ready(Err(bad_proxy_line(&why)));
                        }
                    };
                    let Some(slot) = AddressSlot::take(counts, source, *per_address) else {
                        self.conn = Conn::Failed;
                        return Poll::Ready(Err(bad_proxy_line(
                            "the client's address holds all its connections",
                        )));
                    };
                    self._address_slot = Some(slot);
                    let (tcp, tls) = (stream.take(), tls.take());
                    self.conn = match (tcp, tls) {
                        (Some(tcp), Some(acceptor)) => {
                            Conn::Handshaking(Box::new(acceptor.accept(tcp)))
                        }
                        (Some(tcp), None) => Conn::Plain(tcp),
                        (None, _) => Conn::Failed,
                    };
                }
                Conn::Handshaking(accept) => match Pin::new(accept.as_mut()).poll(cx) {
                    Poll::Ready(Ok(stream)) => self.conn = Conn::Tls(Box::new(stream)),
                    Poll::Ready(Err(e)) => {
                        self.conn = Conn::Failed;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Conn::Failed => return Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
                Conn::Plain(_) | Conn::Tls(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

macro_rules! delegate {
    ($self:ident, $cx:ident, $s:ident => $call:expr) => {{
        match $self.poll_ready($cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map(|r| r.map(|()| Default::default())),
        }
        match &mut $self.conn {
            Conn::Plain($s) => {
                let $s = Pin::new($s);
                $call
            }
            Conn::Tls(boxed) => {
                let $s = Pin::new(boxed.as_mut());
                $call
            }
            _ => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }};
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        delegate!(this, cx, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        delegate!(this, cx, s => s.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        delegate!(this, cx, s => s.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        delegate!(this, cx, s => s.poll_shutdown(cx))
    }
}

fn bad_proxy_line(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Loads a PEM certificate chain and private key into a TLS acceptor (rustls with ring).
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> io::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate file", &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate file", &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("key file", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad("certificate and key", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With 100 000 accounts known, a request costs a map lookup, not a pass over every
    /// account: full buckets are forgotten at most once a second, however many requests come.
    #[test]
    fn bookkeeping_stays_constant_per_request_at_a_hundred_thousand_accounts() {
        let l = RateLimiter::new(500, 200);
        let account = |i: u32| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            Account(key)
        };
        for i in 0..100_001 {
            l.check(&account(i), 0).unwrap();
        }
        for i in 0..1_000 {
            l.check(&account(i), 0).unwrap();
        }
        let sweeps = l.buckets.lock().unwrap().sweeps;
        assert!(
            sweeps <= 1,
            "{sweeps} passes over every account in one second"
        );
    }

    #[test]
    fn the_bucket_refills_with_time_and_refuses_a_burst() {
        let l = RateLimiter::new(3, 1);
        let a = Account([1; 32]);
        for _ in 0..3 {
            assert!(l.check(&a, 0).is_ok());
        }
        assert!(matches!(l.check(&a, 0), Err(RelayError::RateLimited)));
        assert!(l.check(&a, 1000).is_ok());
        assert!(
            l.check(&Account([2; 32]), 0).is_ok(),
            "accounts have their own buckets"
        );
    }
}
