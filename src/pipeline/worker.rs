//! Step workers: claim, keep the lease alive, run, record; plus the reaper.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::pipeline::collect;
use crate::pipeline::queue::{self, ClaimedStep};
use crate::pipeline::steps;
use crate::state::AppState;

/// How often idle workers look for work when nothing woke them.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How often expired leases are taken back.
const REAP_EVERY: Duration = Duration::from_secs(5);
/// How long a stopping worker lets a running step finish before releasing it.
const DRAIN: Duration = Duration::from_secs(20);

/// A running pool of step workers.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

static NEXT_WORKER: AtomicUsize = AtomicUsize::new(0);

impl WorkerPool {
    /// Starts `count` workers (and a reaper) on `state`. Zero starts nothing.
    pub fn start(state: &AppState, count: usize) -> WorkerPool {
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        if count > 0 {
            let process = format!("{}-{}", hostname(), std::process::id());
            for _ in 0..count {
                let id = NEXT_WORKER.fetch_add(1, Ordering::Relaxed);
                let owner = format!("{process}-w{id}-{}", uuid::Uuid::new_v4().simple());
                handles.push(tokio::spawn(worker_loop(state.clone(), owner, stopped.clone())));
            }
            handles.push(tokio::spawn(reaper(state.clone(), stopped)));
            tokio::spawn(warm_default_voice(state.clone(), count));
            tracing::info!(workers = count, "step workers started");
        }
        WorkerPool { stop, handles }
    }

    /// Stops claiming, lets running steps finish (up to a grace period, then
    /// releases them for another worker), and waits for the workers to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Loads the English default voice (Piper, when narration picks it by
/// default) in as many children as workers, while the first steps run: the
/// first scene's narration then does not wait the second a voice takes to load.
async fn warm_default_voice(state: AppState, workers: usize) {
    if !matches!(state.config.providers.speech.provider(), crate::config::SpeechProvider::Auto) {
        return;
    }
    let voices = crate::projects::voices::piper_voices(&state).await;
    let Some(english) = voices.iter().find(|v| v.language.starts_with("en")) else { return };
    match state.piper.warm(&english.model, workers) {
        Ok(started) => tracing::debug!(started, voice = %english.name, "default voice loading"),
        Err(err) => tracing::warn!(error = %err, "the default voice could not be started early"),
    }
}

/// Empties `$DATA_DIR/work` at start (the caller holds the data-dir lock, so no
/// other process uses it): a worker killed mid-step leaves its scratch files
/// behind, and the step itself has been taken over through its lease.
pub fn clear_scratch(config: &crate::config::Config) {
    let work = config.data_dir.join("work");
    match std::fs::remove_dir_all(&work) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(error = %err, dir = %work.display(), "could not clear the scratch directory"),
    }
}

/// How long a claim lasts without a heartbeat (`WORKER_LEASE_SECONDS`).
fn lease_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.queue.worker_lease_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into())
}

async fn worker_loop(state: AppState, owner: String, mut stopped: watch::Receiver<bool>) {
    loop {
        if *stopped.borrow() {
            return;
        }
        let claimed = match queue::claim(&state.db, &owner, lease_ms(&state), 1).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "claiming work failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(step) = claimed.into_iter().next() else {
            tokio::select! {
                () = state.work_available.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                _ = stopped.changed() => {}
            }
            continue;
        };
        let span = tracing::info_span!("step", id = %step.id, kind = %step.kind, scene = step.scene_index, attempt = step.attempts);
        run_claimed(&state, &owner, step, &mut stopped).instrument(span).await;
    }
}

