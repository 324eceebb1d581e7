//! Project rules: validation, admission, creation, views, retry, cancel,
//! delete. Every query takes the caller's `TenantId`; another tenant's project
//! and a missing one are the same `NotFound`. Errors are the domain's own
//! (`ProjectError`); the routes turn them into HTTP answers.

use bytes::Bytes;

use crate::billing::Plan;
use crate::db::{Db, now_ms, rfc3339};
use crate::domain::{ProjectId, TenantId};
use crate::error::FieldError;
use crate::pipeline::graph::StepKind;
use crate::pipeline::queue::{self, RetryOutcome};
use crate::pipeline::store as steps;
use crate::projects::store::{self, ProjectInsert, SummaryRow};
use crate::projects::types::{
    CreateProject, Created, EstimateProject, EstimateReserve, NewProject, Progress, ProjectEstimate, ProjectFile,
    ProjectPage, ProjectStatus, ProjectSummary, ProjectView, SceneStatus, SceneView,
};
use crate::projects::{script, templates, voices};
use crate::state::AppState;
use crate::storage::{StorageError, project_prefix};
use crate::usage::meter;
use crate::usage::quota::{self, Exceeded, Metric};

/// Why a project operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No such project of this tenant.
    #[error("no such project")]
    NotFound,
    /// The tenant is gone (erased while the request ran).
    #[error("the account no longer exists")]
    AccountGone,
    /// Fields that are wrong, all of them.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The template is premium and the plan is Free.
    #[error("{feature} needs a paid plan")]
    NeedsPaidPlan { feature: String, plan: Plan },
    /// The work would pass a monthly quota.
    #[error("this would pass the monthly {} quota", .0.metric.as_str())]
    QuotaExceeded(Exceeded),
    /// Too many projects are waiting for every tenant's workers.
    #[error("the render queue is full")]
    QueueFull { eta_seconds: u64 },
    /// The tenant has as many unfinished projects as its plan allows.
    #[error("{limit} unfinished projects is the limit of the plan")]
    TenantQueueFull { plan: Plan, limit: u64, eta_seconds: u64 },
    /// The media storage is full; nothing was saved.
    #[error("storage is full")]
    StorageFull,
    /// Retry found nothing that failed or fell back.
    #[error("nothing to retry")]
    NothingToRetry,
    /// Cancel came after the project finished.
    #[error("the project has already finished")]
    AlreadyFinished,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("media storage: {0}")]
    Storage(String),
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

/// Checks every field, the voice against the voices on offer, and reports
/// all problems at once (422).
pub async fn validate_offered(state: &AppState, body: CreateProject) -> Result<NewProject, ProjectError> {
    let offered: Vec<String> = voices::list(state, None).await.into_iter().map(|v| v.id).collect();
    validate(body, &offered)
}

/// Checks every field and reports all problems at once (422). A voice must be
/// one of `offered` (the ids `/api/v1/voices` lists): a voice is a name the
/// speech step looks up, never a path or an engine argument of the caller's.
pub fn validate(body: CreateProject, offered: &[String]) -> Result<NewProject, ProjectError> {
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
    if voice.as_deref().is_some_and(|v| !valid_voice(v) || !offered.iter().any(|o| o == v)) {
        errors.push(FieldError::new("voice", "must be a voice id from /api/v1/voices"));
    }
    match (errors.is_empty(), template) {
        (true, Some(template)) => Ok(NewProject { title, scenes, template, language, voice, script: body.script }),
        _ => Err(ProjectError::Invalid(errors)),
    }
}

