//! Usage metering and quotas: a ledger written exactly once per successful
//! step, reservations taken at admission, per-plan monthly quotas.

pub mod cache;
pub mod jsonl;
pub mod meter;
pub mod quota;
pub mod routes;
pub mod store;

use crate::usage::meter::LedgerEntry;

/// After usage rows committed: counts them, appends them to the JSONL log,
/// forgets the tenant's cached usage and queues `usage.near_limit` for any
/// metric the rows took to 90% of its quota. A failed append or check is
/// logged (`reelforge admin usage-log --rebuild` restores the log; the next
/// recording checks again).
pub async fn recorded(state: &crate::state::AppState, tenant_id: &crate::domain::TenantId, entries: &[LedgerEntry]) {
    for entry in entries {
        metrics::counter!(crate::metrics::USAGE_RECORDED, "metric" => entry.metric).increment(1);
    }
    if let Err(err) = jsonl::append(&state.config.usage.usage_log_dir, entries) {
        tracing::error!(error = %err, "appending to the usage log failed; rebuild it with `reelforge admin usage-log --rebuild`");
    }
    state.usage_changed(tenant_id.as_str());
    // Overage reports may have been queued with these rows: send them now, and
    // tell the owner when the month's spend reached a share of the cap.
    if entries.iter().any(|e| quota::Metric::parse(e.metric).is_some_and(quota::Metric::has_overage))
        && state.config.stripe().is_some()
    {
        state.overage_wake.notify_one();
        if let Err(err) = crate::billing::overage::check_cap_notices(state, tenant_id).await {
            tracing::warn!(error = %err, "checking the overage cap notices failed");
        }
    }
    if !entries.is_empty()
        && let Err(err) = crate::webhooks::check_near_limit(state, tenant_id).await
    {
        tracing::warn!(error = %err, "checking usage against the quota for usage.near_limit failed");
    }
}

/// The 402 answer for a quota that would be passed.
pub fn quota_exceeded(config: &crate::config::Config, exceeded: &quota::Exceeded) -> crate::error::AppError {
    metrics::counter!(crate::metrics::QUOTA_REJECTIONS, "metric" => exceeded.metric.as_str()).increment(1);
    let metric = exceeded.metric;
    let mut extensions = serde_json::Map::new();
    extensions.insert("metric".into(), serde_json::json!(metric.as_str()));
    extensions.insert("used".into(), serde_json::json!(metric.display(exceeded.used)));
    extensions.insert("reserved".into(), serde_json::json!(metric.display(exceeded.reserved)));
    extensions.insert("quota".into(), serde_json::json!(metric.display(exceeded.quota)));
    extensions.insert("needed".into(), serde_json::json!(metric.display(exceeded.needed)));
    extensions.insert("upgrade_url".into(), serde_json::json!(crate::billing::upgrade_url(config)));
    if let Some(cap) = &exceeded.cap {
        let cents = |usd: f64| (usd * 100.0).round() / 100.0;
        extensions.insert("cap_usd".into(), serde_json::json!(cents(cap.cap_usd)));
        extensions.insert("spent_usd".into(), serde_json::json!(cents(cap.spent_usd)));
        extensions.insert("projected_usd".into(), serde_json::json!(cents(cap.projected_usd)));
        return crate::error::AppError::PaymentRequired {
            detail: format!(
                "this would pass your monthly overage cap of ${:.2} ({} past your {} quota; ${:.2} spent so far, ${:.2} with this); raise the cap on the billing page or wait for next month",
                cap.cap_usd,
                metric.as_str(),
                metric.display(exceeded.quota),
                cap.spent_usd,
                cap.projected_usd
            ),
            extensions,
        };
    }
    crate::error::AppError::PaymentRequired {
        detail: format!(
            "this would pass your monthly {} quota ({} used, {} reserved, {} needed, quota {}); upgrade your plan or wait for next month",
            metric.as_str(),
            metric.display(exceeded.used),
            metric.display(exceeded.reserved),
            metric.display(exceeded.needed),
            metric.display(exceeded.quota)
        ),
        extensions,
    }
}
