//! The durable step queue on the application database: claim with a lease,
//! heartbeat, complete or fail (with backoff), reap expired leases, and the
//! dependency rules that unblock a step when its inputs are done.

use serde_json::Value;

use crate::config::Config;
use crate::db::{BeginWrite, Db, now_ms};
use crate::on_db;
use crate::usage::meter::{LedgerEntry, Usage, admit_in_tx, record_in_tx, release_in_tx};
use crate::usage::quota::{self, Exceeded};

/// Sets blocked steps whose inputs are all done to pending. A segment needs the
/// image and speech of its scene and of the next one (for the crossfade); the
/// final step needs everything else.
macro_rules! unblock {
    ($tx:expr, $project_id:expr, $now:expr) => {{
        sqlx::query(
            "UPDATE steps SET status = 'pending', run_after = $2, updated_at = $2 \
             WHERE project_id = $1 AND status = 'blocked' AND kind = 'segment' AND NOT EXISTS ( \
               SELECT 1 FROM steps d WHERE d.project_id = steps.project_id AND d.status <> 'done' \
               AND d.kind IN ('image', 'speech') \
               AND (d.scene_index = steps.scene_index OR d.scene_index = steps.scene_index + 1))",
        )
        .bind($project_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "UPDATE steps SET status = 'pending', run_after = $2, updated_at = $2 \
             WHERE project_id = $1 AND status = 'blocked' AND kind = 'final' AND NOT EXISTS ( \
               SELECT 1 FROM steps d WHERE d.project_id = steps.project_id AND d.kind <> 'final' AND d.status <> 'done')",
        )
        .bind($project_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Fails a project and cancels its unfinished steps, inside `$tx`.
macro_rules! fail_project {
    ($tx:expr, $project_id:expr, $message:expr, $now:expr) => {{
        sqlx::query(
            "UPDATE projects SET status = 'failed', error = $1, finished_at = $2, updated_at = $2 \
             WHERE id = $3 AND status IN ('queued', 'running')",
        )
        .bind($message)
        .bind($now)
        .bind($project_id)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "UPDATE steps SET status = 'cancelled', lease_owner = NULL, updated_at = $1 \
             WHERE project_id = $2 AND status IN ('pending', 'blocked')",
        )
        .bind($now)
        .bind($project_id)
        .execute(&mut *$tx)
        .await?;
        release_in_tx!($tx, $project_id);
    }};
}

/// Kinds of step.
pub mod kind {
    /// One image per scene.
    pub const IMAGE: &str = "image";
    /// Narration of one scene.
    pub const SPEECH: &str = "speech";
    /// Video of one scene (needs its image, its speech and the next scene's).
    pub const SEGMENT: &str = "segment";
    /// Join, narration, captions and thumbnail (needs every other step).
    pub const FINAL: &str = "final";
}

/// Scene index used by the project-wide final step.
pub const NO_SCENE: i64 = -1;

/// A step a worker holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedStep {
    pub id: String,
    pub project_id: String,
    pub tenant_id: String,
    pub kind: String,
    pub scene_index: i64,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// What a finished step leaves behind.
#[derive(Debug, Clone, Default)]
pub struct StepResult {
    /// Content key of the inputs.
    pub idempotency_key: String,
    /// Output description (storage keys, durations, cues).
    pub output: Value,
    /// Set when a fallback was used: the project becomes `partial`.
    pub warning: Option<String>,
    /// For the final step: the project's outputs.
    pub project_outputs: Option<ProjectOutputs>,
    /// Usage this step produced (recorded once per key, with the completion).
    pub usage: Vec<Usage>,
}

/// Where a finished project's files are.
#[derive(Debug, Clone, Default)]
pub struct ProjectOutputs {
    pub video_key: String,
    pub thumbnail_key: String,
    pub captions_key: String,
    pub srt_key: String,
    pub duration_ms: i64,
    pub bytes_stored: i64,
}

const STEP_COLUMNS: &str = "id, project_id, tenant_id, kind, scene_index, attempts, max_attempts";

/// The steps of a project with `scenes` scenes: image and speech per scene
/// (ready), a segment per scene and the final step (blocked until their inputs
/// are done). Rows are `(kind, scene_index, status)`.
pub fn project_steps(scenes: usize) -> Vec<(&'static str, i64, &'static str)> {
    let mut rows = Vec::with_capacity(scenes * 3 + 1);
    for index in 0..scenes as i64 {
        rows.push((kind::IMAGE, index, "pending"));
        rows.push((kind::SPEECH, index, "pending"));
    }
    for index in 0..scenes as i64 {
        rows.push((kind::SEGMENT, index, "blocked"));
    }
    rows.push((kind::FINAL, NO_SCENE, "blocked"));
    rows
}

/// Inserts a project's steps inside an open transaction `$tx` (either backend).
macro_rules! enqueue_steps {
    ($tx:expr, $project_id:expr, $tenant_id:expr, $scenes:expr, $now:expr) => {{
        for (kind, index, status) in $crate::pipeline::queue::project_steps($scenes) {
            sqlx::query(
                "INSERT INTO steps (id, project_id, tenant_id, kind, scene_index, status, run_after, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($project_id)
            .bind($tenant_id)
            .bind(kind)
            .bind(index)
            .bind(status)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use enqueue_steps;

/// Claims up to `limit` ready steps for `owner` with a lease of `lease_ms`,
/// and marks their projects running. On PostgreSQL one statement does both
/// (`FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows);
/// on SQLite the single `UPDATE ... RETURNING` holds the write lock, so two
/// workers never claim the same step.
pub async fn claim(db: &Db, owner: &str, lease_ms: i64, limit: i64) -> Result<Vec<ClaimedStep>, sqlx::Error> {
    let now = now_ms();
    match db {
        Db::Sqlite(pool) => {
            let claimed: Vec<ClaimedStep> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE steps SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
                     started_at = $3, updated_at = $3 \
                     WHERE id IN (SELECT id FROM steps WHERE status = 'pending' AND run_after <= $3 ORDER BY id LIMIT $4) \
                     RETURNING {STEP_COLUMNS}"
            )))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            for step in &claimed {
                sqlx::query("UPDATE projects SET status = 'running', updated_at = $2 WHERE id = $1 AND status = 'queued'")
                    .bind(&step.project_id)
                    .bind(now)
                    .execute(pool)
                    .await?;
            }
            Ok(claimed)
        }
        Db::Postgres(pool) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "WITH claimed AS ( \
                     UPDATE steps SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
                         attempts = attempts + 1, started_at = $3, updated_at = $3 \
                     WHERE id IN (SELECT id FROM steps WHERE status = 'pending' AND run_after <= $3 ORDER BY id LIMIT $4 \
                         FOR UPDATE SKIP LOCKED) \
                     RETURNING {STEP_COLUMNS}), \
                 started AS ( \
                     UPDATE projects SET status = 'running', updated_at = $3 \
                     WHERE id IN (SELECT project_id FROM claimed) AND status = 'queued') \
                 SELECT {STEP_COLUMNS} FROM claimed"
            )))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}

/// Extends a lease. False when the lease was lost (reaped, cancelled, deleted):
/// the worker must stop the step and write nothing.
pub async fn heartbeat(db: &Db, step_id: &str, owner: &str, lease_ms: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let updated = on_db!(db, pool => {
        sqlx::query("UPDATE steps SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'")
            .bind(now + lease_ms)
            .bind(step_id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(updated == 1)
}

/// Marks a step done (only if `owner` still holds it), records its usage
/// (once per key), unblocks what waited on it and, for the final step,
/// finishes the project and releases what is left of its reservation; all in
/// one transaction. Returns the ledger rows written, or `None` when the lease
/// was lost and nothing was written.
pub async fn complete(
    db: &Db,
    step: &ClaimedStep,
    owner: &str,
    result: &StepResult,
) -> Result<Option<Vec<LedgerEntry>>, sqlx::Error> {
    let now = now_ms();
    let started = now_ms();
    let lock_project = lock_project_sql(db);
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(sqlx::AssertSqlSafe(lock_project)).bind(&step.project_id).execute(&mut *tx).await?;
        let updated = sqlx::query(
            "UPDATE steps SET status = 'done', idempotency_key = $1, output = $2, warning = $3, error = NULL, \
             lease_owner = NULL, lease_expires_at = NULL, finished_at = $4, updated_at = $4, \
             duration_ms = $4 - COALESCE(started_at, $4), finished_by = $6 \
             WHERE id = $5 AND lease_owner = $6 AND status = 'running'",
        )
        .bind(&result.idempotency_key)
        .bind(result.output.to_string())
        .bind(&result.warning)
        .bind(now)
        .bind(&step.id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(None);
        }
        let written = record_in_tx!(tx, step.tenant_id.as_str(), step.project_id.as_str(), &result.usage, now);
        unblock!(tx, &step.project_id, now);
        if let Some(outputs) = &result.project_outputs {
            let warnings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE project_id = $1 AND warning IS NOT NULL")
                .bind(&step.project_id)
                .fetch_one(&mut *tx)
                .await?;
            let status = if warnings > 0 { "partial" } else { "completed" };
            sqlx::query(
                "UPDATE projects SET status = $1, video_key = $2, thumbnail_key = $3, captions_key = $4, srt_key = $5, \
                 duration_ms = $6, bytes_stored = $7, error = NULL, finished_at = $8, updated_at = $8 \
                 WHERE id = $9 AND status IN ('queued', 'running')",
            )
            .bind(status)
            .bind(&outputs.video_key)
            .bind(&outputs.thumbnail_key)
            .bind(&outputs.captions_key)
            .bind(&outputs.srt_key)
            .bind(outputs.duration_ms)
            .bind(outputs.bytes_stored)
            .bind(now)
            .bind(&step.project_id)
            .execute(&mut *tx)
            .await?;
            release_in_tx!(tx, &step.project_id);
        } else {
            sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2").bind(now).bind(&step.project_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        tracing::debug!(step = %step.id, kind = %step.kind, ms = now_ms() - started, "step completed");
        Ok(Some(written))
    })
}

/// Locks a project's row for the rest of a transaction, so that everything
/// that rewrites several of its steps (completion and its unblocking, failure,
/// reaping, retry) runs one at a time per project. Without it two segments of
/// one project finishing together on PostgreSQL lock the blocked steps in
/// different orders and deadlock. (SQLite's write transaction already excludes
/// other writers.)
fn lock_project_sql(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "SELECT id FROM projects WHERE id = $1",
        Db::Postgres(_) => "SELECT id FROM projects WHERE id = $1 FOR UPDATE",
    }
}

/// Backoff before try `attempt + 1`: 1 s, 2 s, 4 s ... (max 60 s), ±50% jitter.
pub fn backoff_ms(attempt: i64) -> i64 {
    let base = 1000i64 << attempt.clamp(0, 6).saturating_sub(1);
    let base = base.min(60_000);
    let mut byte = [0u8; 2];
    let jitter = if getrandom::fill(&mut byte).is_ok() { f64::from(u16::from_le_bytes(byte)) / 65535.0 } else { 0.5 };
    (base as f64 * (0.5 + jitter)) as i64
}

/// Records a failed try. With tries left the step waits (backoff) and runs
/// again; otherwise it fails with `message`, the project fails, and the rest of
/// its unfinished steps are cancelled. False when the lease was lost.
pub async fn fail_attempt(db: &Db, step: &ClaimedStep, owner: &str, message: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let last_try = step.attempts >= step.max_attempts;
    let lock_project = lock_project_sql(db);
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(sqlx::AssertSqlSafe(lock_project)).bind(&step.project_id).execute(&mut *tx).await?;
        let updated = if last_try {
            sqlx::query(
                "UPDATE steps SET status = 'failed', error = $1, lease_owner = NULL, lease_expires_at = NULL, \
                 finished_at = $2, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
            )
            .bind(message)
            .bind(now)
            .bind(&step.id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE steps SET status = 'pending', error = $1, lease_owner = NULL, lease_expires_at = NULL, \
                 run_after = $2, updated_at = $3 WHERE id = $4 AND lease_owner = $5 AND status = 'running'",
            )
            .bind(message)
            .bind(now + backoff_ms(step.attempts))
            .bind(now)
            .bind(&step.id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if updated != 1 {
            return Ok(false);
        }
        if last_try {
            fail_project!(tx, &step.project_id, message, now);
        }
        tx.commit().await?;
    });
    Ok(true)
}

/// Takes back steps whose lease expired (their worker died): they run again,
/// or fail when that was their last try. Returns how many were taken back.
pub async fn reap(db: &Db) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let expired: Vec<ClaimedStep> = on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE status = 'running' AND lease_expires_at < $1"
        )))
        .bind(now)
        .fetch_all(pool)
        .await?
    });
    let mut reaped = 0;
    for step in expired {
        let message = "the worker running this step stopped responding";
        let last_try = step.attempts >= step.max_attempts;
        on_db!(db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(lock_project_sql(db))).bind(&step.project_id).execute(&mut *tx).await?;
            let updated = sqlx::query(
                "UPDATE steps SET status = $1, error = $2, lease_owner = NULL, lease_expires_at = NULL, run_after = $3, \
                 updated_at = $3 WHERE id = $4 AND status = 'running' AND lease_expires_at < $3",
            )
            .bind(if last_try { "failed" } else { "pending" })
            .bind(message)
            .bind(now)
            .bind(&step.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 && last_try {
                fail_project!(tx, &step.project_id, message, now);
            }
            tx.commit().await?;
            reaped += updated;
        });
    }
    if reaped > 0 {
        tracing::warn!(reaped, "took back steps whose worker stopped");
    }
    Ok(reaped)
}

