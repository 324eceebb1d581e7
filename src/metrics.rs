//! Prometheus metrics: names, the process-wide recorder and the scrape.
//!
//! Counters and histograms are recorded where things happen (request
//! middleware, workers, metering, webhooks, mail); queue gauges are read from
//! the database at scrape time, so every API process reports the shared queue.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests by route template, method and status.
pub const HTTP_REQUESTS: &str = "reelforge_http_requests_total";
/// Request latency by route template and method.
pub const HTTP_DURATION: &str = "reelforge_http_request_duration_seconds";
/// Steps by state (`queued`, `running`).
pub const QUEUE_DEPTH: &str = "reelforge_queue_depth";
/// Age of the oldest step waiting to run.
pub const QUEUE_OLDEST_AGE: &str = "reelforge_queue_oldest_age_seconds";
/// Step run time by kind.
pub const STEP_DURATION: &str = "reelforge_step_duration_seconds";
/// Failed step attempts by kind.
pub const STEP_FAILURES: &str = "reelforge_step_failures_total";
/// Usage ledger rows written, by metric.
pub const USAGE_RECORDED: &str = "reelforge_usage_recorded_total";
/// 402 answers by metric.
pub const QUOTA_REJECTIONS: &str = "reelforge_quota_rejections_total";
/// Stripe webhooks refused or failed.
pub const WEBHOOK_FAILURES: &str = "reelforge_webhook_failures_total";
/// Outgoing webhook attempts by outcome (`succeeded`, `retry`, `failed`).
pub const WEBHOOK_DELIVERIES: &str = "reelforge_webhook_deliveries_total";
/// Seconds from an event to the start of its first delivery attempt.
pub const WEBHOOK_DELIVERY_LAG: &str = "reelforge_webhook_delivery_lag_seconds";
/// Rows of batches admitted (one project each).
pub const BATCH_ROWS: &str = "reelforge_batch_rows_total";
/// Overage reports sent to Stripe by outcome (`sent`, `duplicate`, `retry`, `refused`).
pub const OVERAGE_REPORTS: &str = "reelforge_overage_reports_total";
/// Seconds from a ledger row past the quota to Stripe acknowledging its meter event.
pub const OVERAGE_REPORT_LAG: &str = "reelforge_overage_report_lag_seconds";
/// Overage reports Stripe has not acknowledged yet (every minute).
pub const OVERAGE_REPORT_BACKLOG: &str = "reelforge_overage_report_backlog";
/// Age of the oldest unacknowledged overage report, in seconds (every minute).
pub const OVERAGE_REPORT_OLDEST_AGE: &str = "reelforge_overage_report_oldest_age_seconds";
/// Mail that could not be sent.
pub const EMAIL_FAILURES: &str = "reelforge_email_failures_total";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "reelforge_build_info";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (several apps in one test process
/// share it) and returns its handle.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let latency = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
            let steps = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(STEP_DURATION.into()), &steps))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(WEBHOOK_DELIVERY_LAG.into()), &latency))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(OVERAGE_REPORT_LAG.into()), &latency))
                .map(|b| b.build_recorder());
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    if metrics::set_global_recorder(recorder).is_err() {
                        tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
                    }
                    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(err) => {
                    tracing::error!(error = %err, "metrics are off");
                    None
                }
            }
        })
        .as_ref()
}

/// Queue figures read from the database at scrape time.
pub struct QueueSnapshot {
    /// Steps ready or waiting to be claimed.
    pub queued: i64,
    /// Steps under a lease.
    pub running: i64,
    /// Seconds the oldest queued step has waited.
    pub oldest_age_seconds: f64,
}

/// The text exposition: the recorder's series plus the queue gauges.
pub fn render(queue: Option<QueueSnapshot>) -> String {
    if let Some(queue) = queue {
        metrics::gauge!(QUEUE_DEPTH, "state" => "queued").set(queue.queued as f64);
        metrics::gauge!(QUEUE_DEPTH, "state" => "running").set(queue.running as f64);
        metrics::gauge!(QUEUE_OLDEST_AGE).set(queue.oldest_age_seconds);
    }
    match install() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

/// Drains recorded histogram samples into their buckets. Called every few
/// seconds so memory stays flat between scrapes.
pub fn upkeep() {
    if let Some(handle) = install() {
        handle.run_upkeep();
    }
}
