//! Billing rules: checkout, portal, the subscription view, and applying a
//! subscription (as Stripe reports it now) to a tenant's plan.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

use crate::account::audit::{self, AuditEvent};
use crate::billing::Plan;
use crate::billing::store;
use crate::billing::stripe::{Stripe, Subscription};
use crate::db::{Db, Tx, now_ms, rfc3339};
use crate::domain::{TenantId, UserId};
use crate::error::{AppError, AppResult};
use crate::on_db;
use crate::state::AppState;

/// The Stripe client, or 503 when billing is not configured.
pub fn client(state: &AppState) -> AppResult<Stripe> {
    Stripe::from_config(&state.config, &state.http)
        .ok_or_else(|| AppError::ServiceUnavailable { detail: "billing is not configured on this server".into() })
}

fn stripe_failed(err: crate::billing::stripe::StripeError) -> AppError {
    tracing::warn!(error = %err, "Stripe call failed");
    AppError::BadGateway { detail: "the payment provider did not answer as expected; please try again".into() }
}

/// The plan a Stripe price stands for.
pub fn plan_for_price(config: &crate::config::Config, price: &str) -> Option<Plan> {
    let stripe = config.stripe()?;
    if stripe.price_pro.as_deref() == Some(price) {
        Some(Plan::Pro)
    } else if stripe.price_enterprise.as_deref() == Some(price) {
        Some(Plan::Enterprise)
    } else {
        None
    }
}

async fn current_plan(db: &Db, tenant_id: &TenantId) -> AppResult<Plan> {
    let plan: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1").bind(tenant_id.as_str()).fetch_optional(pool).await?
    });
    plan.and_then(|p| p.parse().ok()).ok_or(AppError::Unauthorized)
}

async fn customer_id(db: &Db, tenant_id: &TenantId) -> AppResult<Option<String>> {
    Ok(on_db!(db, pool => {
        sqlx::query_scalar("SELECT stripe_customer_id FROM billing_accounts WHERE tenant_id = $1 AND stripe_customer_id IS NOT NULL")
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    }))
}

/// A Checkout session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckoutResponse {
    pub checkout_url: String,
    pub session_id: String,
}

/// Starts Stripe Checkout for `plan`, creating the tenant's customer once.
pub async fn checkout(
    state: &AppState,
    tenant_id: &TenantId,
    plan: &str,
    request_id: &str,
) -> AppResult<CheckoutResponse> {
    let stripe = client(state)?;
    let plan: Plan = match plan.trim().to_ascii_lowercase().as_str() {
        "pro" => Plan::Pro,
        "enterprise" => Plan::Enterprise,
        _ => return Err(AppError::invalid("plan", "must be \"pro\" or \"enterprise\"")),
    };
    let price = match plan {
        Plan::Pro => state.config.stripe().and_then(|s| s.price_pro.clone()),
        _ => state.config.stripe().and_then(|s| s.price_enterprise.clone()),
    }
    .ok_or_else(|| AppError::ServiceUnavailable {
        detail: format!("no price is configured for the {} plan", plan.as_str()),
    })?;
    if current_plan(&state.db, tenant_id).await? == plan {
        return Err(AppError::Conflict(format!("you are already on the {} plan", plan.as_str())));
    }
    let customer = match customer_id(&state.db, tenant_id).await? {
        Some(customer) => customer,
        None => {
            let email = crate::account::owner_email(&state.db, tenant_id).await?;
            let email = email.as_ref().map(|e| e.as_str()).unwrap_or_default();
            let customer = stripe.create_customer(tenant_id.as_str(), email).await.map_err(stripe_failed)?;
            let now = now_ms();
            on_db!(&state.db, pool => {
                sqlx::query(
                    "INSERT INTO billing_accounts (tenant_id, stripe_customer_id, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id) DO UPDATE SET stripe_customer_id = COALESCE(billing_accounts.stripe_customer_id, $2), \
                     updated_at = $3",
                )
                .bind(tenant_id.as_str())
                .bind(&customer)
                .bind(now)
                .execute(pool)
                .await?;
            });
            customer_id(&state.db, tenant_id).await?.unwrap_or(customer)
        }
    };
    let mut success = state.config.http.public_url.clone();
    success.set_path("/billing");
    success.set_query(Some("checkout=success&session_id={CHECKOUT_SESSION_ID}"));
    let mut cancel = state.config.http.public_url.clone();
    cancel.set_path("/billing");
    cancel.set_query(Some("checkout=cancelled"));
    // `{CHECKOUT_SESSION_ID}` must reach Stripe unescaped.
    let success = success.as_str().replace("%7B", "{").replace("%7D", "}");
    let key = format!("checkout-{tenant_id}-{}-{request_id}", plan.as_str());
    let metered = state.config.stripe().map(|s| s.overage_prices.all()).unwrap_or_default();
    let (session_id, checkout_url) = stripe
        .create_checkout_session(&key, &customer, &price, &metered, tenant_id.as_str(), &success, cancel.as_str())
        .await
        .map_err(stripe_failed)?;
    Ok(CheckoutResponse { checkout_url, session_id })
}

