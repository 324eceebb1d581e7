//! `Idempotency-Key` on the POSTs that create (SPEC 4.8), with Stripe's
//! semantics: the first request with a key does the work and its answer
//! (status, body, `Content-Type`, `Location`) is kept for 24 hours; the same
//! key with the same request again gets that answer back (marked
//! `Idempotent-Replayed: true`) without the work being done again; the same
//! key with another request is a 422; while the first is still running, a
//! 409. Keys are per tenant: two tenants never see each other's.
//!
//! Decisions where the SPEC is silent:
//! - "The same body" means the same bytes of the same method, path and
//!   `Content-Type` (a SHA-256 of them is kept, not the body).
//! - Answers that say "try again" are not kept, so the retry the key exists
//!   for can succeed: any 5xx and a 429 (a full queue, a rate limit). Every
//!   other answer, a 402 or a 422 included, is kept and replayed.
//! - A request cancelled on the way (the request timeout, a client that
//!   hung up) frees its key. One that never finished because its process
//!   died holds it for `ABANDONED_MS`, longer than any request may run.
//! - A key is 1 to 255 visible ASCII characters; anything else is a 400.
//! - Requests without the header work as before; an unauthenticated request
//!   goes on to be refused as usual, its key unused.
//! - A secret shown once (a webhook endpoint's `whsec_...`) is never kept:
//!   the answer is stored without it and the replay derives it again (see
//!   `webhooks::routes::forget_secret` / `recall_secret`).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::MAX_BODY_BYTES;
use crate::auth::extract::AuthContext;
use crate::db::{Db, now_ms};
use crate::domain::TenantId;
use crate::error::{AppError, default_title};
use crate::on_db;
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header as the API description explains it.
pub const HEADER_DOC: &str = "Any unique string (a UUID): the same key and body within 24 hours returns the first \
answer without doing the work again; another body with the key is a 422; while the first still runs, a 409";
/// The response header of a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key and its answer are kept.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;
/// A key whose request has not answered in this long was abandoned (the
/// process died with it): it may be used again.
pub const ABANDONED_MS: i64 = 10 * 60 * 1000;
/// The longest key.
const MAX_KEY_LEN: usize = 255;
/// The largest answer kept (these routes answer a few kilobytes of JSON).
const MAX_SAVED_BYTES: usize = 1024 * 1024;

/// The POST routes that create something, where a key is honoured.
pub const CREATING_ROUTES: [&str; 7] = [
    "/api/v1/projects",
    "/api/v1/templates",
    "/api/v1/projects/create",
    "/api/account/export",
    crate::webhooks::routes::ROUTE,
    crate::scripts::routes::ROUTE,
    crate::batches::routes::ROUTE,
];

/// A kept answer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Saved {
    pub status: i64,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What a key says about a new request.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The key is this request's now: do the work.
    New,
    /// The same request was answered: this is its answer.
    Replay(Saved),
    /// The key was used with another request.
    Mismatch,
    /// The same key's request is still running.
    Running,
}

/// The middleware: honours `Idempotency-Key` on `CREATING_ROUTES`.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !CREATING_ROUTES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(raw) = request.headers().get(HEADER) else { return next.run(request).await };
    let key = match parse_key(raw) {
        Ok(key) => key,
        Err(err) => return err.into_response(),
    };
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let Ok(auth) = AuthContext::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let fingerprint = fingerprint(parts.method.as_str(), parts.uri.path(), content_type, &bytes);
    match begin(&state.db, &auth.tenant_id, &key, &fingerprint, now_ms()).await {
        Ok(Begun::New) => {}
        Ok(Begun::Replay(mut saved)) => {
            if path == crate::webhooks::routes::ROUTE {
                saved.body = crate::webhooks::routes::recall_secret(&state, &auth.tenant_id, saved.body).await;
            }
            return replay(saved);
        }
        Ok(Begun::Mismatch) => return mismatch().into_response(),
        Ok(Begun::Running) => {
            return AppError::Conflict(
                "a request with this Idempotency-Key is still being processed; retry when it has finished".into(),
            )
            .into_response();
        }
        Err(err) => return AppError::from(err).into_response(),
    }
    // Held until the answer is kept: a request dropped on the way (the
    // request timeout, a client gone) frees its key for the retry.
    let mut held = Held { db: state.db.clone(), tenant_id: auth.tenant_id.clone(), key, fingerprint, armed: true };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        held.armed = false;
        if let Err(err) = forget(&held.db, &held.tenant_id, &held.key, &held.fingerprint).await {
            tracing::warn!(error = %err, "freeing an idempotency key failed");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let header_text = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
    let Ok(body) = axum::body::to_bytes(body, MAX_SAVED_BYTES).await else {
        return AppError::Internal(anyhow::anyhow!("an answer too large to keep for its Idempotency-Key"))
            .into_response();
    };
    let kept = if path == crate::webhooks::routes::ROUTE {
        crate::webhooks::routes::forget_secret(&body)
    } else {
        body.to_vec()
    };
    let saved = Saved {
        status: i64::from(status.as_u16()),
        content_type: header_text(header::CONTENT_TYPE),
        location: header_text(header::LOCATION),
        body: kept,
    };
    held.armed = false;
    if let Err(err) = finish(&held.db, &held.tenant_id, &held.key, &held.fingerprint, &saved).await {
        // The work is done and answered; a retry with this key will find
        // it still "running" until it is abandoned.
        tracing::warn!(error = %err, "keeping an idempotent answer failed");
    }
    Response::from_parts(parts, Body::from(body))
}

