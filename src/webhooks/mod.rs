//! Outgoing webhooks (SPEC 4.8), by the Standard Webhooks specification.
//!
//! A tenant registers up to `MAX_ENDPOINTS` endpoints, each with an event
//! filter. An event is written by `emit` inside the transaction that makes it
//! true (a project's last step, an export's end, a subscription's change):
//! one `webhook_deliveries` row per interested endpoint, so an event is never
//! lost nor sent for something that was rolled back (an outbox). The rows are
//! the queue: `deliver` runs in every `serve` and `worker` process, claims
//! due rows with a lease, signs and POSTs them (`sign`), and retries failures
//! on the specification's schedule for more than 24 hours. An endpoint that
//! has failed for `DISABLE_AFTER_MS` is turned off and its owner told by
//! e-mail. Targets obey the SSRF rules of `target`.
//!
//! - `sign.rs`: secrets (derived, never stored) and signatures
//! - `target.rs`: which URLs and addresses a delivery may reach, and its HTTP client
//! - `store.rs`: the SQL of endpoints and deliveries
//! - `deliver.rs`: the delivery loop
//! - `routes.rs`: `/api/v1/webhooks`

pub mod deliver;
pub mod routes;
pub mod sign;
pub mod store;
pub mod target;

use serde_json::{Value, json};

use crate::db::{Db, Tx, now_ms, rfc3339};
use crate::domain::{ProjectId, TenantId};
use crate::text_enum;

/// The most endpoints one tenant may have.
pub const MAX_ENDPOINTS: i64 = 10;
/// Finished deliveries stay in the log this many days.
pub const KEEP_DELIVERIES_DAYS: i64 = 30;
/// An endpoint failing for this long without a success is turned off.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;

text_enum! {
    /// What a webhook tells.
    pub enum EventType {
        /// A storyboard's pictures and narration are ready (`render: false`).
        ProjectDraftReady => "project.draft_ready",
        /// A video is finished.
        ProjectCompleted => "project.completed",
        /// A video is finished with some scenes made by a fallback.
        ProjectPartial => "project.partial",
        /// A project failed.
        ProjectFailed => "project.failed",
        /// Every row of a batch has finished (once per batch).
        BatchCompleted => "batch.completed",
        /// A GDPR export can be downloaded.
        ExportReady => "export.ready",
        /// A metric passed 90% of its monthly quota (once a month per metric).
        UsageNearLimit => "usage.near_limit",
        /// The subscription changed (plan, status, renewal).
        SubscriptionUpdated => "subscription.updated",
        /// Sent by `POST /api/v1/webhooks/{id}/test`, to that endpoint only.
        WebhookTest => "webhook.test",
    }
}

impl EventType {
    /// The events an endpoint can subscribe to (the test event always reaches the endpoint tested).
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        EventType::ALL.iter().copied().filter(|e| *e != EventType::WebhookTest)
    }
}

/// The body of every webhook: `{type, timestamp, data}`.
pub fn payload(event: EventType, data: Value, now: i64) -> String {
    json!({"type": event.as_str(), "timestamp": rfc3339(now), "data": data}).to_string()
}

/// Queues `event` for every enabled endpoint of the tenant that wants it, in
/// the caller's transaction. Returns how many deliveries were queued.
pub async fn emit(tx: &mut Tx, tenant_id: &TenantId, event: EventType, data: Value) -> Result<usize, sqlx::Error> {
    let endpoints = store::interested(tx, tenant_id, event).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let message_id = new_message_id();
    let body = payload(event, data, now);
    for endpoint_id in &endpoints {
        store::insert_delivery(
            tx,
            &store::NewDelivery {
                id: &new_delivery_id(),
                tenant_id,
                endpoint_id,
                message_id: &message_id,
                event,
                payload: &body,
                now,
            },
        )
        .await?;
    }
    Ok(endpoints.len())
}

/// A message id (`webhook-id`): the same for every attempt and every endpoint of one event.
pub fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// A delivery's id, as the delivery log shows it.
pub fn new_delivery_id() -> String {
    format!("dlv_{}", uuid::Uuid::now_v7().simple())
}

/// Queues the project event its new status calls for (draft ready, completed,
/// partial, failed), in the transaction that set the status.
pub async fn project_event(
    tx: &mut Tx,
    project_id: &ProjectId,
    status: crate::projects::types::ProjectStatus,
) -> Result<(), sqlx::Error> {
    use crate::projects::types::ProjectStatus;
    let event = match status {
        ProjectStatus::Draft => EventType::ProjectDraftReady,
        ProjectStatus::Completed => EventType::ProjectCompleted,
        ProjectStatus::Partial => EventType::ProjectPartial,
        ProjectStatus::Failed => EventType::ProjectFailed,
        _ => return Ok(()),
    };
    let Some(summary) = store::project_summary(tx, project_id).await? else { return Ok(()) };
    let data = json!({
        "project_id": project_id.as_str(),
        "title": summary.title,
        "status": status.as_str(),
        "duration_seconds": summary.duration_ms.map(|ms| ms as f64 / 1000.0),
        "error": summary.error,
    });
    emit(tx, &summary.tenant_id, event, data).await.map(|_| ())
}

/// After usage was recorded: queues `usage.near_limit` for each metric of the
/// tenant at 90% or more of its quota this month, once per metric and month
/// (`usage_notices` remembers). Runs on its own transaction after the
/// recording committed; a crash in between is made good by the next recording.
pub async fn check_near_limit(state: &crate::state::AppState, tenant_id: &TenantId) -> Result<(), sqlx::Error> {
    use crate::usage::quota::{METRICS, near_limit};
    let period = crate::usage::quota::period_of(now_ms());
    let row = crate::usage::store::usage(&state.db, tenant_id, &period).await?;
    let Some(plan) = row.plan.as_deref().and_then(|p| p.parse::<crate::billing::Plan>().ok()) else { return Ok(()) };
    let (used, _) = row.amounts();
    let near: Vec<_> = METRICS
        .into_iter()
        .filter_map(|metric| {
            let (base, quota) = (used.get(metric), metric.quota(&state.config, plan));
            near_limit(base, quota).then(|| (metric, base, quota.unwrap_or_default()))
        })
        .collect();
    if near.is_empty() {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    for (metric, base, quota) in near {
        if store::first_notice(&mut tx, tenant_id, &period, metric.as_str(), now_ms()).await? {
            let data = json!({
                "metric": metric.as_str(),
                "period": period,
                "used": metric.display(base),
                "quota": metric.display(quota),
            });
            emit(&mut tx, tenant_id, EventType::UsageNearLimit, data).await?;
        }
    }
    tx.commit().await
}

/// Deletes delivered and abandoned deliveries older than `days` (housekeeping).
pub async fn prune(db: &Db, days: i64) -> Result<u64, sqlx::Error> {
    store::prune_deliveries(db, now_ms() - days * 24 * 3600 * 1000).await
}
