//! Project rules: validation, admission, creation, views, retry, cancel, delete.
//! Every query takes the caller's `TenantId`; another tenant's project and a
//! missing one are the same 404.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::billing::Plan;
use crate::db::{BeginWrite, Db, now_ms, rfc3339};
use crate::domain::TenantId;
use crate::error::{AppError, AppResult, FieldError};
use crate::on_db;
use crate::pipeline::queue::{self, enqueue_steps, kind};
use crate::projects::script;
use crate::projects::templates;
use crate::state::AppState;
use crate::storage::{StorageError, project_prefix};
use crate::usage::meter::admit_in_tx;
use crate::usage::quota;

/// Body of a create call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProject {
    pub title: String,
    /// Up to 20,000 characters; paragraphs become scenes.
    pub script: String,
    pub template_id: String,
    /// A voice id from `/api/v1/voices` (e.g. `espeak:de`); default: the language's voice.
    pub voice: Option<String>,
    /// Language code such as `en`, `de`, `zh` (default `en`).
    pub language: Option<String>,
}

/// The answer to a create call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub project_id: String,
    pub status: &'static str,
    /// Estimated seconds until the video is ready.
    pub eta_seconds: u64,
}

/// Progress of a project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub done: i64,
    pub total: i64,
    pub percent: f64,
}

/// A scene and how far it is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SceneView {
    pub index: i64,
    pub text: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    pub error: Option<String>,
}

/// A project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub id: String,
    pub title: String,
    /// `queued`, `running`, `completed`, `partial`, `failed` or `cancelled`.
    pub status: String,
    pub template_id: String,
    pub language: String,
    pub width: i64,
    pub height: i64,
    pub progress: Progress,
    pub scenes: Vec<SceneView>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub captions_url: Option<String>,
    pub duration_seconds: Option<f64>,
    pub created_at: String,
    pub updated_at: String,
}

/// A project in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectSummary {
    pub id: String,
    pub title: String,
    pub status: String,
    pub template_id: String,
    pub progress: Progress,
    pub thumbnail_url: Option<String>,
    pub duration_seconds: Option<f64>,
    pub created_at: String,
}

/// A page of projects.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectPage {
    pub items: Vec<ProjectSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ProjectRecord {
    pub id: String,
    pub title: String,
    pub status: String,
    pub template_id: String,
    pub language: String,
    pub width: i64,
    pub height: i64,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub video_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub captions_key: Option<String>,
    pub srt_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const PROJECT_COLUMNS: &str = "id, title, status, template_id, language, width, height, error, duration_ms, video_key, \
                               thumbnail_key, captions_key, srt_key, created_at, updated_at";

/// Statuses after which nothing more happens.
pub fn is_finished(status: &str) -> bool {
    matches!(status, "completed" | "partial" | "failed" | "cancelled")
}

fn valid_language(language: &str) -> bool {
    let mut parts = language.split('-');
    let first_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    first_ok
        && language.len() <= 20
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn valid_voice(voice: &str) -> bool {
    !voice.is_empty()
        && voice.len() <= 100
        && voice.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '+' | '.' | '/'))
        && !voice.contains("..")
}

/// Validated input of a create call.
pub struct NewProject {
    pub title: String,
    pub scenes: Vec<String>,
    pub template: &'static templates::Template,
    pub language: String,
    pub voice: Option<String>,
    pub script: String,
}

/// Checks every field and reports all problems at once (422).
pub fn validate(body: CreateProject) -> AppResult<NewProject> {
    let mut errors = Vec::new();
    let title = body.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.push(FieldError::new("title", "must be 1 to 200 characters"));
    }
    let scenes = match script::split(&body.script) {
        Ok(scenes) => scenes,
        Err(err) => {
            errors.push(FieldError::new("script", err.message()));
            Vec::new()
        }
    };
    let template = templates::find(body.template_id.trim());
    if template.is_none() {
        let known: Vec<&str> = templates::all().iter().map(|t| t.id.as_str()).collect();
        errors.push(FieldError::new("template_id", format!("unknown template; choose one of {}", known.join(", "))));
    }
    let language =
        body.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).unwrap_or("en").to_ascii_lowercase();
    if !valid_language(&language) {
        errors.push(FieldError::new("language", "must be a language code such as en, de or pt-br"));
    }
    let voice = body.voice.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    if voice.as_deref().is_some_and(|v| !valid_voice(v)) {
        errors.push(FieldError::new("voice", "must be a voice id from /api/v1/voices"));
    }
    match (errors.is_empty(), template) {
        (true, Some(template)) => Ok(NewProject { title, scenes, template, language, voice, script: body.script }),
        _ => Err(AppError::Validation(errors)),
    }
}

