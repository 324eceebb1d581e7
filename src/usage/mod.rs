//! Usage metering and quotas: a ledger written exactly once per successful
//! step, reservations taken at admission, per-plan monthly quotas.

pub mod cache;
pub mod jsonl;
pub mod meter;
pub mod quota;
pub mod routes;
pub mod store;

use crate::usage::meter::LedgerEntry;

/// After a commit: counts the rows and appends them to the JSONL log. A failed
/// append is logged; `reelforge admin usage-log --rebuild` restores the log.
pub fn after_commit(usage_log_dir: &std::path::Path, entries: &[LedgerEntry]) {
    for entry in entries {
        metrics::counter!(crate::metrics::USAGE_RECORDED, "metric" => entry.metric).increment(1);
    }
    if let Err(err) = jsonl::append(usage_log_dir, entries) {
        tracing::error!(error = %err, "appending to the usage log failed; rebuild it with `reelforge admin usage-log --rebuild`");
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
