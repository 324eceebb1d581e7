//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;

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
    if !state.db.ping().await {
        return Err(AppError::ServiceUnavailable { detail: "the database is not reachable".into() });
    }
    if !state.storage.ping().await {
        return Err(AppError::ServiceUnavailable { detail: "the media storage is not reachable".into() });
    }
    Ok((StatusCode::OK, axum::Json(json!({"status": "ready", "database": state.db.backend()}))))
}
