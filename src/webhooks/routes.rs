//! `/api/v1/webhooks`: a tenant's endpoints, their delivery log, "send
//! again" and a test event.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::OpenApi;

use super::store::{self, DeliveryRow, EndpointRow};
use super::{EventType, MAX_ENDPOINTS, new_delivery_id, target};
use crate::account::audit::{self, AuditEvent};
use crate::auth::AuthContext;
use crate::auth::extract::AuthVia;
use crate::db::{now_ms, rfc3339};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::extract::{ClientIp, Json, Query};
use crate::state::AppState;

/// Where endpoints are listed and registered.
pub const ROUTE: &str = "/api/v1/webhooks";

#[derive(OpenApi)]
#[openapi(
    paths(
        list_endpoints,
        create_endpoint,
        get_endpoint,
        patch_endpoint,
        delete_endpoint,
        list_deliveries,
        resend,
        test
    ),
    components(schemas(EndpointView, EndpointList, NewEndpoint, EndpointPatch, DeliveryView, DeliveryPage))
)]
pub struct WebhooksApi;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(ROUTE, get(list_endpoints).post(create_endpoint))
        .route("/api/v1/webhooks/{id}", get(get_endpoint).patch(patch_endpoint).delete(delete_endpoint))
        .route("/api/v1/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", post(resend))
        .route("/api/v1/webhooks/{id}/test", post(test))
}

/// The longest description.
const MAX_DESCRIPTION: usize = 200;

