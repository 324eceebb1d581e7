//! Overages (SPEC 4.9): a Pro or Enterprise owner lets usage go past the
//! quota up to a monthly spending cap; what goes past is reported to Stripe
//! as Billing Meter events. The admission rule is `usage::quota::
//! check_with_overage` (called by `usage::meter::admit`); the outbox rows are
//! written by `usage::meter::record`; this module holds the owner's settings,
//! the view, the cap e-mails and the report loop (`report.rs`).

pub mod report;
pub mod store;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::account::audit::{self, AuditEvent};
use crate::auth::AuthContext;
use crate::billing::Plan;
use crate::config::Config;
use crate::db::now_ms;
use crate::domain::TenantId;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::state::AppState;
use crate::usage::meter::UsageRow;
use crate::usage::quota::{self, OVERAGE_METRICS};

/// The largest monthly cap an owner can set, in dollars.
pub const MAX_CAP_USD: f64 = 100_000.0;
/// Shares of the cap at which the owner is e-mailed (once each per month).
pub const NOTICE_PERCENTS: [u32; 3] = [50, 80, 100];

/// The overage part of `GET /api/usage` and the answer of `PATCH /api/billing/overage`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverageView {
    /// The owner turned overages on (kept across a downgrade, but only a paid plan uses it).
    pub enabled: bool,
    /// Whether usage past the quota is admitted right now: enabled, a paid
    /// plan, billing configured and no failed payment (`past_due`).
    pub active: bool,
    /// The monthly spending cap in dollars; `null` when never set.
    pub cap_usd: Option<f64>,
    /// The overage reported this month, at `OVERAGE_UNIT_PRICES`, in dollars (cents).
    pub spent_usd: f64,
    /// Units past the quota this month per metric (images, seconds, minutes).
    pub metrics: BTreeMap<&'static str, f64>,
    /// The estimated cost of each metric's overage, in dollars.
    pub cost_usd: BTreeMap<&'static str, f64>,
}

/// Cents, as dollars.
fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Dollars rounded to cents.
fn to_cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// The overage view of a usage row (as `USAGE_SQL` reads it).
pub fn view(config: &Config, plan: Plan, row: &UsageRow) -> OverageView {
    let reported = row.overage_reported();
    let mut metrics = BTreeMap::new();
    let mut cost_usd = BTreeMap::new();
    let mut spent = 0.0;
    for metric in OVERAGE_METRICS {
        let base = reported.get(metric);
        let cost = metric.overage_cost_usd(config, base);
        spent += cost;
        metrics.insert(metric.as_str(), metric.display(base));
        cost_usd.insert(metric.as_str(), to_cents(cost));
    }
    OverageView {
        enabled: row.overage_enabled == Some(1),
        active: crate::usage::meter::overage_allowance(config, plan, row).is_some(),
        cap_usd: row.overage_cap_cents.map(dollars),
        spent_usd: to_cents(spent),
        metrics,
        cost_usd,
    }
}

/// Billing is the owner's: the route's rule (`auth::scopes::ROUTE_ACCESS`)
/// already refuses other roles and API keys; this says so where the change is made.
pub fn require_owner(auth: &AuthContext) -> AppResult<()> {
    match auth.role() {
        Some(crate::teams::Role::Owner) => Ok(()),
        _ => Err(crate::auth::scopes::role_required(crate::teams::Role::Owner)),
    }
}

/// Checks a requested cap: a number of dollars above 0 and at most `MAX_CAP_USD`, kept in cents.
pub fn parse_cap(cap_usd: f64) -> AppResult<i64> {
    if !cap_usd.is_finite() || !(0.01..=MAX_CAP_USD).contains(&cap_usd) {
        return Err(AppError::invalid("cap_usd", "must be a number of dollars from 0.01 to 100000"));
    }
    Ok((cap_usd * 100.0).round() as i64)
}

