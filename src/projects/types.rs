//! What the projects domain reads and answers: request bodies, views, the
//! stored record, and the project's status.

use serde::{Deserialize, Serialize};

use crate::domain::ProjectId;
use crate::pipeline::graph::{StepKind, StepStatus};
use crate::text_enum;

text_enum!(
    /// Where a project is: `queued -> running -> completed | partial | failed | cancelled`, or
/// `draft` for a storyboard (`"render": false`); a render queues it again.
    pub enum ProjectStatus {
        /// Admitted; no step has started.
        Queued => "queued",
        /// A worker has taken one of its steps.
        Running => "running",
        /// The video is ready.
        Completed => "completed",
        /// The video is ready, but some scenes used a fallback (see `warnings`).
        Partial => "partial",
        /// A step failed its last try; no video.
        Failed => "failed",
        /// Stopped by its owner.
        Cancelled => "cancelled",
        /// A storyboard: every scene's picture and narration are made, no video yet.
        Draft => "draft",
    }
);

text_enum!(
    /// How far one scene is, from its own steps.
    pub enum SceneStatus {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
        Cancelled => "cancelled",
        /// Edited since its picture or narration was made: the next render makes it again.
        Stale => "stale",
    }
);

impl SceneStatus {
    /// A scene's status from its own steps' statuses.
    pub fn of(steps: &[StepStatus]) -> SceneStatus {
        if steps.contains(&StepStatus::Failed) {
            SceneStatus::Failed
        } else if steps.iter().all(|s| *s == StepStatus::Done) {
            SceneStatus::Done
        } else if steps.iter().any(|s| matches!(s, StepStatus::Running | StepStatus::Done)) {
            SceneStatus::Running
        } else if steps.contains(&StepStatus::Cancelled) {
            SceneStatus::Cancelled
        } else {
            SceneStatus::Queued
        }
    }
}

impl ProjectStatus {
    /// Statuses in which steps still run.
    pub const UNFINISHED: [ProjectStatus; 2] = [ProjectStatus::Queued, ProjectStatus::Running];

    /// Nothing more happens after these.
    pub fn is_finished(self) -> bool {
        !Self::UNFINISHED.contains(&self)
    }

    /// A video exists (possibly with fallbacks).
    pub fn has_video(self) -> bool {
        matches!(self, ProjectStatus::Completed | ProjectStatus::Partial)
    }

    /// What `retry` can start again.
    pub fn can_retry(self) -> bool {
        matches!(self, ProjectStatus::Failed | ProjectStatus::Partial | ProjectStatus::Cancelled | ProjectStatus::Draft)
    }
}

/// Body of a create call: a `script` (split into scenes) or explicit `scenes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProject {
    pub title: String,
    /// Up to 20,000 characters; paragraphs become scenes. Give this or `scenes`.
    pub script: Option<String>,
    /// 1 to 60 scenes, each with its own text, title, visual and voice. Give this or `script`.
    pub scenes: Option<Vec<crate::projects::scene::SceneInput>>,
    pub template_id: String,
    /// A voice id from `/api/v1/voices` (e.g. `espeak:de`); default: the language's voice.
    pub voice: Option<String>,
    /// Language code such as `en`, `de`, `zh` (default `en`).
    pub language: Option<String>,
    /// How burnt-in captions show the narration: `line` (the sentence),
    /// `karaoke` (the sentence, the spoken word highlighted) or `pop` (one to
    /// three large words at a time); default: the template's.
    pub caption_style: Option<String>,
    /// `false` makes a storyboard (pictures and narration, then status `draft`); default `true`.
    pub render: Option<bool>,
    /// A music bed under the narration: `{"bundled": id}` (see `GET /api/v1/music`) or
    /// `{"media_id": id}` (an audio file of your library), with `volume` 0-1 (default 0.3).
    pub music: Option<crate::projects::music::MusicInput>,
}

/// Body of `PATCH /api/v1/projects/{id}`: the project-wide settings; absent
/// fields stay. `music: null` removes the music. The next render makes what
/// changed (music: only the sound and the join).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default, deserialize_with = "crate::projects::scene::present")]
    #[schema(value_type = Option<crate::projects::music::MusicInput>)]
    pub music: Option<Option<crate::projects::music::MusicInput>>,
}

/// The answer to a create call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub status: ProjectStatus,
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
    /// `queued`, `running`, `done`, `failed`, `cancelled` or `stale` (edited since it was made).
    #[schema(value_type = String)]
    pub status: SceneStatus,
    pub error: Option<String>,
}