/// An endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// The events it receives; empty: every event.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it is off (by its owner, or "every delivery failed for 5 days").
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (RFC 3339); null while it works.
    pub failing_since: Option<String>,
    /// The signing secret (`whsec_...`), only in the answer that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointView {
    fn of(row: &EndpointRow, secret: Option<String>) -> EndpointView {
        EndpointView {
            id: row.id.clone(),
            url: row.url.clone(),
            description: row.description.clone(),
            events: row.event_list().iter().map(|e| e.as_str().to_string()).collect(),
            enabled: row.disabled_at.is_none(),
            disabled_reason: row.disabled_reason.clone(),
            failing_since: row.failing_since.map(rfc3339),
            secret,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

/// The tenant's endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

/// A new endpoint.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where to POST (`https`; `http` too outside production).
    pub url: String,
    /// Event types to receive; absent or empty: every event.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// Changes to an endpoint.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Turning an endpoint on again restarts its failure clock; its waiting deliveries go out.
    pub enabled: Option<bool>,
}

/// One message to one endpoint, as its log shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    /// `webhook-id` of the message (the same for its retries).
    pub message_id: String,
    /// Attempts made so far.
    pub attempt: i64,
    /// `pending`, `succeeded` or `failed` (given up).
    pub status: String,
    /// The last attempt's HTTP status; null when there was no answer.
    pub status_code: Option<i64>,
    /// The last attempt's response time.
    pub duration_ms: Option<i64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due (RFC 3339); null when none is.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The message sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> DeliveryView {
        DeliveryView {
            payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
            id: row.id,
            event: row.event,
            message_id: row.message_id,
            attempt: row.attempt,
            status: row.status,
            status_code: row.status_code,
            duration_ms: row.duration_ms,
            error: row.error,
            next_attempt_at: row.next_attempt_at.map(rfc3339),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Paging of the delivery log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    /// 1 to 100 (20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The event filter, checked: known, subscribable, each once.
fn parse_events(given: &[String]) -> AppResult<String> {
    let mut events: Vec<EventType> = Vec::new();
    let mut unknown = Vec::new();
    for name in given {
        match name.parse::<EventType>() {
            Ok(event) if event != EventType::WebhookTest => {
                if !events.contains(&event) {
                    events.push(event);
                }
            }
            _ => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = EventType::subscribable().map(EventType::as_str).collect();
        return Err(AppError::invalid(
            "events",
            &format!("unknown event {}; known: {}", unknown.join(", "), known.join(", ")),
        ));
    }
    Ok(events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" "))
}

fn check_description(description: &str) -> AppResult<String> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(AppError::invalid("description", &format!("at most {MAX_DESCRIPTION} characters, one line")));
    }
    Ok(description.to_string())
}

fn check_url(state: &AppState, url: &str) -> AppResult<String> {
    target::check_url(url, &state.config.webhooks)
        .map(|u| u.to_string())
        .map_err(|reason| AppError::Validation(vec![FieldError::new("url", reason)]))
}

async fn find(state: &AppState, auth: &AuthContext, id: &str) -> AppResult<EndpointRow> {
    store::endpoint(&state.db, &auth.tenant_id, id).await?.ok_or(AppError::NotFound)
}

async fn record(state: &AppState, auth: &AuthContext, ip: ClientIp, action: &'static str, detail: serde_json::Value) {
    audit::record(
        &state.db,
        AuditEvent {
            action,
            tenant_id: Some(&auth.tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: if auth.via == AuthVia::ApiKey { "api_key" } else { "user" },
            ip: Some(ip.0),
            detail,
        },
    )
    .await;
}

/// The tenant's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses(
    (status = 200, body = EndpointList, description = "the endpoints, oldest first (never their secrets)")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_endpoints(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<EndpointList>> {
    let rows = store::endpoints(&state.db, &auth.tenant_id).await?;
    Ok(axum::Json(EndpointList { items: rows.iter().map(|r| EndpointView::of(r, None)).collect() }))
}

/// Registers an endpoint; its signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    params(("Idempotency-Key" = Option<String>, Header, description = crate::idempotency::HEADER_DOC)),
    responses(
        (status = 201, body = EndpointView, description = "the endpoint, with its secret (`whsec_...`) shown once"),
        (status = 400, description = "a malformed Idempotency-Key"),
        (status = 409, description = "the same Idempotency-Key is still being processed"),
        (status = 422, description = "a URL the SSRF rules refuse, an unknown event, or already 10 endpoints")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn create_endpoint(
    State(state): State<AppState>,
    auth: AuthContext,
    ip: ClientIp,
    Json(body): Json<NewEndpoint>,
) -> AppResult<Response> {
    let url = check_url(&state, &body.url)?;
    let events = parse_events(&body.events)?;
    let description = check_description(&body.description)?;
    let now = now_ms();
    let row = EndpointRow {
        id: format!("ep_{}", uuid::Uuid::now_v7().simple()),
        tenant_id: auth.tenant_id.clone(),
        url,
        description,
        events,
        secret_salt: crate::crypto::random_token(),
        disabled_at: None,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin_write().await?;
    if !store::insert_endpoint(&mut tx, &row, MAX_ENDPOINTS).await? {
        return Err(AppError::invalid("url", &format!("at most {MAX_ENDPOINTS} endpoints; delete one first")));
    }
    tx.commit().await?;
    record(&state, &auth, ip, "webhook.endpoint_created", json!({"endpoint_id": row.id})).await;
    let secret = state.webhook_key.endpoint_secret(&row.id, &row.secret_salt).reveal();
    Ok((StatusCode::CREATED, axum::Json(EndpointView::of(&row, Some(secret)))).into_response())
}

/// The answer that created an endpoint as its `Idempotency-Key` keeps it:
/// without the secret, which is never stored (anything else unchanged).
pub fn forget_secret(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut view)) if view.contains_key("secret") => {
            view.remove("secret");
            serde_json::to_vec(&view).unwrap_or_else(|_| body.to_vec())
        }
        _ => body.to_vec(),
    }
}

/// A kept creation answer replayed: its secret derived again, as the first
/// answer showed it (none when the endpoint is gone meanwhile).
pub async fn recall_secret(state: &AppState, tenant_id: &crate::domain::TenantId, body: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut view)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let Some(id) = view.get("id").and_then(|id| id.as_str()).map(str::to_string) else { return body };
    match store::endpoint(&state.db, tenant_id, &id).await {
        Ok(Some(row)) => {
            let secret = state.webhook_key.endpoint_secret(&row.id, &row.secret_salt).reveal();
            view.insert("secret".into(), serde_json::Value::String(secret));
            serde_json::to_vec(&view).unwrap_or(body)
        }
        Ok(None) => body,
        Err(err) => {
            tracing::warn!(error = %err, "reading an endpoint for a replayed answer failed");
            body
        }
    }
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = EndpointView, description = "the endpoint"),
    (status = 404, description = "no such endpoint of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_endpoint(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<EndpointView>> {
    Ok(axum::Json(EndpointView::of(&find(&state, &auth, &id).await?, None)))
}

/// Changes an endpoint's URL, events or description, or turns it off or on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = EndpointPatch, responses(
        (status = 200, body = EndpointView, description = "the endpoint"),
        (status = 404, description = "no such endpoint of this tenant"),
        (status = 422, description = "a URL the SSRF rules refuse, or an unknown event")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn patch_endpoint(
    State(state): State<AppState>,
    auth: AuthContext,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(patch): Json<EndpointPatch>,
) -> AppResult<axum::Json<EndpointView>> {
    let mut row = find(&state, &auth, &id).await?;
    if let Some(url) = &patch.url {
        row.url = check_url(&state, url)?;
    }
    if let Some(events) = &patch.events {
        row.events = parse_events(events)?;
    }
    if let Some(description) = &patch.description {
        row.description = check_description(description)?;
    }
    let now = now_ms();
    match patch.enabled {
        Some(true) if row.disabled_at.is_some() => {
            row.disabled_at = None;
            row.disabled_reason = None;
            row.failing_since = None;
        }
        Some(false) if row.disabled_at.is_none() => {
            row.disabled_at = Some(now);
            row.disabled_reason = Some("turned off by its owner".into());
        }
        _ => {}
    }
    if !store::update_endpoint(&state.db, &row, now).await? {
        return Err(AppError::NotFound);
    }
    row.updated_at = now;
    record(
        &state,
        &auth,
        ip,
        "webhook.endpoint_changed",
        json!({"endpoint_id": row.id, "enabled": row.disabled_at.is_none()}),
    )
    .await;
    state.webhook_wake.notify_one();
    Ok(axum::Json(EndpointView::of(&row, None)))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such endpoint of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_endpoint(
    State(state): State<AppState>,
    auth: AuthContext,
    ip: ClientIp,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    if !store::delete_endpoint(&state.db, &auth.tenant_id, &id).await? {
        return Err(AppError::NotFound);
    }
    record(&state, &auth, ip, "webhook.endpoint_deleted", json!({"endpoint_id": id})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryQuery), responses(
        (status = 200, body = DeliveryPage, description = "a page of deliveries"),
        (status = 404, description = "no such endpoint of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Query(query): Query<DeliveryQuery>,
) -> AppResult<axum::Json<DeliveryPage>> {
    let endpoint = find(&state, &auth, &id).await?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 100"));
    }
    let mut rows =
        store::deliveries(&state.db, &auth.tenant_id, &endpoint.id, query.cursor.as_deref(), limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(axum::Json(DeliveryPage { items: rows.into_iter().map(DeliveryView::from).collect(), next_cursor }))
}

/// Queues a new delivery of the endpoint with the payload, event and webhook-id given.
async fn queue_one(
    state: &AppState,
    auth: &AuthContext,
    endpoint: &EndpointRow,
    message_id: &str,
    event: EventType,
    payload: &str,
) -> AppResult<DeliveryView> {
    let id = new_delivery_id();
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let delivery = store::NewDelivery {
        id: &id,
        tenant_id: &auth.tenant_id,
        endpoint_id: &endpoint.id,
        message_id,
        event,
        payload,
        now,
    };
    store::insert_delivery(&mut tx, &delivery).await?;
    tx.commit().await?;
    state.webhook_wake.notify_one();
    let row = store::delivery(&state.db, &auth.tenant_id, &endpoint.id, &id).await?.ok_or(AppError::NotFound)?;
    Ok(row.into())
}

/// Sends a delivery's message again (same `webhook-id`, payload and event), as a new delivery.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)), responses(
        (status = 202, body = DeliveryView, description = "the new delivery, queued"),
        (status = 404, description = "no such endpoint or delivery of this tenant"),
        (status = 409, description = "the endpoint is turned off")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn resend(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, delivery_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let endpoint = find(&state, &auth, &id).await?;
    let original =
        store::delivery(&state.db, &auth.tenant_id, &endpoint.id, &delivery_id).await?.ok_or(AppError::NotFound)?;
    if endpoint.disabled_at.is_some() {
        return Err(AppError::Conflict("the endpoint is turned off; turn it on first".into()));
    }
    let event = original.event.parse::<EventType>().map_err(|e| AppError::Internal(e.into()))?;
    let view = queue_one(&state, &auth, &endpoint, &original.message_id, event, &original.payload).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}

/// Sends a `webhook.test` event to this endpoint (whatever its filter).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 202, body = DeliveryView, description = "the test delivery, queued"),
    (status = 404, description = "no such endpoint of this tenant"),
    (status = 409, description = "the endpoint is turned off")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn test(State(state): State<AppState>, auth: AuthContext, Path(id): Path<String>) -> AppResult<Response> {
    let endpoint = find(&state, &auth, &id).await?;
    if endpoint.disabled_at.is_some() {
        return Err(AppError::Conflict("the endpoint is turned off; turn it on first".into()));
    }
    let data = json!({"endpoint_id": endpoint.id, "message": "This is a test event from Reelforge."});
    let payload = super::payload(EventType::WebhookTest, data, now_ms());
    let view = queue_one(&state, &auth, &endpoint, &super::new_message_id(), EventType::WebhookTest, &payload).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}
