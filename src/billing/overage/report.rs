//! The overage report loop: every `serve` and `worker` process runs one. It
//! claims due outbox rows (a lease, so a process that dies gives them back),
//! sends each as a Stripe Billing Meter event and records the answer. A
//! report is written in the transaction of its ledger row, so a crash before
//! the send leaves it for the next attempt; its `identifier` makes Stripe
//! count it once however often it is sent (a lost acknowledgement, a lease
//! that ran out, `billing-sync`). Stripe down never blocks a render: steps
//! only write rows.

use std::time::Duration;

use super::store::{self, Claimed};
use crate::billing::stripe::{MeterError, MeterEvent, MeterOutcome, Stripe};
use crate::db::now_ms;
use crate::state::AppState;
use crate::usage::quota::Metric;

/// Waits after failed attempts: 1 s, 2 s, 5 s, 15 s, 1 min, 5 min, then hourly.
/// Reports are retried until Stripe answers (it takes events up to 35 days
/// old; an older one is refused and waits for an operator's `billing-sync`).
pub const RETRY_AFTER_MS: [i64; 7] = [1_000, 2_000, 5_000, 15_000, 60_000, 300_000, 3_600_000];
/// How often the outbox is looked at when nothing woke the loop.
const POLL: Duration = Duration::from_millis(500);
/// Reports taken per round.
const BATCH: i64 = 50;
/// How long a claimed report is held (a meter-event call times out after 10 s).
const LEASE_MS: i64 = 30_000;

/// When attempt `attempt + 1` is due after attempt `attempt` failed at `now`.
pub fn next_attempt_at(attempt: i64, now: i64) -> i64 {
    let index = usize::try_from(attempt - 1).unwrap_or(0).min(RETRY_AFTER_MS.len() - 1);
    now + RETRY_AFTER_MS[index]
}

/// Starts this process's report loop (does nothing while billing is off).
pub fn start(state: &AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state.clone()))
}

async fn run(state: AppState) {
    let Some(stripe) = Stripe::from_config(&state.config, &state.http) else { return };
    let owner = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "reelforge".into()),
        uuid::Uuid::now_v7().simple()
    );
    loop {
        let claimed = round(&state, &stripe, &owner).await;
        if claimed < BATCH as usize {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = state.overage_wake.notified() => {}
            }
        }
    }
}

/// Claims and sends one batch; how many were claimed.
async fn round(state: &AppState, stripe: &Stripe, owner: &str) -> usize {
    let now = now_ms();
    let claimed = match store::claim(&state.db, owner, now, now + LEASE_MS, BATCH).await {
        Ok(claimed) => claimed,
        Err(err) => {
            tracing::warn!(error = %err, "claiming overage reports failed");
            return 0;
        }
    };
    let count = claimed.len();
    for report in claimed {
        attempt(state, stripe, owner, &report).await;
    }
    count
}

/// The meter a metric's overage is reported to.
fn event_name<'a>(state: &'a AppState, metric: &str) -> Option<&'a str> {
    let meters = &state.config.stripe()?.meters;
    match Metric::parse(metric)? {
        Metric::ImagesGenerated => Some(&meters.images),
        Metric::TtsSeconds => Some(&meters.tts_seconds),
        Metric::RenderMinutes => Some(&meters.render_minutes),
        Metric::StorageMb | Metric::ScriptsGenerated => None,
    }
}

/// One attempt of one report, and what follows from it.
async fn attempt(state: &AppState, stripe: &Stripe, owner: &str, report: &Claimed) {
    let sent = match (&report.customer, event_name(state, &report.metric)) {
        (Some(customer), Some(event_name)) => {
            let event = MeterEvent {
                event_name,
                customer,
                value: report.value,
                timestamp: report.event_at / 1000,
                identifier: &report.identifier,
            };
            stripe.create_meter_event(&event).await
        }
        (None, _) => Err(MeterError::Retry("the tenant has no Stripe customer yet".into())),
        (_, None) => Err(MeterError::Refused(format!("{} has no overage meter", report.metric))),
    };
    let now = now_ms();
    let (status, error, next, outcome) = match &sent {
        Ok(MeterOutcome::Accepted) => (store::SENT, None, now, "sent"),
        Ok(MeterOutcome::Duplicate) => (store::SENT, None, now, "duplicate"),
        Err(MeterError::Retry(reason)) => {
            (store::PENDING, Some(reason.as_str()), next_attempt_at(report.attempt, now), "retry")
        }
        Err(MeterError::Refused(reason)) => (store::FAILED, Some(reason.as_str()), now, "refused"),
    };
    metrics::counter!(crate::metrics::OVERAGE_REPORTS, "outcome" => outcome).increment(1);
    if status == store::SENT {
        let lag = (now - report.created_at).max(0) as f64 / 1000.0;
        metrics::histogram!(crate::metrics::OVERAGE_REPORT_LAG).record(lag);
    }
    if let Some(reason) = error {
        tracing::warn!(report = %report.id, tenant = %report.tenant_id, attempt = report.attempt, %reason, outcome, "an overage report was not acknowledged");
    }
    match store::record_attempt(&state.db, report, owner, status, error, next, now).await {
        Ok(true) => {}
        Ok(false) => tracing::info!(report = %report.id, "lost the lease of an overage report; another process has it"),
        Err(err) => tracing::warn!(error = %err, report = %report.id, "recording an overage report attempt failed"),
    }
}

/// `billing-sync`: makes every report Stripe has not acknowledged due now
/// and sends them all at once from this process. Returns how many were
/// made due, and how many are still unacknowledged after this round.
pub async fn resend_unacknowledged(state: &AppState) -> anyhow::Result<(u64, u64)> {
    let stripe = Stripe::from_config(&state.config, &state.http)
        .ok_or_else(|| anyhow::anyhow!("billing is not configured (STRIPE_API_KEY)"))?;
    let due = store::resend_unacknowledged(&state.db, now_ms()).await?;
    let owner = format!("billing-sync-{}", uuid::Uuid::now_v7().simple());
    loop {
        let now = now_ms();
        let claimed = store::claim(&state.db, &owner, now, now + LEASE_MS, BATCH).await?;
        if claimed.is_empty() {
            break;
        }
        for report in &claimed {
            attempt(state, &stripe, &owner, report).await;
        }
        // What failed again waits for its retry (not claimable in this loop).
        if claimed.len() < BATCH as usize {
            break;
        }
    }
    let (left, _) = store::backlog(&state.db).await?;
    Ok((due, u64::try_from(left).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_hourly() {
        assert_eq!(next_attempt_at(1, 0), 1_000);
        assert_eq!(next_attempt_at(2, 0), 2_000);
        assert_eq!(next_attempt_at(7, 0), 3_600_000);
        assert_eq!(next_attempt_at(60, 0), 3_600_000);
        assert_eq!(next_attempt_at(0, 0), 1_000);
    }
}
