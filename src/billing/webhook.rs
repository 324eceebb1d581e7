//! Stripe webhooks: signature checked on the raw body before anything is
//! parsed; each event id recorded in the inbox in the same transaction as its
//! effect; the subscription re-read from Stripe so that order does not matter.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::account::audit::{self, AuditEvent};
use crate::billing::service::{self, announce};
use crate::billing::store;
use crate::billing::stripe::{self, Subscription};
use crate::db::now_ms;
use crate::domain::TenantId;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::on_db;
use crate::ratelimit::{Limit, human_wait};
use crate::state::AppState;

/// What happened to a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Processed now.
    Processed,
    /// Seen before: acknowledged, ignored.
    Duplicate,
    /// A type we do not handle: acknowledged.
    Ignored,
}

/// Handles one delivery; `signature` is its `Stripe-Signature` header.
pub async fn handle(state: &AppState, signature: &str, body: &[u8], ip: IpAddr) -> AppResult<Outcome> {
    let secret =
        state.config.stripe().and_then(|s| s.webhook_secret.as_ref()).ok_or_else(|| AppError::ServiceUnavailable {
            detail: "billing is not configured on this server".into(),
        })?;
    let stripe = service::client(state)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(reason) = stripe::verify_signature(signature, body, secret.expose(), now) {
        // Refusals are counted per client IP; past the limit the answer is 429
        // and nothing is audited or logged, so forged deliveries cannot grow
        // the audit log or the log without bound. Stripe's own deliveries are
        // never counted: they verify.
        let key = format!("webhook-failed:{}", crate::ratelimit::ip_key(ip));
        let max = state.config.auth.rate_limit_webhook_failures_per_15m;
        if let Err(wait) = state.sign_in_limiter.admit(&[Limit { key: &key, max }]).await {
            return Err(AppError::RateLimited {
                retry_after_seconds: wait,
                detail: format!("too many webhooks with a bad signature; try again in {}", human_wait(wait)),
            });
        }
        audit::record(
            &state.db,
            AuditEvent {
                action: "billing.webhook_signature_failed",
                tenant_id: None,
                user_id: None,
                actor: "anonymous",
                ip: Some(ip),
                detail: json!({"reason": reason}),
            },
        )
        .await;
        tracing::warn!(%reason, %ip, "refused a webhook with a bad signature");
        return Err(AppError::BadRequest("invalid Stripe-Signature".into()));
    }
    let event: Value =
        serde_json::from_slice(body).map_err(|_| AppError::BadRequest("the event is not JSON".into()))?;
    let event_id = event["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 255)
        .ok_or_else(|| AppError::BadRequest("the event has no id".into()))?;
    let kind = event["type"].as_str().unwrap_or_default().to_string();
    let object = &event["data"]["object"];

    if seen(state, event_id).await? {
        return Ok(Outcome::Duplicate);
    }
    // Re-read the subscription: the event's copy may be older than Stripe's truth.
    let (subscription_id, tenant_hint) = match kind.as_str() {
        "checkout.session.completed" => (
            object["subscription"].as_str(),
            object["client_reference_id"].as_str().or_else(|| object["metadata"]["tenant_id"].as_str()),
        ),
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            (object["id"].as_str(), object["metadata"]["tenant_id"].as_str())
        }
        "invoice.paid" | "invoice.payment_failed" => (
            object["subscription"]
                .as_str()
                .or_else(|| object["parent"]["subscription_details"]["subscription"].as_str()),
            None,
        ),
        _ => (None, None),
    };
    let subscription: Option<Subscription> = match subscription_id {
        Some(id) => Some(stripe.get_subscription(id).await.map_err(|err| {
            tracing::warn!(error = %err, event = %event_id, "could not re-read the subscription; Stripe will retry the webhook");
            AppError::ServiceUnavailable { detail: "could not reach Stripe; retry later".into() }
        })?),
        None => None,
    };
    let tenant = match &subscription {
        Some(subscription) => service::tenant_of(&state.db, subscription, tenant_hint).await?,
        None => None,
    };
    let failed_invoice_notice = (kind == "invoice.payment_failed").then(|| {
        format!("{}:{}", object["id"].as_str().unwrap_or("invoice"), object["attempt_count"].as_i64().unwrap_or(1))
    });

    let now_ms = now_ms();
    let mut tx = state.db.begin_write().await?;
    let recorded = store::record_event(&mut tx, event_id, &kind, now_ms).await?;
    let mut change = None;
    let mut notify = false;
    if recorded {
        if let (Some(subscription), Some(tenant)) = (&subscription, &tenant) {
            change = service::apply(&mut tx, &state.config, tenant, subscription, now_ms).await?;
        }
        if let (Some(key), Some(tenant)) = (&failed_invoice_notice, &tenant) {
            notify = store::record_notice(&mut tx, key, tenant, now_ms).await?;
        }
    }
    tx.commit().await?;
    if !recorded {
        return Ok(Outcome::Duplicate);
    }
    announce(state, change, &kind, Some(ip)).await;
    if let (true, Some(tenant)) = (notify, &tenant) {
        mail_payment_failed(state, tenant).await;
    }
    if subscription.is_none() && !kind.starts_with("invoice.") && kind != "checkout.session.completed" {
        return Ok(Outcome::Ignored);
    }
    Ok(Outcome::Processed)
}

async fn seen(state: &AppState, event_id: &str) -> AppResult<bool> {
    let found: Option<String> = on_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT id FROM stripe_events WHERE id = $1").bind(event_id).fetch_optional(pool).await?
    });
    Ok(found.is_some())
}

async fn mail_payment_failed(state: &AppState, tenant: &TenantId) {
    let Ok(Some(email)) = crate::account::owner_email(&state.db, tenant).await else { return };
    let mut billing = state.config.http.public_url.clone();
    billing.set_path("/billing");
    let text = format!(
        "We could not collect your Reelforge payment.\n\nYour plan stays active while Stripe retries. \
         Update your payment method here: {billing}\n"
    );
    let html = format!(
        "<p>We could not collect your Reelforge payment.</p><p>Your plan stays active while Stripe retries. \
         <a href=\"{billing}\">Update your payment method</a>.</p>"
    );
    state.send_mail_later(OutgoingMail { to: email, subject: "Your Reelforge payment failed".into(), text, html });
}
