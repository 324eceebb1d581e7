//! Per-key rate limits: every API key may make `API_KEY_RATE_LIMIT_PER_MINUTE`
//! requests in any sliding minute (in this process, or shared through Redis
//! with `REDIS_URL`). Every answer to a key caller says where it stands, in
//! the fields of draft-ietf-httpapi-ratelimit-headers-10:
//!
//! ```text
//! RateLimit-Policy: "api-key";q=600;w=60
//! RateLimit: "api-key";r=599;t=60
//! ```
//!
//! `r` is what the key may still send in the window, `t` the seconds until
//! the oldest request it counts leaves the window (when `r` grows again; a
//! sliding window has no single reset). Past the limit the answer is a 429
//! problem with `Retry-After` and `t` naming the same moment; a refused
//! request is not counted. Sessions are not limited here.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::extract::{ResolvedKey, presented_api_key, resolve_api_key};
use crate::error::AppError;
use crate::ratelimit::{Limit, human_wait};
use crate::state::AppState;

/// The window of the per-key limit.
pub const KEY_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// The policy's name in the headers.
pub const POLICY: &str = "api-key";
/// The response header naming the policy.
pub const POLICY_HEADER: &str = "ratelimit-policy";
/// The response header with the key's standing.
pub const STANDING_HEADER: &str = "ratelimit";

/// The middleware: counts a request that presents a valid API key against
/// that key's window. A request without a key, or with a key that does not
/// resolve, goes on untouched (the `AuthContext` extractor answers 401).
pub async fn middleware(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let max = state.config.auth.api_key_rate_limit_per_minute;
    let Some(key) = presented_api_key(request.headers()) else { return next.run(request).await };
    let Ok(principal) = resolve_api_key(&state, &key).await else { return next.run(request).await };
    drop(key);
    let key_id = principal.key.as_ref().map(|grant| grant.id.clone()).unwrap_or_default();
    request.extensions_mut().insert(ResolvedKey(principal));
    if max == 0 {
        return next.run(request).await;
    }
    let counted = format!("api-key:{key_id}");
    let policy = HeaderValue::from_str(&format!("\"{POLICY}\";q={max};w={}", KEY_WINDOW.as_secs()));
    match state.api_key_limiter.admit_counted(&Limit { key: &counted, max }).await {
        Ok(standing) => {
            let mut response = next.run(request).await;
            let value = format!("\"{POLICY}\";r={};t={}", standing.remaining, standing.reset_seconds);
            set_headers(&mut response, policy.ok(), HeaderValue::from_str(&value).ok());
            response
        }
        Err(wait) => {
            let detail =
                format!("this API key made more than {max} requests in a minute; retry in {}", human_wait(wait));
            let mut response = AppError::RateLimited { retry_after_seconds: wait, detail }.into_response();
            let value = format!("\"{POLICY}\";r=0;t={wait}");
            set_headers(&mut response, policy.ok(), HeaderValue::from_str(&value).ok());
            response
        }
    }
}

fn set_headers(response: &mut Response, policy: Option<HeaderValue>, standing: Option<HeaderValue>) {
    if let Some(policy) = policy {
        response.headers_mut().insert(POLICY_HEADER, policy);
    }
    if let Some(standing) = standing {
        response.headers_mut().insert(STANDING_HEADER, standing);
    }
}
