//! Project rules: validation, admission, creation, views, retry, cancel,
//! delete. Every query takes the caller's `TenantId`; another tenant's project
//! and a missing one are the same `NotFound`. Errors are the domain's own
//! (`ProjectError`); the routes turn them into HTTP answers.

use bytes::Bytes;
use reelforge_media::overlay::CaptionStyle;

use crate::billing::Plan;
use crate::db::{Db, Tx, now_ms, rfc3339};
use crate::domain::{ProjectId, TenantId};
use crate::error::FieldError;
use crate::library::types::MediaKind;
use crate::pipeline::graph::{Scope, StepKind, StepRef, StepStatus};
use crate::pipeline::queue::{self, Admission, Scheduled};
use crate::pipeline::recipe;
use crate::pipeline::steps::StepOutput;
use crate::pipeline::store as steps;
use crate::projects::music::{self, Music, MusicInput};
use crate::projects::scene::{self, Scene, SceneInput, ScenePatch, SceneRules, Visual};
use crate::projects::store::{self, ProjectInsert, SummaryRow};
use crate::projects::types::{
    CreateProject, Created, CreatedBy, Creator, EstimateProject, EstimateReserve, NewProject, Progress, ProjectCredit,
    ProjectEstimate, ProjectFile, ProjectPage, ProjectPatch, ProjectRecord, ProjectStatus, ProjectSummary, ProjectView,
    SceneDetail, SceneStatus, SceneView, StepRow, WordView,
};
use crate::projects::{script, templates, voices};
use crate::state::AppState;
use crate::storage::{StorageError, project_prefix};
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
    /// Scenes cannot change, and a render cannot start, while one runs.
    #[error("a render of this project is running")]
    RenderRunning,
    /// Render found nothing changed since the last one.
    #[error("the video is up to date")]
    UpToDate,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("media storage: {0}")]
    Storage(String),
}

/// Whether `language` looks like a language code (`en`, `de`, `pt-br`, `zh-hans`): what
/// projects (and scripts) accept.
pub fn valid_language(language: &str) -> bool {
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

/// What validation checks against: the voices on offer and the tenant's
/// library files that the body names.
pub struct Offered {
    pub voices: Vec<String>,
    /// Pictures and clips of the tenant's library that scenes name.
    pub media: Vec<String>,
    /// Audio files of the tenant's library that the music names.
    pub audio: Vec<String>,
    /// The tenant template the body names (its id starts with `tpl_`), resolved over its base.
    pub template: Option<(crate::projects::templates::Template, crate::templates::Settings)>,
}

impl Offered {
    /// Reads what `scenes` and `music` need checked for the tenant.
    pub async fn load(
        state: &AppState,
        tenant_id: &TenantId,
        scenes: &[&SceneInput],
        music: Option<&MusicInput>,
    ) -> Result<Offered, ProjectError> {
        let voices = voices::list(state, None).await.into_iter().map(|v| v.id).collect();
        let named = scene::media_named(scenes.iter().copied());
        let media = if named.is_empty() { Vec::new() } else { known_media(&state.db, tenant_id, &named).await? };
        let audio = match music.and_then(MusicInput::media_id) {
            Some(id) => known_audio(&state.db, tenant_id, id).await?,
            None => Vec::new(),
        };
        Ok(Offered { voices, media, audio, template: None })
    }

    /// Looks `template_id` up among the tenant's brand templates (a `tpl_` id),
    /// so `validate` accepts it: every path that takes a `template_id` (projects,
    /// batches, the command line) loads it here, or goes through `validate_offered`.
    pub async fn load_template(
        &mut self,
        state: &AppState,
        tenant_id: &TenantId,
        template_id: &str,
    ) -> Result<(), ProjectError> {
        let template_id = template_id.trim();
        self.template = None;
        if crate::templates::is_tenant_id(template_id)
            && let Some(row) = crate::templates::store::find(&state.db, tenant_id, template_id).await?
            && let Some(template) = crate::templates::template_of(&row)
        {
            self.template = Some((template, crate::templates::Settings::from_json(&row.settings)));
        }
        Ok(())
    }

    fn rules(&self) -> SceneRules<'_> {
        SceneRules { offered_voices: &self.voices, known_media: &self.media }
    }
}

/// Which of `ids` name pictures or clips in the tenant's media library (what a scene can show).
async fn known_media(db: &Db, tenant_id: &TenantId, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let mut known = Vec::new();
    for id in ids {
        let item = crate::library::store::find(db, tenant_id, id).await?;
        if item.is_some_and(|item| matches!(item.kind, MediaKind::Image | MediaKind::Video)) {
            known.push(id.clone());
        }
    }
    Ok(known)
}

/// `[id]` when it names an audio file of the tenant's media library (what music can play).
async fn known_audio(db: &Db, tenant_id: &TenantId, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let item = crate::library::store::find(db, tenant_id, id).await?;
    Ok(item.filter(|item| item.kind == MediaKind::Audio).map(|item| item.id).into_iter().collect())
}

