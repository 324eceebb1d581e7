//! `/api/account/*`.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Serialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::account::audit::{self, AuditEvent};
use crate::auth::{AuthContext, AuthVia, api_keys};
use crate::auth::{Scope, Scopes};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::download::{self, Download};
use crate::http::extract::{ClientIp, Json, Query};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/account/rotate-api-key", post(rotate_api_key))
        .route("/api/account/api-keys", get(list_api_keys).post(create_api_key))
        .route("/api/account/api-keys/{id}", delete(revoke_api_key))
        .route("/api/account/audit", get(list_audit))
        .route("/api/account/delete", post(delete_account))
        .route("/api/account/export", post(start_export))
        .route("/api/account/backup-status", get(backup_status))
        .route("/api/account/exports/{id}", get(export_status))
        .route("/api/account/download-export/{filename}", get(download_export))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(rotate_api_key, list_api_keys, create_api_key, revoke_api_key, list_audit, delete_account, start_export, export_status, download_export, backup_status), tags((name = "account", description = "Account, API keys, data protection")))]
pub struct AccountApi;

/// A new API key, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    /// `rf_` followed by 43 URL-safe characters. Store it now: it is not shown again.
    pub api_key: String,
}

/// Replaces the tenant's default key (the one this call made, "Default
/// key", with every scope); the old one fails at once. Named keys are not
/// touched. Kept for compatibility: `/api/account/api-keys` manages named keys.
#[utoipa::path(post, path = "/api/account/rotate-api-key", tag = "account", responses(
    (status = 200, body = ApiKeyResponse, description = "the new key, shown once"),
    (status = 401, description = "not signed in"),
    (status = 403, description = "an API key cannot manage keys: sign in as a person"),
), security(("bearer" = []), ("cookie" = [])))]
async fn rotate_api_key(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
) -> AppResult<Response> {
    auth.require_session()?;
    let key = api_keys::rotate(&state.db, &state.auth_cache, &auth.tenant_id, auth.user_id.as_ref()).await?;
    audit::record(
        &state.db,
        AuditEvent {
            action: "account.api_key_rotated",
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: "user",
            ip: Some(ip),
            detail: json!({"prefix": crate::auth::tokens::api_key_display_prefix(&key)}),
        },
    )
    .await;
    let mut response = axum::Json(ApiKeyResponse { api_key: key }).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Body of a new key.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// 1 to 100 characters, for people ("CI uploader").
    pub name: String,
    /// At least one of `projects:read`, `projects:write`, `media:write`, `webhooks:manage`, `account:read`.
    #[schema(value_type = Vec<crate::auth::scopes::Scope>)]
    pub scopes: Vec<String>,
}

/// A new key: its listing and, this once, the key itself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: api_keys::ApiKeyView,
    /// `rf_` followed by 43 URL-safe characters. Store it now: it is not shown again.
    pub api_key: String,
}

/// The tenant's active keys.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<api_keys::ApiKeyView>,
}

/// The tenant's active API keys: names, scopes, prefixes and last use, never the keys.
#[utoipa::path(get, path = "/api/account/api-keys", tag = "account", responses(
    (status = 200, body = ApiKeyList, description = "the active keys, oldest first"),
    (status = 403, description = "an API key cannot manage keys: sign in as a person"),
), security(("bearer" = []), ("cookie" = [])))]
async fn list_api_keys(State(state): State<AppState>, auth: AuthContext) -> AppResult<Response> {
    auth.require_session()?;
    let items = api_keys::list(&state.db, &auth.tenant_id).await?;
    let mut response = axum::Json(ApiKeyList { items }).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Checks a new key's name and scopes; every invalid field is named.
fn validate_new_key(body: &NewApiKey) -> Result<(String, Scopes), AppError> {
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > api_keys::MAX_NAME_CHARS {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new("name", "must not contain control characters"));
    }
    let unknown: Vec<&str> = body.scopes.iter().filter(|s| Scope::parse(s).is_none()).map(String::as_str).collect();
    let scopes: Scopes = body.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        let message = format!("unknown scope(s) {}; known: {}", unknown.join(", "), known.join(", "));
        errors.push(FieldError::new("scopes", message));
    } else if scopes.is_empty() {
        errors.push(FieldError::new("scopes", "name at least one scope"));
    }
    if errors.is_empty() { Ok((name, scopes)) } else { Err(AppError::Validation(errors)) }
}