/// Validates `body` as a create call and estimates it as admission does.
pub async fn estimate(state: &AppState, body: EstimateProject) -> Result<ProjectEstimate, ProjectError> {
    let new = validate_offered(
        state,
        CreateProject {
            // Any valid title: an absent one is not an error here.
            title: body.title.unwrap_or_else(|| "estimate".into()),
            script: body.script,
            template_id: body.template_id,
            voice: body.voice,
            language: body.language,
        },
    )
    .await?;
    let needed = quota::estimate(&new.scenes);
    let display = |metric: Metric| metric.display(needed.get(metric));
    Ok(ProjectEstimate {
        scenes: new.scenes.len(),
        words: new.scenes.iter().map(|scene| script::word_count(scene)).sum(),
        reserve: EstimateReserve {
            images_generated: display(Metric::ImagesGenerated),
            tts_seconds: display(Metric::TtsSeconds),
            render_minutes: display(Metric::RenderMinutes),
            storage_mb: display(Metric::StorageMb),
        },
    })
}

/// The plan of the caller's tenant (gone when the tenant was erased).
async fn tenant_plan(db: &Db, tenant_id: &TenantId) -> Result<Plan, ProjectError> {
    let plan = store::active_tenant_plan(db, tenant_id).await?;
    plan.and_then(|p| p.parse().ok()).ok_or(ProjectError::AccountGone)
}

/// Seconds until `extra_steps` more steps would be done, from how long recent
/// steps took and how many are ahead in the queue.
pub async fn eta_seconds(state: &AppState, extra_steps: i64) -> Result<u64, sqlx::Error> {
    let (ahead, recent) = steps::eta_inputs(&state.db).await?;
    Ok(seconds_for(state, ahead + extra_steps, &recent))
}

/// Seconds `count` steps take at the pace of `recent` (durations in
/// milliseconds) on the configured workers.
fn seconds_for(state: &AppState, count: i64, recent: &[i64]) -> u64 {
    let average = (!recent.is_empty()).then(|| recent.iter().sum::<i64>() as f64 / recent.len() as f64 / 1000.0);
    let per_step = average.unwrap_or(1.5).max(0.05);
    let workers = state.config.queue.worker_concurrency.max(1) as f64;
    (count as f64 * per_step / workers).ceil() as u64
}

/// The answer to a queue limit, with when to try again: for the tenant's
/// own limit, when its nearest-to-done project could finish; for the
/// service's, when the whole queue could have drained.
async fn queue_limited(state: &AppState, tenant_id: &TenantId, limit: queue::QueueLimit) -> ProjectError {
    let eta = match limit {
        queue::QueueLimit::Service => eta_seconds(state, 0).await,
        queue::QueueLimit::Tenant { .. } => tenant_eta_seconds(state, tenant_id).await,
    };
    // The refusal stands even when the estimate cannot be read.
    let eta_seconds = eta.unwrap_or(60).max(1);
    match limit {
        queue::QueueLimit::Service => ProjectError::QueueFull { eta_seconds },
        queue::QueueLimit::Tenant { plan, limit } => ProjectError::TenantQueueFull { plan, limit, eta_seconds },
    }
}

/// Seconds until the tenant's unfinished project with the fewest steps left
/// could be done, at the recent steps' pace.
async fn tenant_eta_seconds(state: &AppState, tenant_id: &TenantId) -> Result<u64, sqlx::Error> {
    let left = steps::fewest_steps_left(&state.db, tenant_id).await?.unwrap_or(0);
    let (_, recent) = steps::eta_inputs(&state.db).await?;
    Ok(seconds_for(state, left, &recent))
}

