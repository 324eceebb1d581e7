//! The SQL of overages: the owner's settings and the Stripe report outbox.

use crate::billing::Plan;
use crate::db::{Db, Tx};
use crate::domain::TenantId;
use crate::usage::quota::Metric;
use crate::{on_db, on_tx};

/// A report waiting for (its next) attempt.
pub const PENDING: &str = "pending";
/// A report Stripe acknowledged (accepted, or already had its identifier).
pub const SENT: &str = "sent";
/// A report Stripe refused (4xx): kept for `billing-sync`, which sends it again.
pub const FAILED: &str = "failed";

/// The owner's settings: `(enabled, cap in cents)`; `None` when never set.
pub async fn settings(db: &Db, tenant_id: &TenantId) -> Result<Option<(bool, i64)>, sqlx::Error> {
    let row: Option<(i64, i64)> = on_db!(db, pool => {
        sqlx::query_as("SELECT enabled, cap_cents FROM overage_settings WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(enabled, cap)| (enabled == 1, cap)))
}

/// Saves the owner's settings.
pub async fn save_settings(
    db: &Db,
    tenant_id: &TenantId,
    enabled: bool,
    cap_cents: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO overage_settings (tenant_id, enabled, cap_cents, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET enabled = $2, cap_cents = $3, updated_at = $4",
        )
        .bind(tenant_id)
        .bind(i64::from(enabled))
        .bind(cap_cents)
        .bind(now)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Notes, inside admission's transaction, that work past a quota was admitted in `period`.
pub async fn mark_admitted(tx: &mut Tx, tenant_id: &TenantId, period: &str, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE overage_settings SET admitted_period = $2, updated_at = $3 \
             WHERE tenant_id = $1 AND (admitted_period IS NULL OR admitted_period <> $2)",
        )
        .bind(tenant_id)
        .bind(period)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// The plan when usage past the quota recorded now in `period` is billable:
/// a paid plan, and overages on or work admitted past a quota this period.
pub async fn billable_plan(tx: &mut Tx, tenant_id: &TenantId, period: &str) -> Result<Option<Plan>, sqlx::Error> {
    let row: Option<(String, i64, Option<String>)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT t.plan, s.enabled, s.admitted_period FROM tenants t JOIN overage_settings s ON s.tenant_id = t.id \
             WHERE t.id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&mut **conn)
        .await?
    });
    let Some((plan, enabled, admitted)) = row else { return Ok(None) };
    let plan: Option<Plan> = plan.parse().ok().filter(|p| *p != Plan::Free);
    Ok(plan.filter(|_| enabled == 1 || admitted.as_deref() == Some(period)))
}

/// A report to queue.
pub struct NewReport<'a> {
    pub tenant_id: &'a TenantId,
    /// The ledger row it bills (its identifier at Stripe derives from it).
    pub ledger_id: &'a str,
    pub metric: Metric,
    /// Base units past the quota (images, ms of speech, ms of video).
    pub value: i64,
    pub period: &'a str,
    pub now: i64,
}

/// The `identifier` Stripe gets for the report of a ledger row: the same on
/// every attempt, so Stripe counts the row once.
pub fn identifier(ledger_id: &str) -> String {
    format!("rf_ovg_{ledger_id}")
}

/// Queues a report, due at once (same transaction as its ledger row).
pub async fn insert_report(tx: &mut Tx, report: &NewReport<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO overage_reports (id, tenant_id, ledger_id, identifier, metric, value, period, event_at, status, \
             attempt, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $8, $8) \
             ON CONFLICT (ledger_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(report.tenant_id)
        .bind(report.ledger_id)
        .bind(identifier(report.ledger_id))
        .bind(report.metric.as_str())
        .bind(report.value)
        .bind(report.period)
        .bind(report.now)
        .bind(PENDING)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// A report taken for an attempt, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub tenant_id: TenantId,
    pub identifier: String,
    pub metric: String,
    pub value: i64,
    pub event_at: i64,
    /// The attempt this is (1 for the first).
    pub attempt: i64,
    pub created_at: i64,
    /// `None` until the tenant has a Stripe customer.
    pub customer: Option<String>,
}

/// Takes up to `limit` due reports for `owner` until `lease_until`; each by a
/// conditional update, so two processes never take the same one.
pub async fn claim(db: &Db, owner: &str, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let due: Vec<Claimed> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT r.id, r.tenant_id, r.identifier, r.metric, r.value, r.event_at, r.attempt + 1 AS attempt, r.created_at, \
             b.stripe_customer_id AS customer \
             FROM overage_reports r LEFT JOIN billing_accounts b ON b.tenant_id = r.tenant_id \
             WHERE r.status = $1 AND r.next_attempt_at <= $2 AND (r.lease_until IS NULL OR r.lease_until < $2) \
             ORDER BY r.next_attempt_at, r.id LIMIT $3",
        )
        .bind(PENDING)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    let mut claimed = Vec::with_capacity(due.len());
    for report in due {
        let taken = on_db!(db, pool => {
            sqlx::query(
                "UPDATE overage_reports SET lease_owner = $1, lease_until = $2, attempt = attempt + 1 \
                 WHERE id = $3 AND status = $4 AND attempt = $5 AND (lease_until IS NULL OR lease_until < $6)",
            )
            .bind(owner)
            .bind(lease_until)
            .bind(&report.id)
            .bind(PENDING)
            .bind(report.attempt - 1)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if taken == 1 {
            claimed.push(report);
        }
    }
    Ok(claimed)
}

/// Records an attempt of a report `owner` holds: `status` with the error and
/// the next attempt's time (pending). False when the lease was lost.
pub async fn record_attempt(
    db: &Db,
    report: &Claimed,
    owner: &str,
    status: &str,
    error: Option<&str>,
    next_attempt_at: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sent_at = (status == SENT).then_some(now);
    let updated = on_db!(db, pool => {
        sqlx::query(
            "UPDATE overage_reports SET status = $1, error = $2, next_attempt_at = $3, sent_at = $4, \
             lease_owner = NULL, lease_until = NULL WHERE id = $5 AND lease_owner = $6 AND attempt = $7",
        )
        .bind(status)
        .bind(error)
        .bind(next_attempt_at)
        .bind(sent_at)
        .bind(&report.id)
        .bind(owner)
        .bind(report.attempt)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Makes every report Stripe has not acknowledged due now (pending or
/// refused, leases dropped): `billing-sync`. Returns how many.
pub async fn resend_unacknowledged(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query(
            "UPDATE overage_reports SET status = $1, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL \
             WHERE status <> $3",
        )
        .bind(PENDING)
        .bind(now)
        .bind(SENT)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })
}

/// Reports not acknowledged yet and the oldest one's creation time (ms), for `/metrics`.
pub async fn backlog(db: &Db) -> Result<(i64, Option<i64>), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM overage_reports WHERE status <> $1")
            .bind(SENT)
            .fetch_one(pool)
            .await
    })
}