/// Checks every field, the voices against the voices on offer and the
/// uploads against the tenant's library, and reports all problems at once (422).
pub async fn validate_offered(
    state: &AppState,
    tenant_id: &TenantId,
    body: CreateProject,
) -> Result<NewProject, ProjectError> {
    let named: Vec<&SceneInput> = body.scenes.iter().flatten().collect();
    let mut offered = Offered::load(state, tenant_id, &named, body.music.as_ref()).await?;
    offered.load_template(state, tenant_id, &body.template_id).await?;
    validate(body, &offered)
}

/// Checks every field and reports all problems at once (422). A voice must be
/// one of those on offer (the ids `/api/v1/voices` lists): a voice is a name
/// the speech step looks up, never a path or an engine argument of the
/// caller's. A project comes from a `script` or from `scenes`, not both.
pub fn validate(body: CreateProject, offered: &Offered) -> Result<NewProject, ProjectError> {
    let mut errors = Vec::new();
    let title = body.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.push(FieldError::new("title", "must be 1 to 200 characters"));
    }
    let scenes = match (body.script, body.scenes) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("scenes", "give either script or scenes, not both"));
            Vec::new()
        }
        (None, None) => {
            errors.push(FieldError::new("script", "must not be empty (or give scenes)"));
            Vec::new()
        }
        (Some(text), None) => match script::split(&text) {
            Ok(texts) => texts.into_iter().map(Scene::from_text).collect(),
            Err(err) => {
                errors.push(FieldError::new("script", err.message()));
                Vec::new()
            }
        },
        (None, Some(inputs)) => {
            scene::check_count(inputs.len(), "scenes", &mut errors);
            let rules = offered.rules();
            let checked: Vec<Scene> = inputs
                .into_iter()
                .take(script::MAX_SCENES)
                .enumerate()
                .map(|(i, input)| scene::check(input, &rules, &format!("scenes[{i}]"), &mut errors))
                .collect();
            scene::check_total_length(&checked, "scenes", &mut errors);
            checked
        }
    };
    let template_id = body.template_id.trim();
    let (template, tenant_template) = match &offered.template {
        Some((template, settings)) if template.id == template_id => (Some(template.clone()), Some(settings.clone())),
        _ => (templates::find(template_id).cloned(), None),
    };
    if template.is_none() {
        let known: Vec<&str> = templates::all().iter().map(|t| t.id.as_str()).collect();
        errors.push(FieldError::new(
            "template_id",
            format!("unknown template; choose one of {} or one of your own (GET /api/v1/templates)", known.join(", ")),
        ));
    }
    let language =
        body.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).unwrap_or("en").to_ascii_lowercase();
    if !valid_language(&language) {
        errors.push(FieldError::new("language", "must be a language code such as en, de or pt-br"));
    }
    let voice = body.voice.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    if voice.as_deref().is_some_and(|v| !valid_voice(v) || !offered.voices.iter().any(|o| o == v)) {
        errors.push(FieldError::new("voice", "must be a voice id from /api/v1/voices"));
    }
    let caption_style = body.caption_style.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let caption_style = match caption_style.map(|s| (s, CaptionStyle::parse(s))) {
        None => None,
        Some((_, Some(style))) => Some(style),
        Some((_, None)) => {
            errors.push(FieldError::new("caption_style", "must be line, karaoke or pop"));
            None
        }
    };
    let music = body.music.and_then(|input| music::check(input, &offered.audio, "music", &mut errors));
    // A tenant template's music plays unless the project gives its own.
    let music = music.or_else(|| tenant_template.as_ref().and_then(|settings| settings.music.clone()));
    let scope = if body.render == Some(false) { Scope::Storyboard } else { Scope::Video };
    match (errors.is_empty(), template) {
        (true, Some(template)) => {
            let script = scenes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n\n");
            Ok(NewProject {
                title,
                scenes,
                template,
                tenant_template,
                language,
                voice,
                caption_style,
                music,
                script,
                scope,
            })
        }
        _ => Err(ProjectError::Invalid(errors)),
    }
}

/// Validates `body` as a create call and estimates it as admission does.
pub async fn estimate(
    state: &AppState,
    tenant_id: &TenantId,
    body: EstimateProject,
) -> Result<ProjectEstimate, ProjectError> {
    let new = validate_offered(
        state,
        tenant_id,
        CreateProject {
            // Any valid title: an absent one is not an error here.
            title: body.title.unwrap_or_else(|| "estimate".into()),
            script: body.script,
            scenes: body.scenes,
            template_id: body.template_id,
            voice: body.voice,
            language: body.language,
            caption_style: body.caption_style,
            render: body.render,
            music: body.music,
        },
    )
    .await?;
    let needed = new_project_needs(&new);
    let display = |metric: Metric| metric.display(needed.get(metric));
    Ok(ProjectEstimate {
        scenes: new.scenes.len(),
        words: new.scenes.iter().map(|scene| script::word_count(&scene.text)).sum(),
        reserve: EstimateReserve {
            images_generated: display(Metric::ImagesGenerated),
            tts_seconds: display(Metric::TtsSeconds),
            render_minutes: display(Metric::RenderMinutes),
            storage_mb: display(Metric::StorageMb),
        },
    })
}

