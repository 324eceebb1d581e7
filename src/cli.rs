//! `reelforge render`: the same pipeline from the command line, with no server
//! and no account, on a throw-away SQLite database and media folder.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::billing::Plan;
use crate::config::{Config, DatabaseUrl};
use crate::db::now_ms;
use crate::domain::TenantId;
use crate::on_db;
use crate::pipeline::worker::WorkerPool;
use crate::projects::scene::SceneInput;
use crate::projects::service::{self, ProjectError};
use crate::projects::types::{CreateProject, Progress, ProjectFile, ProjectStatus};

/// A script, or a JSON file of scenes.
pub enum RenderInput {
    Script(PathBuf),
    Scenes(PathBuf),
}

/// What to render.
pub struct RenderArgs {
    pub input: RenderInput,
    pub out: PathBuf,
    pub template: String,
    pub language: Option<String>,
    pub voice: Option<String>,
    /// `line`, `karaoke` or `pop` (None: the template's).
    pub captions: Option<String>,
    /// `free` renders 720p with a watermark; paid plans the template's full size.
    pub plan: Plan,
    /// Keep the work folder (database, media) instead of deleting it.
    pub keep: Option<PathBuf>,
    /// A bundled music bed and its volume.
    pub music: Option<(String, f64)>,
}

