//! Remote media providers speaking the OpenAI-compatible wire format:
//! `POST {base}/images/generations` and `POST {base}/audio/speech`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::config::{Config, ImageProvider, OpenAiApi};

/// A remote call that did not produce media; the message is safe to show.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

fn describe(err: reqwest::Error, service: &str, timeout: Duration) -> ProviderError {
    if err.is_timeout() {
        ProviderError(format!("the {service} did not answer within {} s", timeout.as_secs()))
    } else if err.is_connect() {
        ProviderError(format!("the {service} could not be reached"))
    } else {
        // The client's own words (TLS, decoding, ...) are for the log; the
        // user reads what failed.
        tracing::warn!(error = %err.without_url(), service, "provider call failed");
        ProviderError(format!("the {service} failed"))
    }
}

/// POSTs `body` to `{base}/{path}` of an OpenAI-compatible API (with its key
/// as a bearer token) and returns the answer when it is a success.
async fn post_json(
    http: &reqwest::Client,
    api: &OpenAiApi,
    path: &str,
    body: &serde_json::Value,
    service: &str,
    timeout: Duration,
) -> Result<reqwest::Response, ProviderError> {
    let url = format!("{}/{path}", api.base.as_str().trim_end_matches('/'));
    let mut request = http.post(url).timeout(timeout).json(body);
    if let Some(key) = &api.key {
        request = request.bearer_auth(key.expose());
    }
    let response = request.send().await.map_err(|e| describe(e, service, timeout))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ProviderError(format!("the {service} answered {status}")));
    }
    Ok(response)
}

/// Asks an OpenAI-compatible images API for a picture of `prompt`; returns the
/// PNG (or other image) bytes.
pub async fn generate_image(
    http: &reqwest::Client,
    config: &Config,
    prompt: &str,
    landscape: bool,
    portrait: bool,
) -> Result<Vec<u8>, ProviderError> {
    let service = "image service";
    let ImageProvider::OpenAi(api) = &config.providers.image else {
        return Err(ProviderError(format!("the {service} is not set up on this server")));
    };
    let timeout = Duration::from_secs(config.media.image_timeout_seconds);
    let size = if landscape {
        "1792x1024"
    } else if portrait {
        "1024x1792"
    } else {
        "1024x1024"
    };
    let body = json!({
        "model": api.model.as_deref().unwrap_or("gpt-image-1"),
        "prompt": prompt,
        "n": 1,
        "size": size,
        "response_format": "b64_json",
    });
    let response = post_json(http, api, "images/generations", &body, service, timeout).await?;
    let body: serde_json::Value = response.json().await.map_err(|e| describe(e, service, timeout))?;
    let encoded =
        body["data"][0]["b64_json"].as_str().ok_or_else(|| ProviderError(format!("the {service} sent no image")))?;
    STANDARD.decode(encoded).map_err(|_| ProviderError(format!("the {service} sent an unreadable image")))
}

/// Asks an OpenAI-compatible speech API to speak `text`; returns audio bytes (WAV).
pub async fn synthesize_speech(
    http: &reqwest::Client,
    config: &Config,
    voice: &str,
    text: &str,
) -> Result<Vec<u8>, ProviderError> {
    let service = "speech service";
    // A project may name an `openai:` voice on a server without the API (or
    // keep one from before it was removed); the step then falls back to espeak.
    let api = config
        .providers
        .speech
        .openai()
        .ok_or_else(|| ProviderError(format!("the {service} is not set up on this server")))?;
    let timeout = Duration::from_secs(config.media.tts_timeout_seconds);
    let body = json!({
        "model": api.model.as_deref().unwrap_or("tts-1"),
        "input": text,
        "voice": voice,
        "response_format": "wav",
    });
    let response = post_json(http, api, "audio/speech", &body, service, timeout).await?;
    let bytes = response.bytes().await.map_err(|e| describe(e, service, timeout))?;
    if bytes.is_empty() {
        return Err(ProviderError(format!("the {service} sent no audio")));
    }
    Ok(bytes.to_vec())
}

/// Voices of the OpenAI speech API.
pub const OPENAI_VOICES: [&str; 6] = ["alloy", "echo", "fable", "onyx", "nova", "shimmer"];