/// What admission reserves for a new project: the same sum `queue::schedule`
/// makes for its steps (pictures other than uploads, every narration, the
/// video unless it is a storyboard).
fn new_project_needs(new: &NewProject) -> quota::Amounts {
    let texts: Vec<&str> = new.scenes.iter().map(|s| s.text.as_str()).collect();
    let images = new.scenes.iter().filter(|s| s.visual.media_id().is_none()).count();
    quota::estimate_work(images, &texts, (new.scope == Scope::Video).then_some(texts.as_slice()))
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
pub async fn create(
    state: &AppState,
    tenant_id: &TenantId,
    creator: &Creator,
    new: NewProject,
) -> Result<Created, ProjectError> {
    let (ids, eta_seconds) = create_many(state, tenant_id, creator, std::slice::from_ref(&new), None).await?;
    let project_id = ids.into_iter().next().ok_or(ProjectError::NotFound)?;
    Ok(Created { project_id, status: ProjectStatus::Queued, eta_seconds })
}

/// Admits, stores and queues `news` as one: a single project, or the rows of
/// a batch (`batch`, written in the same transaction). One admission covers
/// them all: the quotas are checked against the sum of their estimates, the
/// queue limits once (`queue::admit_many`); then each project reserves its
/// own estimate, so finishing, failing or cancelling one releases its part.
/// Either every project is created or none is. Returns the projects' ids in
/// the order of `news`, and the seconds until the queue could be done.
pub async fn create_many(
    state: &AppState,
    tenant_id: &TenantId,
    creator: &Creator,
    news: &[NewProject],
    batch: Option<&crate::batches::store::BatchInsert<'_>>,
) -> Result<(Vec<ProjectId>, u64), ProjectError> {
    let plan = tenant_plan(&state.db, tenant_id).await?;
    if let Some(new) = news.iter().find(|new| new.template.premium)
        && plan == Plan::Free
    {
        return Err(ProjectError::NeedsPaidPlan { feature: format!("The {} template", new.template.name), plan });
    }
    let adding = i64::try_from(news.len()).unwrap_or(i64::MAX);
    if store::count_unfinished(&state.db).await?.saturating_add(adding) > state.config.queue.queue_max_pending as i64 {
        return Err(ProjectError::QueueFull { eta_seconds: eta_seconds(state, 0).await?.max(1) });
    }

    let ids: Vec<ProjectId> = news.iter().map(|_| ProjectId::generate()).collect();
    // The scripts are written first: when storage is full the request gets
    // 507 and the database holds nothing of the projects.
    let admitted = async {
        store_scripts(state, tenant_id, &ids, news).await?;
        let snapshots = snapshots(state, tenant_id, &ids, news).await?;
        admit_and_insert(state, tenant_id, creator, &ids, news, &snapshots, plan, batch).await
    }
    .await;
    if !matches!(admitted, Ok(Ok(()))) {
        for id in &ids {
            let _ = state.storage.delete_prefix(&project_prefix(tenant_id, id.as_str())).await;
        }
    }
    if let Err(limit) = admitted? {
        return Err(queue_limited(state, tenant_id, limit).await);
    }
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    let eta_seconds = eta_seconds(state, 0).await?;
    Ok((ids, eta_seconds))
}

/// Resolves each new project's tenant template (None for a built-in) and
/// copies its files under the project: later edits of the template (or its
/// deletion) never reach these projects.
async fn snapshots(
    state: &AppState,
    tenant_id: &TenantId,
    ids: &[ProjectId],
    news: &[NewProject],
) -> Result<Vec<Option<String>>, ProjectError> {
    let mut snapshots = Vec::with_capacity(news.len());
    for (id, new) in ids.iter().zip(news) {
        let Some(settings) = &new.tenant_template else {
            snapshots.push(None);
            continue;
        };
        let prefix = project_prefix(tenant_id, id.as_str());
        let template = crate::templates::snapshot(state, tenant_id, &new.template, settings, &prefix)
            .await
            .map_err(snapshot_error)?;
        snapshots.push(Some(serde_json::to_string(&template).map_err(|e| ProjectError::Storage(e.to_string()))?));
    }
    Ok(snapshots)
}

/// Writes each new project's `script.txt`, a few at a time (a batch has up
/// to 500, and object stores answer one write at a time slowly).
async fn store_scripts(
    state: &AppState,
    tenant_id: &TenantId,
    ids: &[ProjectId],
    news: &[NewProject],
) -> Result<(), ProjectError> {
    const AT_ONCE: usize = 8;
    let mut writes = tokio::task::JoinSet::new();
    let mut pending = ids.iter().zip(news).map(|(id, new)| {
        (format!("{}script.txt", project_prefix(tenant_id, id.as_str())), Bytes::from(new.script.clone()))
    });
    loop {
        while writes.len() < AT_ONCE {
            let Some((key, bytes)) = pending.next() else { break };
            let storage = state.storage.clone();
            writes.spawn(async move { storage.put_bytes(&key, bytes).await });
        }
        let Some(written) = writes.join_next().await else { return Ok(()) };
        match written {
            Ok(Ok(())) => {}
            Ok(Err(StorageError::Full)) => return Err(ProjectError::StorageFull),
            Ok(Err(err)) => return Err(ProjectError::Storage(err.to_string())),
            Err(err) => return Err(ProjectError::Storage(format!("writing a script stopped: {err}"))),
        }
    }
}

/// A tenant template whose files could not be copied for a new project.
fn snapshot_error(err: crate::templates::AssetError) -> ProjectError {
    use crate::templates::AssetError;
    match err {
        AssetError::Unusable(_, reason) => ProjectError::Invalid(vec![FieldError::new(
            "template_id",
            format!("the template cannot be used: {reason}; edit the template"),
        )]),
        AssetError::StorageFull => ProjectError::StorageFull,
        AssetError::Database(err) => ProjectError::Database(err),
        AssetError::Other(detail) => ProjectError::Storage(detail),
    }
}

/// Check and reservation happen in one transaction that holds the tenant's
/// lock (the write lock on SQLite, the tenant row on PostgreSQL), so that
/// concurrent creates see each other's reservations and unfinished projects;
/// the batch, the projects, their scenes and their steps are written in the
/// same transaction. Each project is written as an empty draft and then
/// scheduled like any render (`queue::schedule_with`), its work already
/// admitted with the others'. `Ok(Err(..))` is a queue limit (nothing was
/// written).
#[allow(clippy::too_many_arguments)]
async fn admit_and_insert(
    state: &AppState,
    tenant_id: &TenantId,
    creator: &Creator,
    ids: &[ProjectId],
    news: &[NewProject],
    snapshots: &[Option<String>],
    plan: Plan,
    batch: Option<&crate::batches::store::BatchInsert<'_>>,
) -> Result<Result<(), queue::QueueLimit>, ProjectError> {
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    // The tenant's lock first: the project row's foreign key would otherwise
    // share-lock the tenant row, and two creates waiting to upgrade their
    // share locks (in admission) would deadlock on PostgreSQL.
    let needed = news.iter().fold(quota::Amounts::default(), |sum, new| sum.plus(&new_project_needs(new)));
    let plan = match crate::usage::meter::check(&mut tx, &state.config, tenant_id, &needed, now, plan).await? {
        Ok(plan) => plan,
        Err(exceeded) => return Err(ProjectError::QuotaExceeded(exceeded)),
    };
    if let Err(limit) = queue::admit_many(&mut tx, &state.config, tenant_id, plan, news.len()).await? {
        return Ok(Err(limit));
    }
    if let Some(batch) = batch {
        crate::batches::store::insert(&mut tx, batch, now).await?;
    }
    let mut first_turn = steps::next_turn(&mut tx, tenant_id).await?;
    for (row, ((project_id, new), snapshot)) in ids.iter().zip(news).zip(snapshots).enumerate() {
        let (width, height) = new.template.render_size(plan);
        let insert = ProjectInsert {
            id: project_id,
            tenant_id,
            title: &new.title,
            template_id: &new.template.id,
            language: &new.language,
            voice: new.voice.as_deref(),
            caption_style: new.caption_style.map(CaptionStyle::as_str),
            music: new.music.as_ref(),
            plan: plan.as_str(),
            width,
            height,
            fps: new.template.fps,
            watermark: plan == Plan::Free,
            batch: batch.map(|batch| (batch.id, row as i64)),
            template: snapshot.as_deref(),
            creator,
            now,
        };
        store::insert(&mut tx, &insert, &new.scenes).await?;
        let record = store::record_in(&mut tx, project_id).await?.ok_or(ProjectError::NotFound)?;
        let admission = Admission::Admitted { first_turn };
        first_turn = first_turn.saturating_add(queue::turns_of(new.scenes.len()));
        match queue::schedule_with(&mut tx, &state.config, &record, new.scope, false, admission, now).await? {
            Scheduled::Queued => {}
            Scheduled::Exceeded(exceeded) => return Err(ProjectError::QuotaExceeded(exceeded)),
            Scheduled::Limited(limit) => return Ok(Err(limit)),
            Scheduled::UpToDate | Scheduled::Rearranged => {
                return Err(ProjectError::Storage("a new project had nothing to make".into()));
            }
        }
    }
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
    let (project, steps, scenes) = with_steps_and_scenes(db, tenant_id, project_id).await?;
    let made = Made::new(&project, &scenes, &steps);
    let credits = made.credits(scenes.len());
    let scenes = scenes
        .into_iter()
        .enumerate()
        .map(|(index, scene)| {
            let (status, error) = made.scene_status(index as i64);
            SceneView { index: index as i64, text: scene.text, status, error }
        })
        .collect();
    let warnings = steps.iter().filter_map(|s| s.warning.clone()).collect();
    let video = project.video_key.is_some();
    let created_by =
        store::creator(db, project_id).await?.and_then(|(user_id, email, key_id, key_name)| match (user_id, key_id) {
            (Some(user_id), _) => {
                Some(CreatedBy { kind: "member", user_id: Some(user_id), email, api_key_id: None, api_key_name: None })
            }
            (None, Some(key_id)) => Some(CreatedBy {
                kind: "api_key",
                user_id: None,
                email: None,
                api_key_id: Some(key_id),
                api_key_name: key_name,
            }),
            (None, None) => None,
        });
    Ok(ProjectView {
        created_by,
        progress: Progress::of_steps(&steps),
        scenes,
        warnings,
        stale: made.stale(),
        credits,
        video_url: video.then(|| file_url(&project.id, "video")),
        thumbnail_url: (video && project.thumbnail_key.is_some()).then(|| file_url(&project.id, "thumbnail")),
        captions_url: (video && project.captions_key.is_some()).then(|| file_url(&project.id, "captions.vtt")),
        duration_seconds: project.duration_ms.map(|ms| ms as f64 / 1000.0),
        created_at: rfc3339(project.created_at),
        updated_at: rfc3339(project.updated_at),
        id: project.id,
        title: project.title,
        status: project.status,
        caption_style: crate::projects::types::caption_style(
            &project.template_id,
            project.template.as_deref(),
            project.caption_style.as_deref(),
        )
        .as_str()
        .to_string(),
        template_id: project.template_id,
        language: project.language,
        music: Music::from_json(project.music.as_deref()),
        width: project.width,
        height: project.height,
        error: project.error,
    })
}

/// The tenant's project with its steps and its scenes: what `Made` compares.
async fn with_steps_and_scenes(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
) -> Result<(ProjectRecord, Vec<StepRow>, Vec<Scene>), ProjectError> {
    let project = record(db, tenant_id, project_id).await?;
    let steps = store::step_rows(db, project_id).await?;
    let scenes = store::scenes(db, project_id).await?;
    Ok((project, steps, scenes))
}

/// A project's steps against its scenes as they are now: which are made,
/// which are stale, and where each scene's current picture and narration are.
struct Made<'a> {
    steps: &'a [StepRow],
    /// The recipe of every step the project's scope has, for the scenes as they are.
    wanted: std::collections::BTreeMap<StepRef, String>,
}