async fn tenant_plan(db: &Db, tenant_id: &TenantId) -> AppResult<Plan> {
    let plan: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1 AND status = 'active'")
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    plan.and_then(|p| p.parse().ok()).ok_or(AppError::Unauthorized)
}

/// Seconds until `extra_steps` more steps would be done, from how long recent
/// steps took and how many are ahead in the queue.
pub async fn eta_seconds(state: &AppState, extra_steps: i64) -> AppResult<u64> {
    let (ahead, average): (i64, Option<f64>) = on_db!(&state.db, pool => {
        let ahead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE status IN ('pending', 'running', 'blocked')")
            .fetch_one(pool)
            .await?;
        let recent: Vec<i64> = sqlx::query_scalar(
            "SELECT duration_ms FROM steps WHERE status = 'done' AND duration_ms IS NOT NULL ORDER BY finished_at DESC LIMIT 200",
        )
        .fetch_all(pool)
        .await?;
        let average = (!recent.is_empty()).then(|| recent.iter().sum::<i64>() as f64 / recent.len() as f64 / 1000.0);
        (ahead, average)
    });
    let per_step = average.unwrap_or(1.5).max(0.05);
    let workers = state.config.queue.worker_concurrency.max(1) as f64;
    Ok(((ahead + extra_steps) as f64 * per_step / workers).ceil() as u64)
}

fn storage_full() -> AppError {
    AppError::Problem {
        status: axum::http::StatusCode::INSUFFICIENT_STORAGE,
        title: "Insufficient Storage".into(),
        detail: "the media storage is full; nothing was saved. Delete old projects or try again later".into(),
        extensions: Map::new(),
    }
}

/// Admits and stores a new project and queues its steps.
pub async fn create(state: &AppState, tenant_id: &TenantId, new: NewProject) -> AppResult<Created> {
    let plan = tenant_plan(&state.db, tenant_id).await?;
    if new.template.premium {
        crate::billing::require_paid_subscription(&state.config, plan, &format!("The {} template", new.template.name))?;
    }
    let unfinished: i64 = on_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE status IN ('queued', 'running')").fetch_one(pool).await?
    });
    if unfinished >= state.config.queue.queue_max_pending as i64 {
        let eta = eta_seconds(state, 0).await?.max(1);
        let mut extensions = Map::new();
        extensions.insert("eta_seconds".into(), json!(eta));
        return Err(AppError::RateLimitedProblem {
            retry_after_seconds: eta,
            detail: format!("the render queue is full; try again in about {eta} seconds"),
            extensions,
        });
    }

    let project_id = uuid::Uuid::now_v7().to_string();
    let (width, height) = new.template.render_size(plan);
    // The script is written first: when storage is full the request gets 507
    // and the database holds nothing of the project.
    let prefix = project_prefix(tenant_id, &project_id);
    match state.storage.put_bytes(&format!("{prefix}script.txt"), Bytes::from(new.script.clone())).await {
        Ok(()) => {}
        Err(StorageError::Full) => return Err(storage_full()),
        Err(err) => return Err(AppError::Internal(anyhow::anyhow!(err))),
    }

    let now = now_ms();
    let scene_count = new.scenes.len();
    let needed = quota::estimate(&new.scenes);
    // Check and reservation happen in one transaction that holds the tenant's
    // lock (the write lock on SQLite, the tenant row on PostgreSQL), so that
    // concurrent creates see each other's reservations.
    let lock_tenant = crate::usage::meter::lock_tenant_sql(&state.db);
    let inserted: Result<Option<quota::Exceeded>, sqlx::Error> = async {
        on_db!(&state.db, pool => {
            let mut tx = pool.begin_write().await?;
            if let Err(exceeded) =
                admit_in_tx!(tx, lock_tenant, &state.config, tenant_id.as_str(), &project_id, needed, now, plan)
            {
                return Ok(Some(exceeded));
            }
            sqlx::query(
                "INSERT INTO projects (id, tenant_id, title, template_id, language, voice, plan, width, height, fps, watermark, \
                 status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', $12, $12)",
            )
            .bind(&project_id)
            .bind(tenant_id.as_str())
            .bind(&new.title)
            .bind(&new.template.id)
            .bind(&new.language)
            .bind(&new.voice)
            .bind(plan.as_str())
            .bind(i64::from(width))
            .bind(i64::from(height))
            .bind(i64::from(new.template.fps))
            .bind(i64::from(plan == Plan::Free))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for (index, text) in new.scenes.iter().enumerate() {
                sqlx::query("INSERT INTO scenes (project_id, scene_index, text) VALUES ($1, $2, $3)")
                    .bind(&project_id)
                    .bind(index as i64)
                    .bind(text)
                    .execute(&mut *tx)
                    .await?;
            }
            enqueue_steps!(tx, &project_id, tenant_id.as_str(), scene_count, now);
            tx.commit().await?;
        });
        Ok(None)
    }
    .await;
    match inserted {
        Ok(None) => {}
        Ok(Some(exceeded)) => {
            let _ = state.storage.delete_prefix(&prefix).await;
            return Err(crate::usage::quota_exceeded(&state.config, &exceeded));
        }
        Err(err) => {
            let _ = state.storage.delete_prefix(&prefix).await;
            return Err(err.into());
        }
    }
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    let eta_seconds = eta_seconds(state, 0).await?;
    Ok(Created { project_id, status: "queued", eta_seconds })
}

