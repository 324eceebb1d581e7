//! Liveness and readiness probes, and the Prometheus scrape.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

/// The probes and the scrape: served by `serve` with the API, and by a
/// `worker` on `METRICS_BIND`.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics))
}

/// Process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({"status": "ok"})))
}

/// Database and storage reachable.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready to serve"),
    (status = 503, description = "a dependency is unreachable")))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    // A probe must answer quickly: a down database would otherwise hold it
    // for the pool's whole acquire timeout.
    let probe = std::time::Duration::from_secs(2);
    if !tokio::time::timeout(probe, state.db.ping()).await.unwrap_or(false) {
        return Err(AppError::ServiceUnavailable { detail: "the database is not reachable".into() });
    }
    if !tokio::time::timeout(probe, state.storage.ping()).await.unwrap_or(false) {
        return Err(AppError::ServiceUnavailable { detail: "the media storage is not reachable".into() });
    }
    Ok((StatusCode::OK, axum::Json(json!({"status": "ready", "database": state.db.backend()}))))
}

/// Prometheus metrics; with `METRICS_TOKEN` set, only for `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, content_type = "text/plain", description = "Prometheus text exposition"),
    (status = 401, description = "METRICS_TOKEN is set and the request does not carry it")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = &state.config.ops.metrics_token {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return Err(AppError::Unauthorized);
        }
    }
    let queue = match crate::pipeline::queue::depth(&state.db).await {
        Ok((queued, running, oldest_ms)) => Some(crate::metrics::QueueSnapshot {
            queued,
            running,
            oldest_age_seconds: oldest_ms.unwrap_or(0) as f64 / 1000.0,
        }),
        Err(err) => {
            tracing::warn!(error = %err, "reading the queue depth for /metrics failed");
            None
        }
    };
    let mut response = crate::metrics::render(queue).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}
