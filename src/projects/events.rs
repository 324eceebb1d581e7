//! Live progress over Server-Sent Events.
//!
//! Every stream of one project shares one feed: a task that reads the project
//! and its steps (two queries) when a change made in this process wakes it,
//! and every `POLL` to catch changes made by workers in other processes, and
//! publishes the result to the project's streams. Each stream only compares
//! what it already sent. Before, each stream made its own two queries every
//! `POLL`: 300 streams on one project were 1,200 queries a second, which
//! slowed every tenant's requests on the shared pool.
//!
//! Streams hold a connection and a task each, so they are capped per tenant
//! (`LIVE_STREAMS_PER_TENANT`) and in all (`LIVE_STREAMS_MAX`) in this process.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::Stream;
use serde_json::json;
use tokio::sync::watch;

use crate::domain::{ProjectId, TenantId};
use crate::pipeline::graph::{StepKind, StepStatus};
use crate::projects::store;
use crate::projects::types::{Progress, ProjectRecord, StepRow};
use crate::state::AppState;

const POLL: Duration = Duration::from_millis(500);
/// How long a stream opened as the server stops waits for its first state.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// What a feed last read of its project.
#[derive(Clone)]
enum Snapshot {
    /// Not read yet.
    Pending,
    /// Deleted (or never this tenant's).
    Gone,
    /// The project and its steps.
    Live(Arc<(ProjectRecord, Vec<StepRow>)>),
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamsFull {
    /// The tenant holds `LIVE_STREAMS_PER_TENANT` streams already.
    #[error("too many live-progress streams open for this account")]
    Tenant,
    /// The process holds `LIVE_STREAMS_MAX` streams already.
    #[error("too many live-progress streams open on this server")]
    Server,
}

#[derive(Default)]
struct HubState {
    /// `{tenant}:{project}` -> the feed's publisher.
    feeds: HashMap<String, Arc<watch::Sender<Snapshot>>>,
    /// Open streams per tenant.
    open: HashMap<String, u32>,
    /// Open streams in all.
    total: u32,
}

/// The live-progress feeds and stream counts of this process.
pub struct LiveHub {
    per_tenant: u32,
    max: u32,
    inner: Mutex<HubState>,
}

/// One open stream's place under the caps; given back when dropped.
pub struct StreamPermit {
    state: AppState,
    tenant_id: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut inner = self.state.live.lock();
        inner.total = inner.total.saturating_sub(1);
        if let Some(count) = inner.open.get_mut(&self.tenant_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                inner.open.remove(&self.tenant_id);
            }
        }
    }
}