/// The tenant's project record, or 404.
pub(crate) async fn record(db: &Db, tenant_id: &TenantId, project_id: &str) -> AppResult<ProjectRecord> {
    let row: Option<ProjectRecord> = on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1 AND tenant_id = $2")))
            .bind(project_id)
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    row.ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
pub(crate) struct StepRow {
    pub kind: String,
    pub scene_index: i64,
    pub status: String,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub updated_at: i64,
}

pub(crate) async fn step_rows(db: &Db, project_id: &str) -> AppResult<Vec<StepRow>> {
    Ok(on_db!(db, pool => {
        sqlx::query_as(
            "SELECT kind, scene_index, status, warning, error, updated_at FROM steps WHERE project_id = $1 \
             ORDER BY scene_index, kind",
        )
        .bind(project_id)
        .fetch_all(pool)
        .await?
    }))
}

impl Progress {
    /// Progress of `done` out of `total` steps (percent with one decimal).
    pub fn of(done: i64, total: i64) -> Progress {
        let percent = if total == 0 { 0.0 } else { (done as f64 * 1000.0 / total as f64).round() / 10.0 };
        Progress { done, total, percent }
    }

    /// Progress of a project's steps.
    pub(crate) fn of_steps(steps: &[StepRow]) -> Progress {
        Progress::of(steps.iter().filter(|s| s.status == "done").count() as i64, steps.len() as i64)
    }
}

fn file_url(project_id: &str, file: &str) -> String {
    format!("/api/v1/projects/{project_id}/{file}")
}

/// How long a project's view is trusted. Changes made in this process (a step
/// finished by an in-process worker, retry, cancel, delete) invalidate it at
/// once; steps finished by other worker processes show within this. Live
/// progress does not depend on it: the event stream reads the database.
pub const PROJECT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// `{tenant_id}:{project_id}` -> the project's view.
pub type ProjectCache = crate::cache::TenantCache<ProjectView>;

/// An empty project cache.
pub fn new_project_cache() -> ProjectCache {
    crate::cache::TenantCache::new(PROJECT_CACHE_TTL, 50_000)
}

/// `get` through the project cache: status pages poll this.
pub async fn get_cached(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &str,
) -> AppResult<std::sync::Arc<ProjectView>> {
    let key = format!("{tenant_id}:{project_id}");
    if let Some(view) = state.project_cache.get(&key) {
        return Ok(view);
    }
    let fetched = std::time::Instant::now();
    let view = std::sync::Arc::new(get(&state.db, tenant_id, project_id).await?);
    state.project_cache.put(key, tenant_id.as_str(), fetched, view.clone());
    Ok(view)
}

/// A project with its scenes, progress, warnings and file URLs.
pub async fn get(db: &Db, tenant_id: &TenantId, project_id: &str) -> AppResult<ProjectView> {
    let project = record(db, tenant_id, project_id).await?;
    let steps = step_rows(db, project_id).await?;
    let texts: Vec<(i64, String)> = on_db!(db, pool => {
        sqlx::query_as("SELECT scene_index, text FROM scenes WHERE project_id = $1 ORDER BY scene_index")
            .bind(project_id)
            .fetch_all(pool)
            .await?
    });
    let scenes = texts
        .into_iter()
        .map(|(index, text)| {
            let own: Vec<&StepRow> = steps.iter().filter(|s| s.scene_index == index && s.kind != kind::FINAL).collect();
            let status = if own.iter().any(|s| s.status == "failed") {
                "failed"
            } else if own.iter().all(|s| s.status == "done") {
                "done"
            } else if own.iter().any(|s| s.status == "running" || s.status == "done") {
                "running"
            } else if own.iter().any(|s| s.status == "cancelled") {
                "cancelled"
            } else {
                "queued"
            };
            let error = own.iter().find(|s| s.status == "failed").and_then(|s| s.error.clone());
            SceneView { index, text, status: status.into(), error }
        })
        .collect();
    let warnings = steps.iter().filter_map(|s| s.warning.clone()).collect();
    let ready = matches!(project.status.as_str(), "completed" | "partial") && project.video_key.is_some();
    Ok(ProjectView {
        progress: Progress::of_steps(&steps),
        scenes,
        warnings,
        video_url: ready.then(|| file_url(&project.id, "video")),
        thumbnail_url: (ready && project.thumbnail_key.is_some()).then(|| file_url(&project.id, "thumbnail")),
        captions_url: (ready && project.captions_key.is_some()).then(|| file_url(&project.id, "captions.vtt")),
        duration_seconds: project.duration_ms.map(|ms| ms as f64 / 1000.0),
        created_at: rfc3339(project.created_at),
        updated_at: rfc3339(project.updated_at),
        id: project.id,
        title: project.title,
        status: project.status,
        template_id: project.template_id,
        language: project.language,
        width: project.width,
        height: project.height,
        error: project.error,
    })
}

/// A page of the tenant's projects, newest first.
pub async fn list(db: &Db, tenant_id: &TenantId, cursor: Option<&str>, limit: i64) -> AppResult<ProjectPage> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        title: String,
        status: String,
        template_id: String,
        thumbnail_key: Option<String>,
        duration_ms: Option<i64>,
        created_at: i64,
        done: i64,
        total: i64,
    }
    let rows: Vec<Row> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT p.id, p.title, p.status, p.template_id, p.thumbnail_key, p.duration_ms, p.created_at, \
             (SELECT COUNT(*) FROM steps s WHERE s.project_id = p.id AND s.status = 'done') AS done, \
             (SELECT COUNT(*) FROM steps s WHERE s.project_id = p.id) AS total \
             FROM projects p WHERE p.tenant_id = $1 AND ($2 IS NULL OR p.id < $2) ORDER BY p.id DESC LIMIT $3",
        )
        .bind(tenant_id.as_str())
        .bind(cursor)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?
    });
    let more = rows.len() as i64 > limit;
    let mut items: Vec<ProjectSummary> = rows
        .into_iter()
        .take(limit as usize)
        .map(
            |Row { id, title, status, template_id, thumbnail_key: thumbnail, duration_ms, created_at, done, total }| {
                let ready = matches!(status.as_str(), "completed" | "partial");
                ProjectSummary {
                    thumbnail_url: (ready && thumbnail.is_some()).then(|| file_url(&id, "thumbnail")),
                    progress: Progress {
                        done,
                        total,
                        percent: if total == 0 { 0.0 } else { (done as f64 * 1000.0 / total as f64).round() / 10.0 },
                    },
                    duration_seconds: duration_ms.map(|ms| ms as f64 / 1000.0),
                    created_at: rfc3339(created_at),
                    id,
                    title,
                    status,
                    template_id,
                }
            },
        )
        .collect();
    let next_cursor = if more { items.last().map(|p| p.id.clone()) } else { None };
    items.truncate(limit as usize);
    Ok(ProjectPage { items, next_cursor })
}

