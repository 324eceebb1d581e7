//! What each kind of step does, one file a kind: `image`, `speech`, `segment`,
//! `audio` and `finish` (the final step). Every step derives a content key from its
//! inputs; when an output already exists under that key (a retry, a re-run, a
//! worker that died after writing) it is reused, never made twice. `fallback`
//! decides when a failed provider is retried and when its built-in stand-in is
//! used; `output` types what each step leaves behind.

mod audio;
mod fallback;
mod finish;
mod image;
mod output;
mod segment;
mod speech;
mod stock;

use std::path::{Path, PathBuf};

use reelforge_media::MediaError;
use sha2::{Digest, Sha256};

use self::output::DoneOutputs;
pub use self::output::{AudioOutput, ClipSource, FinalOutput, ImageOutput, SegmentOutput, SpeechOutput, StepOutput};
pub use self::segment::scene_frames;
pub use self::speech::{default_voice, espeak_voice};
use crate::db::Db;
use crate::on_db;
use crate::pipeline::graph::StepKind;
use crate::pipeline::queue::{ClaimedStep, ProjectOutputs, StepResult};
use crate::projects::scene::Scene;
use crate::projects::templates::Template;
use crate::state::AppState;
use crate::storage::StorageError;
use crate::usage::meter::Usage;
use crate::usage::quota::Metric;

/// Why a step did not finish.
#[derive(Debug)]
pub struct StepError {
    /// Shown to the user (no paths, no secrets).
    pub message: String,
    /// False when trying again cannot help.
    pub retryable: bool,
}

impl StepError {
    fn retry(message: impl Into<String>) -> Self {
        StepError { message: message.into(), retryable: true }
    }
    fn fatal(message: impl Into<String>) -> Self {
        StepError { message: message.into(), retryable: false }
    }
}

impl From<StorageError> for StepError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Full => StepError::retry(
                "storage is full: free some space (or raise the disk or bucket quota) and retry; earlier outputs are intact",
            ),
            StorageError::NotFound => StepError::retry("an input of this step is missing from storage"),
            StorageError::Other(detail) => {
                tracing::warn!(%detail, "storage error in a step");
                StepError::retry("could not read or write media storage")
            }
        }
    }
}

impl From<MediaError> for StepError {
    fn from(err: MediaError) -> Self {
        if err.is_storage_full() {
            return StorageError::Full.into();
        }
        StepError::retry(for_people(&err))
    }
}

/// What a media program is, in words a user knows, from its configured name
/// or path (a path is never shown).
fn tool_name(program: &str) -> &'static str {
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "ffmpeg" | "ffprobe" => "the video encoder",
        "espeak-ng" | "espeak" => "the built-in voice",
        "piper" => "the neural voice",
        _ => "a media program",
    }
}

/// A media failure as users read it: what failed, in their words. The
/// details (a program's path, its stderr, a file path, an I/O error) go to
/// the log only: they mean nothing to a user and tell an attacker about the
/// server.
fn for_people(err: &MediaError) -> String {
    match err {
        MediaError::Timeout { program, seconds } => {
            format!("{} did not finish within {seconds} s and was stopped", tool_name(program))
        }
        MediaError::Process { program, .. } => {
            log_detail(err);
            format!("{} failed; the details are logged for the operators", tool_name(program))
        }
        MediaError::Io { .. } => {
            log_detail(err);
            "a working file could not be read or written".to_string()
        }
        MediaError::Draw(_) | MediaError::Invalid(_) => {
            log_detail(err);
            "the media for this scene could not be made".to_string()
        }
    }
}

/// Logs a media failure's details (program, stderr, paths) for the operators.
fn log_detail(err: &MediaError) {
    tracing::warn!(error = %err, "media work failed");
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        tracing::warn!(error = %err, "database error in a step");
        StepError::retry("the database was not reachable")
    }
}

/// The project fields a step needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub tenant_id: crate::domain::TenantId,
    pub template_id: String,
    pub language: String,
    pub voice: Option<String>,
    /// None: the template's.
    pub caption_style: Option<String>,
    /// The music bed (JSON, `projects::music::Music`).
    pub music: Option<String>,
    pub width: i64,
    pub height: i64,
    pub fps: i64,
    pub watermark: i64,
    /// A tenant template's snapshot (JSON); None: the built-in `template_id`.
    pub template: Option<String>,
}

