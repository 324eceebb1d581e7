//! The durable step queue on the application database: claim with a lease,
//! heartbeat, complete or fail (with backoff), reap expired leases, cancel and
//! retry. Each operation is one transaction composed of the plain functions in
//! `store.rs` (steps), `projects::store` and `usage::meter`; which steps may
//! run is decided by `graph.rs`.

use crate::batches;
use crate::billing::Plan;
use crate::config::Config;
use crate::db::{Db, Tx, now_ms};
use crate::domain::{ProjectId, TenantId};
use crate::pipeline::graph::{self, StepKind, StepRef, StepStatus};
use crate::pipeline::plan;
use crate::pipeline::steps::StepOutput;
use crate::pipeline::store::{self, DoneStep, StepState};
use crate::projects::store as projects;
use crate::projects::types::ProjectStatus;
use crate::usage::meter::{self, LedgerEntry, Usage};
use crate::usage::quota::{self, Exceeded, Metric};
use crate::usage::store as usage_store;
use crate::webhooks;

pub use crate::pipeline::graph::NO_SCENE;
pub use crate::pipeline::store::ClaimedStep;
pub use crate::projects::store::ProjectOutputs;

/// What a finished step leaves behind.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// Content key of the inputs.
    pub idempotency_key: String,
    /// Output description (storage keys, durations, cues).
    pub output: StepOutput,
    /// Set when a fallback was used: the project becomes `partial`.
    pub warning: Option<String>,
    /// For the final step: the project's outputs.
    pub project_outputs: Option<ProjectOutputs>,
    /// Usage this step produced (recorded once per key, with the completion).
    pub usage: Vec<Usage>,
}

/// Claims up to `limit` ready steps for `owner` with a lease of `lease_ms`,
/// and marks their projects running.
pub async fn claim(db: &Db, owner: &str, lease_ms: i64, limit: i64) -> Result<Vec<ClaimedStep>, sqlx::Error> {
    store::claim(db, owner, lease_ms, limit).await
}

/// Extends a lease. False when the lease was lost (reaped, cancelled, deleted):
/// the worker must stop the step and write nothing.
pub async fn heartbeat(db: &Db, step_id: &str, owner: &str, lease_ms: i64) -> Result<bool, sqlx::Error> {
    store::extend_lease(db, step_id, owner, now_ms() + lease_ms).await
}

/// Makes ready every blocked step of the project whose inputs are now all
/// done, as the graph says.
async fn release_ready(tx: &mut Tx, project_id: &ProjectId, now: i64) -> Result<(), sqlx::Error> {
    let states = store::states(tx, project_id).await?;
    let scenes = scene_count(&states);
    let current: Vec<(StepRef, StepStatus)> = states.iter().map(|s| (s.step(), s.status)).collect();
    let ready = graph::ready_to_release(&current, scenes);
    let ids: Vec<&str> = states.iter().filter(|s| ready.contains(&s.step())).map(|s| s.id.as_str()).collect();
    store::release_blocked(tx, &ids, now).await
}

/// A storyboard (no final step) whose pictures and narration are all done.
fn storyboard_done(states: &[StepState]) -> bool {
    !states.iter().any(|s| s.kind == StepKind::Final) && states.iter().all(|s| s.status == StepStatus::Done)
}

/// The number of scenes of a project, from its steps (one image each).
fn scene_count(states: &[StepState]) -> usize {
    states.iter().filter(|s| s.kind == StepKind::Image).count()
}

/// Fails an unfinished project: its waiting steps are cancelled and what is
/// left of its reservation is released.
async fn fail_project(tx: &mut Tx, project_id: &ProjectId, message: &str, now: i64) -> Result<(), sqlx::Error> {
    if projects::end(tx, project_id, ProjectStatus::Failed, Some(message), now).await? {
        webhooks::project_event(tx, project_id, ProjectStatus::Failed).await?;
        batches::row_finished(tx, project_id, now).await?;
    }
    store::cancel_unfinished(tx, project_id, false, now).await?;
    usage_store::release(tx, project_id).await
}