/// A scene with everything about it (`/scenes`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SceneDetail {
    pub index: i64,
    pub text: String,
    /// The card's title; `null` shows the first words of the text.
    pub title: Option<String>,
    pub visual: crate::projects::scene::Visual,
    /// The scene's own voice; `null` uses the project's.
    pub voice: Option<String>,
    /// `queued`, `running`, `done`, `failed`, `cancelled` or `stale`.
    #[schema(value_type = String)]
    pub status: SceneStatus,
    pub error: Option<String>,
    /// The picture made for the scene as it is now (PNG), once made.
    pub image_url: Option<String>,
    /// Its narration as it is now (WAV), once made.
    pub audio_url: Option<String>,
    /// Length of the narration.
    pub duration_seconds: Option<f64>,
    /// Who made the stock photo or clip the scene shows (none for other pictures).
    pub credit: Option<crate::stock::Credit>,
    /// What a stock search for this scene looks for: its query, or its keywords.
    pub suggested_query: String,
}

/// One narrated word on the finished video's timeline (`words.json`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WordView {
    /// The scene's index (from 0).
    pub scene: i64,
    /// The word as written (surrounding punctuation kept).
    pub word: String,
    /// Seconds from the start of the video.
    pub start: f64,
    /// Seconds from the start of the video.
    pub end: f64,
    /// `measured` (from the voice's alignment) or `estimated` (from syllables
    /// within the sentence's measured span).
    #[schema(example = "measured")]
    pub timing: String,
}

/// The credit of a scene's stock photo or clip.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectCredit {
    /// The scene's index (from 0).
    pub scene: i64,
    pub provider: crate::stock::StockProvider,
    pub id: String,
    pub media: crate::stock::StockMedia,
    pub author: String,
    pub author_url: Option<String>,
    pub page_url: String,
    /// "Photo by Jane Doe on Pexels".
    pub text: String,
}

impl ProjectCredit {
    pub fn new(scene: i64, credit: crate::stock::Credit) -> ProjectCredit {
        ProjectCredit {
            scene,
            text: credit.line(),
            provider: credit.provider,
            id: credit.id,
            media: credit.media,
            author: credit.author,
            author_url: credit.author_url,
            page_url: credit.page_url,
        }
    }
}

/// Body of a scene insert: where, and the scene.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertScene {
    /// Index the new scene takes (0 to the scene count); the scenes from there move one on.
    pub at: usize,
    pub text: String,
    pub title: Option<String>,
    pub visual: Option<crate::projects::scene::Visual>,
    pub voice: Option<String>,
}

/// Body of a reorder: every current index once, in the new order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderScenes {
    pub order: Vec<usize>,
}

/// A project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    #[schema(value_type = String)]
    pub id: ProjectId,
    pub title: String,
    /// `queued`, `running`, `completed`, `partial`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: ProjectStatus,
    pub template_id: String,
    pub language: String,
    /// `line`, `karaoke` or `pop`: the project's, else its template's.
    pub caption_style: String,
    pub width: i64,
    pub height: i64,
    /// The music bed under the narration, if any.
    pub music: Option<crate::projects::music::Music>,
    pub progress: Progress,
    pub scenes: Vec<SceneView>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    /// Scenes were edited since their steps ran: `render` makes the changes.
    pub stale: bool,
    /// The stock photos and clips the scenes show, to credit (also `credits.txt`).
    pub credits: Vec<ProjectCredit>,
    /// Who made the project: a member of the team, or an API key (absent for
    /// projects made before teams, or on the command line).
    pub created_by: Option<CreatedBy>,
    /// The latest finished video; a render in progress keeps the previous one here until it is done.
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub captions_url: Option<String>,
    pub duration_seconds: Option<f64>,
    pub created_at: String,
    pub updated_at: String,
}

/// Who made a project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedBy {
    /// `member` or `api_key`.
    pub kind: &'static str,
    pub user_id: Option<String>,
    /// The member's address (absent once the person has left every team).
    pub email: Option<String>,
    pub api_key_id: Option<String>,
    /// The key's name (absent once the key is deleted with its tenant).
    pub api_key_name: Option<String>,
}

/// Who is making a project: a person, an API key, or neither (the command line).
#[derive(Debug, Clone, Default)]
pub struct Creator {
    pub user_id: Option<crate::domain::UserId>,
    pub key_id: Option<String>,
}

impl Creator {
    /// The caller of a request.
    pub fn of(auth: &crate::auth::AuthContext) -> Creator {
        Creator { user_id: auth.user_id.clone(), key_id: auth.principal.key.as_ref().map(|key| key.id.clone()) }
    }
}

/// A project in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectSummary {
    #[schema(value_type = String)]
    pub id: ProjectId,
    pub title: String,
    #[schema(value_type = String)]
    pub status: ProjectStatus,
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
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<ProjectId>,
}