/// Runs a step while renewing its lease. Stops (writing nothing) when the lease
/// is lost, e.g. because the project was cancelled.
async fn run_claimed(state: &AppState, owner: &str, step: ClaimedStep, stopped: &mut watch::Receiver<bool>) {
    let work = state.config.data_dir.join("work").join(&step.id);
    let started = std::time::Instant::now();
    if let Err(err) = tokio::fs::create_dir_all(&work).await {
        let message = if reelforge_media::is_storage_full(&err) {
            "the worker's disk is full"
        } else {
            "could not prepare a work directory"
        };
        record_failure(state, owner, &step, message).await;
        return;
    }
    let lease_lost = Arc::new(tokio::sync::Notify::new());
    let heartbeat = {
        let (state, owner, id, lost) = (state.clone(), owner.to_string(), step.id.clone(), lease_lost.clone());
        tokio::spawn(async move {
            let lease = lease_ms(&state);
            // A third of the lease: two heartbeats may be lost before another worker takes over.
            let mut tick = tokio::time::interval(Duration::from_millis((lease / 3).max(1) as u64));
            tick.tick().await;
            loop {
                tick.tick().await;
                match queue::heartbeat(&state.db, &id, &owner, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.notify_one();
                        return;
                    }
                    Err(err) => tracing::warn!(error = %err, "heartbeat failed; will try again"),
                }
            }
        })
    };
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    let run = steps::run(state, &step, &work);
    tokio::pin!(run);
    let outcome = loop {
        let deadline = async {
            match drain_deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut run => break Some(result),
            () = lease_lost.notified() => {
                tracing::info!("lease lost (cancelled, deleted or taken over); stopping the step");
                break None;
            }
            changed = stopped.changed(), if drain_deadline.is_none() => {
                if changed.is_err() || *stopped.borrow() {
                    drain_deadline = Some(tokio::time::Instant::now() + DRAIN);
                }
            }
            () = deadline => {
                tracing::info!("shutting down: releasing the step for another worker");
                if let Err(err) = queue::release(&state.db, &step, owner).await {
                    tracing::warn!(error = %err, "could not release the step; its lease will expire");
                }
                break None;
            }
        }
    };
    heartbeat.abort();
    // Before the outcome is recorded (a step seen done has its bytes
    // counted), and for every outcome: what the step stored counts toward the
    // tenant's storage until the project is deleted, even when the step
    // failed, lost its lease, or the project is cancelled.
    record_stored(state, &step).await;
    if outcome.is_some() {
        metrics::histogram!(crate::metrics::STEP_DURATION, "kind" => step.kind.as_str())
            .record(started.elapsed().as_secs_f64());
    }
    match outcome {
        Some(Ok(result)) => match complete_with_retries(state, &step, owner, &result).await {
            Ok(Some(completed)) => {
                crate::usage::recorded(state, &step.tenant_id, &completed.ledger).await;
                if completed.finished_project {
                    let finished_at = crate::db::now_ms();
                    let collected =
                        collect::unused_outputs(state, &step.tenant_id, &step.project_id, finished_at).await;
                    if let Err(err) = collected {
                        tracing::warn!(error = %err, "deleting the outputs of earlier renders failed");
                    }
                    state.webhook_wake.notify_one();
                }
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    warning = result.warning.is_some(),
                    "step done"
                );
                state.work_available.notify_waiters();
                state.project_changed(step.tenant_id.as_str(), step.project_id.as_str());
            }
            Ok(None) => tracing::info!("step finished after its lease was lost; result discarded"),
            Err(err) => {
                tracing::warn!(error = %err, "recording a finished step failed; its lease will expire and it will run again")
            }
        },
        Some(Err(err)) if !err.retryable => {
            record_fatal(state, owner, &step, &err.message).await;
        }
        Some(Err(err)) => record_failure(state, owner, &step, &err.message).await,
        None => {}
    }
    let _ = tokio::fs::remove_dir_all(&work).await;
}

/// Measures the project's storage prefix and records it on the project. A
/// failure is logged: the next step of the project (or its final step)
/// measures again.
async fn record_stored(state: &AppState, step: &ClaimedStep) {
    let prefix = crate::storage::project_prefix(&step.tenant_id, step.project_id.as_str());
    let measured = match state.storage.prefix_size(&prefix).await {
        Ok(bytes) => i64::try_from(bytes).unwrap_or(i64::MAX),
        Err(err) => {
            tracing::warn!(error = %err, "measuring a project's storage failed");
            return;
        }
    };
    match queue::record_stored(&state.db, &step.project_id, measured).await {
        Ok(true) => state.usage_changed(step.tenant_id.as_str()),
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "recording a project's storage failed"),
    }
}

/// Records a finished step, trying again on a transient database error
/// (a dropped connection, a serialisation failure) before leaving the step to
/// its lease: redoing the work costs far more than a second attempt here.
async fn complete_with_retries(
    state: &AppState,
    step: &ClaimedStep,
    owner: &str,
    result: &queue::StepResult,
) -> Result<Option<queue::Completed>, sqlx::Error> {
    let mut attempt = 0;
    loop {
        match queue::complete(&state.db, &state.config, step, owner, result).await {
            Err(err) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(error = %err, attempt, "recording a finished step failed; trying again");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            other => return other,
        }
    }
}

async fn record_failure(state: &AppState, owner: &str, step: &ClaimedStep, message: &str) {
    tracing::warn!(%message, "step attempt failed");
    metrics::counter!(crate::metrics::STEP_FAILURES, "kind" => step.kind.as_str()).increment(1);
    if let Err(err) = queue::fail_attempt(&state.db, step, owner, message).await {
        tracing::warn!(error = %err, "recording a failed step failed; its lease will expire");
    }
    state.project_changed(step.tenant_id.as_str(), step.project_id.as_str());
    state.usage_changed(step.tenant_id.as_str());
}

async fn record_fatal(state: &AppState, owner: &str, step: &ClaimedStep, message: &str) {
    let last = ClaimedStep { attempts: step.max_attempts, ..step.clone() };
    record_failure(state, owner, &last, message).await;
}

async fn reaper(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        match queue::reap(&state.db).await {
            Ok(0) => {}
            Ok(_) => state.work_available.notify_waiters(),
            Err(err) => tracing::warn!(error = %err, "reaping expired leases failed"),
        }
    }
}