/// A key taken by a request that has not answered yet; dropped armed (the
/// request was cancelled), it frees the key in the background.
struct Held {
    db: Db,
    tenant_id: TenantId,
    key: String,
    fingerprint: String,
    armed: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, tenant_id) = (self.db.clone(), self.tenant_id.clone());
        let (key, fingerprint) = (std::mem::take(&mut self.key), std::mem::take(&mut self.fingerprint));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = forget(&db, &tenant_id, &key, &fingerprint).await {
                    tracing::warn!(error = %err, "freeing the key of a cancelled request failed");
                }
            });
        }
    }
}

/// The key, if it is one.
fn parse_key(raw: &HeaderValue) -> Result<String, AppError> {
    let key = raw.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good key)"
        )));
    }
    Ok(key.to_string())
}

/// What makes two requests "the same": method, path, content type and body.
pub fn fingerprint(method: &str, path: &str, content_type: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), content_type.as_bytes(), body] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    crate::crypto::to_hex(&hasher.finalize())
}

fn mismatch() -> AppError {
    AppError::Problem {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: default_title(StatusCode::UNPROCESSABLE_ENTITY).into(),
        detail: "this Idempotency-Key was used with a different request in the last 24 hours; \
                 use a new key for a new request"
            .into(),
        extensions: serde_json::Map::new(),
    }
}

/// The kept answer, as it was, marked as a replay.
fn replay(saved: Saved) -> Response {
    let status = u16::try_from(saved.status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    let mut response = (status, Bytes::from(saved.body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [(header::CONTENT_TYPE, saved.content_type), (header::LOCATION, saved.location)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: String,
    status: Option<i64>,
    content_type: Option<String>,
    location: Option<String>,
    body: Option<Vec<u8>>,
    created_at: i64,
}

/// Takes `key` for a request with `fingerprint`, or says why not.
pub async fn begin(
    db: &Db,
    tenant_id: &TenantId,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> Result<Begun, sqlx::Error> {
    let inserted = on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, idem_key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, idem_key) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if inserted == 1 {
        return Ok(Begun::New);
    }
    let row: Option<KeyRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT fingerprint, status, content_type, location, body, created_at FROM idempotency_keys \
             WHERE tenant_id = $1 AND idem_key = $2",
        )
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(pool)
        .await?
    });
    // Deleted in between (freed after a 5xx): the next try takes it.
    let Some(row) = row else { return Ok(Begun::Running) };
    let expired = row.created_at <= now - KEEP_MS || (row.status.is_none() && row.created_at <= now - ABANDONED_MS);
    if expired {
        // Taken over only if nobody else took it over first.
        let taken = on_db!(db, pool => {
            sqlx::query(
                "UPDATE idempotency_keys SET fingerprint = $3, status = NULL, content_type = NULL, location = NULL, \
                 body = NULL, created_at = $4 WHERE tenant_id = $1 AND idem_key = $2 AND created_at = $5",
            )
            .bind(tenant_id)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(row.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        return Ok(if taken == 1 { Begun::New } else { Begun::Running });
    }
    if row.fingerprint != fingerprint {
        return Ok(Begun::Mismatch);
    }
    Ok(match row.status {
        None => Begun::Running,
        Some(status) => Begun::Replay(Saved {
            status,
            content_type: row.content_type,
            location: row.location,
            body: row.body.unwrap_or_default(),
        }),
    })
}

/// Keeps the answer of the request that holds `key`.
pub async fn finish(
    db: &Db,
    tenant_id: &TenantId,
    key: &str,
    fingerprint: &str,
    saved: &Saved,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, body = $7 \
             WHERE tenant_id = $1 AND idem_key = $2 AND fingerprint = $3 AND status IS NULL",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(fingerprint)
        .bind(saved.status)
        .bind(&saved.content_type)
        .bind(&saved.location)
        .bind(&saved.body)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Frees `key` after an answer that asks for a retry.
async fn forget(db: &Db, tenant_id: &TenantId, key: &str, fingerprint: &str) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idem_key = $2 AND fingerprint = $3 AND status IS NULL",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(fingerprint)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Deletes keys older than a day (housekeeping).
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(on_db!(db, pool => {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
            .bind(now - KEEP_MS)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_a_bounded_length() {
        assert_eq!(parse_key(&HeaderValue::from_static("  order-42 ")).ok(), Some("order-42".into()));
        assert!(parse_key(&HeaderValue::from_static("")).is_err());
        assert!(parse_key(&HeaderValue::from_static("two words")).is_err());
        let long = "k".repeat(256);
        assert!(parse_key(&HeaderValue::from_str(&long).expect("header")).is_err());
        assert!(parse_key(&HeaderValue::from_str(&long[..255]).expect("header")).is_ok());
    }

    #[test]
    fn the_fingerprint_covers_method_path_type_and_body() {
        let base = fingerprint("POST", "/api/v1/projects", "application/json", b"{}");
        assert_eq!(base, fingerprint("POST", "/api/v1/projects", "application/json", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/v1/projects/create", "application/json", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/v1/projects", "text/plain", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/v1/projects", "application/json", b"{ }"));
    }
}
