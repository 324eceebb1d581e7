//! Usage metering and quotas: a ledger written exactly once per successful
//! step, reservations taken at admission, per-plan monthly quotas.

pub mod cache;
pub mod jsonl;
pub mod meter;
pub mod quota;
pub mod routes;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::usage::meter::LedgerEntry;
use crate::usage::quota::{METRICS, Metric};

/// Process counters for operations (exported when `/metrics` lands).
pub struct Counters {
    recorded: [AtomicU64; 4],
    rejected: [AtomicU64; 4],
}

/// The process's counters.
pub static COUNTERS: Counters = Counters {
    recorded: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
    rejected: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
};

fn index(metric: Metric) -> usize {
    METRICS.iter().position(|m| *m == metric).unwrap_or(0)
}

impl Counters {
    /// Counts a quota rejection.
    pub fn rejected(&self, metric: Metric) {
        self.rejected[index(metric)].fetch_add(1, Ordering::Relaxed);
    }
    /// Counts recorded usage rows.
    pub fn recorded(&self, metric: Metric) {
        self.recorded[index(metric)].fetch_add(1, Ordering::Relaxed);
    }
    /// `(metric, recorded rows, quota rejections)` so far.
    pub fn snapshot(&self) -> Vec<(&'static str, u64, u64)> {
        METRICS
            .iter()
            .map(|m| {
                (
                    m.as_str(),
                    self.recorded[index(*m)].load(Ordering::Relaxed),
                    self.rejected[index(*m)].load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// After a commit: counts the rows and appends them to the JSONL log. A failed
/// append is logged; `reelforge admin usage-log --rebuild` restores the log.
pub fn after_commit(usage_log_dir: &std::path::Path, entries: &[LedgerEntry]) {
    for entry in entries {
        if let Some(metric) = Metric::parse(entry.metric) {
            COUNTERS.recorded(metric);
        }
    }
    if let Err(err) = jsonl::append(usage_log_dir, entries) {
        tracing::error!(error = %err, "appending to the usage log failed; rebuild it with `reelforge admin usage-log --rebuild`");
    }
}

/// The 402 answer for a quota that would be passed.
pub fn quota_exceeded(config: &crate::config::Config, exceeded: &quota::Exceeded) -> crate::error::AppError {
    COUNTERS.rejected(exceeded.metric);
    let metric = exceeded.metric;
    let mut extensions = serde_json::Map::new();
    extensions.insert("metric".into(), serde_json::json!(metric.as_str()));
    extensions.insert("used".into(), serde_json::json!(metric.display(exceeded.used)));
    extensions.insert("reserved".into(), serde_json::json!(metric.display(exceeded.reserved)));
    extensions.insert("quota".into(), serde_json::json!(metric.display(exceeded.quota)));
    extensions.insert("needed".into(), serde_json::json!(metric.display(exceeded.needed)));
    extensions.insert("upgrade_url".into(), serde_json::json!(crate::billing::upgrade_url(config)));
    crate::error::AppError::Problem {
        status: axum::http::StatusCode::PAYMENT_REQUIRED,
        title: "Payment Required".into(),
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
