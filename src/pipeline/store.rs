//! The queue's queries on the `steps` table. Plain functions on a pool or a
//! `Tx`; `queue.rs` composes them into claim, completion, failure, reaping and
//! retry, and `graph.rs` decides which steps exist and which may run.

use crate::db::{Db, Tx, now_ms};
use crate::domain::{ProjectId, TenantId};
use crate::on_tx;
use crate::pipeline::graph::{self, Scope, StepKind, StepRef, StepStatus};
use crate::pipeline::plan::{KnownStep, Planned};
use crate::{on_db, projects::types::ProjectStatus};

/// A step a worker holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedStep {
    pub id: String,
    pub project_id: ProjectId,
    pub tenant_id: TenantId,
    pub kind: StepKind,
    pub scene_index: i64,
    pub attempts: i64,
    pub max_attempts: i64,
}

const STEP_COLUMNS: &str = "id, project_id, tenant_id, kind, scene_index, attempts, max_attempts";

/// The claim's filter on ready steps. It is written into the SQL rather than
/// bound: the partial index `steps_ready` (`WHERE status = 'pending'`) serves
/// only a query whose predicate matches it as written, and a bound `$n` does
/// not (PostgreSQL's generic plans and SQLite's planner cannot prove it equal).
fn ready_filter() -> String {
    format!("status = '{}'", StepStatus::Pending.as_str())
}

/// The first turn of the work a tenant queues now; its steps take this turn
/// and the ones after it, and the claim serves steps in turn order (fair
/// share between tenants). The turn comes right after the tenant's own
/// unfinished steps, but never before the head of the queue (the earliest
/// ready step or, when none is ready, the earliest blocked one). So a tenant
/// that queues a flood takes turns far ahead of the head, and another
/// tenant's project queued after it starts at the head and is served in
/// alternation with the flood instead of after it. Only unfinished projects
/// count, so cancelling or deleting work gains a tenant nothing, and nobody
/// can take a turn before work that is already waiting. Call it while
/// holding the tenant's lock (admission, retry), so that one tenant's
/// concurrent creates take consecutive turns.
pub async fn next_turn(tx: &mut Tx, tenant_id: &TenantId) -> Result<i64, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    // The statuses are written into the SQL (as in `ready_filter`) so that
    // the partial indexes `steps_ready` and `steps_blocked` answer the MINs.
    let sql = format!(
        "SELECT COALESCE((SELECT MIN(turn) FROM steps WHERE {ready}), \
                         (SELECT MIN(turn) FROM steps WHERE status = '{blocked}')), \
                (SELECT MAX(s.turn) FROM projects p JOIN steps s ON s.project_id = p.id \
                 WHERE p.tenant_id = $1 AND p.status IN ($2, $3))",
        ready = ready_filter(),
        blocked = StepStatus::Blocked.as_str(),
    );
    let (head, last): (Option<i64>, Option<i64>) = on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(queued)
            .bind(running)
            .fetch_one(&mut **conn)
            .await?
    });
    Ok(first_turn(head, last))
}

/// `next_turn`'s rule on the figures it reads: after the tenant's last
/// unfinished turn, and not before the head of the queue.
fn first_turn(head: Option<i64>, last: Option<i64>) -> i64 {
    let head = head.unwrap_or(0);
    match last {
        Some(last) => head.max(last.saturating_add(1)),
        None => head,
    }
}

/// The turn of each step of a project whose work starts at `first`: the
/// graph's order, so images and speech come before the segments reading them.
pub fn turn_of(step: StepRef, scenes: usize, first: i64) -> i64 {
    let place = graph::steps(scenes, Scope::Video).iter().position(|s| *s == step).unwrap_or(0);
    first.saturating_add(place as i64)
}

/// Every step of a project, with its recipe (what a render plans against).
pub async fn known_steps(tx: &mut Tx, project_id: &ProjectId) -> Result<Vec<KnownStep>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, kind, scene_index, status, recipe, (warning IS NOT NULL) AS fell_back FROM steps \
             WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&mut **conn)
        .await
    })
}

