//! The voices the configured speech providers offer, and short previews.

use std::time::Duration;

use bytes::Bytes;
use reelforge_media::tts;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::error::{AppError, AppResult};
use crate::pipeline::providers;
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

static ESPEAK_VOICES: OnceCell<Vec<tts::LocalVoice>> = OnceCell::const_new();

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

/// Every voice on offer, optionally only those of `language`.
pub async fn list(state: &AppState, language: Option<&str>) -> Vec<VoiceView> {
    let config = &state.config;
    let espeak = ESPEAK_VOICES
        .get_or_init(|| async {
            tts::espeak_voices(&config.espeak_path, Duration::from_secs(10)).await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "listing espeak-ng voices failed");
                Vec::new()
            })
        })
        .await;
    let mut voices: Vec<VoiceView> =
        espeak.iter().map(|v| view("espeak", &v.name, &v.language, v.gender.clone())).collect();
    if config.tts_provider == "openai" || config.tts_api_base.is_some() {
        voices.extend(providers::OPENAI_VOICES.iter().map(|name| view("openai", name, "multi", None)));
    }
    if let Some(model) = &config.piper_voice {
        let name = std::path::Path::new(model).file_stem().and_then(|s| s.to_str()).unwrap_or(model);
        voices.push(view("piper", name, name.split(['_', '-']).next().unwrap_or("en"), None));
    }
    if let Some(language) = language.map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()) {
        voices.retain(|v| v.language == "multi" || v.language.to_ascii_lowercase().starts_with(&language));
    }
    voices
}

const PREVIEW_TEXT: &str = "Hello! This is how I will narrate your video.";

/// A short WAV of the voice, cached on disk after the first request.
pub async fn preview(state: &AppState, id: &str) -> AppResult<Bytes> {
    let voices = list(state, None).await;
    let voice = voices.iter().find(|v| v.id == id).ok_or(AppError::NotFound)?;
    let safe_name: String =
        voice.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let cache = state.config.data_dir.join("cache").join("voices").join(format!("{safe_name}.wav"));
    if let Ok(bytes) = tokio::fs::read(&cache).await {
        return Ok(Bytes::from(bytes));
    }
    let timeout = Duration::from_secs(state.config.tts_timeout_seconds);
    let bad_gateway = |detail: String| AppError::Problem {
        status: axum::http::StatusCode::BAD_GATEWAY,
        title: "Bad Gateway".into(),
        detail,
        extensions: Default::default(),
    };
    let pcm = match voice.provider.as_str() {
        "espeak" => tts::espeak(&state.config.espeak_path, &voice.name, PREVIEW_TEXT, timeout)
            .await
            .map_err(|e| bad_gateway(format!("the voice engine failed: {e}")))?,
        "openai" => {
            let bytes = providers::synthesize_speech(&state.http, &state.config, &voice.name, PREVIEW_TEXT)
                .await
                .map_err(|e| bad_gateway(e.to_string()))?;
            return Ok(Bytes::from(bytes));
        }
        _ => return Err(bad_gateway("previews of this voice are not available".into())),
    };
    let bytes = pcm.to_bytes();
    if let Some(parent) = cache.parent() {
        let _ = tokio::fs::create_dir_all(parent).await;
    }
    let _ = tokio::fs::write(&cache, &bytes).await;
    Ok(Bytes::from(bytes))
}