impl LiveHub {
    /// A hub with the given caps (0 = unlimited).
    pub fn new(per_tenant: u32, max: u32) -> Self {
        LiveHub { per_tenant, max, inner: Mutex::new(HubState::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Streams open now: in all, and of `tenant_id`.
    pub fn open_streams(&self, tenant_id: &str) -> (u32, u32) {
        let inner = self.lock();
        (inner.total, inner.open.get(tenant_id).copied().unwrap_or(0))
    }

    /// Feeds running now (one per project with open streams).
    pub fn feeds(&self) -> usize {
        self.lock().feeds.len()
    }
}

/// Takes a place for one more stream of `tenant_id`, or says which cap is full.
pub fn admit(state: &AppState, tenant_id: &TenantId) -> Result<StreamPermit, StreamsFull> {
    let hub = &state.live;
    let mut inner = hub.lock();
    let tenant_open = inner.open.get(tenant_id.as_str()).copied().unwrap_or(0);
    if hub.per_tenant > 0 && tenant_open >= hub.per_tenant {
        return Err(StreamsFull::Tenant);
    }
    if hub.max > 0 && inner.total >= hub.max {
        return Err(StreamsFull::Server);
    }
    inner.total += 1;
    *inner.open.entry(tenant_id.to_string()).or_insert(0) += 1;
    Ok(StreamPermit { state: state.clone(), tenant_id: tenant_id.to_string() })
}

/// A receiver of the project's feed, starting the feed if none runs.
fn subscribe(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> watch::Receiver<Snapshot> {
    let key = format!("{tenant_id}:{project_id}");
    let mut inner = state.live.lock();
    if let Some(sender) = inner.feeds.get(&key) {
        return sender.subscribe();
    }
    let (sender, receiver) = watch::channel(Snapshot::Pending);
    let sender = Arc::new(sender);
    inner.feeds.insert(key.clone(), sender.clone());
    drop(inner);
    tokio::spawn(feed(state.clone(), key, tenant_id.clone(), project_id.clone(), sender));
    receiver
}

/// Reads the project for every stream of it until it finishes, is deleted,
/// or its last stream goes away.
async fn feed(
    state: AppState,
    key: String,
    tenant_id: TenantId,
    project_id: ProjectId,
    sender: Arc<watch::Sender<Snapshot>>,
) {
    let mut changes = state.project_events.subscribe();
    loop {
        let read = async {
            let Some(project) = store::record(&state.db, &tenant_id, &project_id).await? else {
                return Ok::<_, sqlx::Error>(Snapshot::Gone);
            };
            let steps = store::step_rows(&state.db, &project_id).await?;
            Ok(Snapshot::Live(Arc::new((project, steps))))
        };
        let last = match read.await {
            Ok(snapshot) => {
                let last = match &snapshot {
                    Snapshot::Live(live) => live.0.status.is_finished(),
                    Snapshot::Gone | Snapshot::Pending => true,
                };
                sender.send_replace(snapshot);
                last
            }
            // A failed read is tried again at the next poll; streams keep
            // what they have (and their keep-alive) meanwhile.
            Err(err) => {
                tracing::warn!(error = %err, "reading live progress failed");
                false
            }
        };
        {
            // Under the hub's lock, so that a stream subscribing now either
            // gets this feed's receiver before it ends or starts a new feed.
            let mut inner = state.live.lock();
            if last || sender.receiver_count() == 0 {
                if inner.feeds.get(&key).is_some_and(|s| Arc::ptr_eq(s, &sender)) {
                    inner.feeds.remove(&key);
                }
                return;
            }
        }
        let wait = async {
            loop {
                match changes.recv().await {
                    Ok(id) if id == project_id.as_str() => return,
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            () = wait => {}
            () = tokio::time::sleep(POLL) => {}
            () = sender.closed() => {}
        }
    }
}

/// Events of one project until it finishes (or is deleted), for the holder
/// of `permit`.
pub fn stream(
    state: AppState,
    tenant_id: TenantId,
    project_id: ProjectId,
    permit: StreamPermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut stopping = state.stopping.subscribe();
    let mut snapshots = subscribe(&state, &tenant_id, &project_id);
    async_stream(move |tx| async move {
        // Held for as long as the stream lives.
        let _permit = permit;
        let mut seen: HashMap<(StepKind, i64), StepStatus> = HashMap::new();
        let mut waited_for_state = false;
        loop {
            let snapshot = snapshots.borrow_and_update().clone();
            let no_state_yet = matches!(snapshot, Snapshot::Pending);
            match snapshot {
                Snapshot::Pending => {}
                Snapshot::Gone => {
                    let _ =
                        tx.send(Event::default().event("done").data(json!({"status": "deleted"}).to_string())).await;
                    return;
                }
                Snapshot::Live(live) => {
                    let (project, steps) = &*live;
                    let progress = Progress::of_steps(steps);
                    for step in steps {
                        let key = (step.kind, step.scene_index);
                        if seen.get(&key) != Some(&step.status) {
                            seen.insert(key, step.status);
                            let data = json!({
                                "kind": step.kind,
                                "scene": (step.scene_index >= 0).then_some(step.scene_index),
                                "status": step.status,
                                "error": step.error,
                                "warning": step.warning,
                                "project_status": project.status,
                                "progress": progress,
                                "at": step.updated_at,
                            });
                            if tx.send(Event::default().event("step").data(data.to_string())).await.is_err() {
                                return;
                            }
                        }
                    }
                    if project.status.is_finished() {
                        let data = json!({"status": project.status, "error": project.error});
                        let _ = tx.send(Event::default().event("done").data(data.to_string())).await;
                        return;
                    }
                }
            }
            // The server is stopping: the client has the current state and
            // reconnects to another process (or this one, restarted). A
            // stream that opened just before has not had the feed's first
            // read yet: it waits for it (briefly), so it still ends with
            // the current state.
            if *stopping.borrow() {
                if no_state_yet && !waited_for_state {
                    waited_for_state = true;
                    let _ = tokio::time::timeout(STOP_WAIT, snapshots.changed()).await;
                    continue;
                }
                return;
            }
            tokio::select! {
                changed = snapshots.changed() => {
                    // The feed ended without a last snapshot (it only ends
                    // after one, so this is a stop): follow a new feed.
                    if changed.is_err() {
                        snapshots = subscribe(&state, &tenant_id, &project_id);
                    }
                }
                _ = stopping.changed() => {}
                // The client left: give the place back now, not at the next change.
                () = tx.closed() => return,
            }
        }
    })
}

/// A stream fed by a task through a small channel (ends when the task returns
/// or the client goes away).
fn async_stream<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(producer(tx));
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|event| event.map(Ok)))
}