/// Makes a named key with the given scopes; the key is in this answer only.
#[utoipa::path(post, path = "/api/account/api-keys", tag = "account", request_body = NewApiKey, responses(
    (status = 201, body = CreatedApiKey, description = "the key, shown once; stored only as a hash"),
    (status = 403, description = "an API key cannot manage keys: sign in as a person"),
    (status = 409, description = "the account already has 25 active keys: revoke one first"),
    (status = 422, description = "a name that is not 1 to 100 characters, or scopes empty or unknown"),
), security(("bearer" = []), ("cookie" = [])))]
async fn create_api_key(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Json(body): Json<NewApiKey>,
) -> AppResult<Response> {
    auth.require_session()?;
    let (name, scopes) = validate_new_key(&body)?;
    let created =
        api_keys::create(&state.db, &auth.tenant_id, auth.user_id.as_ref(), &name, scopes).await.map_err(|err| {
            match err {
                api_keys::CreateError::TooMany => AppError::Conflict(format!(
                    "the account already has {} active API keys; revoke one first",
                    api_keys::MAX_ACTIVE_KEYS
                )),
                api_keys::CreateError::AccountGone => AppError::Unauthorized,
                api_keys::CreateError::Database(err) => err.into(),
            }
        })?;
    audit::record(
        &state.db,
        AuditEvent {
            action: "account.api_key_created",
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: "user",
            ip: Some(ip),
            detail: json!({"key_id": created.view.id, "name": created.view.name, "prefix": created.view.prefix,
                "scopes": created.view.scopes}),
        },
    )
    .await;
    let body = CreatedApiKey { key: created.view, api_key: created.key };
    let mut response = (axum::http::StatusCode::CREATED, axum::Json(body)).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Revokes a key: it answers 401 from now on.
#[utoipa::path(delete, path = "/api/account/api-keys/{id}", tag = "account", params(("id" = String, Path)), responses(
    (status = 204, description = "revoked"),
    (status = 403, description = "an API key cannot manage keys: sign in as a person"),
    (status = 404, description = "no such active key of this account"),
), security(("bearer" = []), ("cookie" = [])))]
async fn revoke_api_key(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<axum::http::StatusCode> {
    auth.require_session()?;
    let revoked =
        api_keys::revoke(&state.db, &state.auth_cache, &auth.tenant_id, &id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &state.db,
        AuditEvent {
            action: "account.api_key_revoked",
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: "user",
            ip: Some(ip),
            detail: json!({"key_id": revoked.id, "name": revoked.name, "prefix": revoked.prefix}),
        },
    )
    .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Paging of a list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Items per page (1-100, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of audit events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<audit::AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The tenant's own audit events, newest first.
#[utoipa::path(get, path = "/api/account/audit", tag = "account", params(PageQuery), responses(
    (status = 200, body = AuditPage, description = "a page of audit events"),
    (status = 401, description = "not signed in"),
    (status = 422, description = "bad limit"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(page): Query<PageQuery>,
) -> AppResult<axum::Json<AuditPage>> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 100"));
    }
    let items = audit::list(&state.db, &auth.tenant_id, page.cursor.as_deref(), limit + 1).await?;
    let mut items = items;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(axum::Json(AuditPage { items, next_cursor }))
}

/// Body of an erasure request.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct DeleteRequest {
    /// The account's e-mail address, typed again.
    pub confirm: String,
}

/// Erases the account: every token and key stops at once, then all data goes.
#[utoipa::path(post, path = "/api/account/delete", tag = "account", request_body = DeleteRequest, responses(
    (status = 202, description = "erasure started; all credentials are revoked"),
    (status = 401, description = "not signed in"), (status = 403, description = "an API key cannot erase the account"),
    (status = 422, description = "the confirmation is not the account's e-mail")),
    security(("bearer" = []), ("cookie" = [])))]