/// What a completion wrote.
#[derive(Debug)]
pub struct Completed {
    /// The ledger rows written.
    pub ledger: Vec<LedgerEntry>,
    /// The step was the project's last: it is `completed`, `partial` or `draft` now.
    pub finished_project: bool,
}

/// Marks a step done (only if `owner` still holds it), records its usage
/// (once per key), releases what waited on it and, for the final step (or
/// the last step of a storyboard), finishes the project and releases what is
/// left of its reservation; all in one transaction. `None` when the lease was
/// lost and nothing was written.
pub async fn complete(
    db: &Db,
    config: &Config,
    step: &ClaimedStep,
    owner: &str,
    result: &StepResult,
) -> Result<Option<Completed>, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    tx.lock_project(step.project_id.as_str()).await?;
    let done = DoneStep {
        idempotency_key: &result.idempotency_key,
        output: result.output.to_json(),
        warning: result.warning.as_deref(),
        now,
    };
    if !store::mark_done(&mut tx, &step.id, owner, &done).await? {
        return Ok(None);
    }
    let written = meter::record(&mut tx, config, &step.tenant_id, &step.project_id, &result.usage, now).await?;
    release_ready(&mut tx, &step.project_id, now).await?;
    let mut finished_project = true;
    if let Some(outputs) = &result.project_outputs {
        let states = store::states(&mut tx, &step.project_id).await?;
        let status = if states.iter().any(|s| s.fell_back) { ProjectStatus::Partial } else { ProjectStatus::Completed };
        projects::finish(&mut tx, &step.project_id, status, outputs, now).await?;
        webhooks::project_event(&mut tx, &step.project_id, status).await?;
        batches::row_finished(&mut tx, &step.project_id, now).await?;
        usage_store::release(&mut tx, &step.project_id).await?;
    } else if storyboard_done(&store::states(&mut tx, &step.project_id).await?) {
        if projects::end(&mut tx, &step.project_id, ProjectStatus::Draft, None, now).await? {
            webhooks::project_event(&mut tx, &step.project_id, ProjectStatus::Draft).await?;
            batches::row_finished(&mut tx, &step.project_id, now).await?;
        }
        usage_store::release(&mut tx, &step.project_id).await?;
    } else {
        projects::touch(&mut tx, &step.project_id, now).await?;
        finished_project = false;
    }
    tx.commit().await?;
    tracing::debug!(step = %step.id, kind = %step.kind, ms = now_ms() - now, "step completed");
    Ok(Some(Completed { ledger: written, finished_project }))
}

/// Records the bytes a project holds in storage, measured after one of its
/// steps ran (whatever its outcome), so media counts toward the tenant's
/// storage as soon as it is stored, also for a project that is later
/// cancelled or fails. The growth moves out of the project's storage
/// reservation. True when the figure grew.
pub async fn record_stored(db: &Db, project_id: &ProjectId, measured: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    tx.lock_project(project_id.as_str()).await?;
    let grown = projects::grow_stored(&mut tx, project_id, measured).await?;
    if grown > 0 {
        usage_store::shrink_reservation(&mut tx, project_id, Metric::StorageMb, grown).await?;
    }
    tx.commit().await?;
    Ok(grown > 0)
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
    let mut tx = db.begin_write().await?;
    tx.lock_project(step.project_id.as_str()).await?;
    let retry_at = (!last_try).then(|| now + backoff_ms(step.attempts));
    if !store::end_try(&mut tx, &step.id, owner, message, retry_at, now).await? {
        return Ok(false);
    }
    if last_try {
        fail_project(&mut tx, &step.project_id, message, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Takes back steps whose lease expired (their worker died): they run again,
/// or fail when that was their last try. Returns how many were taken back.
pub async fn reap(db: &Db) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let message = "the worker running this step stopped responding";
    let mut reaped = 0;
    for step in store::expired(db, now).await? {
        let last_try = step.attempts >= step.max_attempts;
        let mut tx = db.begin_write().await?;
        tx.lock_project(step.project_id.as_str()).await?;
        let taken = store::take_back(&mut tx, &step.id, last_try, message, now).await?;
        if taken && last_try {
            fail_project(&mut tx, &step.project_id, message, now).await?;
        }
        tx.commit().await?;
        reaped += u64::from(taken);
    }
    if reaped > 0 {
        tracing::warn!(reaped, "took back steps whose worker stopped");
    }
    Ok(reaped)
}

/// Cancels a project that has not finished: unfinished steps are cancelled
/// (a running step's worker sees it at its next heartbeat). False when the
/// project had already finished.
pub async fn cancel_project(db: &Db, project_id: &ProjectId) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let cancelled = projects::end(&mut tx, project_id, ProjectStatus::Cancelled, None, now).await?;
    if cancelled {
        store::cancel_unfinished(&mut tx, project_id, true, now).await?;
        usage_store::release(&mut tx, project_id).await?;
        batches::row_finished(&mut tx, project_id, now).await?;
    }
    tx.commit().await?;
    Ok(cancelled)
}

/// Which admission limit of the queue refused work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueLimit {
    /// `QUEUE_MAX_PENDING` projects of all tenants are unfinished.
    Service,
    /// The tenant has as many unfinished projects as its plan allows.
    Tenant { plan: Plan, limit: u64 },
}

