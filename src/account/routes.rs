//! `/api/account/*`.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::account::audit::{self, AuditEvent};
use crate::auth::{AuthContext, AuthVia, api_keys};
use crate::error::AppResult;
use crate::http::extract::ClientIp;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/account/rotate-api-key", post(rotate_api_key))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(rotate_api_key), tags((name = "account", description = "Account, API keys, data protection")))]
pub struct AccountApi;

/// A new API key, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    /// `rf_` followed by 43 URL-safe characters. Store it now: it is not shown again.
    pub api_key: String,
}

/// Replaces the tenant's API key; the old key fails at once.
#[utoipa::path(post, path = "/api/account/rotate-api-key", tag = "account", responses(
    (status = 200, body = ApiKeyResponse),
    (status = 401, description = "not signed in"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn rotate_api_key(State(state): State<AppState>, ClientIp(ip): ClientIp, auth: AuthContext) -> AppResult<Response> {
    let key = api_keys::rotate(&state.db, &auth.tenant_id, auth.user_id.as_ref()).await?;
    audit::record(
        &state.db,
        AuditEvent {
            action: "account.api_key_rotated",
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: if auth.via == AuthVia::ApiKey { "api_key" } else { "user" },
            ip: Some(ip),
            detail: json!({"prefix": crate::auth::tokens::api_key_display_prefix(&key)}),
        },
    )
    .await;
    let mut response = axum::Json(ApiKeyResponse { api_key: key }).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