async fn delete_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Json(body): Json<DeleteRequest>,
) -> AppResult<Response> {
    let user_id =
        auth.user_id.clone().ok_or_else(|| AppError::Forbidden("sign in as a person to erase the account".into()))?;
    crate::account::erase::request(&state, &auth.tenant_id, &user_id, &body.confirm).await?;
    tracing::info!(%ip, "erasure accepted");
    let mut response = (axum::http::StatusCode::ACCEPTED, axum::Json(json!({"status": "deleting"}))).into_response();
    crate::auth::routes::clear_auth_cookies(&state, &mut response);
    Ok(response)
}

/// Starts a data export (one at a time).
#[utoipa::path(post, path = "/api/account/export", tag = "account",
    params(("Idempotency-Key" = Option<String>, Header, description = crate::idempotency::HEADER_DOC)), responses(
    (status = 202, body = crate::account::export::ExportView, description = "the export is queued"),
    (status = 400, description = "an Idempotency-Key that is not 1 to 255 visible ASCII characters"),
    (status = 409, description = "a request with this Idempotency-Key is still running"),
    (status = 422, description = "an Idempotency-Key used with another body"),
    (status = 402, description = "the archive would pass the storage quota (`storage_mb`)"),
    (status = 429, description = "an export is already running")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn start_export(State(state): State<AppState>, ClientIp(ip): ClientIp, auth: AuthContext) -> AppResult<Response> {
    use crate::account::export::ExportError;
    let view = crate::account::export::start(&state, &auth.tenant_id).await.map_err(|err| match err {
        ExportError::AlreadyRunning { export_id } => {
            // Name the running export so another tab or client can follow it.
            let mut extensions = serde_json::Map::new();
            extensions.insert("export_id".into(), json!(export_id));
            AppError::RateLimitedProblem {
                retry_after_seconds: 30,
                detail: "an export is already running; wait for it to finish".into(),
                extensions,
            }
        }
        ExportError::QuotaExceeded(exceeded) => crate::usage::quota_exceeded(&state.config, &exceeded),
        ExportError::AccountGone => AppError::Unauthorized,
        ExportError::Database(err) => err.into(),
    })?;
    audit::record(
        &state.db,
        AuditEvent {
            action: "account.export_started",
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: if auth.via == AuthVia::ApiKey { "api_key" } else { "user" },
            ip: Some(ip),
            detail: json!({"export_id": view.export_id}),
        },
    )
    .await;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(view)).into_response())
}

/// Status of an export, with its download URL when ready.
#[utoipa::path(get, path = "/api/account/exports/{id}", tag = "account", params(("id" = String, Path)), responses(
    (status = 200, body = crate::account::export::ExportView, description = "the export's status"),
    (status = 404, description = "no such export of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn export_status(
    State(state): State<AppState>,
    auth: AuthContext,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<axum::Json<crate::account::export::ExportView>> {
    Ok(axum::Json(crate::account::export::get(&state.db, &auth.tenant_id, &id).await?))
}

/// The export ZIP, to its own tenant only, for seven days.
#[utoipa::path(get, path = "/api/account/download-export/{filename}", tag = "account", params(("filename" = String, Path)), responses(
    (status = 200, content_type = "application/zip", description = "the export ZIP"),
    (status = 206, description = "a byte range"),
    (status = 416, description = "the range is outside the file"),
    (status = 404, description = "unknown, expired, another tenant's, or not a valid name")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn download_export(
    State(state): State<AppState>,
    auth: AuthContext,
    axum::extract::Path(filename): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let key = crate::account::export::download_key(&state.db, &auth.tenant_id, &filename).await?;
    // Streamed, with ranges: a large export resumes where a dropped download stopped.
    let download = Download {
        key: &key,
        content_type: "application/zip",
        cache_control: "private, no-store",
        etag: None,
        attachment: Some(&filename),
    };
    download::serve(&state.storage, download, &headers).await
}

/// When the last backup ran and the next will.
#[utoipa::path(get, path = "/api/account/backup-status", tag = "account", responses(
    (status = 200, body = crate::account::backup::BackupStatus, description = "the backup schedule and last result")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn backup_status(
    State(state): State<AppState>,
    _auth: AuthContext,
) -> AppResult<axum::Json<crate::account::backup::BackupStatus>> {
    Ok(axum::Json(crate::account::backup::status(&state).await?))
}
