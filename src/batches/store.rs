//! The batches domain's queries. A batch's rows are its projects
//! (`projects.batch_id`, `batch_row`); reads run on the pool, writes are plain
//! functions on a `Tx`.

use crate::db::{Db, Tx};
use crate::domain::{BatchId, ProjectId, TenantId};
use crate::projects::types::ProjectStatus;
use crate::{on_db, on_tx};

/// The columns of a new batch.
pub struct BatchInsert<'a> {
    pub id: &'a BatchId,
    pub tenant_id: &'a TenantId,
    pub template_id: &'a str,
    /// The template script's title, merge fields not filled in.
    pub title: &'a str,
    pub row_count: i64,
}

/// Inserts a batch (in the transaction that inserts its projects).
pub async fn insert(tx: &mut Tx, batch: &BatchInsert<'_>, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO batches (id, tenant_id, template_id, title, row_count, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(batch.id)
        .bind(batch.tenant_id)
        .bind(batch.template_id)
        .bind(batch.title)
        .bind(batch.row_count)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// A stored batch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRecord {
    pub id: BatchId,
    pub tenant_id: TenantId,
    pub template_id: String,
    pub title: String,
    pub row_count: i64,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

const BATCH_COLUMNS: &str = "id, tenant_id, template_id, title, row_count, created_at, completed_at";

/// The tenant's batch, or `None` (another tenant's batch is `None` too).
pub async fn find(db: &Db, tenant_id: &TenantId, batch_id: &BatchId) -> Result<Option<BatchRecord>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1 AND tenant_id = $2")))
            .bind(batch_id)
            .bind(tenant_id)
            .fetch_optional(pool)
            .await
    })
}

/// Up to `limit` of the tenant's batches older than `cursor`, newest first.
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    cursor: Option<&BatchId>,
    limit: i64,
) -> Result<Vec<BatchRecord>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM batches WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        )))
        .bind(tenant_id)
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// A row of a batch: its project as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RowRecord {
    pub batch_row: i64,
    pub project_id: ProjectId,
    pub title: String,
    pub status: ProjectStatus,
    pub video_key: Option<String>,
    pub error: Option<String>,
}

/// The rows of the tenant's batch whose projects still exist, in row order.
pub async fn rows(db: &Db, tenant_id: &TenantId, batch_id: &BatchId) -> Result<Vec<RowRecord>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT batch_row, id AS project_id, title, status, video_key, error FROM projects \
             WHERE batch_id = $1 AND tenant_id = $2 ORDER BY batch_row",
        )
        .bind(batch_id)
        .bind(tenant_id)
        .fetch_all(pool)
        .await
    })
}

/// How many rows of each status the tenant's batches between `oldest` and
/// `newest` (ids, inclusive) have: `(batch, status, count)` (what a page of
/// the list shows, in one query).
pub async fn status_counts(
    db: &Db,
    tenant_id: &TenantId,
    oldest: &BatchId,
    newest: &BatchId,
) -> Result<Vec<(BatchId, ProjectStatus, i64)>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT batch_id, status, COUNT(*) FROM projects WHERE tenant_id = $1 AND batch_id >= $2 AND batch_id <= $3 \
             GROUP BY batch_id, status",
        )
        .bind(tenant_id)
        .bind(oldest)
        .bind(newest)
        .fetch_all(pool)
        .await
    })
}

/// The batch a project is a row of, if any.
pub async fn batch_of(tx: &mut Tx, project_id: &ProjectId) -> Result<Option<BatchId>, sqlx::Error> {
    let found: Option<Option<BatchId>> = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT batch_id FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&mut **conn)
            .await?
    });
    Ok(found.flatten())
}

/// Marks the batch completed if none of its rows is queued or running and it
/// was not completed before. True only for the one call that did it: the
/// caller holds the batch's lock (`Tx::lock_batch`), so rows finishing
/// together on PostgreSQL see each other's statuses one after the other.
pub async fn complete_if_done(tx: &mut Tx, batch_id: &BatchId, now: i64) -> Result<bool, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    let updated = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE batches SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM projects WHERE batch_id = $2 AND status IN ($3, $4))",
        )
        .bind(now)
        .bind(batch_id)
        .bind(queued)
        .bind(running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// The batch read inside `tx`.
pub async fn record_in(tx: &mut Tx, batch_id: &BatchId) -> Result<Option<BatchRecord>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1")))
            .bind(batch_id)
            .fetch_optional(&mut **conn)
            .await
    })
}

/// The statuses of the batch's rows whose projects exist, read inside `tx`.
pub async fn statuses_in(tx: &mut Tx, batch_id: &BatchId) -> Result<Vec<ProjectStatus>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT status FROM projects WHERE batch_id = $1")
            .bind(batch_id)
            .fetch_all(&mut **conn)
            .await
    })
}
