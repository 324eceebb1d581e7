//! The usage domain's queries: the ledger, reservations, and the sums the
//! quota arithmetic needs. Plain functions on a pool or on a `Tx`; the rules
//! that compose them are in `meter.rs`.

use crate::db::{Db, Tx};
use crate::domain::{ProjectId, TenantId};
use crate::usage::quota::{Amounts, Metric};
use crate::{on_db, on_tx};

/// One round trip for everything the quota arithmetic needs: the plan, this
/// period's ledger sums, bytes stored (projects, the ready export, the media
/// library), and reservations held.
pub const USAGE_SQL: &str = "SELECT \
    (SELECT plan FROM tenants WHERE id = $1) AS plan, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'images_generated'), 0) AS BIGINT) AS images, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'tts_seconds'), 0) AS BIGINT) AS tts_ms, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'render_minutes'), 0) AS BIGINT) AS render_ms, \
    CAST(COALESCE((SELECT SUM(amount) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = 'scripts_generated'), 0) AS BIGINT) AS scripts, \
    CAST(COALESCE((SELECT SUM(bytes_stored) FROM projects WHERE tenant_id = $1), 0) \
       + COALESCE((SELECT SUM(size_bytes) FROM exports WHERE tenant_id = $1 AND status = 'ready'), 0) \
       + COALESCE((SELECT SUM(bytes) FROM media WHERE tenant_id = $1), 0) AS BIGINT) AS storage_bytes, \
    CAST(COALESCE((SELECT SUM(images) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_images, \
    CAST(COALESCE((SELECT SUM(tts_ms) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_tts_ms, \
    CAST(COALESCE((SELECT SUM(render_ms) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_render_ms, \
    CAST(COALESCE((SELECT SUM(storage_bytes) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_storage_bytes, \
    CAST(COALESCE((SELECT SUM(scripts) FROM usage_reservations WHERE tenant_id = $1), 0) AS BIGINT) AS reserved_scripts, \
    (SELECT enabled FROM overage_settings WHERE tenant_id = $1) AS overage_enabled, \
    (SELECT cap_cents FROM overage_settings WHERE tenant_id = $1) AS overage_cap_cents, \
    (SELECT status FROM billing_accounts WHERE tenant_id = $1) AS billing_status, \
    CAST(COALESCE((SELECT SUM(value) FROM overage_reports WHERE tenant_id = $1 AND period = $2 AND metric = 'images_generated'), 0) AS BIGINT) AS overage_images, \
    CAST(COALESCE((SELECT SUM(value) FROM overage_reports WHERE tenant_id = $1 AND period = $2 AND metric = 'tts_seconds'), 0) AS BIGINT) AS overage_tts_ms, \
    CAST(COALESCE((SELECT SUM(value) FROM overage_reports WHERE tenant_id = $1 AND period = $2 AND metric = 'render_minutes'), 0) AS BIGINT) AS overage_render_ms";

/// The row `USAGE_SQL` returns.
#[derive(Debug, sqlx::FromRow)]
pub struct UsageRow {
    pub plan: Option<String>,
    pub images: i64,
    pub tts_ms: i64,
    pub render_ms: i64,
    pub storage_bytes: i64,
    pub scripts: i64,
    pub reserved_images: i64,
    pub reserved_tts_ms: i64,
    pub reserved_render_ms: i64,
    pub reserved_storage_bytes: i64,
    pub reserved_scripts: i64,
    /// Overage settings (absent: never set).
    pub overage_enabled: Option<i64>,
    pub overage_cap_cents: Option<i64>,
    /// Stripe's subscription status (`past_due` stops overage admission).
    pub billing_status: Option<String>,
    /// Overage reported (queued to Stripe) this period, base units.
    pub overage_images: i64,
    pub overage_tts_ms: i64,
    pub overage_render_ms: i64,
}

impl UsageRow {
    /// The overage reported this period, per metric (base units).
    pub fn overage_reported(&self) -> Amounts {
        Amounts {
            images: self.overage_images,
            tts_ms: self.overage_tts_ms,
            render_ms: self.overage_render_ms,
            ..Amounts::default()
        }
    }

    /// `(used, reserved)`.
    pub fn amounts(&self) -> (Amounts, Amounts) {
        (
            Amounts {
                images: self.images,
                tts_ms: self.tts_ms,
                render_ms: self.render_ms,
                storage_bytes: self.storage_bytes,
                scripts: self.scripts,
            },
            Amounts {
                images: self.reserved_images,
                tts_ms: self.reserved_tts_ms,
                render_ms: self.reserved_render_ms,
                storage_bytes: self.reserved_storage_bytes,
                scripts: self.reserved_scripts,
            },
        )
    }
}

/// The plan, used this period and reserved now, in one query.
pub async fn usage(db: &Db, tenant_id: &TenantId, period: &str) -> Result<UsageRow, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(USAGE_SQL).bind(tenant_id).bind(period).fetch_one(pool).await)
}

