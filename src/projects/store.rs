//! The projects domain's queries. Reads run on the pool; writes are plain
//! functions on a `Tx`, composed by the service (or the queue) that owns it.

use crate::db::{Db, Tx};
use crate::domain::{BatchId, ProjectId, TenantId};
use crate::projects::music::Music;
use crate::projects::scene::{Scene, Visual};
use crate::projects::types::{ProjectRecord, ProjectStatus, StepRow};
use crate::{on_db, on_tx};

const PROJECT_COLUMNS: &str = "id, title, status, template_id, language, voice, caption_style, music, width, height, fps, \
                               watermark, error, duration_ms, video_key, thumbnail_key, captions_key, srt_key, created_at, \
                               updated_at, template";

/// The columns of a new project.
pub struct ProjectInsert<'a> {
    pub id: &'a ProjectId,
    pub tenant_id: &'a TenantId,
    pub title: &'a str,
    pub template_id: &'a str,
    pub language: &'a str,
    pub voice: Option<&'a str>,
    pub caption_style: Option<&'a str>,
    pub music: Option<&'a Music>,
    pub plan: &'a str,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub watermark: bool,
    /// The batch the project is a row of, and the row's index.
    pub batch: Option<(&'a BatchId, i64)>,
    /// A tenant template's snapshot (JSON of the resolved `Template`); None for a built-in.
    pub template: Option<&'a str>,
    pub creator: &'a crate::projects::types::Creator,
    pub now: i64,
}

/// Inserts a queued project and its scenes.
pub async fn insert(tx: &mut Tx, project: &ProjectInsert<'_>, scenes: &[Scene]) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO projects (id, tenant_id, title, template_id, language, voice, plan, width, height, fps, watermark, \
             status, created_at, updated_at, music, music_media_id, caption_style, batch_id, batch_row, template, \
             created_by, created_by_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(project.id)
        .bind(project.tenant_id)
        .bind(project.title)
        .bind(project.template_id)
        .bind(project.language)
        .bind(project.voice)
        .bind(project.plan)
        .bind(i64::from(project.width))
        .bind(i64::from(project.height))
        .bind(i64::from(project.fps))
        .bind(i64::from(project.watermark))
        // An empty draft until `queue::schedule` queues its steps.
        .bind(ProjectStatus::Draft)
        .bind(project.now)
        .bind(project.music.map(Music::to_json))
        .bind(project.music.and_then(Music::media_id))
        .bind(project.caption_style)
        .bind(project.batch.map(|(batch_id, _)| batch_id))
        .bind(project.batch.map(|(_, row)| row))
        .bind(project.template)
        .bind(project.creator.user_id.as_ref())
        .bind(project.creator.key_id.as_deref())
        .execute(&mut **conn)
        .await?;
    });
    insert_scenes(tx, project.id, scenes).await
}

async fn insert_scenes(tx: &mut Tx, project_id: &ProjectId, scenes: &[Scene]) -> Result<(), sqlx::Error> {
    for (index, scene) in scenes.iter().enumerate() {
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO scenes (project_id, scene_index, text, title, visual, voice, media_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(project_id)
            .bind(index as i64)
            .bind(&scene.text)
            .bind(&scene.title)
            .bind(scene.visual.to_json())
            .bind(&scene.voice)
            .bind(scene.visual.media_id())
            .execute(&mut **conn)
            .await?;
        });
    }
    Ok(())
}

/// Replaces a project's scenes (an edit, insert, delete or reorder writes
/// the whole list: at most 60 short rows).
pub async fn replace_scenes(tx: &mut Tx, project_id: &ProjectId, scenes: &[Scene]) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM scenes WHERE project_id = $1").bind(project_id).execute(&mut **conn).await?;
    });
    insert_scenes(tx, project_id, scenes).await
}

/// A scene's row.
#[derive(sqlx::FromRow)]
struct SceneRow {
    text: String,
    title: Option<String>,
    visual: String,
    voice: Option<String>,
}

impl From<SceneRow> for Scene {
    fn from(row: SceneRow) -> Scene {
        Scene { text: row.text, title: row.title, visual: Visual::from_json(&row.visual), voice: row.voice }
    }
}

const SCENE_SQL: &str = "SELECT text, title, visual, voice FROM scenes WHERE project_id = $1 ORDER BY scene_index";