/// A customer-portal session URL (409 when the tenant has no customer yet).
pub async fn portal(state: &AppState, tenant_id: &TenantId, request_id: &str) -> AppResult<String> {
    let stripe = client(state)?;
    let customer = customer_id(&state.db, tenant_id)
        .await?
        .ok_or_else(|| AppError::Conflict("there is no subscription to manage yet; upgrade first".into()))?;
    let mut return_url = state.config.http.public_url.clone();
    return_url.set_path("/billing");
    stripe
        .create_portal_session(&format!("portal-{tenant_id}-{request_id}"), &customer, return_url.as_str())
        .await
        .map_err(stripe_failed)
}

/// The tenant's subscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub plan: Plan,
    /// Stripe's status (`active`, `past_due`, `canceled`, ...) or `none`.
    pub status: String,
    /// RFC 3339, when known.
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
    /// Whether this server takes payments (Stripe configured); when false,
    /// checkout and the portal answer 503.
    pub billing_enabled: bool,
}

/// The plan and the subscription behind it.
pub async fn subscription(state: &AppState, tenant_id: &TenantId) -> AppResult<SubscriptionView> {
    let db = &state.db;
    let plan = current_plan(db, tenant_id).await?;
    let row: Option<(Option<String>, Option<i64>, i64)> = on_db!(db, pool => {
        sqlx::query_as("SELECT status, current_period_end, cancel_at_period_end FROM billing_accounts WHERE tenant_id = $1")
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    let (status, period_end, cancel) = row.unwrap_or((None, None, 0));
    Ok(SubscriptionView {
        plan,
        status: status.unwrap_or_else(|| "none".into()),
        current_period_end: period_end.map(|seconds| rfc3339(seconds * 1000)),
        cancel_at_period_end: cancel != 0,
        billing_enabled: Stripe::from_config(&state.config, &state.http).is_some(),
    })
}

/// The plan a subscription in this state gives, or `None` to leave the plan
/// as it is. `past_due` keeps the paid plan until Stripe cancels; a cancelled,
/// unpaid or expired subscription means Free.
pub fn plan_for(config: &crate::config::Config, subscription: &Subscription) -> Option<Plan> {
    match subscription.status.as_str() {
        "active" | "trialing" | "past_due" => subscription.price_id().and_then(|price| plan_for_price(config, price)),
        "canceled" | "unpaid" | "incomplete_expired" => Some(Plan::Free),
        _ => None,
    }
}

/// The tenant a subscription belongs to: its metadata, else its customer.
pub async fn tenant_of(db: &Db, subscription: &Subscription, hint: Option<&str>) -> AppResult<Option<TenantId>> {
    let candidates = [subscription.metadata.get("tenant_id").map(String::as_str), hint];
    for candidate in candidates.into_iter().flatten() {
        let found: Option<TenantId> = on_db!(db, pool => {
            sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1 AND status = 'active'").bind(candidate).fetch_optional(pool).await?
        });
        if let Some(id) = found {
            return Ok(Some(id));
        }
    }
    let by_customer: Option<TenantId> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT tenant_id FROM billing_accounts WHERE stripe_customer_id = $1")
            .bind(&subscription.customer)
            .fetch_optional(pool)
            .await?
    });
    Ok(by_customer)
}

