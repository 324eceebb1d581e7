//! Live progress over Server-Sent Events. Changes made in this process wake the
//! stream at once; a short poll of the database catches changes made by
//! workers in other processes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::Stream;
use serde_json::json;

use crate::domain::{ProjectId, TenantId};
use crate::pipeline::graph::{StepKind, StepStatus};
use crate::projects::store;
use crate::projects::types::Progress;
use crate::state::AppState;

const POLL: Duration = Duration::from_millis(500);

/// Events of one project until it finishes (or is deleted).
pub fn stream(
    state: AppState,
    tenant_id: TenantId,
    project_id: ProjectId,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut changes = state.project_events.subscribe();
    let mut stopping = state.stopping.subscribe();
    async_stream(move |tx| async move {
        let mut seen: HashMap<(StepKind, i64), StepStatus> = HashMap::new();
        loop {
            // The client left.
            if tx.is_closed() {
                return;
            }
            let Ok(Some(project)) = store::record(&state.db, &tenant_id, &project_id).await else {
                let _ = tx.send(Event::default().event("done").data(json!({"status": "deleted"}).to_string())).await;
                return;
            };
            let Ok(steps) = store::step_rows(&state.db, &project_id).await else { return };
            let progress = Progress::of_steps(&steps);
            for step in &steps {
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
            // The server is stopping: the client has the current state and
            // reconnects to another process (or this one, restarted).
            if *stopping.borrow() {
                return;
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
                _ = stopping.changed() => {}
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