impl<'a> Made<'a> {
    fn new(project: &ProjectRecord, scenes: &[Scene], steps: &'a [StepRow]) -> Made<'a> {
        let scope = if steps.iter().any(|s| s.kind == StepKind::Final) { Scope::Video } else { Scope::Storyboard };
        Made { steps, wanted: recipe::recipes(&project.inputs(), scenes, scope) }
    }

    /// The step row in `step`'s place, if it makes what is wanted there now.
    fn current(&self, step: StepRef) -> Option<&'a StepRow> {
        let wanted = self.wanted.get(&step)?;
        self.steps
            .iter()
            .find(|s| s.kind == step.kind && s.scene_index == step.scene)
            .filter(|s| s.recipe.as_deref() == Some(wanted.as_str()))
    }

    /// A done step anywhere in the project that made what `step` wants now.
    fn made(&self, step: StepRef) -> Option<&'a StepRow> {
        let wanted = self.wanted.get(&step)?;
        self.steps.iter().find(|s| {
            s.kind == step.kind && s.status == StepStatus::Done && s.recipe.as_deref() == Some(wanted.as_str())
        })
    }

    fn scene_status(&self, index: i64) -> (SceneStatus, Option<String>) {
        let own: Vec<StepRef> = self.wanted.keys().filter(|s| s.scene == index).copied().collect();
        let rows: Option<Vec<&StepRow>> = own.iter().map(|s| self.current(*s)).collect();
        let Some(rows) = rows else { return (SceneStatus::Stale, None) };
        let statuses: Vec<StepStatus> = rows.iter().map(|s| s.status).collect();
        let error = rows.iter().find(|s| s.status == StepStatus::Failed).and_then(|s| s.error.clone());
        (SceneStatus::of(&statuses), error)
    }

    /// The credit of the stock photo or clip the scene shows now, if it shows one.
    fn credit(&self, index: i64) -> Option<crate::stock::Credit> {
        let row = self.made(StepRef::new(StepKind::Image, index))?;
        match StepOutput::parse(StepKind::Image, row.output.as_deref()?)? {
            StepOutput::Image(image) => image.credit,
            _ => None,
        }
    }

    /// The credits of every scene that shows stock, in scene order.
    fn credits(&self, scene_count: usize) -> Vec<ProjectCredit> {
        (0..scene_count as i64)
            .filter_map(|scene| self.credit(scene).map(|credit| ProjectCredit::new(scene, credit)))
            .collect()
    }

    /// Some scene was edited, added, removed or moved since its steps ran.
    fn stale(&self) -> bool {
        self.wanted.len() != self.steps.len() || self.wanted.keys().any(|step| self.current(*step).is_none())
    }
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
                thumbnail_url: thumbnail_key.is_some().then(|| file_url(&id, "thumbnail")),
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