/// Admits and stores a new project and queues its steps.
pub async fn create(state: &AppState, tenant_id: &TenantId, new: NewProject) -> Result<Created, ProjectError> {
    let plan = tenant_plan(&state.db, tenant_id).await?;
    if new.template.premium && plan == Plan::Free {
        return Err(ProjectError::NeedsPaidPlan { feature: format!("The {} template", new.template.name), plan });
    }
    if store::count_unfinished(&state.db).await? >= state.config.queue.queue_max_pending as i64 {
        return Err(ProjectError::QueueFull { eta_seconds: eta_seconds(state, 0).await?.max(1) });
    }

    let project_id = ProjectId::generate();
    let (width, height) = new.template.render_size(plan);
    // The script is written first: when storage is full the request gets 507
    // and the database holds nothing of the project.
    let prefix = project_prefix(tenant_id, project_id.as_str());
    match state.storage.put_bytes(&format!("{prefix}script.txt"), Bytes::from(new.script.clone())).await {
        Ok(()) => {}
        Err(StorageError::Full) => return Err(ProjectError::StorageFull),
        Err(err) => return Err(ProjectError::Storage(err.to_string())),
    }
    let admitted = admit_and_insert(state, tenant_id, &project_id, &new, plan, (width, height)).await;
    if !matches!(admitted, Ok(Ok(()))) {
        let _ = state.storage.delete_prefix(&prefix).await;
    }
    if let Err(limit) = admitted? {
        return Err(queue_limited(state, tenant_id, limit).await);
    }
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    let eta_seconds = eta_seconds(state, 0).await?;
    Ok(Created { project_id, status: ProjectStatus::Queued, eta_seconds })
}

