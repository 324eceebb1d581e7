//! What each kind of step does. Every step derives a content key from its
//! inputs; when an output already exists under that key (a retry, a re-run, a
//! worker that died after writing) it is reused, never made twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use reelforge_media::render::{self, Overlay, SceneClip, SegmentSpec};
use reelforge_media::subtitles::{self, Cue};
use reelforge_media::tts::{self, Narration};
use reelforge_media::wav::Pcm;
use reelforge_media::{MediaError, card};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{ImageProvider, SpeechProvider};
use crate::db::Db;
use crate::on_db;
use crate::pipeline::providers;
use crate::pipeline::queue::{ClaimedStep, ProjectOutputs, StepResult, kind};
use crate::projects::templates::{self, Template};
use crate::state::AppState;
use crate::storage::StorageError;
use crate::usage::meter::Usage;
use crate::usage::quota::Metric;

/// Seconds of picture after the last word of a scene.
const SCENE_TAIL_SECONDS: f64 = 0.4;
/// Shortest scene.
const MIN_SCENE_SECONDS: f64 = 2.0;

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
        match err {
            MediaError::Timeout { program, seconds } => {
                StepError::retry(format!("{program} did not finish within {seconds} s and was stopped"))
            }
            MediaError::Process { program, message } => {
                tracing::warn!(%program, %message, "media program failed");
                StepError::retry(format!("{program} failed; see the server log for its output"))
            }
            other => StepError::retry(other.to_string()),
        }
    }
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
    pub tenant_id: String,
    pub template_id: String,
    pub language: String,
    pub voice: Option<String>,
    pub width: i64,
    pub height: i64,
    pub fps: i64,
    pub watermark: i64,
}

/// Output of a speech step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpeechOutput {
    pub key: String,
    pub duration: f64,
    pub cues: Vec<Cue>,
}

/// Output of an image step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageOutput {
    pub key: String,
}

/// Output of a segment step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentOutput {
    pub key: String,
    pub frames: u32,
}

/// Runs one claimed step.
pub async fn run(state: &AppState, step: &ClaimedStep, work: &Path) -> Result<StepResult, StepError> {
    let project = load_project(&state.db, &step.project_id).await?;
    let template = templates::find(&project.template_id)
        .ok_or_else(|| StepError::fatal(format!("template {:?} no longer exists", project.template_id)))?;
    let prefix = crate::storage::project_prefix(&crate::domain::TenantId(project.tenant_id.clone()), &project.id);
    let step_context = StepContext { state, step, project: &project, template, prefix: &prefix, work };
    let mut result = match step.kind.as_str() {
        kind::IMAGE => step_context.image().await,
        kind::SPEECH => step_context.speech().await,
        kind::SEGMENT => step_context.segment().await,
        kind::FINAL => step_context.finish().await,
        other => Err(StepError::fatal(format!("unknown step kind {other}"))),
    }?;
    result.usage = metered(step, &result);
    Ok(result)
}

/// What a finished step bills: an image, seconds of speech, minutes of the
/// final video (segments are not billed: a failed render costs nothing). The
/// key names the unit of work and its inputs, so a re-run counts once.
fn metered(step: &ClaimedStep, result: &StepResult) -> Vec<Usage> {
    let key = format!("{}:{}:{}:{}", step.project_id, step.kind, step.scene_index, result.idempotency_key);
    let usage = match step.kind.as_str() {
        kind::IMAGE => Some((Metric::ImagesGenerated, 1)),
        kind::SPEECH => result.output["duration"].as_f64().map(|s| (Metric::TtsSeconds, (s * 1000.0).round() as i64)),
        kind::FINAL => result.project_outputs.as_ref().map(|o| (Metric::RenderMinutes, o.duration_ms)),
        _ => None,
    };
    usage.into_iter().map(|(metric, amount)| Usage { metric, amount, key: key.clone() }).collect()
}

