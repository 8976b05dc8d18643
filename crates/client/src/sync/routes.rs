//! The outbox's transport over real relays (`relay-client`), one per circle, and how each relay
//! answer is read: accepted; `stale_epoch` (seal again); refused for good (forbidden, invalid, too large…); or
//! not known to have been applied (no answer, rate limited, relay busy or failing), which is
//! retried with the same bytes.

use std::collections::HashMap;

use consilium_model::wire::Posted;
use consilium_relay_client::{RelayClient, RelayClientError, RelayCode};

use super::outbox::{Delivery, Transport};
use super::payload::SealedPost;
use crate::net::Runner;

/// Reads one relay answer to a post.
pub fn classify(answer: std::result::Result<Posted, RelayClientError>) -> Delivery {
    match answer {
        Ok(posted) => Delivery::Accepted { seq: posted.seq },
        // A server error (the relay's own, or a proxy's without our body) applied nothing
        // knowable: retry.
        Err(e @ RelayClientError::Refused { status: 500.., .. }) => {
            Delivery::Ambiguous(e.to_string())
        }
        Err(e) => match e.code() {
            Some(RelayCode::StaleEpoch) => Delivery::StaleEpoch {
                current: e.stale_epoch().unwrap_or(0),
            },
            Some(
                RelayCode::RateLimited
                | RelayCode::MailboxFull
                | RelayCode::TooManyConnections
                | RelayCode::Timeout
                | RelayCode::GroupStateMissing
                | RelayCode::Internal,
            )
            | None => Delivery::Ambiguous(e.to_string()),
            Some(_) => Delivery::Refused(e.to_string()),
        },
    }
}

/// Posts through a relay client, blocking on the engine's runner (the engine is synchronous).
#[derive(Debug, Clone)]
pub struct RelayTransport {
    runner: Runner,
    client: RelayClient,
}

impl RelayTransport {
    pub fn with_runner(client: RelayClient, runner: Runner) -> RelayTransport {
        RelayTransport { runner, client }
    }
}

impl Transport for RelayTransport {
    fn post(&mut self, circle: &[u8], message_id: [u8; 16], sealed: &[u8]) -> Delivery {
        let bundle = match SealedPost::decode(sealed) {
            Ok(post) => post.into_bundle(message_id),
            Err(e) => return Delivery::Refused(e.to_string()),
        };
        match self.runner.run(self.client.post(circle, &bundle)) {
            Err(_) if self.runner.setting_aside() => Delivery::SetAside,
            answer => classify(answer),
        }
    }
}

/// Posts each circle's items to that circle's relay.
#[derive(Debug, Default)]
pub struct CircleRoutes {
    pub routes: HashMap<Vec<u8>, RelayTransport>,
}

impl Transport for CircleRoutes {
    fn post(&mut self, circle: &[u8], message_id: [u8; 16], sealed: &[u8]) -> Delivery {
        match self.routes.get_mut(circle) {
            Some(t) => t.post(circle, message_id, sealed),
            None => Delivery::Refused("this profile is not in that circle".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: RelayCode) -> std::result::Result<Posted, RelayClientError> {
        refused_with(409, code)
    }

    fn refused_with(status: u16, code: RelayCode) -> std::result::Result<Posted, RelayClientError> {
        Err(RelayClientError::Refused {
            status,
            code,
            message: "m".into(),
            current_epoch: Some(7),
        })
    }

    #[test]
    fn each_relay_answer_is_read_as_retry_reseal_or_give_up() {
        assert_eq!(
            classify(Ok(Posted { seq: 3, epoch: 1 })),
            Delivery::Accepted { seq: 3 }
        );
        assert_eq!(
            classify(refused(RelayCode::StaleEpoch)),
            Delivery::StaleEpoch { current: 7 }
        );
        for retry in [
            RelayCode::RateLimited,
            RelayCode::MailboxFull,
            RelayCode::TooManyConnections,
            RelayCode::Timeout,
            RelayCode::GroupStateMissing,
            RelayCode::Internal,
        ] {
            assert!(matches!(classify(refused(retry)), Delivery::Ambiguous(_)));
        }
        assert!(matches!(
            classify(Err(RelayClientError::Timeout)),
            Delivery::Ambiguous(_)
        ));
        assert!(matches!(
            classify(Err(RelayClientError::Unreachable("down".into()))),
            Delivery::Ambiguous(_)
        ));
        // A proxy's 502 without the relay's error body.
        assert!(matches!(
            classify(refused_with(502, RelayCode::Other(String::new()))),
            Delivery::Ambiguous(_)
        ));
        for give_up in [
            RelayCode::Forbidden,
            RelayCode::InvalidMessage,
            RelayCode::TooLarge,
        ] {
            assert!(matches!(classify(refused(give_up)), Delivery::Refused(_)));
        }
    }
}
