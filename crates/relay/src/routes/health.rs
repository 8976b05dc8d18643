//! `GET /v1/health`, for clients and load balancers: `ok` when the relay can serve, else
//! 503 `busy` naming what it cannot reach (the database, the blob bucket), without its
//! detail, which is logged. Unauthenticated, so its cost is bounded: one check at a time,
//! its answer reused for a moment, each part given a few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consilium_model::wire::RelayErrorBody;

use crate::store::Store;

/// How long an answer is reused.
const REUSED_FOR: Duration = Duration::from_secs(2);

/// How long a check may take before its part counts as unreachable.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// The last answer and when it was found; checks wait their turn on it.
#[derive(Debug, Default)]
pub(crate) struct HealthCheck {
    last: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
}

impl HealthCheck {
    /// What the relay cannot reach, if anything, in words for anyone.
    pub(super) async fn unreachable(&self, store: &Arc<Store>) -> Option<String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last
            && at.elapsed() < REUSED_FOR
        {
            return answer.clone();
        }
        let store = store.clone();
        let checked = tokio::time::timeout(
            CHECK_WITHIN,
            tokio::task::spawn_blocking(move || store.health()),
        )
        .await;
        let answer = match checked {
            Ok(Ok(health)) => {
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
            _ => {
                tracing::warn!("health: the check did not finish in time");
                Some("the relay's storage does not answer in time".to_string())
            }
        };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
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
