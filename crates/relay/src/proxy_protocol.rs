//! Behind a load balancer every connection comes from the balancer's address, so the per-address
//! connection cap would count all clients as one. A balancer the operator names
//! (`--trusted-proxy IP`) says who the client is with the PROXY protocol, version 1 (HAProxy's
//! `send-proxy`, nginx's `proxy_protocol on`): one text line before anything else,
//! `PROXY TCP4 <client> <proxy> <client port> <proxy port>\r\n` (or `TCP6`, or `UNKNOWN`). The
//! relay reads that line from trusted addresses only; from anyone else it would be a lie.

use std::net::IpAddr;

/// The longest v1 header, CRLF included (the protocol's own bound).
pub const MAX_HEADER_BYTES: usize = 107;

/// What a PROXY v1 line says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The client's address.
    Client(IpAddr),
    /// `PROXY UNKNOWN`: the balancer does not know (a health check): its own address counts.
    Unknown,
}

/// Parses one header line (without its CRLF).
pub fn parse(line: &[u8]) -> Result<Source, String> {
    let line = std::str::from_utf8(line).map_err(|_| "a PROXY header that is not text")?;
    let mut parts = line.split(' ');
    if parts.next() != Some("PROXY") {
        return Err("a connection from a trusted proxy that does not start with PROXY".into());
    }
    match parts.next() {
        Some("UNKNOWN") => Ok(Source::Unknown),
        Some(family @ ("TCP4" | "TCP6")) => {
            let fields: Vec<&str> = parts.collect();
            let [source, destination, source_port, destination_port] = fields[..] else {
                return Err("a PROXY header without its four fields".into());
            };
            let source: IpAddr = source
                .parse()
                .map_err(|_| format!("a PROXY header with a bad address '{source}'"))?;
            let _: IpAddr = destination
                .parse()
                .map_err(|_| "a PROXY header with a bad destination".to_string())?;
            for port in [source_port, destination_port] {
                port.parse::<u16>()
                    .map_err(|_| format!("a PROXY header with a bad port '{port}'"))?;
            }
            if (family == "TCP4") != source.is_ipv4() {
                return Err("a PROXY header whose address is not of its family".into());
            }
            Ok(Source::Client(source))
        }
        _ => Err("a PROXY header of an unknown protocol".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_lines_parse_and_anything_else_is_refused() {
        assert_eq!(
            parse(b"PROXY TCP4 192.0.2.7 198.51.100.1 51234 443"),
            Ok(Source::Client("192.0.2.7".parse().unwrap()))
        );
        assert_eq!(
            parse(b"PROXY TCP6 2001:db8::7 2001:db8::1 51234 443"),
            Ok(Source::Client("2001:db8::7".parse().unwrap()))
        );
        assert_eq!(parse(b"PROXY UNKNOWN"), Ok(Source::Unknown));
        for bad in [
            &b"GET / HTTP/1.1"[..],
            b"PROXY TCP4 192.0.2.7 198.51.100.1 51234",
            b"PROXY TCP4 2001:db8::7 198.51.100.1 1 2",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 99999 443",
            b"PROXY UDP4 192.0.2.7 198.51.100.1 1 2",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2 extra",
            b"\xff\xfe",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
