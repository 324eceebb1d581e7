//! `/api/billing/*`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::billing::service::{self, CheckoutResponse, SubscriptionView};
use crate::billing::webhook;
use crate::error::AppResult;
use crate::http::extract::{ClientIp, Json};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/billing/checkout", post(checkout))
        .route("/api/billing/portal", post(portal))
        .route("/api/billing/subscription", get(subscription))
        .route("/api/billing/overage", patch(overage))
        .route("/api/billing/webhook", post(stripe_webhook))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(checkout, portal, subscription, overage, stripe_webhook), tags((name = "billing", description = "Stripe subscriptions")))]
pub struct BillingApi;

/// Body of a checkout call.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckoutRequest {
    /// `pro` or `enterprise`.
    pub plan: String,
}

/// Body of `PATCH /api/billing/overage`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverageRequest {
    /// Admit usage past the quota (billed as overage) up to the cap.
    pub enabled: bool,
    /// The monthly spending cap in dollars (0.01 to 100000); needed to turn
    /// overages on unless one was set before.
    #[serde(default)]
    pub cap_usd: Option<f64>,
}

/// A portal session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PortalResponse {
    pub portal_url: String,
}

fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("no-request-id").chars().take(64).collect()
}

/// Starts Stripe Checkout for a plan.
#[utoipa::path(post, path = "/api/billing/checkout", tag = "billing", request_body = CheckoutRequest, responses(
    (status = 200, body = CheckoutResponse, description = "the Stripe Checkout page to send the person to"),
    (status = 409, description = "already on that plan"),
    (status = 422, description = "unknown plan"), (status = 503, description = "billing not configured")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn checkout(
    State(state): State<AppState>,
    auth: AuthContext,
    headers: HeaderMap,
    Json(body): Json<CheckoutRequest>,
) -> AppResult<axum::Json<CheckoutResponse>> {
    Ok(axum::Json(service::checkout(&state, &auth.tenant_id, &body.plan, &request_id(&headers)).await?))
}

/// A Stripe customer-portal session.
#[utoipa::path(post, path = "/api/billing/portal", tag = "billing", responses(
    (status = 200, body = PortalResponse, description = "the Stripe customer portal to send the person to"),
    (status = 409, description = "no customer yet"),
    (status = 503, description = "billing not configured")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn portal(
    State(state): State<AppState>,
    auth: AuthContext,
    headers: HeaderMap,
) -> AppResult<axum::Json<PortalResponse>> {
    let portal_url = service::portal(&state, &auth.tenant_id, &request_id(&headers)).await?;
    Ok(axum::Json(PortalResponse { portal_url }))
}

/// The tenant's plan and subscription.
#[utoipa::path(get, path = "/api/billing/subscription", tag = "billing", responses(
    (status = 200, body = SubscriptionView, description = "the plan and subscription")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn subscription(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<SubscriptionView>> {
    Ok(axum::Json(service::subscription(&state, &auth.tenant_id).await?))
}

/// Turns overages on or off and sets the monthly cap (the owner only).
#[utoipa::path(patch, path = "/api/billing/overage", tag = "billing", request_body = OverageRequest, responses(
    (status = 200, body = crate::billing::overage::OverageView, description = "the overage settings and this month's overage"),
    (status = 403, description = "not the account's owner"),
    (status = 409, description = "the Free plan has no overages"),
    (status = 422, description = "a bad cap, or none to turn overages on"),
    (status = 503, description = "billing not configured")),
    security(("bearer" = []), ("cookie" = [])))]
async fn overage(
    State(state): State<AppState>,
    auth: AuthContext,
    ClientIp(ip): ClientIp,
    Json(body): Json<OverageRequest>,
) -> AppResult<axum::Json<crate::billing::overage::OverageView>> {
    let view = crate::billing::overage::update(&state, &auth, body.enabled, body.cap_usd, Some(ip)).await?;
    Ok(axum::Json(view))
}

/// Stripe's webhook (verified by `Stripe-Signature`; no other authentication).
#[utoipa::path(post, path = "/api/billing/webhook", tag = "billing", request_body(content = String, description = "a Stripe event, raw JSON"), responses(
    (status = 200, description = "processed, duplicate or ignored"), (status = 400, description = "bad or old signature; nothing changed"),
    (status = 429, description = "too many bad signatures from this client IP; see Retry-After"),
    (status = 503, description = "billing not configured, or Stripe unreachable (Stripe retries)")))]
async fn stripe_webhook(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<impl IntoResponse> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let outcome = webhook::handle(&state, signature, &body, ip)
        .await
        .inspect_err(|_| metrics::counter!(crate::metrics::WEBHOOK_FAILURES).increment(1))?;
    let outcome = match outcome {
        webhook::Outcome::Processed => "processed",
        webhook::Outcome::Duplicate => "duplicate",
        webhook::Outcome::Ignored => "ignored",
    };
    Ok((StatusCode::OK, axum::Json(json!({"received": true, "outcome": outcome}))))
}