/// Check and reservation happen in one transaction that holds the tenant's
/// lock (the write lock on SQLite, the tenant row on PostgreSQL), so that
/// concurrent creates see each other's reservations and unfinished projects;
/// the project, its scenes and its steps are written in the same
/// transaction. `Ok(Err(..))` is a queue limit (nothing was written).
async fn admit_and_insert(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    new: &NewProject,
    plan: Plan,
    (width, height): (u32, u32),
) -> Result<Result<(), queue::QueueLimit>, ProjectError> {
    let now = now_ms();
    let needed = quota::estimate(&new.scenes);
    let mut tx = state.db.begin_write().await?;
    let plan = meter::admit(&mut tx, &state.config, tenant_id, project_id, needed, now, plan)
        .await?
        .map_err(ProjectError::QuotaExceeded)?;
    if let Err(limit) = queue::admit(&mut tx, &state.config, tenant_id, plan).await? {
        return Ok(Err(limit));
    }
    let insert = ProjectInsert {
        id: project_id,
        tenant_id,
        title: &new.title,
        template_id: &new.template.id,
        language: &new.language,
        voice: new.voice.as_deref(),
        plan: plan.as_str(),
        width,
        height,
        fps: new.template.fps,
        watermark: plan == Plan::Free,
        now,
    };
    store::insert(&mut tx, &insert, &new.scenes).await?;
    let first_turn = steps::next_turn(&mut tx, tenant_id).await?;
    steps::insert_steps(&mut tx, project_id, tenant_id, new.scenes.len(), first_turn, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The tenant's project record, or `NotFound`.
pub async fn record(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
) -> Result<crate::projects::types::ProjectRecord, ProjectError> {
    store::record(db, tenant_id, project_id).await?.ok_or(ProjectError::NotFound)
}

fn file_url(project_id: &ProjectId, file: &str) -> String {
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
    project_id: &ProjectId,
) -> Result<std::sync::Arc<ProjectView>, ProjectError> {
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
pub async fn get(db: &Db, tenant_id: &TenantId, project_id: &ProjectId) -> Result<ProjectView, ProjectError> {
    let project = record(db, tenant_id, project_id).await?;
    let steps = store::step_rows(db, project_id).await?;
    let texts = store::scene_texts(db, project_id).await?;
    let scenes = texts
        .into_iter()
        .map(|(index, text)| {
            let own: Vec<_> = steps.iter().filter(|s| s.scene_index == index && s.kind != StepKind::Final).collect();
            let statuses: Vec<_> = own.iter().map(|s| s.status).collect();
            let error = own
                .iter()
                .find(|s| s.status == crate::pipeline::graph::StepStatus::Failed)
                .and_then(|s| s.error.clone());
            SceneView { index, text, status: SceneStatus::of(&statuses), error }
        })
        .collect();
    let warnings = steps.iter().filter_map(|s| s.warning.clone()).collect();
    let ready = project.status.has_video() && project.video_key.is_some();
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
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    cursor: Option<&ProjectId>,
    limit: i64,
) -> Result<ProjectPage, ProjectError> {
    let rows = store::list(db, tenant_id, cursor, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<ProjectSummary> = rows
        .into_iter()
        .take(limit as usize)
        .map(|SummaryRow { id, title, status, template_id, thumbnail_key, duration_ms, created_at, done, total }| {
            ProjectSummary {
                thumbnail_url: (status.has_video() && thumbnail_key.is_some()).then(|| file_url(&id, "thumbnail")),
                progress: Progress::of(done, total),
                duration_seconds: duration_ms.map(|ms| ms as f64 / 1000.0),
                created_at: rfc3339(created_at),
                id,
                title,
                status,
                template_id,
            }
        })
        .collect();
    let next_cursor = if more { items.last().map(|p| p.id.clone()) } else { None };
    Ok(ProjectPage { items, next_cursor })
}

/// Queues failed, cancelled and fallback steps again.
pub async fn retry(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> Result<(), ProjectError> {
    record(&state.db, tenant_id, project_id).await?;
    match queue::retry_project(&state.db, &state.config, project_id).await? {
        RetryOutcome::Retried => {}
        RetryOutcome::NothingToRetry => return Err(ProjectError::NothingToRetry),
        RetryOutcome::Exceeded(exceeded) => return Err(ProjectError::QuotaExceeded(exceeded)),
        RetryOutcome::Limited(limit) => return Err(queue_limited(state, tenant_id, limit).await),
    }
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    Ok(())
}

/// Cancels an unfinished project.
pub async fn cancel(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> Result<(), ProjectError> {
    record(&state.db, tenant_id, project_id).await?;
    if !queue::cancel_project(&state.db, project_id).await? {
        return Err(ProjectError::AlreadyFinished);
    }
    state.usage_changed(tenant_id.as_str());
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    Ok(())
}

/// Deletes a project, its steps and all its media; returns the bytes freed.
pub async fn delete(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> Result<u64, ProjectError> {
    record(&state.db, tenant_id, project_id).await?;
    // Cancelling also releases the project's reservation.
    queue::cancel_project(&state.db, project_id).await?;
    let freed = state
        .storage
        .delete_prefix(&project_prefix(tenant_id, project_id.as_str()))
        .await
        .map_err(|err| ProjectError::Storage(format!("deleting media failed: {err}")))?;
    store::delete(&state.db, tenant_id, project_id).await?;
    state.usage_changed(tenant_id.as_str());
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    Ok(freed)
}

/// The storage key of a finished project's file, or `NotFound`.
pub async fn file_key(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    file: ProjectFile,
) -> Result<String, ProjectError> {
    let project = record(db, tenant_id, project_id).await?;
    let key = match file {
        ProjectFile::Video => project.video_key,
        ProjectFile::Thumbnail => project.thumbnail_key,
        ProjectFile::CaptionsVtt => project.captions_key,
        ProjectFile::CaptionsSrt => project.srt_key,
    };
    key.filter(|_| project.status.has_video()).ok_or(ProjectError::NotFound)
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
    fn a_voice_must_be_offered() {
        let offered = vec!["espeak:de".to_string(), "piper:en_US-lessac-medium".to_string()];
        let body = |voice: &str| CreateProject {
            title: "t".into(),
            script: "Hello there.".into(),
            template_id: "explainer".into(),
            voice: Some(voice.into()),
            language: None,
        };
        assert!(validate(body("espeak:de"), &offered).is_ok());
        assert!(validate(body("piper:en_US-lessac-medium"), &offered).is_ok());
        for bad in ["piper:/etc/passwd", "piper:../x", "piper:en_US", "espeak:fr", "openai:nova"] {
            assert!(matches!(validate(body(bad), &offered), Err(ProjectError::Invalid(_))), "{bad}");
        }
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
        match validate(body, &["espeak:de".to_string()]) {
            Err(ProjectError::Invalid(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["title", "script", "template_id", "language", "voice"]);
            }
            other => panic!("unexpected {other:?}", other = other.is_ok()),
        }
    }
}