/// Replaces a project's steps with `planned`: a carried step is a copy of the
/// done step it reuses (output, warning, timings) in its new place; the
/// others start blocked, taking turns from `first_turn` in the graph's order
/// (`next_turn`); the caller then releases those whose inputs are done. The
/// steps of the previous render are deleted.
pub async fn replace_steps(
    tx: &mut Tx,
    project_id: &ProjectId,
    tenant_id: &TenantId,
    planned: &[Planned],
    first_turn: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let old: Vec<String> = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT id FROM steps WHERE project_id = $1").bind(project_id).fetch_all(&mut **conn).await?
    });
    let scenes = planned.iter().filter(|p| p.step.kind == StepKind::Image).count();
    for step in planned {
        let id = uuid::Uuid::now_v7().to_string();
        let turn = turn_of(step.step, scenes, first_turn);
        match &step.carried_from {
            Some(from) => on_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO steps (id, project_id, tenant_id, kind, scene_index, status, attempts, max_attempts, \
                     run_after, idempotency_key, output, warning, created_at, updated_at, started_at, finished_at, \
                     duration_ms, finished_by, turn, recipe) \
                     SELECT $1, project_id, tenant_id, kind, $2, status, attempts, max_attempts, run_after, \
                     idempotency_key, output, warning, created_at, updated_at, started_at, finished_at, duration_ms, \
                     finished_by, turn, recipe FROM steps WHERE id = $3",
                )
                .bind(&id)
                .bind(step.step.scene)
                .bind(from)
                .execute(&mut **conn)
                .await?;
            }),
            None => on_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO steps (id, project_id, tenant_id, kind, scene_index, status, turn, run_after, recipe, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $8)",
                )
                .bind(&id)
                .bind(project_id)
                .bind(tenant_id)
                .bind(step.step.kind)
                .bind(step.step.scene)
                .bind(StepStatus::Blocked)
                .bind(turn)
                .bind(now)
                .bind(&step.recipe)
                .execute(&mut **conn)
                .await?;
            }),
        }
    }
    for id in &old {
        on_tx!(tx, conn => {
            sqlx::query("DELETE FROM steps WHERE id = $1").bind(id).execute(&mut **conn).await?;
        });
    }
    Ok(())
}

/// Claims up to `limit` ready steps for `owner` with a lease of `lease_ms`,
/// and marks their projects running. Steps are taken in turn order (then id):
/// the turns given at queueing (`next_turn`) interleave tenants, so this
/// stays a walk of the `steps_ready` index from its first entry. On
/// PostgreSQL one statement does both (`FOR UPDATE SKIP LOCKED`, so
/// concurrent claimers skip each other's rows); on SQLite the single
/// `UPDATE ... RETURNING` holds the write lock, so two workers never claim
/// the same step.
pub async fn claim(db: &Db, owner: &str, lease_ms: i64, limit: i64) -> Result<Vec<ClaimedStep>, sqlx::Error> {
    let now = now_ms();
    match db {
        Db::Sqlite(pool) => {
            let ready = ready_filter();
            let claimed: Vec<ClaimedStep> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE steps SET status = $5, lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
                     started_at = $3, updated_at = $3 \
                     WHERE id IN (SELECT id FROM steps WHERE {ready} AND run_after <= $3 ORDER BY turn, id LIMIT $4) \
                     RETURNING {STEP_COLUMNS}"
            )))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .bind(StepStatus::Running)
            .fetch_all(pool)
            .await?;
            for step in &claimed {
                sqlx::query("UPDATE projects SET status = $3, updated_at = $2 WHERE id = $1 AND status = $4")
                    .bind(&step.project_id)
                    .bind(now)
                    .bind(ProjectStatus::Running)
                    .bind(ProjectStatus::Queued)
                    .execute(pool)
                    .await?;
            }
            Ok(claimed)
        }
        Db::Postgres(pool) => {
            let ready = ready_filter();
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "WITH claimed AS ( \
                     UPDATE steps SET status = $5, lease_owner = $1, lease_expires_at = $2, \
                         attempts = attempts + 1, started_at = $3, updated_at = $3 \
                     WHERE id IN (SELECT id FROM steps WHERE {ready} AND run_after <= $3 ORDER BY turn, id LIMIT $4 \
                         FOR UPDATE SKIP LOCKED) \
                     RETURNING {STEP_COLUMNS}), \
                 started AS ( \
                     UPDATE projects SET status = $6, updated_at = $3 \
                     WHERE id IN (SELECT project_id FROM claimed) AND status = $7) \
                 SELECT {STEP_COLUMNS} FROM claimed"
            )))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .bind(StepStatus::Running)
            .bind(ProjectStatus::Running)
            .bind(ProjectStatus::Queued)
            .fetch_all(pool)
            .await
        }
    }
}

