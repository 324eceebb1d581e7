//! The delivery loop: every `serve` and `worker` process runs one. It claims
//! due deliveries (a lease, so a process that dies gives them back), signs
//! and POSTs each on its own task, records the attempt, and schedules the
//! next one on the Standard Webhooks schedule. Delivery is at least once:
//! receivers deduplicate by `webhook-id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use url::Url;

use super::store::{self, Attempt, Claimed};
use super::{DISABLE_AFTER_MS, target};
use crate::db::now_ms;
use crate::mail::OutgoingMail;
use crate::state::AppState;

/// Waits after a failed attempt: attempt n+1 comes `RETRY_AFTER_MS[n-1]`
/// after attempt n (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: the last
/// attempt is 27 h 35 min after the first).
pub const RETRY_AFTER_MS: [i64; 7] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = RETRY_AFTER_MS.len() as i64 + 1;
/// How often the queue is looked at when nothing woke the loop (a delivery
/// queued by another process waits at most this long).
const POLL: Duration = Duration::from_millis(200);
/// Deliveries in flight per process.
const IN_FLIGHT: usize = 32;

/// When attempt `attempt + 1` is due after attempt `attempt` failed at `now`;
/// `None` when that was the last.
pub fn next_attempt_at(attempt: i64, now: i64) -> Option<i64> {
    let index = usize::try_from(attempt - 1).ok()?;
    RETRY_AFTER_MS.get(index).map(|wait| now + wait)
}

/// Starts this process's delivery loop.
pub fn start(state: &AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state.clone()))
}

async fn run(state: AppState) {
    let owner = format!("{}-{}", hostname(), uuid::Uuid::now_v7().simple());
    let lease_ms = i64::try_from(state.config.webhooks.timeout.as_millis()).unwrap_or(i64::MAX / 4) + 30_000;
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let free = permits.available_permits();
        if free > 0 {
            let now = now_ms();
            match store::claim(&state.db, &owner, now, now + lease_ms, free as i64).await {
                Ok(claimed) => {
                    for delivery in claimed {
                        let Ok(permit) = permits.clone().acquire_owned().await else { return };
                        let state = state.clone();
                        let owner = owner.clone();
                        tokio::spawn(async move {
                            attempt(&state, &owner, delivery).await;
                            drop(permit);
                        });
                    }
                }
                Err(err) => tracing::warn!(error = %err, "claiming webhook deliveries failed"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = state.webhook_wake.notified() => {}
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "reelforge".into())
}

/// One attempt of one delivery, and what follows from it.
async fn attempt(state: &AppState, owner: &str, delivery: Claimed) {
    let started = now_ms();
    if delivery.attempt == 1 {
        let lag = (started - delivery.created_at).max(0) as f64 / 1000.0;
        metrics::histogram!(crate::metrics::WEBHOOK_DELIVERY_LAG).record(lag);
    }
    let clock = Instant::now();
    let sent = send(state, &delivery).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    let (status_code, error) = match &sent {
        Ok(code) => (Some(i64::from(*code)), (!(200..300).contains(code)).then(|| format!("HTTP {code}"))),
        Err(reason) => (None, Some(reason.clone())),
    };
    let next = error.as_ref().and_then(|_| next_attempt_at(delivery.attempt, now));
    let status = match (&error, next) {
        (None, _) => store::SUCCEEDED,
        (Some(_), Some(_)) => store::PENDING,
        (Some(_), None) => store::FAILED,
    };
    let outcome = match status {
        store::SUCCEEDED => "succeeded",
        store::PENDING => "retry",
        _ => "failed",
    };
    metrics::counter!(crate::metrics::WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
    let record = Attempt { status, status_code, duration_ms, error: error.as_deref(), next_attempt_at: next };
    match store::record_attempt(&state.db, &delivery, owner, &record, now).await {
        Ok(Some(Some(failing_since))) if now - failing_since >= DISABLE_AFTER_MS => {
            disable_failing(state, &delivery, failing_since).await;
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, delivery = %delivery.id, "recording a webhook attempt failed"),
    }
    tracing::debug!(delivery = %delivery.id, attempt = delivery.attempt, status, duration_ms, "webhook attempt");
}

/// POSTs the signed message; the answer's status, or why there was none.
async fn send(state: &AppState, delivery: &Claimed) -> Result<u16, String> {
    let config = &state.config.webhooks;
    let url = Url::parse(&delivery.url).map_err(|_| "the endpoint URL is not valid".to_string())?;
    if !target::literal_allowed(&url, config) {
        return Err(target::ForbiddenAddress.to_string());
    }
    let timestamp = now_ms() / 1000;
    let secret = state.webhook_key.endpoint_secret(&delivery.endpoint_id, &delivery.secret_salt);
    let signature = secret.sign(&delivery.message_id, timestamp, delivery.payload.as_bytes());
    let response = state
        .webhook_http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|err| describe(&err, config.timeout))?;
    // The answer's body is not read: only its status counts.
    Ok(response.status().as_u16())
}

/// Why an attempt got no answer, in words for the delivery log (no internals).
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.is::<target::ForbiddenAddress>() {
            return target::ForbiddenAddress.to_string();
        }
        source = cause.source();
    }
    if err.is_timeout() {
        format!("no answer within {} s", timeout.as_secs())
    } else if err.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

/// Turns off an endpoint that has failed for `DISABLE_AFTER_MS` and tells the tenant's owner.
async fn disable_failing(state: &AppState, delivery: &Claimed, failing_since: i64) {
    let days = (now_ms() - failing_since) / (24 * 3600 * 1000);
    let reason = format!("every delivery failed for {days} days");
    match store::disable(&state.db, &delivery.endpoint_id, &reason, now_ms()).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => {
            tracing::warn!(error = %err, endpoint = %delivery.endpoint_id, "disabling a failing webhook endpoint failed");
            return;
        }
    }
    tracing::info!(endpoint = %delivery.endpoint_id, tenant = %delivery.tenant_id, "webhook endpoint disabled after failing");
    let Ok(Some(email)) = crate::account::owner_email(&state.db, &delivery.tenant_id).await else { return };
    let mut link = state.config.http.public_url.clone();
    link.set_path("/account");
    link.set_fragment(Some("webhooks"));
    let host = Url::parse(&delivery.url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let text = format!(
        "Reelforge could not deliver webhooks to your endpoint at {host} for {days} days, so it has been turned off.\n\
         Deliveries since then are kept. Fix the receiver, then turn the endpoint on again: {link}\n"
    );
    let html = format!(
        "<p>Reelforge could not deliver webhooks to your endpoint at <b>{host}</b> for {days} days, so it has been \
         turned off.</p><p>Deliveries since then are kept. Fix the receiver, then <a href=\"{link}\">turn the \
         endpoint on again</a>.</p>"
    );
    state.send_mail_later(OutgoingMail {
        to: email,
        subject: "Your Reelforge webhook endpoint was turned off".into(),
        text,
        html,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_for_more_than_a_day() {
        let mut at = 0;
        let mut attempt = 1;
        while let Some(next) = next_attempt_at(attempt, at) {
            at = next;
            attempt += 1;
        }
        assert_eq!(attempt, MAX_ATTEMPTS);
        assert!(at >= 24 * 3600 * 1000, "the last attempt is {at} ms after the first");
        assert_eq!(next_attempt_at(1, 0), Some(5_000));
        assert_eq!(next_attempt_at(2, 0), Some(300_000));
    }
}
