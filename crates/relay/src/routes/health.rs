//! `GET /v1/health`, for clients and load balancers: `ok` when the relay can serve, else
//! 503 `busy` naming what it cannot reach (the database, the blob bucket), without its
//! detail, which is logged. Unauthenticated, so its cost is bounded: one check at a time,
//! its answer reused for a moment, each part given a few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consilium_model::wire::RelayErrorBody;

use crate::store::{Health, Store};

/// How long an answer is reused.
const REUSED_FOR: Duration = Duration::from_secs(2);

/// How long a check may take before its part counts as unreachable.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// The last answer and when it was found, and a check still running; checks wait their turn.
#[derive(Debug, Default)]
pub(crate) struct HealthCheck {
    state: tokio::sync::Mutex<Checks>,
}

#[derive(Debug, Default)]
struct Checks {
    last: Option<(Instant, Option<String>)>,
    /// A check that outlasted its wait (a hung database, a bucket retrying): awaited again
    /// rather than joined by another, so an outage never piles up threads.
    running: Option<tokio::task::JoinHandle<Health>>,
}

impl HealthCheck {
    /// What the relay cannot reach, if anything, in words for anyone.
    pub(super) async fn unreachable(&self, store: &Arc<Store>) -> Option<String> {
        let mut checks = self.state.lock().await;
        if let Some((at, answer)) = &checks.last
            && at.elapsed() < REUSED_FOR
        {
            return answer.clone();
        }
        let mut running = match checks.running.take() {
            Some(running) => running,
            None => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.health())
            }
        };
        let answer = match tokio::time::timeout(CHECK_WITHIN, &mut running).await {
            Ok(Ok(health)) => words(&health),
            Ok(Err(_)) => Some("the relay's storage check failed".to_string()),
            Err(_) => {
                tracing::warn!("health: the check did not finish in time");
                checks.running = Some(running);
                Some("the relay's storage does not answer in time".to_string())
            }
        };
        checks.last = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// What `health` says is down, in words for anyone; its detail goes to the log.
fn words(health: &Health) -> Option<String> {
    let mut down = Vec::new();
    if let Some(why) = &health.database {
        tracing::warn!(error = %why, "health: the database cannot be reached");
        down.push("the database");
    }
    if let Some(why) = &health.blobs {
        tracing::warn!(error = %why, "health: the blobs cannot be kept");
        down.push("the blob storage");
    }
    (!down.is_empty()).then(|| format!("the relay cannot reach {}", down.join(" or ")))
}

/// The answer: `ok`, or 503 `busy` saying what cannot be reached.
pub(super) fn answer(unreachable: Option<String>) -> Response {
    match unreachable {
        None => "ok".into_response(),
        Some(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(RelayErrorBody {
                code: "busy".into(),
                message,
                current_epoch: None,
            }),
        )
            .into_response(),
    }
}