/// A project's scenes in order.
pub async fn scenes(db: &Db, project_id: &ProjectId) -> Result<Vec<Scene>, sqlx::Error> {
    let rows: Vec<SceneRow> = on_db!(db, pool => {
        sqlx::query_as(SCENE_SQL).bind(project_id).fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(Scene::from).collect())
}

/// A project's scenes in order, read inside `tx`.
pub async fn scenes_in(tx: &mut Tx, project_id: &ProjectId) -> Result<Vec<Scene>, sqlx::Error> {
    let rows: Vec<SceneRow> = on_tx!(tx, conn => {
        sqlx::query_as(SCENE_SQL).bind(project_id).fetch_all(&mut **conn).await?
    });
    Ok(rows.into_iter().map(Scene::from).collect())
}

/// Who made a project: (member id, their address, key id, key name).
pub async fn creator(
    db: &Db,
    project_id: &ProjectId,
) -> Result<Option<(Option<String>, Option<String>, Option<String>, Option<String>)>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT p.created_by, u.email, p.created_by_key, k.name FROM projects p \
             LEFT JOIN users u ON u.id = p.created_by LEFT JOIN api_keys k ON k.id = p.created_by_key \
             WHERE p.id = $1",
        )
        .bind(project_id)
        .fetch_optional(pool)
        .await
    })
}

/// The project's record read inside `tx` (the caller holds its lock).
pub async fn record_in(tx: &mut Tx, project_id: &ProjectId) -> Result<Option<ProjectRecord>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PROJECT_COLUMNS}, tenant_id FROM projects WHERE id = $1")))
            .bind(project_id)
            .fetch_optional(&mut **conn)
            .await
    })
}

/// The plan text of an active tenant (`None` when there is none).
pub async fn active_tenant_plan(db: &Db, tenant_id: &TenantId) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1 AND status = 'active'")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await
    })
}

/// How many projects of every tenant are still queued or running.
pub async fn count_unfinished(db: &Db) -> Result<i64, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE status IN ($1, $2)")
            .bind(queued)
            .bind(running)
            .fetch_one(pool)
            .await
    })
}

/// `count_unfinished` inside an admission transaction.
pub async fn count_unfinished_in(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE status IN ($1, $2)")
            .bind(queued)
            .bind(running)
            .fetch_one(&mut **conn)
            .await
    })
}

/// How many projects of one tenant are still queued or running (inside the
/// admission transaction that holds the tenant's lock), a batch's unfinished
/// rows counting as one: the plan's limit of unfinished projects is a limit
/// of things being made, and a batch is one.
pub async fn count_unfinished_of(tx: &mut Tx, tenant_id: &TenantId) -> Result<i64, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT COUNT(DISTINCT COALESCE(batch_id, id)) FROM projects WHERE tenant_id = $1 AND status IN ($2, $3)",
        )
            .bind(tenant_id)
            .bind(queued)
            .bind(running)
            .fetch_one(&mut **conn)
            .await
    })
}

/// The tenant's project, or `None` (another tenant's project is `None` too).
pub async fn record(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
) -> Result<Option<ProjectRecord>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PROJECT_COLUMNS}, tenant_id FROM projects WHERE id = $1 AND tenant_id = $2")))
            .bind(project_id)
            .bind(tenant_id)
            .fetch_optional(pool)
            .await
    })
}

/// A project's steps, by scene.
pub async fn step_rows(db: &Db, project_id: &ProjectId) -> Result<Vec<StepRow>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT kind, scene_index, status, warning, error, updated_at, recipe, output FROM steps \
             WHERE project_id = $1 ORDER BY scene_index, kind",
        )
        .bind(project_id)
        .fetch_all(pool)
        .await
    })
}

/// A project in a list, with its step counts.
#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    pub id: ProjectId,
    pub title: String,
    pub status: ProjectStatus,
    pub template_id: String,
    pub thumbnail_key: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub done: i64,
    pub total: i64,
}

/// Up to `limit` of the tenant's projects older than `cursor`, newest first.
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    cursor: Option<&ProjectId>,
    limit: i64,
) -> Result<Vec<SummaryRow>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT p.id, p.title, p.status, p.template_id, p.thumbnail_key, p.duration_ms, p.created_at, \
             (SELECT COUNT(*) FROM steps s WHERE s.project_id = p.id AND s.status = $4) AS done, \
             (SELECT COUNT(*) FROM steps s WHERE s.project_id = p.id) AS total \
             FROM projects p WHERE p.tenant_id = $1 AND ($2 IS NULL OR p.id < $2) ORDER BY p.id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(cursor)
        .bind(limit)
        .bind(crate::pipeline::graph::StepStatus::Done)
        .fetch_all(pool)
        .await
    })
}