/// Queue admission inside `tx`, which must already hold the tenant's lock
/// (`meter::admit` takes it): refused when the service has
/// `QUEUE_MAX_PENDING` unfinished projects, or the tenant as many as its plan
/// allows (`QueueConfig::max_pending_for`). Under the lock a tenant's
/// concurrent creates and retries count each other, so none passes the
/// tenant's limit. Checked after the quotas: a 402 is final, a 429 only asks
/// to wait.
pub async fn admit(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    plan: Plan,
) -> Result<Result<(), QueueLimit>, sqlx::Error> {
    admit_many(tx, config, tenant_id, plan, 1).await
}

/// Queue admission of `count` projects made together (a batch's rows), in
/// `tx` under the tenant's lock: they take one place of the tenant's limit
/// (a batch counts as one unfinished project, see
/// `projects::store::count_unfinished_of`), and `count` places of the
/// service's `QUEUE_MAX_PENDING`, all or none.
pub async fn admit_many(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    plan: Plan,
    count: usize,
) -> Result<Result<(), QueueLimit>, sqlx::Error> {
    if let Some(limit) = config.queue.max_pending_for(plan)
        && projects::count_unfinished_of(tx, tenant_id).await? >= i64::try_from(limit).unwrap_or(i64::MAX)
    {
        return Ok(Err(QueueLimit::Tenant { plan, limit }));
    }
    let unfinished = projects::count_unfinished_in(tx).await?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    if unfinished.saturating_add(count) > i64::try_from(config.queue.queue_max_pending).unwrap_or(i64::MAX) {
        return Ok(Err(QueueLimit::Service));
    }
    Ok(Ok(()))
}

/// How `schedule` admits the work it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Checks the quotas and, for a finished project, the queue limits; then reserves.
    Check,
    /// The caller checked this work together with other work, under the
    /// tenant's lock that `tx` holds (`meter::check`, `admit_many`): only
    /// its reservation is written. Its steps take turns from `first_turn`
    /// (the caller asks `next_turn` once and gives each project the turns
    /// after the previous one's, `turns_of`: asking for each of a batch's
    /// 500 projects read every earlier one's steps again).
    Admitted { first_turn: i64 },
}

/// How many turns a project of `scenes` scenes takes from its first (one per
/// step of a video, whatever its scope: `store::turn_of`).
pub fn turns_of(scenes: usize) -> i64 {
    graph::steps(scenes, graph::Scope::Video).len() as i64
}

/// What `schedule` did.
#[derive(Debug)]
pub enum Scheduled {
    /// Steps were queued; the project is `queued`.
    Queued,
    /// The steps were rearranged (scenes moved or removed) but nothing needs
    /// making; the project keeps its status.
    Rearranged,
    /// The project's steps already make exactly its scenes.
    UpToDate,
    /// The work would pass a quota (nothing was written).
    Exceeded(Exceeded),
    /// A queue limit is reached (nothing was written).
    Limited(QueueLimit),
}

