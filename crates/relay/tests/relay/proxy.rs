//! Behind a load balancer: the per-address cap counts the clients a trusted balancer names in
//! its PROXY protocol line, not the balancer; nobody else can name an address.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// Sends `first` then a health request on a fresh connection from `from`; the answer's start.
async fn through(relay: &Relay, from: &str, first: &str) -> String {
    let addr: std::net::SocketAddr = relay.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request =
        format!("{first}GET /v1/health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        stream.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_balancer_names_its_clients_and_their_share_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.max_connections_per_address = 3;
    })
    .await;
    let addr: std::net::SocketAddr = relay.base.trim_start_matches("http://").parse().unwrap();
    let client = "PROXY TCP4 192.0.2.7 127.0.0.1 50000 443\r\n";
    // One client behind the balancer holds its three connections.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(client.as_bytes()).await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        through(&relay, "127.0.0.1", client).await,
        "",
        "a fourth connection of the same client is turned away"
    );
    assert_eq!(
        through(
            &relay,
            "127.0.0.1",
            "PROXY TCP4 192.0.2.8 127.0.0.1 50001 443\r\n"
        )
        .await,
        "HTTP/1.1 200 OK",
        "another client behind the same balancer is served"
    );
    assert_eq!(
        through(&relay, "127.0.0.1", "PROXY UNKNOWN\r\n").await,
        "HTTP/1.1 200 OK",
        "the balancer's own health check"
    );
    assert_eq!(
        through(&relay, "127.0.0.1", "").await,
        "",
        "a trusted balancer's connection without its PROXY line is refused"
    );
    // From an address that is not a trusted balancer, a PROXY line is just bad HTTP.
    let lie = through(
        &relay,
        "127.0.0.2",
        "PROXY TCP4 192.0.2.9 127.0.0.1 50002 443\r\n",
    )
    .await;
    assert!(lie.starts_with("HTTP/1.1 400"), "{lie}");
    drop(held);
    relay.stop().await;
}