/// Queues failed, cancelled and fallback steps again (409 when nothing failed).
pub async fn retry(state: &AppState, tenant_id: &TenantId, project_id: &str) -> AppResult<()> {
    record(&state.db, tenant_id, project_id).await?;
    match queue::retry_project(&state.db, &state.config, project_id).await? {
        queue::RetryOutcome::Retried => {}
        queue::RetryOutcome::NothingToRetry => {
            return Err(AppError::Conflict("nothing to retry: no step of this project failed or fell back".into()));
        }
        queue::RetryOutcome::Exceeded(exceeded) => return Err(crate::usage::quota_exceeded(&state.config, &exceeded)),
    }
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    state.project_changed(tenant_id.as_str(), project_id);
    Ok(())
}

/// Cancels an unfinished project (409 when it has finished).
pub async fn cancel(state: &AppState, tenant_id: &TenantId, project_id: &str) -> AppResult<()> {
    record(&state.db, tenant_id, project_id).await?;
    if !queue::cancel_project(&state.db, project_id).await? {
        return Err(AppError::Conflict("the project has already finished".into()));
    }
    state.usage_changed(tenant_id.as_str());
    state.project_changed(tenant_id.as_str(), project_id);
    Ok(())
}

/// Deletes a project, its steps and all its media.
pub async fn delete(state: &AppState, tenant_id: &TenantId, project_id: &str) -> AppResult<u64> {
    record(&state.db, tenant_id, project_id).await?;
    // Cancelling also releases the project's reservation.
    queue::cancel_project(&state.db, project_id).await?;
    let freed = match state.storage.delete_prefix(&project_prefix(tenant_id, project_id)).await {
        Ok(freed) => freed,
        Err(err) => return Err(AppError::Internal(anyhow::anyhow!("deleting media failed: {err}"))),
    };
    on_db!(&state.db, pool => {
        sqlx::query("DELETE FROM projects WHERE id = $1 AND tenant_id = $2")
            .bind(project_id)
            .bind(tenant_id.as_str())
            .execute(pool)
            .await?;
    });
    state.usage_changed(tenant_id.as_str());
    state.project_changed(tenant_id.as_str(), project_id);
    Ok(freed)
}

