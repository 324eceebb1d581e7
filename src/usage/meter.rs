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

/// One round trip for everything the quota arithmetic needs: the plan, this
/// period's ledger sums, bytes stored, and reservations held.
pub const USAGE_SQL: &str = "SELECT \
    (SELECT plan FROM tenants WHERE id = $1) AS plan, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'images_generated'), 0) AS BIGINT) AS images, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'tts_seconds'), 0) AS BIGINT) AS tts_ms, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'render_minutes'), 0) AS BIGINT) AS render_ms, \
    CAST(COALESCE((SELECT SUM(bytes_stored) FROM projects WHERE tenant_id = $1), 0) \
       + COALESCE((SELECT SUM(size_bytes) FROM exports WHERE tenant_id = $1 AND status = 'ready'), 0) AS BIGINT) AS storage_bytes, \
    CAST(COALESCE((SELECT SUM(images) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_images, \
    CAST(COALESCE((SELECT SUM(tts_ms) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_tts_ms, \
    CAST(COALESCE((SELECT SUM(render_ms) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_render_ms, \
    CAST(COALESCE((SELECT SUM(storage_bytes) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_storage_bytes";

/// The row `USAGE_SQL` returns.
#[derive(Debug, sqlx::FromRow)]
pub struct UsageRow {
    pub plan: Option<String>,
    pub images: i64,
    pub tts_ms: i64,
    pub render_ms: i64,
    pub storage_bytes: i64,
    pub reserved_images: i64,
    pub reserved_tts_ms: i64,
    pub reserved_render_ms: i64,
    pub reserved_storage_bytes: i64,
}

impl UsageRow {
    /// `(used, reserved)`.
    pub fn amounts(&self) -> (Amounts, Amounts) {
        (
            Amounts {
                images: self.images,
                tts_ms: self.tts_ms,
                render_ms: self.render_ms,
                storage_bytes: self.storage_bytes,
            },
            Amounts {
                images: self.reserved_images,
                tts_ms: self.reserved_tts_ms,
                render_ms: self.reserved_render_ms,
                storage_bytes: self.reserved_storage_bytes,
            },
        )
    }
}

/// Sums used this period and reserved now, inside transaction `$tx`:
/// evaluates to `(used, reserved)` as `Amounts` (storage is current bytes).
macro_rules! usage_in_tx {
    ($tx:expr, $tenant_id:expr, $period:expr) => {{
        let row: $crate::usage::meter::UsageRow =
            sqlx::query_as($crate::usage::meter::USAGE_SQL).bind($tenant_id).bind($period).fetch_one(&mut *$tx).await?;
        row.amounts()
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

/// Admission inside `$tx`: locks the tenant (`$lock_sql`, from
/// `lock_tenant_sql`) and reads its plan (`$fallback_plan` when it has none),
/// sums used and reserved, checks `needed` against every quota and, when it
/// fits, reserves it for `$project_id`. Evaluates to `Result<Plan, Exceeded>`;
/// on `Err` nothing was reserved.
macro_rules! admit_in_tx {
    ($tx:expr, $lock_sql:expr, $config:expr, $tenant_id:expr, $project_id:expr, $needed:expr, $now:expr, $fallback_plan:expr) => {{
        let needed: $crate::usage::quota::Amounts = $needed;
        let plan: Option<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe($lock_sql)).bind($tenant_id).fetch_optional(&mut *$tx).await?;
        let plan: $crate::billing::Plan = plan.and_then(|p| p.parse().ok()).unwrap_or($fallback_plan);
        let (used, reserved) =
            $crate::usage::meter::usage_in_tx!($tx, $tenant_id, &$crate::usage::quota::period_of($now));
        match $crate::usage::quota::check($config, plan, &used, &reserved, &needed) {
            Ok(()) => {
                $crate::usage::meter::reserve_in_tx!($tx, $project_id, $tenant_id, needed, $now);
                Ok(plan)
            }
            Err(exceeded) => Err(exceeded),
        }
    }};
}
pub(crate) use admit_in_tx;

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

/// The plan, used this period and reserved now, in one query.
pub async fn usage(db: &Db, tenant_id: &TenantId, period: &str) -> Result<UsageRow, sqlx::Error> {
    Ok(on_db!(db, pool => sqlx::query_as(USAGE_SQL).bind(tenant_id.as_str()).bind(period).fetch_one(pool).await?))
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

/// Quota check and reservation for `needed` in one transaction holding the
/// tenant's lock: what admission adds to a create (also used by the
/// admission benchmark). `Ok(Err(..))` names the metric that would pass.
pub async fn admit(
    db: &Db,
    config: &crate::config::Config,
    tenant_id: &TenantId,
    project_id: &str,
    needed: Amounts,
) -> Result<Result<(), crate::usage::quota::Exceeded>, sqlx::Error> {
    let now = crate::db::now_ms();
    let lock = lock_tenant_sql(db);
    on_db!(db, pool => {
        let mut tx = crate::db::BeginWrite::begin_write(pool).await?;
        let admitted = admit_in_tx!(tx, lock, config, tenant_id.as_str(), project_id, needed, now, crate::billing::Plan::Free);
        if admitted.is_ok() {
            tx.commit().await?;
        }
        Ok(admitted.map(|_| ()))
    })
}

/// Reads the tenant's plan and locks the tenant for the rest of the
/// transaction (SQLite's write transaction already excludes other writers).
pub fn lock_tenant_sql(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "SELECT plan FROM tenants WHERE id = $1 AND status = 'active'",
        Db::Postgres(_) => "SELECT plan FROM tenants WHERE id = $1 AND status = 'active' FOR UPDATE",
    }
}