/// Queues failed, cancelled and fallback steps again, with what reads them
/// (and whatever edits are pending: a retry renders the scenes as they are).
pub async fn retry(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> Result<(), ProjectError> {
    match reschedule(state, tenant_id, project_id, None).await {
        Err(ProjectError::UpToDate) => Err(ProjectError::NothingToRetry),
        other => other,
    }
}

/// Renders the project's scenes as they are now: only steps whose recipe
/// changed (or that failed) run; the previous video stays until the new one
/// is done.
pub async fn render(state: &AppState, tenant_id: &TenantId, project_id: &ProjectId) -> Result<(), ProjectError> {
    reschedule(state, tenant_id, project_id, Some(Scope::Video)).await
}

/// `retry` (scope `None`: the project's own, fallbacks made again) and
/// `render` (scope `Video`).
async fn reschedule(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    scope: Option<Scope>,
) -> Result<(), ProjectError> {
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let project = locked_record(&mut tx, tenant_id, project_id).await?;
    if !project.status.is_finished() {
        return Err(ProjectError::RenderRunning);
    }
    let retry = scope.is_none();
    if retry && !project.status.can_retry() {
        return Err(ProjectError::NothingToRetry);
    }
    let scope = match scope {
        Some(scope) => scope,
        None if steps::has_final(&mut tx, project_id).await? => Scope::Video,
        None => Scope::Storyboard,
    };
    match queue::schedule(&mut tx, &state.config, &project, scope, retry, now).await? {
        Scheduled::Queued | Scheduled::Rearranged => {}
        Scheduled::UpToDate => return Err(ProjectError::UpToDate),
        Scheduled::Exceeded(exceeded) => return Err(ProjectError::QuotaExceeded(exceeded)),
        Scheduled::Limited(limit) => {
            drop(tx);
            return Err(queue_limited(state, tenant_id, limit).await);
        }
    }
    tx.commit().await?;
    state.usage_changed(tenant_id.as_str());
    state.work_available.notify_waiters();
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    Ok(())
}

/// The tenant's project, locked for the rest of `tx`.
async fn locked_record(
    tx: &mut Tx,
    tenant_id: &TenantId,
    project_id: &ProjectId,
) -> Result<ProjectRecord, ProjectError> {
    tx.lock_project(project_id.as_str()).await?;
    store::record_in(tx, project_id)
        .await?
        .filter(|project| &project.tenant_id == tenant_id)
        .ok_or(ProjectError::NotFound)
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

/// The storage key of a project's file (of its latest finished video), or `NotFound`.
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
    key.ok_or(ProjectError::NotFound)
}

/// A project's scenes with their pictures, narration and status.
pub async fn scenes(db: &Db, tenant_id: &TenantId, project_id: &ProjectId) -> Result<Vec<SceneDetail>, ProjectError> {
    let (project, steps, scenes) = with_steps_and_scenes(db, tenant_id, project_id).await?;
    let made = Made::new(&project, &scenes, &steps);
    Ok(scenes
        .into_iter()
        .enumerate()
        .map(|(index, scene)| scene_detail(&project, &made, index as i64, scene))
        .collect())
}

fn scene_detail(project: &ProjectRecord, made: &Made<'_>, index: i64, scene: Scene) -> SceneDetail {
    let project_id = &project.id;
    let suggested_query = match &scene.visual {
        Visual::Stock { query: Some(query), .. } => query.clone(),
        _ => crate::stock::query_for(&scene.text, scene.title.as_deref(), &project.language),
    };
    let (status, error) = made.scene_status(index);
    let image = made.made(StepRef::new(StepKind::Image, index));
    let speech = made.made(StepRef::new(StepKind::Speech, index));
    let duration = speech
        .and_then(|row| row.output.as_deref())
        .and_then(|json| StepOutput::parse(StepKind::Speech, json))
        .and_then(|output| match output {
            StepOutput::Speech(speech) => Some((speech.duration * 100.0).round() / 100.0),
            _ => None,
        });
    let url = |file: &str| file_url(project_id, &format!("scenes/{index}/{file}"));
    SceneDetail {
        index,
        text: scene.text,
        title: scene.title,
        visual: scene.visual,
        voice: scene.voice,
        status,
        error,
        image_url: image.map(|_| url("image")),
        audio_url: speech.map(|_| url("audio")),
        duration_seconds: duration,
        credit: made.credit(index),
        suggested_query,
    }
}

/// Every narrated word of a project with its time on the finished video: a
/// scene starts where the previous scenes' segments end (each scene's
/// narration is padded to its segment, as the audio step lays it out), or,
/// before segments are made, where the previous narrations end. Words stop
/// at the first scene not narrated yet (later times are not known).
pub async fn words(db: &Db, tenant_id: &TenantId, project_id: &ProjectId) -> Result<Vec<WordView>, ProjectError> {
    let (project, steps, scenes) = with_steps_and_scenes(db, tenant_id, project_id).await?;
    let made = Made::new(&project, &scenes, &steps);
    let output = |kind: StepKind, index: i64| {
        made.made(StepRef::new(kind, index))
            .and_then(|row| row.output.as_deref())
            .and_then(|json| StepOutput::parse(kind, json))
    };
    let fps = project.fps.max(1) as f64;
    let ms = |seconds: f64| (seconds * 1000.0).round() / 1000.0;
    let mut offset = 0.0;
    let mut words = Vec::new();
    for index in 0..scenes.len() as i64 {
        let Some(StepOutput::Speech(speech)) = output(StepKind::Speech, index) else { break };
        words.extend(speech.words.iter().map(|word| WordView {
            scene: index,
            word: word.text.clone(),
            start: ms(offset + word.start),
            end: ms(offset + word.end),
            timing: match word.timing {
                reelforge_media::words::Timing::Measured => "measured".into(),
                reelforge_media::words::Timing::Estimated => "estimated".into(),
            },
        }));
        offset += match output(StepKind::Segment, index) {
            Some(StepOutput::Segment(segment)) => f64::from(segment.frames) / fps,
            _ => speech.duration,
        };
    }
    Ok(words)
}

/// The attribution file of a project's stock photos and clips
/// (`credits.txt`): one entry per scene that shows stock.
pub async fn credits_text(db: &Db, tenant_id: &TenantId, project_id: &ProjectId) -> Result<String, ProjectError> {
    let (project, steps, scenes) = with_steps_and_scenes(db, tenant_id, project_id).await?;
    let credits = Made::new(&project, &scenes, &steps).credits(scenes.len());
    let mut text = format!("{}\n\n", project.title);
    if credits.is_empty() {
        text.push_str("No stock photos or clips are used in this video.\n");
    }
    for credit in &credits {
        text.push_str(&format!("Scene {}: {}\n{}\n", credit.scene + 1, credit.text, credit.page_url));
        if let Some(author_url) = &credit.author_url {
            text.push_str(&format!("{author_url}\n"));
        }
        text.push('\n');
    }
    Ok(text)
}

/// One scene of a project.
pub async fn scene(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    index: usize,
) -> Result<SceneDetail, ProjectError> {
    scenes(db, tenant_id, project_id).await?.into_iter().nth(index).ok_or(ProjectError::NotFound)
}

/// The storage key of a scene's current picture or narration.
pub async fn scene_file_key(
    db: &Db,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    index: usize,
    kind: StepKind,
) -> Result<String, ProjectError> {
    let (project, steps, scenes) = with_steps_and_scenes(db, tenant_id, project_id).await?;
    if index >= scenes.len() {
        return Err(ProjectError::NotFound);
    }
    let made = Made::new(&project, &scenes, &steps);
    let output = made
        .made(StepRef::new(kind, index as i64))
        .and_then(|row| row.output.as_deref())
        .and_then(|json| StepOutput::parse(kind, json));
    match output {
        Some(StepOutput::Image(image)) => Ok(image.key),
        Some(StepOutput::Speech(speech)) => Ok(speech.key),
        _ => Err(ProjectError::NotFound),
    }
}

/// An edit of a project's scene list.
pub enum SceneEdit {
    Patch { index: usize, patch: ScenePatch },
    Insert { at: usize, scene: SceneInput },
    Delete { index: usize },
    Reorder { order: Vec<usize> },
}

/// Applies an edit to the scene list, checked like creation; the steps it
/// invalidates become stale (the next render makes them). Refused while a
/// render runs. Returns the scenes after the edit.
pub async fn edit_scenes(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    edit: SceneEdit,
) -> Result<Vec<SceneDetail>, ProjectError> {
    let named: Vec<&SceneInput> = match &edit {
        SceneEdit::Insert { scene, .. } => vec![scene],
        _ => Vec::new(),
    };
    let mut offered = Offered::load(state, tenant_id, &named, None).await?;
    if let SceneEdit::Patch { patch, .. } = &edit
        && let Some(media_id) = patch.visual.as_ref().and_then(Visual::media_id)
    {
        offered.media = known_media(&state.db, tenant_id, &[media_id.to_string()]).await?;
    }
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let project = locked_record(&mut tx, tenant_id, project_id).await?;
    if !project.status.is_finished() {
        return Err(ProjectError::RenderRunning);
    }
    let mut scenes = store::scenes_in(&mut tx, project_id).await?;
    let mut errors = Vec::new();
    match edit {
        SceneEdit::Patch { index, patch } => {
            let current = scenes.get(index).ok_or(ProjectError::NotFound)?;
            let kept_media = current.visual.media_id().map(String::from);
            // The file a scene already shows stays valid for it.
            offered.media.extend(kept_media);
            let edited = scene::check(patch.apply(current), &offered.rules(), "", &mut errors);
            scenes[index] = edited;
        }
        SceneEdit::Insert { at, scene: input } => {
            if at > scenes.len() {
                errors.push(FieldError::new("at", format!("must be 0 to {}", scenes.len())));
            }
            let added = scene::check(input, &offered.rules(), "", &mut errors);
            scene::check_count(scenes.len() + 1, "at", &mut errors);
            if errors.is_empty() {
                scenes.insert(at, added);
            }
        }
        SceneEdit::Delete { index } => {
            if index >= scenes.len() {
                return Err(ProjectError::NotFound);
            }
            scene::check_count(scenes.len() - 1, "index", &mut errors);
            if errors.is_empty() {
                scenes.remove(index);
            }
        }
        SceneEdit::Reorder { order } => {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            if sorted != (0..scenes.len()).collect::<Vec<_>>() {
                errors.push(FieldError::new(
                    "order",
                    format!("must list every scene index from 0 to {} once", scenes.len().saturating_sub(1)),
                ));
            } else {
                scenes = order.iter().map(|&i| scenes[i].clone()).collect();
            }
        }
    }
    scene::check_total_length(&scenes, "text", &mut errors);
    if !errors.is_empty() {
        return Err(ProjectError::Invalid(errors));
    }
    store::replace_scenes(&mut tx, project_id, &scenes).await?;
    store::touch(&mut tx, project_id, now).await?;
    tx.commit().await?;
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    self::scenes(&state.db, tenant_id, project_id).await
}

/// Changes a project's settings (`PATCH /api/v1/projects/{id}`): its music.
/// Checked like creation; refused while a render runs. Only the audio step
/// reads the music, so the next render makes only the sound and the join again.
pub async fn patch(
    state: &AppState,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    patch: ProjectPatch,
) -> Result<ProjectView, ProjectError> {
    let Some(music_input) = patch.music else {
        return get(&state.db, tenant_id, project_id).await;
    };
    let audio = match music_input.as_ref().and_then(MusicInput::media_id) {
        Some(id) => known_audio(&state.db, tenant_id, id).await?,
        None => Vec::new(),
    };
    let mut errors = Vec::new();
    let music = music_input.and_then(|input| music::check(input, &audio, "music", &mut errors));
    if !errors.is_empty() {
        return Err(ProjectError::Invalid(errors));
    }
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let project = locked_record(&mut tx, tenant_id, project_id).await?;
    if !project.status.is_finished() {
        return Err(ProjectError::RenderRunning);
    }
    store::set_music(&mut tx, project_id, music.as_ref(), now).await?;
    tx.commit().await?;
    state.project_changed(tenant_id.as_str(), project_id.as_str());
    get(&state.db, tenant_id, project_id).await
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
        let offered = Offered {
            voices: vec!["espeak:de".to_string(), "piper:en_US-lessac-medium".to_string()],
            media: Vec::new(),
            audio: Vec::new(),
            template: None,
        };
        let body = |voice: &str| CreateProject {
            title: "t".into(),
            script: Some("Hello there.".into()),
            scenes: None,
            template_id: "explainer".into(),
            voice: Some(voice.into()),
            language: None,
            caption_style: None,
            render: None,
            music: None,
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
            script: Some("...".into()),
            scenes: None,
            template_id: "nope".into(),
            voice: Some("a b".into()),
            language: Some("??".into()),
            caption_style: None,
            render: None,
            music: None,
        };
        match validate(
            body,
            &Offered { voices: vec!["espeak:de".to_string()], media: Vec::new(), audio: Vec::new(), template: None },
        ) {
            Err(ProjectError::Invalid(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["title", "script", "template_id", "language", "voice"]);
            }
            other => panic!("unexpected {other:?}", other = other.is_ok()),
        }
    }

    #[test]
    fn a_project_comes_from_a_script_or_from_scenes() {
        let offered = Offered {
            voices: vec!["espeak:de".to_string()],
            media: vec!["m1".to_string()],
            audio: Vec::new(),
            template: None,
        };
        let body = |script: Option<&str>, scenes: Option<serde_json::Value>| CreateProject {
            title: "t".into(),
            script: script.map(String::from),
            scenes: scenes.map(|v| serde_json::from_value(v).expect("scenes")),
            template_id: "explainer".into(),
            voice: None,
            language: None,
            caption_style: None,
            render: Some(false),
            music: None,
        };
        let scenes = serde_json::json!([
            {"text": "One.", "title": "First", "visual": {"kind": "card"}},
            {"text": "Two.", "visual": {"kind": "upload", "media_id": "m1"}, "voice": "espeak:de"},
        ]);
        let new = validate(body(None, Some(scenes.clone())), &offered).map_err(|_| "invalid").expect("valid");
        assert_eq!(new.scenes.len(), 2);
        assert_eq!(new.scope, Scope::Storyboard);
        assert_eq!(new.scenes[1].voice.as_deref(), Some("espeak:de"));
        assert_eq!(new_project_needs(&new).images, 1, "an upload is not an image made");
        assert_eq!(new_project_needs(&new).render_ms, 0, "a storyboard reserves no video");

        let fields = |body| match validate(body, &offered) {
            Err(ProjectError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(fields(body(Some("Hi."), Some(scenes))), ["scenes"]);
        assert_eq!(fields(body(None, None)), ["script"]);
        assert_eq!(fields(body(None, Some(serde_json::json!([])))), ["scenes"]);
        let sixty_one: Vec<_> = (0..61).map(|i| serde_json::json!({"text": format!("Scene {i}.")})).collect();
        assert_eq!(fields(body(None, Some(serde_json::json!(sixty_one)))), ["scenes"]);
        let other_tenants = serde_json::json!([{"text": "x", "visual": {"kind": "upload", "media_id": "m2"}}]);
        assert_eq!(fields(body(None, Some(other_tenants))), ["scenes[0].visual.media_id"]);
    }
}
