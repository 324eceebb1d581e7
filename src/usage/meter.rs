//! The usage ledger and reservations. The SQL that must run inside another
//! module's transaction (admission, step completion) is written as macros so
//! that it expands for either backend's transaction.

use crate::db::Db;
use crate::domain::TenantId;
use crate::on_db;
use crate::usage::quota::{Amounts, Metric};

/// One row of the ledger, as written to the JSONL log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    /// RFC 3339.
    pub time: String,
    pub tenant: String,
    pub metric: &'static str,
    /// In the metric's display unit (count, seconds, minutes).
    pub amount: f64,
    pub key: String,
    #[serde(skip)]
    pub created_at: i64,
}

/// Usage recorded by a successful step.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub metric: Metric,
    /// Base units.
    pub amount: i64,
    /// Unique per unit of work: a re-run of the same work has the same key.
    pub key: String,
}

/// Sums used this period and reserved now, inside transaction `$tx`:
/// evaluates to `(used, reserved)` as `Amounts` (storage is current bytes).
macro_rules! usage_in_tx {
    ($tx:expr, $tenant_id:expr, $period:expr) => {{
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT metric, CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_ledger \
             WHERE tenant_id = $1 AND period = $2 GROUP BY metric",
        )
        .bind($tenant_id)
        .bind($period)
        .fetch_all(&mut *$tx)
        .await?;
        let stored: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(bytes_stored), 0) AS BIGINT) FROM projects WHERE tenant_id = $1",
        )
        .bind($tenant_id)
        .fetch_one(&mut *$tx)
        .await?;
        let reserved: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(images), 0) AS BIGINT), CAST(COALESCE(SUM(tts_ms), 0) AS BIGINT), \
             CAST(COALESCE(SUM(render_ms), 0) AS BIGINT), CAST(COALESCE(SUM(storage_bytes), 0) AS BIGINT) \
             FROM usage_reservations WHERE tenant_id = $1",
        )
        .bind($tenant_id)
        .fetch_one(&mut *$tx)
        .await?;
        let mut used = $crate::usage::quota::Amounts { storage_bytes: stored, ..Default::default() };
        for (metric, amount) in rows {
            match $crate::usage::quota::Metric::parse(&metric) {
                Some($crate::usage::quota::Metric::ImagesGenerated) => used.images = amount,
                Some($crate::usage::quota::Metric::TtsSeconds) => used.tts_ms = amount,
                Some($crate::usage::quota::Metric::RenderMinutes) => used.render_ms = amount,
                _ => {}
            }
        }
        let reserved = $crate::usage::quota::Amounts {
            images: reserved.0,
            tts_ms: reserved.1,
            render_ms: reserved.2,
            storage_bytes: reserved.3,
        };
        (used, reserved)
    }};
}
pub(crate) use usage_in_tx;

/// Inserts (or replaces) a project's reservation inside `$tx`.
macro_rules! reserve_in_tx {
    ($tx:expr, $project_id:expr, $tenant_id:expr, $amounts:expr, $now:expr) => {{
        let amounts: $crate::usage::quota::Amounts = $amounts;
        sqlx::query("DELETE FROM usage_reservations WHERE project_id = $1").bind($project_id).execute(&mut *$tx).await?;
        sqlx::query(
            "INSERT INTO usage_reservations (project_id, tenant_id, images, tts_ms, render_ms, storage_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($project_id)
        .bind($tenant_id)
        .bind(amounts.images)
        .bind(amounts.tts_ms)
        .bind(amounts.render_ms)
        .bind(amounts.storage_bytes)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use reserve_in_tx;

/// Releases a project's reservation inside `$tx`.
macro_rules! release_in_tx {
    ($tx:expr, $project_id:expr) => {{
        sqlx::query("DELETE FROM usage_reservations WHERE project_id = $1")
            .bind($project_id)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use release_in_tx;

/// Records usage inside `$tx`, exactly once per key (a duplicate key is
/// ignored), and moves the same amount out of the project's reservation.
/// Evaluates to the ledger entries actually written.
macro_rules! record_in_tx {
    ($tx:expr, $tenant_id:expr, $project_id:expr, $usage:expr, $now:expr) => {{
        let mut written: Vec<$crate::usage::meter::LedgerEntry> = Vec::new();
        for usage in $usage {
            let usage: &$crate::usage::meter::Usage = usage;
            let inserted = sqlx::query(
                "INSERT INTO usage_ledger (id, tenant_id, project_id, metric, amount, idempotency_key, period, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($tenant_id)
            .bind($project_id)
            .bind(usage.metric.as_str())
            .bind(usage.amount)
            .bind(&usage.key)
            .bind($crate::usage::quota::period_of($now))
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                let column = match usage.metric {
                    $crate::usage::quota::Metric::ImagesGenerated => "images",
                    $crate::usage::quota::Metric::TtsSeconds => "tts_ms",
                    $crate::usage::quota::Metric::RenderMinutes => "render_ms",
                    $crate::usage::quota::Metric::StorageMb => "storage_bytes",
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE usage_reservations SET {column} = CASE WHEN {column} > $1 THEN {column} - $1 ELSE 0 END \
                     WHERE project_id = $2"
                )))
                .bind(usage.amount)
                .bind($project_id)
                .execute(&mut *$tx)
                .await?;
                written.push($crate::usage::meter::LedgerEntry {
                    time: $crate::db::rfc3339($now),
                    tenant: $tenant_id.to_string(),
                    metric: usage.metric.as_str(),
                    amount: usage.metric.display(usage.amount),
                    key: usage.key.clone(),
                    created_at: $now,
                });
            }
        }
        written
    }};
}
pub(crate) use record_in_tx;

/// Used this period and reserved now, outside any transaction.
pub async fn usage(db: &Db, tenant_id: &TenantId, period: &str) -> Result<(Amounts, Amounts), sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let sums = usage_in_tx!(tx, tenant_id.as_str(), period);
        tx.commit().await?;
        Ok(sums)
    })
}

/// Daily totals per metric since `since_ms`: `(day "YYYY-MM-DD", metric, base amount)`.
pub async fn daily(db: &Db, tenant_id: &TenantId, since_ms: i64) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    let rows: Vec<(i64, String, i64)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT created_at, metric, amount FROM usage_ledger WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at",
        )
        .bind(tenant_id.as_str())
        .bind(since_ms)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

/// Every ledger row in time order (for rebuilding the JSONL log).
pub async fn all_entries(db: &Db) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let rows: Vec<(String, String, i64, String, i64)> = on_db!(db, pool => {
        sqlx::query_as("SELECT tenant_id, metric, amount, idempotency_key, created_at FROM usage_ledger ORDER BY created_at, id")
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(tenant, metric, amount, key, created_at)| {
            let metric = Metric::parse(&metric)?;
            Some(LedgerEntry {
                time: crate::db::rfc3339(created_at),
                tenant,
                metric: metric.as_str(),
                amount: metric.display(amount),
                key,
                created_at,
            })
        })
        .collect())
}
