//! Batches from data (SPEC 4.8): one template script with merge fields
//! (`{{name}}`), rendered once per row of a JSON list or a CSV file, each row
//! an ordinary project made by the projects service, all admitted as one
//! (`projects::service::create_many`). A batch's status is read from its
//! rows' projects; the transaction that finishes its last row marks it
//! completed and queues the one `batch.completed` webhook (`row_finished`).
//!
//! - `merge.rs`: merge fields, parsed and filled in
//! - `rows.rs`: rows from JSON or CSV
//! - `store.rs`: the SQL
//! - `service.rs`: the rules: checks, creation, views, the ZIP's entries
//! - `archive.rs`: the ZIP of the finished videos, streamed
//! - `routes.rs`: `/api/v1/batches`

pub mod archive;
pub mod merge;
pub mod routes;
pub mod rows;
pub mod service;
pub mod store;

use serde::Serialize;
use serde_json::json;

use crate::db::Tx;
use crate::domain::ProjectId;
use crate::projects::types::ProjectStatus;
use crate::text_enum;
use crate::webhooks::{self, EventType};

text_enum! {
    /// Where a batch is, from its rows: `queued` (no row started), `running`,
    /// then `completed` (every row made its video, or its storyboard),
    /// `partial` (some did, others failed or were cancelled), `failed` (none
    /// did and some failed) or `cancelled` (every row was cancelled or deleted).
    pub enum BatchStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Partial => "partial",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

/// How many rows are where. `deleted`: rows whose project was deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowCounts {
    pub queued: i64,
    pub running: i64,
    pub completed: i64,
    /// Finished with a video, some scenes made by a fallback.
    pub partial: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Storyboards (`render: false`) whose pictures and narration are ready.
    pub draft: i64,
    pub deleted: i64,
}

impl RowCounts {
    /// The counts of `row_count` rows whose existing projects have `statuses`
    /// (each with how many rows have it).
    pub fn of(row_count: i64, statuses: impl IntoIterator<Item = (ProjectStatus, i64)>) -> RowCounts {
        let mut counts = RowCounts::default();
        let mut seen = 0;
        for (status, n) in statuses {
            seen += n;
            *match status {
                ProjectStatus::Queued => &mut counts.queued,
                ProjectStatus::Running => &mut counts.running,
                ProjectStatus::Completed => &mut counts.completed,
                ProjectStatus::Partial => &mut counts.partial,
                ProjectStatus::Failed => &mut counts.failed,
                ProjectStatus::Cancelled => &mut counts.cancelled,
                ProjectStatus::Draft => &mut counts.draft,
            } += n;
        }
        counts.deleted = (row_count - seen).max(0);
        counts
    }

    /// The batch's status.
    pub fn status(&self) -> BatchStatus {
        let made = self.completed + self.partial + self.draft;
        if self.queued + self.running > 0 {
            if self.running + made + self.failed + self.cancelled + self.deleted > 0 {
                BatchStatus::Running
            } else {
                BatchStatus::Queued
            }
        } else if self.failed + self.cancelled + self.deleted == 0 {
            BatchStatus::Completed
        } else if made > 0 {
            BatchStatus::Partial
        } else if self.failed > 0 {
            BatchStatus::Failed
        } else {
            BatchStatus::Cancelled
        }
    }
}

/// Called in the transaction that ends a project (finished, failed,
/// cancelled): when the project is a batch's row and that batch has no row
/// left to make, marks the batch completed and queues `batch.completed`.
/// Exactly once per batch: the batch's lock orders rows finishing together,
/// and the update is conditional on `completed_at` being unset. A row made
/// again later (retry, render) does not send it again.
pub async fn row_finished(tx: &mut Tx, project_id: &ProjectId, now: i64) -> Result<(), sqlx::Error> {
    let Some(batch_id) = store::batch_of(tx, project_id).await? else { return Ok(()) };
    tx.lock_batch(batch_id.as_str()).await?;
    if !store::complete_if_done(tx, &batch_id, now).await? {
        return Ok(());
    }
    let Some(batch) = store::record_in(tx, &batch_id).await? else { return Ok(()) };
    let statuses = store::statuses_in(tx, &batch_id).await?;
    let counts = RowCounts::of(batch.row_count, statuses.into_iter().map(|status| (status, 1)));
    let data = json!({
        "batch_id": batch.id.as_str(),
        "title": batch.title,
        "status": counts.status().as_str(),
        "rows": batch.row_count,
        "counts": counts,
        "zip_url": format!("/api/v1/batches/{}/videos.zip", batch.id),
    });
    webhooks::emit(tx, &batch.tenant_id, EventType::BatchCompleted, data).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_rows() {
        use ProjectStatus::*;
        let status = |rows: i64, statuses: &[(ProjectStatus, i64)]| RowCounts::of(rows, statuses.to_vec()).status();
        assert_eq!(status(3, &[(Queued, 3)]), BatchStatus::Queued);
        assert_eq!(status(3, &[(Queued, 2), (Running, 1)]), BatchStatus::Running);
        assert_eq!(status(3, &[(Queued, 2), (Completed, 1)]), BatchStatus::Running);
        assert_eq!(status(3, &[(Completed, 2), (Partial, 1)]), BatchStatus::Completed);
        assert_eq!(status(2, &[(Draft, 2)]), BatchStatus::Completed);
        assert_eq!(status(3, &[(Completed, 2), (Failed, 1)]), BatchStatus::Partial);
        assert_eq!(status(3, &[(Completed, 2)]), BatchStatus::Partial, "a deleted row");
        assert_eq!(status(3, &[(Failed, 1), (Cancelled, 2)]), BatchStatus::Failed);
        assert_eq!(status(3, &[(Cancelled, 1)]), BatchStatus::Cancelled);
        let counts = RowCounts::of(4, vec![(Completed, 1), (Failed, 1), (Completed, 1)]);
        assert_eq!((counts.completed, counts.failed, counts.deleted), (2, 1, 1));
    }
}