/// Runs one claimed step.
pub async fn run(state: &AppState, step: &ClaimedStep, work: &Path) -> Result<StepResult, StepError> {
    let project = load_project(&state.db, &step.project_id).await?;
    let template = Template::of_project(&project.template_id, project.template.as_deref())
        .ok_or_else(|| StepError::fatal(format!("template {:?} no longer exists", project.template_id)))?;
    let prefix = crate::storage::project_prefix(&project.tenant_id, &project.id);
    let step_context = StepContext { state, step, project: &project, template: &template, prefix: &prefix, work };
    let done = match step.kind {
        StepKind::Image => step_context.image().await,
        StepKind::Speech => step_context.speech().await,
        StepKind::Segment => step_context.segment().await,
        StepKind::Audio => step_context.audio().await,
        StepKind::Final => step_context.finish().await,
    }?;
    Ok(done.into_result(step))
}

/// A step's work, typed, before it goes to the queue.
#[derive(Debug)]
struct Done {
    /// Content key of the inputs.
    idempotency_key: String,
    output: StepOutput,
    /// Set when a fallback was used.
    warning: Option<String>,
    /// For the final step: the project's outputs.
    project_outputs: Option<ProjectOutputs>,
}

impl Done {
    fn new(idempotency_key: String, output: StepOutput) -> Self {
        Done { idempotency_key, output, warning: None, project_outputs: None }
    }

    fn with_warning(self, warning: Option<String>) -> Self {
        Done { warning, ..self }
    }

    /// The queue's view: the output and the usage it bills.
    fn into_result(self, step: &ClaimedStep) -> StepResult {
        let usage = metered(step, &self);
        StepResult {
            idempotency_key: self.idempotency_key,
            output: self.output,
            warning: self.warning,
            project_outputs: self.project_outputs,
            usage,
        }
    }
}

/// What a finished step bills: an image, seconds of speech, minutes of the
/// final video (segments and the sound are not billed: a failed render costs nothing). The
/// key names the unit of work and its inputs, so a re-run counts once.
fn metered(step: &ClaimedStep, done: &Done) -> Vec<Usage> {
    let key = format!("{}:{}:{}:{}", step.project_id, step.kind, step.scene_index, done.idempotency_key);
    let usage = match &done.output {
        // An uploaded picture is the tenant's own: nothing was generated.
        // Nor is a stock photo or clip.
        StepOutput::Image(image) if image.media_id.is_some() || image.credit.is_some() => None,
        StepOutput::Image(_) => Some((Metric::ImagesGenerated, 1)),
        StepOutput::Speech(speech) => Some((Metric::TtsSeconds, (speech.duration * 1000.0).round() as i64)),
        StepOutput::Final(video) => Some((Metric::RenderMinutes, video.duration_ms)),
        StepOutput::Segment(_) | StepOutput::Audio(_) => None,
    };
    usage.into_iter().map(|(metric, amount)| Usage { metric, amount, key: key.clone() }).collect()
}