/// Plans a render of the project's current scenes in `scope` (see
/// `plan.rs`) and queues what must run: the quota is reserved for that work
/// only (pictures and narration made again, the video when it is joined
/// again), under the same checks as a new project, and the queue limits
/// apply. Done steps whose recipes are unchanged keep their outputs and are
/// not billed again. Runs inside `tx`, which must hold the project's lock;
/// with `remake_fallbacks` (retry) steps that fell back are made again.
pub async fn schedule(
    tx: &mut Tx,
    config: &Config,
    project: &crate::projects::types::ProjectRecord,
    scope: graph::Scope,
    remake_fallbacks: bool,
    now: i64,
) -> Result<Scheduled, sqlx::Error> {
    schedule_with(tx, config, project, scope, remake_fallbacks, Admission::Check, now).await
}

/// `schedule` with the admission given: `Admission::Admitted` for the
/// projects of a batch, whose sum was checked once.
pub async fn schedule_with(
    tx: &mut Tx,
    config: &Config,
    project: &crate::projects::types::ProjectRecord,
    scope: graph::Scope,
    remake_fallbacks: bool,
    admission: Admission,
    now: i64,
) -> Result<Scheduled, sqlx::Error> {
    let scenes = projects::scenes_in(tx, &project.id).await?;
    let wanted = crate::pipeline::recipe::recipes(&project.inputs(), &scenes, scope);
    let known = store::known_steps(tx, &project.id).await?;
    let planned = plan::plan(&wanted, &known, remake_fallbacks);
    let running: Vec<StepRef> = plan::to_run(&planned).collect();
    if running.is_empty() {
        if plan::is_current(&planned, &known) {
            return Ok(Scheduled::UpToDate);
        }
        store::replace_steps(tx, &project.id, &project.tenant_id, &planned, 0, now).await?;
        return Ok(Scheduled::Rearranged);
    }
    let text = |step: &StepRef| usize::try_from(step.scene).ok().and_then(|i| scenes.get(i));
    let images = running
        .iter()
        .filter(|s| s.kind == StepKind::Image)
        .filter(|s| text(s).is_some_and(|scene| scene.visual.media_id().is_none()))
        .count();
    let spoken: Vec<&str> =
        running.iter().filter(|s| s.kind == StepKind::Speech).filter_map(text).map(|s| s.text.as_str()).collect();
    let all: Vec<&str> = scenes.iter().map(|s| s.text.as_str()).collect();
    let video = running.contains(&StepRef::FINAL).then_some(all.as_slice());
    let needed = quota::estimate_work(images, &spoken, video);
    match admission {
        Admission::Admitted { .. } => meter::reserve(tx, &project.tenant_id, &project.id, &needed, now).await?,
        Admission::Check => {
            let plan = match meter::admit(tx, config, &project.tenant_id, &project.id, needed, now, Plan::Free).await? {
                Ok(plan) => plan,
                Err(exceeded) => return Ok(Scheduled::Exceeded(exceeded)),
            };
            if project.status.is_finished()
                && let Err(limit) = admit(tx, config, &project.tenant_id, plan).await?
            {
                return Ok(Scheduled::Limited(limit));
            }
        }
    }
    let first_turn = match admission {
        Admission::Admitted { first_turn } => first_turn,
        Admission::Check => store::next_turn(tx, &project.tenant_id).await?,
    };
    store::replace_steps(tx, &project.id, &project.tenant_id, &planned, first_turn, now).await?;
    projects::requeue(tx, &project.id, now).await?;
    release_ready(tx, &project.id, now).await?;
    Ok(Scheduled::Queued)
}

/// Gives a running step back without counting the try (graceful shutdown):
/// another worker picks it up at once.
pub async fn release(db: &Db, step: &ClaimedStep, owner: &str) -> Result<bool, sqlx::Error> {
    store::give_back(db, &step.id, owner, now_ms()).await
}

/// Queue figures for `/metrics`: ready steps, leased steps, and the oldest
/// ready step's wait in milliseconds (since it became claimable).
pub async fn depth(db: &Db) -> Result<(i64, i64, Option<i64>), sqlx::Error> {
    let now = now_ms();
    let (ready, leased, since) = store::depth(db, now).await?;
    Ok((ready, leased, since.map(|since| (now - since).max(0))))
}