/// `usage`, read inside `tx` (admission holds the tenant's lock meanwhile).
pub async fn usage_in(tx: &mut Tx, tenant_id: &TenantId, period: &str) -> Result<UsageRow, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_as(USAGE_SQL).bind(tenant_id).bind(period).fetch_one(&mut **conn).await)
}

/// Sets a project's reservation to `amounts` (replacing any it held).
pub async fn reserve(
    tx: &mut Tx,
    project_id: &ProjectId,
    tenant_id: &TenantId,
    amounts: &Amounts,
    now: i64,
) -> Result<(), sqlx::Error> {
    release(tx, project_id).await?;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO usage_reservations (project_id, tenant_id, images, tts_ms, render_ms, storage_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project_id)
        .bind(tenant_id)
        .bind(amounts.images)
        .bind(amounts.tts_ms)
        .bind(amounts.render_ms)
        .bind(amounts.storage_bytes)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Drops what is left of a project's reservation.
pub async fn release(tx: &mut Tx, project_id: &ProjectId) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM usage_reservations WHERE project_id = $1").bind(project_id).execute(&mut **conn).await?;
    });
    Ok(())
}

/// The prefix of a script's reservation key (`script:{id}`, kept in the
/// `project_id` column: a script belongs to no project).
pub const SCRIPT_RESERVATION_PREFIX: &str = "script:";

/// Reserves one script for the generation `key` (`script:{id}`).
pub async fn reserve_script(tx: &mut Tx, key: &str, tenant_id: &TenantId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO usage_reservations (project_id, tenant_id, images, tts_ms, render_ms, storage_bytes, scripts, created_at) \
             VALUES ($1, $2, 0, 0, 0, 0, 1, $3)",
        )
        .bind(key)
        .bind(tenant_id)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Drops a script's reservation (done or failed).
pub async fn release_script(tx: &mut Tx, key: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM usage_reservations WHERE project_id = $1").bind(key).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Drops script reservations taken before `before` (a process that died
/// while the model wrote); returns how many.
pub async fn prune_script_reservations(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let pattern = format!("{SCRIPT_RESERVATION_PREFIX}%");
    on_db!(db, pool => {
        sqlx::query("DELETE FROM usage_reservations WHERE project_id LIKE $1 AND created_at < $2")
            .bind(pattern)
            .bind(before)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
}

/// One ledger row to write.
pub struct LedgerInsert<'a> {
    pub tenant_id: &'a TenantId,
    /// `None` for usage of no project (a script).
    pub project_id: Option<&'a ProjectId>,
    pub metric: Metric,
    pub amount: i64,
    pub key: &'a str,
    pub now: i64,
}

/// Writes a ledger row unless one with the same key exists; the new row's
/// id when written.
pub async fn insert_ledger(tx: &mut Tx, row: &LedgerInsert<'_>) -> Result<Option<String>, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO usage_ledger (id, tenant_id, project_id, metric, amount, idempotency_key, period, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&id)
        .bind(row.tenant_id)
        .bind(row.project_id)
        .bind(row.metric.as_str())
        .bind(row.amount)
        .bind(row.key)
        .bind(crate::usage::quota::period_of(row.now))
        .bind(row.now)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok((inserted == 1).then_some(id))
}

/// The tenant's ledger total of `metric` in `period` (base units).
pub async fn period_total(tx: &mut Tx, tenant_id: &TenantId, period: &str, metric: Metric) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_ledger WHERE tenant_id = $1 AND period = $2 AND metric = $3",
        )
        .bind(tenant_id)
        .bind(period)
        .bind(metric.as_str())
        .fetch_one(&mut **conn)
        .await
    })
}

/// Takes `amount` of `metric` out of a project's reservation (not below 0).
pub async fn shrink_reservation(
    tx: &mut Tx,
    project_id: &ProjectId,
    metric: Metric,
    amount: i64,
) -> Result<(), sqlx::Error> {
    let column = match metric {
        Metric::ImagesGenerated => "images",
        Metric::TtsSeconds => "tts_ms",
        Metric::RenderMinutes => "render_ms",
        Metric::StorageMb => "storage_bytes",
        Metric::ScriptsGenerated => "scripts",
    };
    let sql = format!(
        "UPDATE usage_reservations SET {column} = CASE WHEN {column} > $1 THEN {column} - $1 ELSE 0 END WHERE project_id = $2"
    );
    on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(amount).bind(project_id).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Daily totals per metric since `since_ms`: `(time, metric, base amount)`.
pub async fn daily(db: &Db, tenant_id: &TenantId, since_ms: i64) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT created_at, metric, amount FROM usage_ledger WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at",
        )
        .bind(tenant_id)
        .bind(since_ms)
        .fetch_all(pool)
        .await
    })
}

/// Every ledger row in time order: `(tenant, metric, amount, key, created_at)`.
pub async fn all_rows(db: &Db) -> Result<Vec<(String, String, i64, String, i64)>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as("SELECT tenant_id, metric, amount, idempotency_key, created_at FROM usage_ledger ORDER BY created_at, id")
            .fetch_all(pool)
            .await
    })
}
