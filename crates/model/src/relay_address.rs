//! Where a relay may be: the one transport policy, applied to an invite code, to the settings and
//! by the relay client itself. An address is parsed by a URL parser, never sliced: `https://` to
//! any host, or plain `http://` only to this machine (a loopback IP or `localhost`); no user or
//! password part (in `http://localhost:1@relay.example.org` the host is `relay.example.org`), no
//! path, query or fragment.

use crate::error::{ModelError, Result};

/// A relay's address as the policy allows it, written as its origin
/// (`https://relay.example.org`, `http://127.0.0.1:8443`): lower-case, no trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayAddress {
    origin: String,
    /// The port of a plain-HTTP relay on this machine.
    local_port: Option<u16>,
}

impl RelayAddress {
    pub fn parse(text: &str) -> Result<RelayAddress> {
        let bad = |why: &str| ModelError::Invalid(format!("the relay address {text:?} {why}"));
        let url = url::Url::parse(text.trim()).map_err(|_| bad("is not an address"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("names a user; a relay address names only a host"));
        }
        if url.path() != "/" && !url.path().is_empty()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad(
                "has a path; a relay address names only a host and a port",
            ));
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => return Err(bad("names no host")),
        };
        let local_port = match url.scheme() {
            "https" => None,
            "http" if loopback => url.port_or_known_default(),
            "http" => {
                return Err(bad(
                    "uses plain http:// to another machine; use https:// (plain http is only for a relay on this machine)",
                ));
            }
            _ => return Err(bad("must start with https://")),
        };
        Ok(RelayAddress {
            origin: url.origin().ascii_serialization().to_ascii_lowercase(),
            local_port,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// The port, when this is a plain-HTTP relay on this machine (whose owner the client checks).
    pub fn local_port(&self) -> Option<u16> {
        self.local_port
    }
}

impl std::fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_here_and_never_a_user_part() {
        for (good, origin) in [
            ("https://relay.example.org", "https://relay.example.org"),
            ("https://Relay.Example.org/", "https://relay.example.org"),
            (
                "https://relay.example.org:8443",
                "https://relay.example.org:8443",
            ),
            ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
            ("http://127.3.2.1:80", "http://127.3.2.1"),
            ("http://localhost:8443", "http://localhost:8443"),
            ("http://[::1]:8443", "http://[::1]:8443"),
        ] {
            assert_eq!(
                RelayAddress::parse(good).unwrap().as_str(),
                origin,
                "{good}"
            );
        }
        for bad in [
            "http://localhost:1@relay.example.org",
            "http://127.0.0.1@relay.example.org",
            "https://user:pass@relay.example.org",
            "http://relay.example.org",
            "http://10.0.0.5:8443",
            "http://localhost.example.org",
            "http://127.0.0.1.example.org",
            "ftp://relay.example.org",
            "https://relay.example.org/v1/",
            "https://relay.example.org?x=1",
            "relay.example.org",
            "http://",
            "",
        ] {
            assert!(RelayAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