/// Deletes the tenant's project row (its steps and scenes go with it).
pub async fn delete(db: &Db, tenant_id: &TenantId, project_id: &ProjectId) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM projects WHERE id = $1 AND tenant_id = $2")
            .bind(project_id)
            .bind(tenant_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Marks a project as running if it is still queued.
pub async fn mark_running(tx: &mut Tx, project_id: &ProjectId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE projects SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(ProjectStatus::Running)
            .bind(now)
            .bind(project_id)
            .bind(ProjectStatus::Queued)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Sets (or clears) a project's music.
pub async fn set_music(
    tx: &mut Tx,
    project_id: &ProjectId,
    music: Option<&Music>,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE projects SET music = $1, music_media_id = $2, updated_at = $3 WHERE id = $4")
            .bind(music.map(Music::to_json))
            .bind(music.and_then(Music::media_id))
            .bind(now)
            .bind(project_id)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Records the last change of a project (shown as `updated_at`).
pub async fn touch(tx: &mut Tx, project_id: &ProjectId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2").bind(now).bind(project_id).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Raises a project's `bytes_stored` to `measured` (the size of its storage
/// prefix just measured) and returns by how much it grew. It never lowers it:
/// outputs are kept under their content keys until the project is deleted, so
/// a smaller figure is an older measurement that finished late. 0 when the
/// project no longer exists.
pub async fn grow_stored(tx: &mut Tx, project_id: &ProjectId, measured: i64) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        let stored: Option<i64> = sqlx::query_scalar("SELECT bytes_stored FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&mut **conn)
            .await?;
        match stored {
            Some(stored) if measured > stored => {
                sqlx::query("UPDATE projects SET bytes_stored = $1 WHERE id = $2")
                    .bind(measured)
                    .bind(project_id)
                    .execute(&mut **conn)
                    .await?;
                Ok(measured - stored)
            }
            _ => Ok(0),
        }
    })
}

/// Sets a finished project's `bytes_stored` to `measured` (after its unused
/// outputs were deleted); a project that is rendering again keeps its figure
/// (its own steps raise it as they store).
pub async fn set_stored_if_finished(tx: &mut Tx, project_id: &ProjectId, measured: i64) -> Result<(), sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_tx!(tx, conn => {
        sqlx::query("UPDATE projects SET bytes_stored = $1 WHERE id = $2 AND status NOT IN ($3, $4)")
            .bind(measured)
            .bind(project_id)
            .bind(queued)
            .bind(running)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Where a finished project's files are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectOutputs {
    pub video_key: String,
    pub thumbnail_key: String,
    pub captions_key: String,
    pub srt_key: String,
    pub duration_ms: i64,
    pub bytes_stored: i64,
}

/// Finishes an unfinished project with its outputs (`completed` or `partial`).
pub async fn finish(
    tx: &mut Tx,
    project_id: &ProjectId,
    status: ProjectStatus,
    outputs: &ProjectOutputs,
    now: i64,
) -> Result<(), sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE projects SET status = $1, video_key = $2, thumbnail_key = $3, captions_key = $4, srt_key = $5, \
             duration_ms = $6, bytes_stored = $7, error = NULL, finished_at = $8, updated_at = $8 \
             WHERE id = $9 AND status IN ($10, $11)",
        )
        .bind(status)
        .bind(&outputs.video_key)
        .bind(&outputs.thumbnail_key)
        .bind(&outputs.captions_key)
        .bind(&outputs.srt_key)
        .bind(outputs.duration_ms)
        .bind(outputs.bytes_stored)
        .bind(now)
        .bind(project_id)
        .bind(queued)
        .bind(running)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Ends an unfinished project as `failed` (with `message`) or `cancelled`.
/// False when it had already finished.
pub async fn end(
    tx: &mut Tx,
    project_id: &ProjectId,
    status: ProjectStatus,
    message: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let [queued, running] = ProjectStatus::UNFINISHED;
    let updated = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE projects SET status = $1, error = COALESCE($2, error), finished_at = $3, updated_at = $3 \
             WHERE id = $4 AND status IN ($5, $6)",
        )
        .bind(status)
        .bind(message)
        .bind(now)
        .bind(project_id)
        .bind(queued)
        .bind(running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Queues a finished project again (retry).
pub async fn requeue(tx: &mut Tx, project_id: &ProjectId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE projects SET status = $1, error = NULL, finished_at = NULL, updated_at = $2 WHERE id = $3")
            .bind(ProjectStatus::Queued)
            .bind(now)
            .bind(project_id)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}