/// Extends a lease; false when `owner` no longer holds it.
pub async fn extend_lease(db: &Db, step_id: &str, owner: &str, until: i64) -> Result<bool, sqlx::Error> {
    let updated = on_db!(db, pool => {
        sqlx::query("UPDATE steps SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = $4")
            .bind(until)
            .bind(step_id)
            .bind(owner)
            .bind(StepStatus::Running)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(updated == 1)
}

/// What a finished step stores on its row.
pub struct DoneStep<'a> {
    pub idempotency_key: &'a str,
    pub output: String,
    pub warning: Option<&'a str>,
    pub now: i64,
}

/// Marks a step done if `owner` still holds it; false when the lease was lost.
pub async fn mark_done(tx: &mut Tx, step_id: &str, owner: &str, done: &DoneStep<'_>) -> Result<bool, sqlx::Error> {
    let updated = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE steps SET status = $7, idempotency_key = $1, output = $2, warning = $3, error = NULL, \
             lease_owner = NULL, lease_expires_at = NULL, finished_at = $4, updated_at = $4, \
             duration_ms = $4 - COALESCE(started_at, $4), finished_by = $6 \
             WHERE id = $5 AND lease_owner = $6 AND status = $8",
        )
        .bind(done.idempotency_key)
        .bind(&done.output)
        .bind(done.warning)
        .bind(done.now)
        .bind(step_id)
        .bind(owner)
        .bind(StepStatus::Done)
        .bind(StepStatus::Running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Ends a try that failed, if `owner` still holds the step: back to pending
/// from `retry_at`, or failed for good when `retry_at` is `None`. False when
/// the lease was lost.
pub async fn end_try(
    tx: &mut Tx,
    step_id: &str,
    owner: &str,
    message: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (status, run_after) = match retry_at {
        Some(at) => (StepStatus::Pending, at),
        None => (StepStatus::Failed, now),
    };
    let updated = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE steps SET status = $1, error = $2, lease_owner = NULL, lease_expires_at = NULL, run_after = $3, \
             finished_at = COALESCE($7, finished_at), updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6 AND status = $8",
        )
        .bind(status)
        .bind(message)
        .bind(run_after)
        .bind(now)
        .bind(step_id)
        .bind(owner)
        .bind(retry_at.is_none().then_some(now))
        .bind(StepStatus::Running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Running steps whose lease has expired (their worker stopped).
pub async fn expired(db: &Db, now: i64) -> Result<Vec<ClaimedStep>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE status = $2 AND lease_expires_at < $1"
        )))
        .bind(now)
        .bind(StepStatus::Running)
        .fetch_all(pool)
        .await
    })
}

/// Takes back a step whose lease expired: pending again, or failed when that
/// was its last try. False when it is no longer expired.
pub async fn take_back(
    tx: &mut Tx,
    step_id: &str,
    last_try: bool,
    message: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let updated = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE steps SET status = $1, error = $2, lease_owner = NULL, lease_expires_at = NULL, run_after = $3, \
             updated_at = $3 WHERE id = $4 AND status = $5 AND lease_expires_at < $3",
        )
        .bind(if last_try { StepStatus::Failed } else { StepStatus::Pending })
        .bind(message)
        .bind(now)
        .bind(step_id)
        .bind(StepStatus::Running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Gives a running step back without counting the try; false when `owner`
/// no longer holds it.
pub async fn give_back(db: &Db, step_id: &str, owner: &str, now: i64) -> Result<bool, sqlx::Error> {
    let updated = on_db!(db, pool => {
        sqlx::query(
            "UPDATE steps SET status = $4, attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL, \
             run_after = $1, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = $5",
        )
        .bind(now)
        .bind(step_id)
        .bind(owner)
        .bind(StepStatus::Pending)
        .bind(StepStatus::Running)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Cancels a project's steps that have not finished (`running` ones too when
/// `running` is set: their workers see it at the next heartbeat). A running
/// step keeps its `lease_expires_at`: until then its worker may still store
/// an output, which an erasure's purge waits for.
pub async fn cancel_unfinished(
    tx: &mut Tx,
    project_id: &ProjectId,
    running: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut statuses = vec![StepStatus::Pending, StepStatus::Blocked];
    if running {
        statuses.push(StepStatus::Running);
    }
    for status in statuses {
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE steps SET status = $1, lease_owner = NULL, updated_at = $2 WHERE project_id = $3 AND status = $4",
            )
            .bind(StepStatus::Cancelled)
            .bind(now)
            .bind(project_id)
            .bind(status)
            .execute(&mut **conn)
            .await?;
        });
    }
    Ok(())
}

/// One step of a project as the graph sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepState {
    pub id: String,
    pub kind: StepKind,
    pub scene_index: i64,
    pub status: StepStatus,
    /// The step fell back (its warning is set).
    pub fell_back: bool,
}

impl StepState {
    /// The step's place in the graph.
    pub fn step(&self) -> StepRef {
        StepRef::new(self.kind, self.scene_index)
    }
}