async fn load_project(db: &Db, project_id: &str) -> Result<ProjectRow, StepError> {
    let row: Option<ProjectRow> = on_db!(db, pool => {
        sqlx::query_as("SELECT id, tenant_id, template_id, language, voice, width, height, fps, watermark FROM projects WHERE id = $1")
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
    template: &'static Template,
    prefix: &'a str,
    work: &'a Path,
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

/// Frames a scene with `speech_seconds` of narration lasts.
pub fn scene_frames(speech_seconds: f64, fps: u32) -> u32 {
    let seconds = (speech_seconds + SCENE_TAIL_SECONDS).max(MIN_SCENE_SECONDS);
    (seconds * f64::from(fps)).ceil() as u32
}

impl StepContext<'_> {
    fn config(&self) -> &crate::config::Config {
        &self.state.config
    }

    fn scene(&self) -> i64 {
        self.step.scene_index
    }

    async fn scene_text(&self) -> Result<String, StepError> {
        let text: Option<String> = on_db!(&self.state.db, pool => {
            sqlx::query_scalar("SELECT text FROM scenes WHERE project_id = $1 AND scene_index = $2")
                .bind(&self.project.id)
                .bind(self.scene())
                .fetch_optional(pool)
                .await?
        });
        text.ok_or_else(|| StepError::fatal("the scene no longer exists"))
    }

    async fn scene_count(&self) -> Result<i64, StepError> {
        Ok(on_db!(&self.state.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM scenes WHERE project_id = $1").bind(&self.project.id).fetch_one(pool).await?
        }))
    }

    /// Done outputs of this project's steps, by (kind, scene).
    async fn outputs(&self) -> Result<HashMap<(String, i64), Value>, StepError> {
        let rows: Vec<(String, i64, Option<String>)> = on_db!(&self.state.db, pool => {
            sqlx::query_as("SELECT kind, scene_index, output FROM steps WHERE project_id = $1 AND status = 'done'")
                .bind(&self.project.id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(kind, index, output)| Some(((kind, index), serde_json::from_str(&output?).ok()?)))
            .collect())
    }

    fn output<T: for<'de> Deserialize<'de>>(
        outputs: &HashMap<(String, i64), Value>,
        kind: &str,
        index: i64,
    ) -> Result<T, StepError> {
        outputs
            .get(&(kind.to_string(), index))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .ok_or_else(|| StepError::retry(format!("the {kind} of scene {} is not ready", index + 1)))
    }

    fn frame_size(&self) -> (u32, u32, u32) {
        (self.project.width as u32, self.project.height as u32, self.project.fps as u32)
    }

    /// A local path of a stored object: the file itself for a local store,
    /// otherwise a copy in the work directory.
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

    async fn image(&self) -> Result<StepResult, StepError> {
        let text = self.scene_text().await?;
        let (width, height, _) = self.frame_size();
        let (mw, mh) = render::motion_size(width, height);
        let key_line = card::key_line(&text);
        let index = self.scene() as usize;
        let style = serde_json::to_string(&self.template.card).unwrap_or_default();

        if let ImageProvider::OpenAi(api) = &self.config().providers.image {
            let model = api.model.clone().unwrap_or_default();
            let hash = content_key(&["image:openai:v1", &model, &text, &mw.to_string(), &mh.to_string()]);
            let key = format!("{}images/{hash}.png", self.prefix);
            if self.state.storage.size(&key).await?.is_some() {
                return Ok(StepResult { idempotency_key: hash, output: json!({"key": key}), ..Default::default() });
            }
            let prompt = format!("An illustration for a narrated video scene: {text}");
            match providers::generate_image(&self.state.http, self.config(), &prompt, width > height, height > width)
                .await
            {
                Ok(bytes) => {
                    let raw = self.work.join("remote-image");
                    tokio::fs::write(&raw, &bytes).await.map_err(|e| StepError::from(StorageError::from(e)))?;
                    let fitted = self.work.join("fitted.png");
                    fit_image(
                        &self.config().media.ffmpeg_path,
                        &raw,
                        mw,
                        mh,
                        &fitted,
                        self.config().media.image_timeout_seconds,
                    )
                    .await?;
                    self.state.storage.put_file(&key, &fitted).await?;
                    return Ok(StepResult { idempotency_key: hash, output: json!({"key": key}), ..Default::default() });
                }
                Err(err) if self.step.attempts < self.step.max_attempts => {
                    return Err(StepError::retry(format!("scene {}: {err}", index + 1)));
                }
                Err(err) => {
                    let warning = format!(
                        "Scene {}: {err}; after {} tries a designed card was used instead. Retry to generate the image again.",
                        index + 1,
                        self.step.attempts
                    );
                    let mut result = self.procedural_image(&key_line, index, mw, mh, &style).await?;
                    result.warning = Some(warning);
                    return Ok(result);
                }
            }
        }
        self.procedural_image(&key_line, index, mw, mh, &style).await
    }

    async fn procedural_image(
        &self,
        key_line: &str,
        index: usize,
        mw: u32,
        mh: u32,
        style: &str,
    ) -> Result<StepResult, StepError> {
        let hash = content_key(&[
            "image:procedural:v2",
            key_line,
            &index.to_string(),
            &mw.to_string(),
            &mh.to_string(),
            style,
        ]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_none() {
            let out = self.work.join("card.png");
            let (line, style_value, out_path) = (key_line.to_string(), self.template.card.clone(), out.clone());
            tokio::task::spawn_blocking(move || {
                card::render_card(&line, index + 1, mw, mh, render::ALWAYS_VISIBLE, &style_value, &out_path)
            })
            .await
            .map_err(|_| StepError::retry("drawing the image stopped unexpectedly"))??;
            self.state.storage.put_file(&key, &out).await?;
        }
        Ok(StepResult { idempotency_key: hash, output: json!({"key": key}), ..Default::default() })
    }

    async fn speech(&self) -> Result<StepResult, StepError> {
        let text = self.scene_text().await?;
        let requested =
            self.project.voice.clone().unwrap_or_else(|| default_voice(self.config(), &self.project.language));
        let hash = content_key(&["speech:v1", &requested, &self.project.language, &text]);
        let key = format!("{}speech/{hash}.wav", self.prefix);
        let meta_key = format!("{}speech/{hash}.json", self.prefix);
        if self.state.storage.size(&key).await?.is_some()
            && let Ok(meta) = self.state.storage.get_bytes(&meta_key).await
            && let Ok(stored) = serde_json::from_slice::<StoredSpeech>(&meta)
        {
            return Ok(StepResult {
                idempotency_key: hash,
                output: json!(SpeechOutput { key, duration: stored.duration, cues: stored.cues }),
                warning: stored.warning,
                ..Default::default()
            });
        }

        let sentences = subtitles::sentences(&text);
        let (narration, warning) = self.narrate(&requested, &sentences).await?;
        let wav = self.work.join("scene.wav");
        narration.pcm.write(&wav)?;
        let stored = StoredSpeech {
            duration: narration.duration_seconds(),
            cues: narration.cues.clone(),
            warning: warning.clone(),
        };
        self.state.storage.put_file(&key, &wav).await?;
        self.state.storage.put_bytes(&meta_key, Bytes::from(serde_json::to_vec(&stored).unwrap_or_default())).await?;
        Ok(StepResult {
            idempotency_key: hash,
            output: json!(SpeechOutput { key, duration: stored.duration, cues: stored.cues }),
            warning,
            ..Default::default()
        })
    }

    /// Speaks every sentence with the requested voice; any provider failure
    /// falls back to espeak-ng, an unknown language to English, with a warning.
    async fn narrate(&self, voice: &str, sentences: &[String]) -> Result<(Narration, Option<String>), StepError> {
        let scene = self.scene() + 1;
        let (provider, name) = voice.split_once(':').unwrap_or(("espeak", voice));
        let timeout = Duration::from_secs(self.config().media.tts_timeout_seconds);
        if provider != "espeak" {
            match self.narrate_remote(provider, name, sentences).await {
                Ok(narration) => return Ok((narration, None)),
                Err(reason) => {
                    let fallback_voice = espeak_voice(&self.project.language);
                    let (narration, language_warning) =
                        self.narrate_espeak(&fallback_voice, sentences, timeout).await?;
                    let warning = format!("Scene {scene}: {reason}; narrated with the built-in voice instead.");
                    return Ok((
                        narration,
                        Some(language_warning.map_or(warning.clone(), |w| format!("{warning} {w}"))),
                    ));
                }
            }
        }
        // Voices are named by language code but spoken by voice file (not every
        // listed code is accepted by `-v`).
        let engine_voice = crate::projects::voices::espeak_engine_voice(self.state, name).await;
        let (narration, warning) = self.narrate_espeak(&engine_voice, sentences, timeout).await?;
        Ok((narration, warning.map(|w| format!("Scene {scene}: {w}"))))
    }

    async fn narrate_espeak(
        &self,
        voice: &str,
        sentences: &[String],
        timeout: Duration,
    ) -> Result<(Narration, Option<String>), StepError> {
        let program = &self.config().media.espeak_path;
        let mut narration = Narration::default();
        let mut voice_used = voice.to_string();
        let mut warning = None;
        for sentence in sentences {
            let spoken = match tts::espeak(program, &voice_used, sentence, timeout).await {
                Ok(pcm) => pcm,
                Err(MediaError::Timeout { .. }) => {
                    return Err(StepError::retry("the speech engine did not finish in time"));
                }
                Err(_) if voice_used != "en" => {
                    warning = Some(format!(
                        "language {:?} is not supported by the voice engine; narrated in English",
                        self.project.language
                    ));
                    voice_used = "en".into();
                    tts::espeak(program, &voice_used, sentence, timeout).await?
                }
                Err(err) => return Err(err.into()),
            };
            narration.push(sentence, &spoken)?;
        }
        Ok((narration, warning))
    }

    async fn narrate_remote(&self, provider: &str, voice: &str, sentences: &[String]) -> Result<Narration, String> {
        let timeout = Duration::from_secs(self.config().media.tts_timeout_seconds);
        let mut narration = Narration::default();
        for (i, sentence) in sentences.iter().enumerate() {
            let raw = self.work.join(format!("sentence-{i}.audio"));
            let spoken = match provider {
                "openai" => {
                    let bytes = providers::synthesize_speech(&self.state.http, self.config(), voice, sentence)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokio::fs::write(&raw, bytes).await.map_err(|_| "could not store the speech".to_string())?;
                    tts::normalize(&self.config().media.ffmpeg_path, &raw, timeout).await.map_err(|e| e.to_string())?
                }
                "piper" => {
                    let model = if voice.is_empty() {
                        self.config().providers.speech.piper_voice().unwrap_or_default().to_string()
                    } else {
                        voice.to_string()
                    };
                    tts::piper(
                        &self.config().media.piper_path,
                        &model,
                        sentence,
                        &self.config().media.ffmpeg_path,
                        self.work,
                        timeout,
                    )
                    .await
                    .map_err(|e| format!("the neural voice failed ({e})"))?
                }
                other => return Err(format!("unknown speech provider {other:?}")),
            };
            narration.push(sentence, &spoken).map_err(|e| e.to_string())?;
        }
        Ok(narration)
    }

    async fn segment(&self) -> Result<StepResult, StepError> {
        let outputs = self.outputs().await?;
        let index = self.scene();
        let (width, height, fps) = self.frame_size();
        let image: ImageOutput = Self::output(&outputs, kind::IMAGE, index)?;
        let speech: SpeechOutput = Self::output(&outputs, kind::SPEECH, index)?;
        // The next scene's inputs are required whenever there is a next scene:
        // a missing output means "not ready", never "last scene".
        let has_next = index + 1 < self.scene_count().await?;
        let next_image: Option<ImageOutput> =
            if has_next { Some(Self::output(&outputs, kind::IMAGE, index + 1)?) } else { None };
        let next_speech: Option<SpeechOutput> =
            if has_next { Some(Self::output(&outputs, kind::SPEECH, index + 1)?) } else { None };

        let frames = scene_frames(speech.duration, fps);
        let next_frames = next_speech.as_ref().map(|s| scene_frames(s.duration, fps));
        let wanted = (self.template.transition_seconds * f64::from(fps)).round() as u32;
        let transition = |a: u32, b: u32| wanted.min(a / 2).min(b / 2);
        let incoming = if index > 0 {
            let previous: SpeechOutput = Self::output(&outputs, kind::SPEECH, index - 1)?;
            transition(scene_frames(previous.duration, fps), frames)
        } else {
            0
        };
        let outgoing = next_frames.map(|n| transition(frames, n)).unwrap_or(0);
        let motion = self.template.motion_for(index as usize);
        let next_motion = self.template.motion_for(index as usize + 1);
        let burn = self.template.subtitles.burn_in;
        let watermark = self.project.watermark != 0;

        let cues_text = serde_json::to_string(&speech.cues).unwrap_or_default();
        let hash = content_key(&[
            "segment:v1",
            &image.key,
            next_image.as_ref().map(|i| i.key.as_str()).unwrap_or("-"),
            &format!("{width}x{height}@{fps}:{frames}:{incoming}:{outgoing}:{:?}", next_frames),
            &format!("{motion:?}:{next_motion:?}:{burn}:{watermark}:{}", self.template.subtitles.font_scale),
            if burn { &cues_text } else { "" },
        ]);
        let key = format!("{}segments/{hash}.mp4", self.prefix);
        let output = json!(SegmentOutput { key: key.clone(), frames });
        if self.state.storage.size(&key).await?.is_some() {
            return Ok(StepResult { idempotency_key: hash, output, ..Default::default() });
        }

        let image_path = self.local(&image.key, "image.png").await?;
        let next = match (&next_image, next_frames, outgoing > 0) {
            (Some(next_image), Some(next_frames), true) => Some(SceneClip {
                image: self.local(&next_image.key, "next.png").await?,
                motion: next_motion,
                motion_frames: next_frames + outgoing,
                first_motion_frame: 0,
            }),
            _ => None,
        };
        let overlays = self.overlays(&speech.cues, burn, watermark, width, height).await?;
        let spec = SegmentSpec {
            width,
            height,
            fps,
            frames,
            scene: SceneClip {
                image: image_path,
                motion,
                motion_frames: frames + incoming,
                first_motion_frame: incoming,
            },
            next,
            transition_frames: outgoing,
            overlays,
            threads: if self.config().queue.worker_concurrency > 1 { 1 } else { 2 },
        };
        let out = self.work.join("segment.mp4");
        let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
        render::render_segment(&self.config().media.ffmpeg_path, &spec, &out, timeout).await?;
        self.state.storage.put_file(&key, &out).await?;
        Ok(StepResult { idempotency_key: hash, output, ..Default::default() })
    }

    async fn overlays(
        &self,
        cues: &[Cue],
        burn: bool,
        watermark: bool,
        width: u32,
        height: u32,
    ) -> Result<Vec<Overlay>, StepError> {
        let work = self.work.to_path_buf();
        let cues = cues.to_vec();
        let font_px = (height as f32 * self.template.subtitles.font_scale).max(14.0);
        tokio::task::spawn_blocking(move || -> Result<Vec<Overlay>, MediaError> {
            let mut overlays = Vec::new();
            if burn {
                for (i, cue) in cues.iter().enumerate() {
                    let path = work.join(format!("caption-{i}.png"));
                    let (w, h) = card::render_caption(&cue.text, font_px, width * 86 / 100, &path)?;
                    let x = width.saturating_sub(w) / 2;
                    let y = height.saturating_sub(h + height / 14);
                    overlays.push(Overlay { image: path, x, y, between: Some((cue.start, cue.end + 0.15)) });
                }
            }
            if watermark {
                let path = work.join("watermark.png");
                let (w, _) = card::render_watermark("Made with Reelforge", (height / 28).max(16), &path)?;
                let margin = height / 40;
                overlays.push(Overlay { image: path, x: width.saturating_sub(w + margin), y: margin, between: None });
            }
            Ok(overlays)
        })
        .await
        .map_err(|_| StepError::retry("drawing captions stopped unexpectedly"))?
        .map_err(StepError::from)
    }

    async fn finish(&self) -> Result<StepResult, StepError> {
        let outputs = self.outputs().await?;
        let (width, _, fps) = self.frame_size();
        let scenes = self.scene_count().await?;
        let mut segments = Vec::new();
        let mut speeches = Vec::new();
        for index in 0..scenes {
            segments.push(Self::output::<SegmentOutput>(&outputs, kind::SEGMENT, index)?);
            speeches.push(Self::output::<SpeechOutput>(&outputs, kind::SPEECH, index)?);
        }
        let mut parts: Vec<&str> = vec!["final:v1"];
        parts.extend(segments.iter().map(|s| s.key.as_str()));
        parts.extend(speeches.iter().map(|s| s.key.as_str()));
        let hash = content_key(&parts);
        let base = format!("{}output/{hash}/", self.prefix);
        let keys = ProjectOutputs {
            video_key: format!("{base}video.mp4"),
            thumbnail_key: format!("{base}thumbnail.jpg"),
            captions_key: format!("{base}captions.vtt"),
            srt_key: format!("{base}captions.srt"),
            duration_ms: 0,
            bytes_stored: 0,
        };
        let total_frames: u32 = segments.iter().map(|s| s.frames).sum();
        let duration_ms = (f64::from(total_frames) * 1000.0 / f64::from(fps)).round() as i64;

        let all_exist = {
            let storage = &self.state.storage;
            storage.size(&keys.video_key).await?.is_some()
                && storage.size(&keys.thumbnail_key).await?.is_some()
                && storage.size(&keys.captions_key).await?.is_some()
                && storage.size(&keys.srt_key).await?.is_some()
        };
        if !all_exist {
            // Narration: each scene's speech padded to exactly its segment.
            let mut narration = Pcm { sample_rate: tts::SAMPLE_RATE, channels: 1, samples: Vec::new() };
            let mut cues = Vec::new();
            let mut offset = 0.0;
            for (index, (speech, segment)) in speeches.iter().zip(&segments).enumerate() {
                let path = self.local(&speech.key, &format!("speech-{index}.wav")).await?;
                let mut pcm = Pcm::read(&path)?;
                let seconds = f64::from(segment.frames) / f64::from(fps);
                pcm.fit_to(seconds);
                narration.append(&pcm)?;
                cues.extend(speech.cues.iter().map(|c| Cue {
                    start: c.start + offset,
                    end: c.end + offset,
                    text: c.text.clone(),
                }));
                offset += seconds;
            }
            let narration_path = self.work.join("narration.wav");
            narration.write(&narration_path)?;
            let mut segment_paths = Vec::new();
            for (index, segment) in segments.iter().enumerate() {
                segment_paths.push(self.local(&segment.key, &format!("segment-{index}.mp4")).await?);
            }
            let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
            let video = self.work.join("video.mp4");
            render::join(&self.config().media.ffmpeg_path, &segment_paths, &narration_path, &video, self.work, timeout)
                .await?;
            let thumb = self.work.join("thumbnail.jpg");
            let at = (duration_ms as f64 / 1000.0 / 3.0).min(1.5);
            render::thumbnail(&self.config().media.ffmpeg_path, &video, at, width.min(640), &thumb, timeout).await?;
            let storage = &self.state.storage;
            // The video goes last: its presence means the set is complete.
            storage.put_bytes(&keys.captions_key, Bytes::from(subtitles::to_vtt(&cues))).await?;
            storage.put_bytes(&keys.srt_key, Bytes::from(subtitles::to_srt(&cues))).await?;
            storage.put_file(&keys.thumbnail_key, &thumb).await?;
            storage.put_file(&keys.video_key, &video).await?;
        }
        let bytes_stored = self.state.storage.prefix_size(self.prefix).await? as i64;
        Ok(StepResult {
            idempotency_key: hash,
            output: json!({"video_key": keys.video_key, "duration_ms": duration_ms}),
            project_outputs: Some(ProjectOutputs { duration_ms, bytes_stored, ..keys }),
            ..Default::default()
        })
    }
}

/// What is stored beside a scene's narration, so a re-run can reuse it.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSpeech {
    duration: f64,
    cues: Vec<Cue>,
    warning: Option<String>,
}

/// The espeak-ng voice for a language code (`zh` is `cmn`, otherwise the code).
pub fn espeak_voice(language: &str) -> String {
    let language = language.to_ascii_lowercase();
    match language.as_str() {
        "zh" | "zh-cn" | "zh-hans" => "cmn".into(),
        "zh-tw" | "zh-hant" => "cmn".into(),
        other => other.to_string(),
    }
}

/// The voice a project gets when it names none: the configured provider's
/// default for its language.
pub fn default_voice(config: &crate::config::Config, language: &str) -> String {
    match config.providers.speech.provider() {
        SpeechProvider::OpenAi(_) => "openai:alloy".into(),
        SpeechProvider::Piper { voice } => format!("piper:{voice}"),
        SpeechProvider::Espeak => format!("espeak:{}", espeak_voice(language)),
    }
}

/// Scales and crops a remote image to exactly `width` x `height` (PNG).
async fn fit_image(
    ffmpeg: &str,
    input: &Path,
    width: u32,
    height: u32,
    out: &Path,
    timeout_seconds: u64,
) -> Result<(), StepError> {
    let filter = format!("scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}");
    let input_arg = input.display().to_string();
    let out_arg = out.display().to_string();
    let args =
        ["-hide_banner", "-loglevel", "error", "-y", "-i", &input_arg, "-vf", &filter, "-frames:v", "1", &out_arg];
    reelforge_media::process::run(ffmpeg, &args, Duration::from_secs(timeout_seconds), None)
        .await
        .map_err(|_| StepError::retry("the image service sent a picture that could not be read"))?;
    Ok(())
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
}