/// Which file of a finished project.
#[derive(Debug, Clone, Copy)]
pub enum ProjectFile {
    Video,
    Thumbnail,
    CaptionsVtt,
    CaptionsSrt,
}

/// The storage key of a finished project's file, or 404.
pub async fn file_key(db: &Db, tenant_id: &TenantId, project_id: &str, file: ProjectFile) -> AppResult<String> {
    let project = record(db, tenant_id, project_id).await?;
    let key = match file {
        ProjectFile::Video => project.video_key,
        ProjectFile::Thumbnail => project.thumbnail_key,
        ProjectFile::CaptionsVtt => project.captions_key,
        ProjectFile::CaptionsSrt => project.srt_key,
    };
    key.filter(|_| matches!(project.status.as_str(), "completed" | "partial")).ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_voices() {
        for ok in ["en", "de", "pt-br", "zh-Hans", "cmn"] {
            assert!(valid_language(&ok.to_ascii_lowercase()), "{ok}");
        }
        for bad in ["", "e", "english-language-please", "en_US", "../x", "e1"] {
            assert!(!valid_language(bad), "{bad}");
        }
        assert!(valid_voice("espeak:de"));
        assert!(valid_voice("openai:nova"));
        assert!(!valid_voice("espeak:../../etc"));
        assert!(!valid_voice("voice with spaces"));
    }

    #[test]
    fn validation_lists_every_bad_field() {
        let body = CreateProject {
            title: " ".into(),
            script: "...".into(),
            template_id: "nope".into(),
            voice: Some("a b".into()),
            language: Some("??".into()),
        };
        match validate(body) {
            Err(AppError::Validation(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["title", "script", "template_id", "language", "voice"]);
            }
            other => panic!("unexpected {other:?}", other = other.is_ok()),
        }
    }
}