/// Every step of a project with its status.
pub async fn states(tx: &mut Tx, project_id: &ProjectId) -> Result<Vec<StepState>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, kind, scene_index, status, (warning IS NOT NULL) AS fell_back FROM steps WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&mut **conn)
        .await
    })
}

/// Whether the project has a final step (it makes a video, not only a storyboard).
pub async fn has_final(tx: &mut Tx, project_id: &ProjectId) -> Result<bool, sqlx::Error> {
    let count: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE project_id = $1 AND kind = $2")
            .bind(project_id)
            .bind(StepKind::Final)
            .fetch_one(&mut **conn)
            .await?
    });
    Ok(count > 0)
}

/// Makes blocked steps ready to claim now.
pub async fn release_blocked(tx: &mut Tx, step_ids: &[&str], now: i64) -> Result<(), sqlx::Error> {
    for id in step_ids {
        on_tx!(tx, conn => {
            sqlx::query("UPDATE steps SET status = $1, run_after = $2, updated_at = $2 WHERE id = $3 AND status = $4")
                .bind(StepStatus::Pending)
                .bind(now)
                .bind(*id)
                .bind(StepStatus::Blocked)
                .execute(&mut **conn)
                .await?;
        });
    }
    Ok(())
}

/// Queue figures for `/metrics`: ready steps, leased steps, and since when
/// the oldest ready step has been claimable.
pub async fn depth(db: &Db, now: i64) -> Result<(i64, i64, Option<i64>), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT \
                 COALESCE(SUM(CASE WHEN status = $2 AND run_after <= $1 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN status = $3 THEN 1 ELSE 0 END), 0), \
                 MIN(CASE WHEN status = $2 AND run_after <= $1 \
                     THEN (CASE WHEN run_after > updated_at THEN run_after ELSE updated_at END) END) \
             FROM steps WHERE status IN ($2, $3)",
        )
        .bind(now)
        .bind(StepStatus::Pending)
        .bind(StepStatus::Running)
        .fetch_one(pool)
        .await
    })
}

/// The fewest unfinished steps left in any of a tenant's unfinished projects
/// (`None` when it has none): how soon one of them can finish.
pub async fn fewest_steps_left(db: &Db, tenant_id: &TenantId) -> Result<Option<i64>, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT MIN(steps_left) FROM (SELECT COUNT(*) AS steps_left FROM steps s \
                 JOIN projects p ON p.id = s.project_id \
                 WHERE p.tenant_id = $1 AND p.status IN ($2, $3) AND s.status IN ($4, $5, $6) \
                 GROUP BY s.project_id) AS per_project",
        )
        .bind(tenant_id)
        .bind(queued)
        .bind(running)
        .bind(StepStatus::Pending)
        .bind(StepStatus::Running)
        .bind(StepStatus::Blocked)
        .fetch_one(pool)
        .await
    })
}

/// How many steps of every project are unfinished, and the recent steps'
/// durations in milliseconds (newest first), for ETAs.
pub async fn eta_inputs(db: &Db) -> Result<(i64, Vec<i64>), sqlx::Error> {
    on_db!(db, pool => {
        let ahead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE status IN ($1, $2, $3)")
            .bind(StepStatus::Pending)
            .bind(StepStatus::Running)
            .bind(StepStatus::Blocked)
            .fetch_one(pool)
            .await?;
        let recent: Vec<i64> = sqlx::query_scalar(
            "SELECT duration_ms FROM steps WHERE status = $1 AND duration_ms IS NOT NULL ORDER BY finished_at DESC LIMIT 200",
        )
        .bind(StepStatus::Done)
        .fetch_all(pool)
        .await?;
        Ok((ahead, recent))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_queues_after_its_own_work_but_never_before_the_head() {
        // An empty queue starts at zero.
        assert_eq!(first_turn(None, None), 0);
        // A tenant with nothing unfinished starts at the head of the queue.
        assert_eq!(first_turn(Some(40), None), 40);
        // A tenant with a backlog queues after it.
        assert_eq!(first_turn(Some(40), Some(243)), 244);
        // Its old turns behind the head (long-waiting work) do not let it jump ahead.
        assert_eq!(first_turn(Some(40), Some(12)), 40);
        assert_eq!(first_turn(None, Some(7)), 8);
    }

    #[test]
    fn a_project_takes_its_turns_in_graph_order() {
        let turns: Vec<i64> = graph::steps(2, Scope::Video).into_iter().map(|step| turn_of(step, 2, 10)).collect();
        assert_eq!(turns, (10..18).collect::<Vec<_>>());
    }
}