/// A project's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub tenant_id: crate::domain::TenantId,
    pub title: String,
    pub status: ProjectStatus,
    pub template_id: String,
    pub language: String,
    pub voice: Option<String>,
    /// None: the template's.
    pub caption_style: Option<String>,
    /// JSON (`projects::music::Music`), or none.
    pub music: Option<String>,
    pub width: i64,
    pub height: i64,
    pub fps: i64,
    pub watermark: i64,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub video_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub captions_key: Option<String>,
    pub srt_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// A tenant template's snapshot (JSON); None: the built-in `template_id`.
    pub template: Option<String>,
}

impl ProjectRecord {
    /// The project-wide inputs of its steps' recipes.
    pub fn inputs(&self) -> crate::pipeline::recipe::ProjectInputs<'_> {
        crate::pipeline::recipe::ProjectInputs {
            template_id: &self.template_id,
            language: &self.language,
            voice: self.voice.as_deref(),
            caption_style: caption_style(&self.template_id, self.template.as_deref(), self.caption_style.as_deref()),
            music: self.music.as_deref(),
            width: self.width,
            height: self.height,
            fps: self.fps,
            watermark: self.watermark != 0,
        }
    }
}

/// A project's caption style: its own (`stored`), else its template's (its
/// `snapshot` for a tenant template, else the built-in `template_id`).
pub fn caption_style(
    template_id: &str,
    snapshot: Option<&str>,
    stored: Option<&str>,
) -> reelforge_media::overlay::CaptionStyle {
    stored
        .and_then(reelforge_media::overlay::CaptionStyle::parse)
        .or_else(|| crate::projects::templates::Template::of_project(template_id, snapshot).map(|t| t.subtitles.style))
        .unwrap_or_default()
}

/// One step of a project as views and live progress show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub kind: StepKind,
    pub scene_index: i64,
    pub status: StepStatus,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub updated_at: i64,
    /// What it makes (see `pipeline::recipe`); `None` for steps of older versions.
    pub recipe: Option<String>,
    pub output: Option<String>,
}

impl Progress {
    /// Progress of `done` out of `total` steps (percent with one decimal).
    pub fn of(done: i64, total: i64) -> Progress {
        let percent = if total == 0 { 0.0 } else { (done as f64 * 1000.0 / total as f64).round() / 10.0 };
        Progress { done, total, percent }
    }

    /// Progress of a project's steps.
    pub fn of_steps(steps: &[StepRow]) -> Progress {
        Progress::of(steps.iter().filter(|s| s.status == StepStatus::Done).count() as i64, steps.len() as i64)
    }
}

/// Validated input of a create call.
pub struct NewProject {
    pub title: String,
    pub scenes: Vec<crate::projects::scene::Scene>,
    /// The template resolved: a built-in, or a tenant template over its base.
    pub template: crate::projects::templates::Template,
    /// A tenant template's overrides (its fonts and logo are copied at creation).
    pub tenant_template: Option<crate::templates::Settings>,
    pub language: String,
    pub voice: Option<String>,
    /// The project's own caption style (None: the template's).
    pub caption_style: Option<reelforge_media::overlay::CaptionStyle>,
    pub music: Option<crate::projects::music::Music>,
    /// The script as given (or the scenes' texts), kept with the project.
    pub script: String,
    pub scope: crate::pipeline::graph::Scope,
}

/// Which file of a finished project.
#[derive(Debug, Clone, Copy)]
pub enum ProjectFile {
    Video,
    Thumbnail,
    CaptionsVtt,
    CaptionsSrt,
}

/// Body of an estimate call: a create call's body, with the title optional.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EstimateProject {
    /// Checked as on creation when present.
    pub title: Option<String>,
    /// Up to 20,000 characters; paragraphs become scenes. Give this or `scenes`.
    pub script: Option<String>,
    pub scenes: Option<Vec<crate::projects::scene::SceneInput>>,
    pub template_id: String,
    /// A voice id from `/api/v1/voices`; default: the language's voice.
    pub voice: Option<String>,
    /// Language code such as `en`, `de`, `zh` (default `en`).
    pub language: Option<String>,
    /// As on creation.
    pub caption_style: Option<String>,
    /// `false`: a storyboard, which reserves no video.
    pub render: Option<bool>,
    /// Checked as on creation when present.
    pub music: Option<crate::projects::music::MusicInput>,
}

/// What admission would reserve for a project, in the units of `/api/usage`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EstimateReserve {
    pub images_generated: f64,
    /// Seconds of speech.
    pub tts_seconds: f64,
    /// Minutes of video.
    pub render_minutes: f64,
    pub storage_mb: f64,
}

/// The answer to an estimate call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectEstimate {
    /// Scenes the script becomes (at most 60).
    pub scenes: usize,
    /// Words narrated (each CJK character counts as one).
    pub words: usize,
    pub reserve: EstimateReserve,
}
