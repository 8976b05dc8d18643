//! A hostile relay on the wire: an HTTP proxy in front of a real relay that forwards every
//! request and answer unchanged, except those a rule names, whose answer it replaces (any
//! status, any body, any size), delays, or turns into a redirect. The real relay is told the
//! proxy's address is its own, so the client's signed requests pass through.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::support::MovableClock;

/// What the proxy answers instead of the relay.
#[derive(Clone, Debug)]
pub enum Forged {
    /// This status and body.
    Answer(u16, Vec<u8>),
    /// A redirect to another address.
    Redirect(String),
    /// Nothing, for this long (then the relay's own answer).
    Stall(std::time::Duration),
    /// A log page of one made-up entry just past the `after` the request asks from, for ever.
    EndlessLog,
    /// A 200 whose body never ends, one byte each time: never silent, never done.
    Trickle(std::time::Duration),
}

/// Requests a rule applies to: the method and a piece of the path (query included).
#[derive(Clone, Debug)]
struct Rule {
    method: &'static str,
    path_contains: String,
    forged: Forged,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    http: reqwest::Client,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// The real relay (in this process) with the proxy in front.
pub struct TamperingRelay {
    pub url: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    _relay: consilium_relay::Background,
    _runtime: tokio::runtime::Runtime,
}

impl TamperingRelay {
    pub fn start(dir: &Path, clock: Arc<MovableClock>) -> TamperingRelay {
        let proxy_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        proxy_listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", proxy_listener.local_addr().unwrap());
        let relay_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = consilium_relay::RelayConfig::new(dir.to_path_buf(), clock);
        config.admission = consilium_relay::Admission::Open;
        config.origins = vec![url.clone()];
        let relay = consilium_relay::Background::start(relay_listener, config).unwrap();
        let rules = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let proxy = Proxy {
            upstream: relay.url(),
            rules: rules.clone(),
            requests: requests.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(proxy_listener).unwrap();
            let app = axum::Router::new().fallback(forward).with_state(proxy);
            axum::serve(listener, app).await.unwrap();
        });
        TamperingRelay {
            url,
            rules,
            requests,
            _relay: relay,
            _runtime: runtime,
        }
    }

    /// From now on, `method` requests whose path holds `path_contains` get `forged`.
    pub fn forge(&self, method: &'static str, path_contains: &str, forged: Forged) {
        self.rules.lock().unwrap().push(Rule {
            method,
            path_contains: path_contains.into(),
            forged,
        });
    }

    /// How many requests reached the proxy so far.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Back to forwarding everything.
    pub fn behave(&self) {
        self.rules.lock().unwrap().clear();
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    proxy
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let method = request.method().as_str().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let rule = proxy
        .rules
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.method == method && path.contains(&r.path_contains))
        .cloned();
    match rule.map(|r| r.forged) {
        Some(Forged::Answer(status, body)) => {
            return Response::builder()
                .status(status)
                .body(Body::from(body))
                .unwrap();
        }
        Some(Forged::Redirect(to)) => {
            return Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header("location", to)
                .body(Body::empty())
                .unwrap();
        }
        Some(Forged::Stall(time)) => tokio::time::sleep(time).await,
        Some(Forged::Trickle(every)) => {
            let bytes = futures_util::stream::unfold((), move |()| async move {
                tokio::time::sleep(every).await;
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"\x9f")),
                    (),
                ))
            });
            return Response::builder()
                .status(200)
                .body(Body::from_stream(bytes))
                .unwrap();
        }
        Some(Forged::EndlessLog) => {
            let after: u64 = path
                .split("after=")
                .nth(1)
                .and_then(|rest| rest.split('&').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let entry = consilium_client::model::wire::LogEntry {
                seq: after + 1,
                sender: "00".repeat(32),
                message_id: serde_bytes::ByteBuf::from(vec![7; 16]),
                mls: serde_bytes::ByteBuf::from(vec![0; 32]),
            };
            let mut body = Vec::new();
            ciborium::into_writer(&vec![entry], &mut body).unwrap();
            return Response::builder()
                .status(200)
                .body(Body::from(body))
                .unwrap();
        }
        None => {}
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != "host" {
            headers.insert(name.clone(), value.clone());
        }
    }
    let answer = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut out = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    out.body(Body::from(answer.bytes().await.unwrap())).unwrap()
}