async fn load_project(db: &Db, project_id: &crate::domain::ProjectId) -> Result<ProjectRow, StepError> {
    let row: Option<ProjectRow> = on_db!(db, pool => {
        sqlx::query_as("SELECT id, tenant_id, template_id, language, voice, caption_style, music, width, height, fps, watermark, template \
             FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or_else(|| StepError::fatal("the project no longer exists"))
}

struct StepContext<'a> {
    state: &'a AppState,
    step: &'a ClaimedStep,
    project: &'a ProjectRow,
    template: &'a Template,
    prefix: &'a str,
    work: &'a Path,
}

/// Loads brand fonts into the text engine (inside a drawing's blocking task).
fn register_fonts(paths: &[PathBuf]) -> reelforge_media::MediaResult<()> {
    for path in paths {
        reelforge_media::card::fonts::register_file(path)?;
    }
    Ok(())
}

/// Hex SHA-256 over the inputs, shortened: the content key of an output.
fn content_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    crate::crypto::to_hex(&hasher.finalize()[..12])
}

impl StepContext<'_> {
    fn config(&self) -> &crate::config::Config {
        &self.state.config
    }

    fn scene(&self) -> i64 {
        self.step.scene_index
    }

    /// This step's scene as it is now (edits wait while a render runs).
    async fn scene_row(&self) -> Result<Scene, StepError> {
        let scenes = crate::projects::store::scenes(&self.state.db, &self.step.project_id).await?;
        let index = usize::try_from(self.scene()).map_err(|_| StepError::fatal("the scene no longer exists"))?;
        scenes.into_iter().nth(index).ok_or_else(|| StepError::fatal("the scene no longer exists"))
    }

    async fn scene_count(&self) -> Result<i64, StepError> {
        Ok(on_db!(&self.state.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM scenes WHERE project_id = $1").bind(&self.project.id).fetch_one(pool).await?
        }))
    }

    /// Done outputs of this project's steps.
    async fn outputs(&self) -> Result<DoneOutputs, StepError> {
        let rows: Vec<(StepKind, i64, Option<String>)> = on_db!(&self.state.db, pool => {
            sqlx::query_as("SELECT kind, scene_index, output FROM steps WHERE project_id = $1 AND status = $2")
                .bind(&self.project.id)
                .bind(crate::pipeline::graph::StepStatus::Done)
                .fetch_all(pool)
                .await?
        });
        Ok(DoneOutputs::from_rows(rows))
    }

    fn frame_size(&self) -> (u32, u32, u32) {
        (self.project.width as u32, self.project.height as u32, self.project.fps as u32)
    }

    /// A local path of a stored object: the file itself for a local store,
    /// otherwise a copy in the work directory.
    /// The template's brand fonts (copies under the project), as local files
    /// for `register_fonts` to load before drawing.
    async fn brand_fonts(&self) -> Result<Vec<PathBuf>, StepError> {
        let mut paths = Vec::new();
        for font in &self.template.fonts {
            paths.push(self.local(&font.key, &format!("font-{}.bin", font.id)).await?);
        }
        Ok(paths)
    }

    async fn local(&self, key: &str, name: &str) -> Result<PathBuf, StepError> {
        if let Some(root) = self.state.storage.local_root() {
            let path = root.join(key);
            if path.exists() {
                return Ok(path);
            }
            return Err(StorageError::NotFound.into());
        }
        let path = self.work.join(name);
        self.state.storage.fetch_to(key, &path).await?;
        Ok(path)
    }
}

/// Runs drawing (CPU-bound) off the async worker threads; `what` names the
/// work in the message if it panics.
async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T, MediaError> + Send + 'static,
) -> Result<T, StepError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StepError::retry(format!("{what} stopped unexpectedly")))?
        .map_err(StepError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_depend_on_every_input() {
        assert_eq!(content_key(&["a", "b"]), content_key(&["a", "b"]));
        assert_ne!(content_key(&["a", "b"]), content_key(&["ab", ""]));
        assert_ne!(content_key(&["a", "b"]), content_key(&["a", "c"]));
        assert_eq!(content_key(&["x"]).len(), 24);
    }

    #[test]
    fn scene_length_follows_the_speech() {
        assert_eq!(scene_frames(0.0, 25), 50, "at least two seconds");
        assert_eq!(scene_frames(3.0, 25), 85);
        assert_eq!(espeak_voice("ZH"), "cmn");
        assert_eq!(espeak_voice("de"), "de");
    }

    #[test]
    fn media_failures_read_as_words_without_paths_or_output() {
        let cases = [
            MediaError::Process {
                program: "/opt/secret/bin/piper".into(),
                message: "exit code 1: cannot open /srv/models/voice.onnx".into(),
            },
            MediaError::Timeout { program: "/usr/local/bin/ffmpeg".into(), seconds: 4 },
            MediaError::io("writing /var/tmp/work-1/scene.wav", std::io::Error::other("disk says no")),
            MediaError::Invalid("not a usable WAV file: RIFF header at /tmp/x".into()),
        ];
        let expected = [
            "the neural voice failed; the details are logged for the operators",
            "the video encoder did not finish within 4 s and was stopped",
            "a working file could not be read or written",
            "the media for this scene could not be made",
        ];
        for (err, expected) in cases.iter().zip(expected) {
            let message = for_people(err);
            assert_eq!(message, expected);
            assert!(!message.contains('/'), "{message}");
        }
    }
}
