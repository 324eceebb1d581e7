//! After a render: the project's storage holds only what its steps and its
//! video use. Outputs live under content keys, so a render after edits writes
//! new files beside the old ones; once the new video is recorded, the files
//! no step and no project field names any more (the previous video, the
//! pictures and narration of edited scenes) are deleted and the project's
//! stored bytes (its share of `storage_mb`) follow.

use std::collections::BTreeSet;

use crate::db::now_ms;
use crate::domain::{ProjectId, TenantId};
use crate::pipeline::steps::StepOutput;
use crate::projects::store as projects;
use crate::state::AppState;
use crate::storage::project_prefix;

/// How much older than a render's completion a file must be to be deleted:
/// S3's `LastModified` has whole seconds, and clocks differ a little.
const WRITE_CLOCK_SLACK_MS: i64 = 2_000;

/// Deletes what the project no longer uses, written before `finished_at`
/// (the completion of its render: anything written later belongs to a render
/// that started since), and records the bytes left. Returns the bytes freed.
pub async fn unused_outputs(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    finished_at: i64,
) -> anyhow::Result<u64> {
    let prefix = project_prefix(tenant_id, project_id.as_str());
    let listed = state.storage.list_written(&prefix).await?;
    let used = used_keys(state, tenant_id, project_id).await?;
    let mut freed = 0;
    for (key, size, written) in listed {
        // Object stores keep whole seconds: anything written in the last
        // seconds before the completion stays (collected after the next render).
        let recent = written >= finished_at - WRITE_CLOCK_SLACK_MS;
        // The template snapshot's fonts and logo (`templates::snapshot`) serve every render.
        let snapshot = key.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.starts_with("template/"));
        let keep = used.contains(&key) || key.ends_with("/script.txt") || snapshot || recent;
        if !keep {
            state.storage.delete(&key).await?;
            freed += size;
        }
    }
    let measured = i64::try_from(state.storage.prefix_size(&prefix).await?).unwrap_or(i64::MAX);
    let mut tx = state.db.begin_write().await?;
    tx.lock_project(project_id.as_str()).await?;
    projects::set_stored_if_finished(&mut tx, project_id, measured).await?;
    tx.commit().await?;
    if freed > 0 {
        tracing::info!(project = %project_id, freed, at = now_ms(), "deleted outputs of earlier renders");
        state.usage_changed(tenant_id.as_str());
    }
    Ok(freed)
}

/// Every storage key the project's steps and its video name.
async fn used_keys(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> anyhow::Result<BTreeSet<String>> {
    let mut used = BTreeSet::new();
    for row in projects::step_rows(&state.db, project_id).await? {
        let Some(output) = row.output.as_deref().and_then(|json| StepOutput::parse(row.kind, json)) else {
            continue;
        };
        match output {
            StepOutput::Image(image) => {
                // A stock clip lives beside its first frame (a library clip
                // lives in the library, outside the project).
                if let Some(clip) = image.clip {
                    used.insert(clip.key);
                }
                used.insert(image.key);
            }
            StepOutput::Speech(speech) => {
                // The narration's measurements are stored beside it.
                if let Some(stem) = speech.key.strip_suffix(".wav") {
                    used.insert(format!("{stem}.json"));
                }
                used.insert(speech.key);
            }
            StepOutput::Segment(segment) => {
                used.insert(segment.key);
            }
            StepOutput::Audio(sound) => {
                used.insert(sound.key);
            }
            StepOutput::Final(video) => {
                used.insert(video.video_key);
            }
        }
    }
    if let Some(project) = projects::record(&state.db, tenant_id, project_id).await? {
        used.extend(
            [project.video_key, project.thumbnail_key, project.captions_key, project.srt_key].into_iter().flatten(),
        );
    }
    Ok(used)
}
