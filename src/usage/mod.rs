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