/// A plan change to audit after commit.
pub struct PlanChange {
    pub tenant_id: TenantId,
    pub from: String,
    pub to: Plan,
}

/// Writes a subscription's state (and the plan it gives) for a tenant inside
/// `tx`; returns the plan change to announce after commit, if any.
pub async fn apply(
    tx: &mut Tx,
    config: &crate::config::Config,
    tenant_id: &TenantId,
    subscription: &Subscription,
    now: i64,
) -> Result<Option<PlanChange>, sqlx::Error> {
    let before = store::subscription_state(tx, tenant_id).await?;
    store::upsert_account(tx, tenant_id, subscription, now).await?;
    let plan = plan_for(config, subscription);
    let after = (
        Some(subscription.id.clone()),
        Some(subscription.status.clone()),
        subscription.period_end(),
        i64::from(subscription.cancel_at_period_end),
    );
    let changed = before.as_ref() != Some(&after);
    let data = json!({
        "subscription_id": subscription.id,
        "plan": plan.map(|p| p.as_str()),
        "status": subscription.status,
        "current_period_end": subscription.period_end().map(|s| rfc3339(s * 1000)),
        "cancel_at_period_end": subscription.cancel_at_period_end,
    });
    if changed {
        crate::webhooks::emit(tx, tenant_id, crate::webhooks::EventType::SubscriptionUpdated, data).await?;
    }
    let Some(plan) = plan else { return Ok(None) };
    let Some(current) = store::plan_of(tx, tenant_id).await?.filter(|c| c != plan.as_str()) else { return Ok(None) };
    store::set_plan(tx, tenant_id, plan.as_str()).await?;
    Ok(Some(PlanChange { tenant_id: tenant_id.clone(), from: current, to: plan }))
}

/// After commit: audit a plan change and make every cache see it at once.
pub async fn announce(state: &AppState, change: Option<PlanChange>, source: &str, ip: Option<IpAddr>) {
    let Some(change) = change else { return };
    state.tenant_changed(change.tenant_id.as_str());
    audit::record(
        &state.db,
        AuditEvent {
            action: "billing.plan_changed",
            tenant_id: Some(&change.tenant_id),
            user_id: None::<&UserId>,
            actor: "system",
            ip,
            detail: json!({"from": change.from, "to": change.to.as_str(), "source": source}),
        },
    )
    .await;
    tracing::info!(tenant = %change.tenant_id, from = %change.from, to = change.to.as_str(), %source, "plan changed");
}

/// `reelforge admin billing-sync`: re-reads every customer's subscriptions
/// and fixes drift (for webhooks that never arrived). Returns plans changed.
pub async fn sync_all(state: &AppState) -> anyhow::Result<usize> {
    let stripe = client(state).map_err(|_| anyhow::anyhow!("billing is not configured (STRIPE_API_KEY)"))?;
    let accounts: Vec<(TenantId, String)> = on_db!(&state.db, pool => {
        sqlx::query_as("SELECT tenant_id, stripe_customer_id FROM billing_accounts WHERE stripe_customer_id IS NOT NULL")
            .fetch_all(pool)
            .await?
    });
    let mut changed = 0;
    for (tenant_id, customer) in accounts {
        let mut subscriptions = stripe.list_subscriptions(&customer).await?;
        // The live subscription wins; otherwise the newest tells the end state.
        subscriptions.sort_by_key(|s| !matches!(s.status.as_str(), "active" | "trialing" | "past_due"));
        let Some(subscription) = subscriptions.first() else { continue };
        let now = now_ms();
        let mut tx = state.db.begin_write().await?;
        let change = apply(&mut tx, &state.config, &tenant_id, subscription, now).await?;
        tx.commit().await?;
        if change.is_some() {
            changed += 1;
        }
        announce(state, change, "billing-sync", None).await;
    }
    Ok(changed)
}