/// `PATCH /api/billing/overage`: turns overages on or off and sets the cap.
/// 409 on Free; 503 when billing is not configured (nothing could be billed).
pub async fn update(
    state: &AppState,
    auth: &AuthContext,
    enabled: bool,
    cap_usd: Option<f64>,
    ip: Option<std::net::IpAddr>,
) -> AppResult<OverageView> {
    require_owner(auth)?;
    if state.config.stripe().is_none() {
        return Err(AppError::ServiceUnavailable { detail: "billing is not configured on this server".into() });
    }
    let tenant_id = &auth.tenant_id;
    let cap_cents = cap_usd.map(parse_cap).transpose()?;
    let period = quota::period_of(now_ms());
    let row = crate::usage::store::usage(&state.db, tenant_id, &period).await?;
    let plan: Plan = row.plan.as_deref().and_then(|p| p.parse().ok()).ok_or(AppError::Unauthorized)?;
    if plan == Plan::Free {
        return Err(AppError::Conflict("overages need a paid plan; upgrade to Pro or Enterprise first".into()));
    }
    let cap_cents = match cap_cents.or(row.overage_cap_cents.filter(|c| *c > 0)) {
        Some(cap) => cap,
        None if enabled => return Err(AppError::invalid("cap_usd", "a monthly cap is needed to turn overages on")),
        None => 0,
    };
    store::save_settings(&state.db, tenant_id, enabled, cap_cents, now_ms()).await?;
    state.usage_changed(tenant_id.as_str());
    audit::record(
        &state.db,
        AuditEvent {
            action: "billing.overage_changed",
            tenant_id: Some(tenant_id),
            user_id: auth.user_id.as_ref(),
            actor: "user",
            ip,
            detail: json!({"enabled": enabled, "cap_usd": dollars(cap_cents)}),
        },
    )
    .await;
    let row = crate::usage::store::usage(&state.db, tenant_id, &period).await?;
    Ok(view(&state.config, plan, &row))
}

/// After overage was reported: e-mails the owner when this month's spend
/// reached 50%, 80% or 100% of the cap, once per share and month
/// (`usage_notices` remembers `overage_cap_{percent}`). When several shares
/// are passed at once, one e-mail names the highest.
pub async fn check_cap_notices(state: &AppState, tenant_id: &TenantId) -> anyhow::Result<()> {
    // Most tenants never set overages: one primary-key read, not the usage sums.
    if store::settings(&state.db, tenant_id).await?.is_none() {
        return Ok(());
    }
    let now = now_ms();
    let period = quota::period_of(now);
    let row = crate::usage::store::usage(&state.db, tenant_id, &period).await?;
    let Some(cap_cents) = row.overage_cap_cents.filter(|c| *c > 0) else { return Ok(()) };
    let reported = row.overage_reported();
    let spent: f64 = OVERAGE_METRICS.iter().map(|m| m.overage_cost_usd(&state.config, reported.get(*m))).sum();
    let cap = dollars(cap_cents);
    let reached: Vec<u32> =
        NOTICE_PERCENTS.into_iter().filter(|p| spent + 1e-5 >= cap * f64::from(*p) / 100.0).collect();
    if reached.is_empty() {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    let mut newest = None;
    for percent in reached {
        let notice = format!("overage_cap_{percent}");
        if crate::webhooks::store::first_notice(&mut tx, tenant_id, &period, &notice, now).await? {
            newest = Some(percent);
        }
    }
    tx.commit().await?;
    let Some(percent) = newest else { return Ok(()) };
    let Some(email) = crate::account::owner_email(&state.db, tenant_id).await? else { return Ok(()) };
    let mut billing = state.config.http.public_url.clone();
    billing.set_path("/billing");
    let spent = to_cents(spent);
    let (subject, line) = if percent >= 100 {
        (
            "You reached your Reelforge overage cap".to_string(),
            format!(
                "Your overage this month is ${spent:.2}, your whole ${cap:.2} cap: new work past your quota is refused until next month or until you raise the cap."
            ),
        )
    } else {
        (
            format!("You used {percent}% of your Reelforge overage cap"),
            format!("Your overage this month is ${spent:.2} of your ${cap:.2} cap."),
        )
    };
    let text = format!("{line}\n\nSee your usage and change the cap here: {billing}\n");
    let html = format!(
        "<p>{}</p><p><a href=\"{billing}\">See your usage and change the cap</a>.</p>",
        crate::mail::html_escape(&line)
    );
    state.send_mail_later(OutgoingMail { to: email, subject, text, html });
    tracing::info!(tenant = %tenant_id, percent, "overage cap notice sent");
    Ok(())
}
