//! `AuthContext`: the tenant (and user, unless an API key) behind a request,
//! and what an API key may do there (`auth::scopes`).

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum_extra::extract::cookie::CookieJar;

use crate::auth::cache::Principal;
use crate::auth::scopes::{self, Access, Scope};
use crate::auth::{api_keys, service, tokens};
use crate::domain::{TenantId, UserId};
use crate::error::AppError;
use crate::state::AppState;
use crate::teams::Role;

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
    /// The session (refresh-token family) of a signed-in person; `None` for an API key.
    pub session_id: Option<String>,
}

/// The access-token cookie.
pub const ACCESS_COOKIE: &str = "rf_access";
/// The refresh-token cookie.
pub const REFRESH_COOKIE: &str = "rf_refresh";

impl FromRequestParts<AppState> for AuthContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let context = match parts.extensions.get::<ResolvedKey>() {
            // The API-key limit already resolved this request's key.
            Some(ResolvedKey(principal)) => AuthContext::for_key(principal.clone()),
            None => authenticate(parts, state).await?,
        };
        // Errors reported while serving this request name its tenant (never a credential).
        sentry::configure_scope(|scope| scope.set_tag("tenant_id", context.tenant_id.as_str()));
        let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
        if context.via == AuthVia::ApiKey {
            context.check_route(&parts.method, route)?;
        } else {
            context.check_role(&parts.method, route)?;
        }
        Ok(context)
    }
}

impl AuthContext {
    fn for_key(principal: Arc<Principal>) -> AuthContext {
        AuthContext {
            tenant_id: principal.tenant.id.clone(),
            user_id: None,
            via: AuthVia::ApiKey,
            principal,
            session_id: None,
        }
    }

    /// The person's role in the tenant; `None` for an API key.
    pub fn role(&self) -> Option<Role> {
        self.principal.user.as_ref().map(|user| user.role)
    }

    /// Whether the caller may use `scope`: a person may use every scope, a
    /// key the scopes it was made with.
    pub fn has_scope(&self, scope: Scope) -> bool {
        match &self.principal.key {
            Some(key) => key.scopes.contains(scope),
            None => true,
        }
    }

    /// Refuses a key without `scope` with 403 (problem type
    /// `.../insufficient-scope`, `required_scope`). Routes are checked by
    /// `scopes::ROUTE_ACCESS` already; this is for a handler whose need
    /// depends on the request.
    pub fn require_scope(&self, scope: Scope) -> Result<(), AppError> {
        if self.has_scope(scope) { Ok(()) } else { Err(scopes::insufficient_scope(scope)) }
    }

    /// Refuses an API key with 403: billing, erasure and key management are
    /// for a signed-in person only.
    pub fn require_session(&self) -> Result<(), AppError> {
        if self.via == AuthVia::ApiKey { Err(scopes::session_required()) } else { Ok(()) }
    }

    /// Applies the route's rule to a key: a route not in the table is refused
    /// (fails closed), so a new route is closed to keys until it is given a rule.
    fn check_route(&self, method: &Method, route: Option<&str>) -> Result<(), AppError> {
        match route.and_then(|route| scopes::access_for(method, route)) {
            Some(Access::Public | Access::AnyKey) => Ok(()),
            Some(Access::Scope(scope)) => self.require_scope(scope),
            Some(Access::SessionOnly) | None => Err(scopes::session_required()),
        }
    }

    /// Applies the route's rule to a person: their role must be at least the
    /// route's. A route not in the table is refused (fails closed).
    fn check_role(&self, method: &Method, route: Option<&str>) -> Result<(), AppError> {
        let Some(needed) = route.and_then(|route| scopes::role_for(method, route)) else {
            return Err(AppError::Forbidden("this route has no access rule".into()));
        };
        match self.role() {
            Some(role) if role >= needed => Ok(()),
            _ => Err(scopes::role_required(needed)),
        }
    }
}

/// A key the API-key rate limit already resolved, handed to the extractor
/// through the request's extensions (never set from anything the client sends).
#[derive(Clone)]
pub struct ResolvedKey(pub Arc<Principal>);

/// The API key a request presents (`X-API-Key`, or `Authorization: Bearer rf_...`), if any.
pub fn presented_api_key(headers: &HeaderMap) -> Option<String> {
    let api_key_header = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());
    api_key_header.or_else(|| bearer(headers).filter(|b| b.starts_with(tokens::API_KEY_PREFIX)))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|v| v.trim().to_string())
}

/// Finds the credential (API key, Bearer JWT, then the access cookie) and checks it.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthContext, AppError> {
    if let Some(key) = presented_api_key(&parts.headers) {
        return Ok(AuthContext::for_key(resolve_api_key(state, &key).await?));
    }
    if let Some(jwt) = bearer(&parts.headers) {
        return authenticate_jwt(state, &jwt, AuthVia::Bearer).await;
    }
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(cookie) = jar.get(ACCESS_COOKIE) {
        return authenticate_jwt(state, cookie.value(), AuthVia::Cookie).await;
    }
    Err(AppError::Unauthorized)
}

/// The tenant and key behind an API key, through the auth cache. On a cache
/// miss (at most once per `AUTH_CACHE_TTL` per key and process) the key's
/// `last_used_at` is written when the stored one is a minute old or more, so
/// a busy key costs one write a minute, not one per request.
pub async fn resolve_api_key(state: &AppState, key: &str) -> Result<Arc<Principal>, AppError> {
    if !tokens::looks_like_api_key(key) {
        return Err(AppError::Unauthorized);
    }
    let hash = crate::crypto::hash_token(key);
    let cache_key = format!("key:{hash}");
    if let Some(principal) = state.auth_cache.get(&cache_key) {
        return Ok(principal);
    }
    let fetched = std::time::Instant::now();
    let (tenant, grant) = api_keys::resolve(&state.db, &hash).await?.ok_or(AppError::Unauthorized)?;
    let now = crate::db::now_ms();
    if grant.last_used_at.is_none_or(|at| now - at >= api_keys::LAST_USED_EVERY_MS)
        && let Err(err) = api_keys::touch(&state.db, &grant.id, now).await
    {
        // Only bookkeeping: the request goes on.
        tracing::warn!(error = %err, "recording an API key's last use failed");
    }
    let principal = Arc::new(Principal { user: None, tenant, key: Some(grant) });
    state.auth_cache.put(cache_key, principal.tenant.id.as_str(), fetched, principal.clone());
    Ok(principal)
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
            let principal = Arc::new(Principal { user: Some(user), tenant, key: None });
            state.auth_cache.put(cache_key, principal.tenant.id.as_str(), fetched, principal.clone());
            principal
        }
    };
    let (tenant_id, user_id) = (principal.tenant.id.clone(), principal.user.as_ref().map(|u| u.id.clone()));
    Ok(AuthContext { tenant_id, user_id, via, principal, session_id: Some(claims.sid) })
}
