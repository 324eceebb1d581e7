//! `/api/auth/*`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::auth::extract::{ACCESS_COOKIE, AuthContext, REFRESH_COOKIE};
use crate::auth::service::{self, Session, TenantMembership, TenantView, UserView};
use crate::domain::{Email, TenantId};
use crate::error::{AppError, AppResult};
use crate::http::extract::{ClientIp, Json, parse_json};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/magic-link/request", post(request_link))
        .route("/api/auth/magic-link/verify", post(verify))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/me", get(me))
        .route("/api/auth/switch-tenant", post(switch_tenant))
        .route("/api/auth/logout", post(logout))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(request_link, verify, refresh, me, switch_tenant, logout), tags((name = "auth", description = "Magic-link sign-in and tokens")))]
pub struct AuthApi;

/// Body of a link request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MagicLinkRequest {
    /// The address to send the link to.
    pub email: String,
}

/// The answer to a link request: the same whether or not the address is known.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MagicLinkSent {
    pub status: &'static str,
    pub detail: &'static str,
}

/// Body of a verify call.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct VerifyRequest {
    /// The token from the link.
    pub token: String,
}

/// Body of a refresh or logout call (the `rf_refresh` cookie works instead).
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// Tokens of a signed-in session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque, single-use; also set as the `rf_refresh` cookie.
    pub refresh_token: String,
    pub user: UserView,
    pub tenant: TenantView,
}

/// The caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    /// Absent when the caller is an API key.
    pub user: Option<UserView>,
    pub tenant: TenantView,
    /// Every tenant the person belongs to, with their role there (switch with
    /// `POST /api/auth/switch-tenant`); empty for an API key.
    pub tenants: Vec<TenantMembership>,
}

/// Body of a tenant switch.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchTenant {
    /// A tenant from `tenants` of `/api/auth/me`.
    pub tenant_id: String,
}

/// Mails a single-use sign-in link.
#[utoipa::path(post, path = "/api/auth/magic-link/request", tag = "auth", request_body = MagicLinkRequest, responses(
    (status = 202, body = MagicLinkSent, description = "a link is on its way if the address can sign in"),
    (status = 422, description = "not a valid e-mail address"),
    (status = 429, description = "too many requests for this address or client"),
))]
async fn request_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<MagicLinkRequest>,
) -> AppResult<impl IntoResponse> {
    let email = Email::parse(&body.email)
        .map_err(|problem| AppError::invalid("email", &format!("e-mail address {problem}")))?;
    service::request_link(&state, &email, ip).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MagicLinkSent {
            status: "sent",
            detail: "If this address can sign in, a link is on its way. Check your e-mail.",
        }),
    ))
}

/// Exchanges a link's token for a session.
#[utoipa::path(post, path = "/api/auth/magic-link/verify", tag = "auth", request_body = VerifyRequest, responses(
    (status = 200, body = TokenResponse, description = "signed in; cookies rf_access and rf_refresh set"),
    (status = 400, description = "invalid or expired link"),
    (status = 429, description = "too many invalid links from this client IP; see Retry-After"),
))]
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyRequest>,
) -> AppResult<Response> {
    let session = service::verify(&state, body.token.trim(), ip).await?;
    Ok(session_response(&state, session))
}

/// Rotates the refresh token and issues a new access token.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body(content = RefreshRequest, description = "optional when the rf_refresh cookie is sent"), responses(
    (status = 200, body = TokenResponse, description = "a new access token; the refresh token is rotated"),
    (status = 401, description = "unknown, expired, revoked or reused refresh token"),
))]
async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let token = refresh_token_from(&headers, &body)?.ok_or(AppError::Unauthorized)?;
    let session = service::refresh(&state, &token, ip).await?;
    Ok(session_response(&state, session))
}

/// The caller's user and tenant.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses(
    (status = 200, body = MeResponse, description = "the signed-in user (null for an API key) and tenant"),
    (status = 401, description = "not signed in"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn me(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<MeResponse>> {
    let tenants = match &auth.user_id {
        Some(user_id) => service::tenants_of(&state.db, user_id).await?,
        None => Vec::new(),
    };
    Ok(axum::Json(MeResponse { user: auth.principal.user.clone(), tenant: auth.principal.tenant.clone(), tenants }))
}

/// Opens another tenant the person belongs to: the current session ends and
/// new tokens (and cookies) for that tenant are issued.
#[utoipa::path(post, path = "/api/auth/switch-tenant", tag = "auth", request_body = SwitchTenant, responses(
    (status = 200, body = TokenResponse, description = "signed in to that tenant; cookies rf_access and rf_refresh set"),
    (status = 404, description = "the person is not a member of that tenant (or it does not exist)"),
), security(("bearer" = []), ("cookie" = [])))]
async fn switch_tenant(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Json(body): Json<SwitchTenant>,
) -> AppResult<Response> {
    let tenant_id = TenantId::parse(body.tenant_id.trim()).map_err(|_| AppError::NotFound)?;
    let session = service::switch_tenant(&state, &auth, &tenant_id, ip).await?;
    Ok(session_response(&state, session))
}

/// Signs out: revokes the refresh family and clears the cookies.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body(content = RefreshRequest, description = "optional when the rf_refresh cookie is sent"), responses(
    (status = 204, description = "signed out"),
))]
async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let token = refresh_token_from(&headers, &body)?;
    service::logout(&state, token.as_deref(), ip).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_auth_cookies(&state, &mut response);
    Ok(response)
}

/// Adds `Set-Cookie` headers that remove both auth cookies.
pub fn clear_auth_cookies(state: &AppState, response: &mut Response) {
    for cookie in [expired_cookie(state, ACCESS_COOKIE, "/"), expired_cookie(state, REFRESH_COOKIE, "/api/auth")] {
        append_cookie(response, cookie);
    }
}

/// The refresh token from the JSON body, else from the `rf_refresh` cookie.
fn refresh_token_from(headers: &HeaderMap, body: &Bytes) -> AppResult<Option<String>> {
    let from_body =
        if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<RefreshRequest>(body)?.refresh_token };
    Ok(from_body.or_else(|| CookieJar::from_headers(headers).get(REFRESH_COOKIE).map(|c| c.value().to_string())))
}

fn session_response(state: &AppState, session: Session) -> Response {
    let access = auth_cookie(state, ACCESS_COOKIE, session.access_token.clone(), "/", session.expires_in);
    let refresh =
        auth_cookie(state, REFRESH_COOKIE, session.refresh_token.clone(), "/api/auth", service::REFRESH_TTL_MS / 1000);
    let mut response = axum::Json(TokenResponse {
        access_token: session.access_token,
        token_type: "bearer",
        expires_in: session.expires_in,
        refresh_token: session.refresh_token,
        user: session.user,
        tenant: session.tenant,
    })
    .into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    append_cookie(&mut response, access);
    append_cookie(&mut response, refresh);
    response
}

fn auth_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age_seconds: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(state.config.http.secure_cookies)
        .same_site(SameSite::Lax)
        .path(path)
        .max_age(time::Duration::seconds(max_age_seconds))
        .build()
}

fn expired_cookie(state: &AppState, name: &'static str, path: &'static str) -> Cookie<'static> {
    auth_cookie(state, name, String::new(), path, 0)
}

fn append_cookie(response: &mut Response, cookie: Cookie<'static>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}