/// Cancels a project that has not finished: unfinished steps are cancelled
/// (a running step's worker sees it at its next heartbeat). False when the
/// project had already finished.
pub async fn cancel_project(db: &Db, project_id: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE projects SET status = 'cancelled', finished_at = $1, updated_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'running')",
        )
        .bind(now)
        .bind(project_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            sqlx::query(
                "UPDATE steps SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
                 WHERE project_id = $2 AND status IN ('pending', 'blocked', 'running')",
            )
            .bind(now)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
            release_in_tx!(tx, project_id);
        }
        tx.commit().await?;
        Ok(updated == 1)
    })
}

/// What a retry did.
#[derive(Debug)]
pub enum RetryOutcome {
    /// Steps were queued again.
    Retried,
    /// Nothing failed, was cancelled or fell back.
    NothingToRetry,
    /// The work would pass a quota.
    Exceeded(Exceeded),
}

/// Queues again what failed, was cancelled, or fell back (image/speech with a
/// warning); segments and the final step wait for them again and reuse every
/// output whose inputs did not change. The project's estimate is reserved
/// again under the same quota check as a new project.
pub async fn retry_project(db: &Db, config: &Config, project_id: &str) -> Result<RetryOutcome, sqlx::Error> {
    let now = now_ms();
    let lock_tenant = crate::usage::meter::lock_tenant_sql(db);
    let lock_project = lock_project_sql(db);
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(sqlx::AssertSqlSafe(lock_project)).bind(project_id).execute(&mut *tx).await?;
        let row: Option<(String, String)> = sqlx::query_as("SELECT status, tenant_id FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((status, tenant_id)) = row else { return Ok(RetryOutcome::NothingToRetry) };
        if !matches!(status.as_str(), "failed" | "partial" | "cancelled") {
            return Ok(RetryOutcome::NothingToRetry);
        }
        let scenes: Vec<String> = sqlx::query_scalar("SELECT text FROM scenes WHERE project_id = $1 ORDER BY scene_index")
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?;
        let needed = quota::estimate(&scenes);
        // Re-reserved under the same check as a new project; the transaction
        // rolls the reservation back if nothing turns out to need a retry.
        let admitted = admit_in_tx!(tx, lock_tenant, config, tenant_id.as_str(), project_id, needed, now, crate::billing::Plan::Free);
        if let Err(exceeded) = admitted {
            return Ok(RetryOutcome::Exceeded(exceeded));
        }
        let reset = sqlx::query(
            "UPDATE steps SET status = 'pending', attempts = 0, warning = NULL, error = NULL, output = NULL, \
             run_after = $1, updated_at = $1, lease_owner = NULL \
             WHERE project_id = $2 AND kind IN ('image', 'speech') \
             AND (status IN ('failed', 'cancelled') OR warning IS NOT NULL)",
        )
        .bind(now)
        .bind(project_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let downstream = sqlx::query(
            "UPDATE steps SET status = 'blocked', attempts = 0, error = NULL, updated_at = $1, lease_owner = NULL \
             WHERE project_id = $2 AND kind IN ('segment', 'final') \
             AND (status IN ('failed', 'cancelled') OR $3 > 0)",
        )
        .bind(now)
        .bind(project_id)
        .bind(reset as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if reset + downstream == 0 {
            return Ok(RetryOutcome::NothingToRetry);
        }
        sqlx::query(
            "UPDATE projects SET status = 'queued', error = NULL, finished_at = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        unblock!(tx, project_id, now);
        tx.commit().await?;
        Ok(RetryOutcome::Retried)
    })
}

/// Gives a running step back without counting the try (graceful shutdown):
/// another worker picks it up at once.
pub async fn release(db: &Db, step: &ClaimedStep, owner: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let updated = on_db!(db, pool => {
        sqlx::query(
            "UPDATE steps SET status = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL, \
             run_after = $1, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(now)
        .bind(&step.id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Queue figures for `/metrics`: ready steps, leased steps, and the oldest
/// ready step's wait in milliseconds (since it became claimable).
pub async fn depth(db: &Db) -> Result<(i64, i64, Option<i64>), sqlx::Error> {
    let now = now_ms();
    let row: (i64, i64, Option<i64>) = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT \
                 COALESCE(SUM(CASE WHEN status = 'pending' AND run_after <= $1 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0), \
                 MIN(CASE WHEN status = 'pending' AND run_after <= $1 \
                     THEN (CASE WHEN run_after > updated_at THEN run_after ELSE updated_at END) END) \
             FROM steps WHERE status IN ('pending', 'running')",
        )
        .bind(now)
        .fetch_one(pool)
        .await?
    });
    Ok((row.0, row.1, row.2.map(|since| (now - since).max(0))))
}