/// Renders `args.input` to `args.out`, drawing a progress bar on stderr.
pub async fn render(mut config: Config, args: RenderArgs) -> anyhow::Result<()> {
    let (path, content) = match &args.input {
        RenderInput::Script(path) | RenderInput::Scenes(path) => {
            (path, std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
        }
    };
    let temp = tempfile::Builder::new().prefix("reelforge-render-").tempdir()?;
    let work = args.keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&work)?;
    config.data_dir = work.clone();
    config.storage.database_url = DatabaseUrl::Sqlite(work.join("render.db"));
    config.storage.storage_url = format!("file://{}", work.join("media").display());
    config.queue.queue_max_pending = u64::MAX / 2;
    let workers = config.queue.worker_concurrency.max(1);
    let state = crate::build_state(config).await?;

    let tenant = TenantId::generate();
    on_db!(&state.db, pool => {
        sqlx::query("INSERT INTO tenants (id, name, plan, status, created_at) VALUES ($1, 'command line', $2, 'active', $3)")
            .bind(tenant.as_str())
            .bind(args.plan.as_str())
            .bind(now_ms())
            .execute(pool)
            .await?;
    });
    let title = path.file_stem().and_then(|s| s.to_str()).unwrap_or("video").to_string();
    let (script, scenes) = match &args.input {
        RenderInput::Script(_) => (Some(content), None),
        RenderInput::Scenes(path) => (None, Some(scene_file(&state, &tenant, path, &content).await?)),
    };
    let body = CreateProject {
        title,
        script,
        scenes,
        template_id: args.template.clone(),
        voice: args.voice.clone(),
        language: args.language.clone(),
        caption_style: args.captions.clone(),
        render: None,
        music: args.music.clone().map(|(bundled, volume)| crate::projects::music::MusicInput {
            bundled: Some(bundled),
            volume: Some(volume),
            media_id: None,
        }),
    };
    let new = service::validate_offered(&state, &tenant, body).await.map_err(|err| anyhow::anyhow!(describe(err)))?;
    let started = Instant::now();
    let created = service::create(&state, &tenant, &Default::default(), new)
        .await
        .map_err(|err| anyhow::anyhow!(describe(err)))?;
    let pool = WorkerPool::start(&state, workers);

    let view = loop {
        let view =
            service::get(&state.db, &tenant, &created.project_id).await.map_err(|e| anyhow::anyhow!(describe(e)))?;
        draw(&view.progress, view.status, started.elapsed());
        if view.status.is_finished() {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!();
    pool.shutdown().await;
    for warning in &view.warnings {
        eprintln!("warning: {warning}");
    }
    if !view.status.has_video() {
        anyhow::bail!("the render {}: {}", view.status, view.error.unwrap_or_default());
    }
    let key = service::file_key(&state.db, &tenant, &created.project_id, ProjectFile::Video)
        .await
        .map_err(|e| anyhow::anyhow!(describe(e)))?;
    state
        .storage
        .fetch_to(&key, &args.out)
        .await
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", args.out.display()))?;
    if let Ok(captions) = service::file_key(&state.db, &tenant, &created.project_id, ProjectFile::CaptionsVtt).await {
        let _ = state.storage.fetch_to(&captions, &args.out.with_extension("vtt")).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let duration = view.duration_seconds.unwrap_or(0.0);
    eprintln!(
        "wrote {} ({duration:.1} s of video, {}x{}) in {seconds:.1} s: {:.2}x realtime",
        args.out.display(),
        view.width,
        view.height,
        if seconds > 0.0 { duration / seconds } else { 0.0 }
    );
    state.db.close().await;
    Ok(())
}

fn describe(err: ProjectError) -> String {
    match err {
        ProjectError::Invalid(errors) => {
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// Reads a scenes file: a list of scenes (or `{"scenes": [...]}`), as the
/// API takes them.
/// A visual `{"kind": "upload", "file": "picture.png"}` names a local file
/// (relative to the JSON file): it is taken into the throw-away account's
/// media library, through the same intake as an upload, and the scene shows it.
async fn scene_file(
    state: &crate::state::AppState,
    tenant: &TenantId,
    path: &std::path::Path,
    content: &str,
) -> anyhow::Result<Vec<SceneInput>> {
    let mut file: serde_json::Value =
        serde_json::from_str(content).with_context(|| format!("reading scenes from {}", path.display()))?;
    let scenes = match file.get_mut("scenes") {
        Some(scenes) => scenes.take(),
        None => file,
    };
    let serde_json::Value::Array(mut scenes) = scenes else {
        anyhow::bail!("{}: expected a list of scenes (or {{\"scenes\": [...]}})", path.display());
    };
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    for (index, scene) in scenes.iter_mut().enumerate() {
        let Some(visual) = scene.get_mut("visual").and_then(|v| v.as_object_mut()) else { continue };
        let Some(local) = visual.remove("file") else { continue };
        let local = base.join(local.as_str().context("a visual's file must be a path")?);
        let media_id =
            import(state, tenant, &local).await.with_context(|| format!("scene {}: {}", index + 1, local.display()))?;
        visual.insert("media_id".into(), serde_json::Value::String(media_id));
    }
    serde_json::from_value(serde_json::Value::Array(scenes))
        .with_context(|| format!("reading scenes from {}", path.display()))
}

/// Takes a local picture or clip into the account's media library; its id.
async fn import(state: &crate::state::AppState, tenant: &TenantId, local: &std::path::Path) -> anyhow::Result<String> {
    use crate::library::{intake, service};
    let work = tempfile::Builder::new().prefix("import-").tempdir_in(&state.config.data_dir)?;
    let media = &state.config.media;
    let received =
        intake::receive_file(local, &work.path().join("original"), media.media_max_bytes(), media.media_max_mb)
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))?;
    let item = service::add(state, tenant, &received, work.path()).await.map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(item.id)
}

fn draw(progress: &Progress, status: ProjectStatus, elapsed: Duration) {
    const WIDTH: usize = 30;
    let filled = ((progress.percent / 100.0) * WIDTH as f64).round() as usize;
    let bar: String = "#".repeat(filled.min(WIDTH)) + &"-".repeat(WIDTH - filled.min(WIDTH));
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "\r[{bar}] {:5.1}% {}/{} steps  {status:<9} {:6.1}s",
        progress.percent,
        progress.done,
        progress.total,
        elapsed.as_secs_f64()
    );
    let _ = stderr.flush();
}

/// `reelforge admin usage-log --rebuild`: rewrites the JSONL usage log from the ledger.
pub async fn rebuild_usage_log(config: Config) -> anyhow::Result<()> {
    let dir = config.usage.usage_log_dir.clone();
    let state = crate::build_state(config).await?;
    let entries = crate::usage::meter::all_entries(&state.db).await?;
    let written = crate::usage::jsonl::rebuild(&dir, &entries)?;
    println!("rebuilt {} from {written} ledger rows", dir.display());
    state.db.close().await;
    Ok(())
}

/// `reelforge admin set-plan TENANT PLAN`: TENANT is a tenant id or its owner's e-mail.
pub async fn set_plan(config: Config, tenant: &str, plan: Plan) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let updated = on_db!(&state.db, pool => {
        sqlx::query(
            "UPDATE tenants SET plan = $1 WHERE status = 'active' AND (id = $2 OR id IN (SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $3 AND m.role = 'owner'))",
        )
        .bind(plan.as_str())
        .bind(tenant)
        .bind(tenant.trim().to_ascii_lowercase())
        .execute(pool)
        .await?
        .rows_affected()
    });
    state.db.close().await;
    if updated == 0 {
        anyhow::bail!("no active tenant with id or owner e-mail {tenant:?}");
    }
    println!("{tenant} is now on the {} plan", plan.as_str());
    Ok(())
}

/// What an operator can do to a project on its owner's behalf.
#[derive(Debug, Clone, Copy)]
pub enum ProjectAction {
    /// Queue the failed, cancelled and fallback steps again.
    Retry,
    /// Stop an unfinished project.
    Cancel,
}

/// `reelforge admin retry|cancel PROJECT`: the owner's retry and cancel, for
/// operators repairing a stuck queue (the same rules and quota checks).
pub async fn project_action(config: Config, project_id: &str, action: ProjectAction) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let id = crate::domain::ProjectId::parse(project_id).map_err(|_| anyhow::anyhow!("no project {project_id:?}"))?;
    let tenant: Option<TenantId> = on_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT tenant_id FROM projects WHERE id = $1").bind(&id).fetch_optional(pool).await?
    });
    let result = match tenant {
        None => Err(anyhow::anyhow!("no project {project_id:?}")),
        Some(tenant) => match action {
            ProjectAction::Retry => service::retry(&state, &tenant, &id).await,
            ProjectAction::Cancel => service::cancel(&state, &tenant, &id).await,
        }
        .map_err(|err| anyhow::anyhow!("{project_id}: {err}")),
    };
    state.db.close().await;
    result?;
    println!("{project_id}: {}", if matches!(action, ProjectAction::Retry) { "queued again" } else { "cancelled" });
    Ok(())
}

/// `reelforge admin tenants`: one line per tenant.
pub async fn list_tenants(config: Config) -> anyhow::Result<()> {
    let state = crate::build_state(config).await?;
    let rows: Vec<(String, String, String, String, Option<String>)> = on_db!(&state.db, pool => {
        sqlx::query_as(
            "SELECT t.id, t.plan, t.status, t.name, (SELECT MIN(u.email) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = t.id AND m.role = 'owner') \
             FROM tenants t ORDER BY t.created_at",
        )
        .fetch_all(pool)
        .await?
    });
    for (id, plan, status, name, email) in rows {
        println!("{id}\t{plan}\t{status}\t{}\t{name}", email.unwrap_or_default());
    }
    state.db.close().await;
    Ok(())
}
