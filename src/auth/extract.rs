//! `AuthContext`: the tenant (and user, unless an API key) behind a request.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;

use crate::auth::cache::Principal;
use crate::auth::{api_keys, service, tokens};
use crate::domain::{TenantId, UserId};
use crate::error::AppError;
use crate::state::AppState;

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    /// `Authorization: Bearer <jwt>`.
    Bearer,
    /// The `rf_access` cookie.
    Cookie,
    /// An API key (`X-API-Key` or `Authorization: Bearer rf_...`).
    ApiKey,
}

/// The authenticated caller. Every protected route takes one; every query on
/// tenant data takes its `tenant_id`.
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// The tenant whose data the request may touch.
    pub tenant_id: TenantId,
    /// The signed-in person; `None` for an API key.
    pub user_id: Option<UserId>,
    /// How the caller authenticated.
    pub via: AuthVia,
    /// The user and tenant as of the last lookup (at most `AUTH_CACHE_TTL` old).
    pub principal: Arc<Principal>,
}

/// The access-token cookie.
pub const ACCESS_COOKIE: &str = "rf_access";
/// The refresh-token cookie.
pub const REFRESH_COOKIE: &str = "rf_refresh";

impl FromRequestParts<AppState> for AuthContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let context = authenticate(parts, state).await?;
        // Errors reported while serving this request name its tenant (never a credential).
        sentry::configure_scope(|scope| scope.set_tag("tenant_id", context.tenant_id.as_str()));
        Ok(context)
    }
}

/// Finds the credential (API key, Bearer JWT, then the access cookie) and checks it.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthContext, AppError> {
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|v| v.trim().to_string());
    let api_key_header = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());

    if let Some(key) = api_key_header.or_else(|| bearer.clone().filter(|b| b.starts_with(tokens::API_KEY_PREFIX))) {
        return authenticate_api_key(state, &key).await;
    }
    if let Some(jwt) = bearer {
        return authenticate_jwt(state, &jwt, AuthVia::Bearer).await;
    }
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(cookie) = jar.get(ACCESS_COOKIE) {
        return authenticate_jwt(state, cookie.value(), AuthVia::Cookie).await;
    }
    Err(AppError::Unauthorized)
}

async fn authenticate_api_key(state: &AppState, key: &str) -> Result<AuthContext, AppError> {
    if !tokens::looks_like_api_key(key) {
        return Err(AppError::Unauthorized);
    }
    let hash = crate::crypto::hash_token(key);
    let cache_key = format!("key:{hash}");
    let principal = match state.auth_cache.get(&cache_key) {
        Some(principal) => principal,
        None => {
            let fetched = std::time::Instant::now();
            let tenant = api_keys::tenant_for_key_hash(&state.db, &hash).await?.ok_or(AppError::Unauthorized)?;
            let principal = Arc::new(Principal { user: None, tenant });
            state.auth_cache.put(cache_key, principal.tenant.id.as_str(), fetched, principal.clone());
            principal
        }
    };
    Ok(AuthContext { tenant_id: principal.tenant.id.clone(), user_id: None, via: AuthVia::ApiKey, principal })
}

async fn authenticate_jwt(state: &AppState, token: &str, via: AuthVia) -> Result<AuthContext, AppError> {
    let claims = state.jwt.verify(token).ok_or(AppError::Unauthorized)?;
    // A signature proves who signed, not that the account still exists or
    // that the session was not ended: an erased tenant's tokens and a
    // signed-out session's tokens must stop working, so both are looked up
    // (through the short-lived cache that erasure and logout invalidate).
    let cache_key = format!("user:{}:{}:{}", claims.sub, claims.tid, claims.sid);
    let principal = match state.auth_cache.get(&cache_key) {
        Some(principal) => principal,
        None => {
            let fetched = std::time::Instant::now();
            let (user, tenant) = service::active_account(&state.db, &claims.sub, &claims.tid, &claims.sid)
                .await?
                .ok_or(AppError::Unauthorized)?;
            let principal = Arc::new(Principal { user: Some(user), tenant });
            state.auth_cache.put(cache_key, principal.tenant.id.as_str(), fetched, principal.clone());
            principal
        }
    };
    let (tenant_id, user_id) = (principal.tenant.id.clone(), principal.user.as_ref().map(|u| u.id.clone()));
    Ok(AuthContext { tenant_id, user_id, via, principal })
}
