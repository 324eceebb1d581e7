//! Voices are names from `/api/v1/voices`, never paths; remote previews are
//! cached and limited per tenant.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, spawn_app_with};

db_tests!(voices_must_be_listed_names, remote_previews_are_cached_and_limited_per_tenant);

/// A Piper model that is configured (and so listed as `piper:en_US-test`); it
/// need not exist for listing and validation.
const PIPER_MODEL: &str = "/opt/voices/en_US-test.onnx";

async fn voices_must_be_listed_names(backend: Backend) {
    let app = spawn_app_with(backend, &[("PIPER_VOICE", PIPER_MODEL)]).await;
    let session = app.sign_in("voices-paths@example.com").await;
    let token = session.access_token.as_str();
    let listed: Value = app.get_auth("/api/v1/voices", token).await.json().await.expect("voices");
    assert!(listed.as_array().expect("list").iter().any(|v| v["id"] == "piper:en_US-test"), "{listed}");

    for voice in ["piper:/etc/passwd", "piper:../x", "piper:/opt/voices/en_US-test.onnx", "piper:other", "openai:nova"]
    {
        for path in ["/api/v1/projects", "/api/v1/projects/estimate"] {
            let body = json!({"title": "t", "script": "Hello there.", "template_id": "explainer", "voice": voice});
            let response = app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.expect("request");
            assert_eq!(response.status(), 422, "{path} {voice}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.expect("json");
            assert!(problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == "voice"), "{problem}");
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);

    // The listed name is accepted.
    let body = json!({"script": "Hello there.", "template_id": "explainer", "voice": "piper:en_US-test"});
    let estimate = app
        .client
        .post(app.url("/api/v1/projects/estimate"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(estimate.status(), 200);

    // Previews serve listed voices only.
    for id in ["piper%3A%2Fetc%2Fpasswd", "piper%3A..%2Fx", "openai%3Anova", "espeak%3A..%2F..%2Fetc"] {
        let response = app.get_auth(&format!("/api/v1/voices/{id}/preview"), token).await;
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
}

#[derive(Clone, Default)]
struct SpeechStandIn {
    calls: Arc<AtomicUsize>,
}

/// A tiny valid WAV (16-bit mono, 8 samples of silence).
fn wav_bytes() -> Vec<u8> {
    let data = [0u8; 16];
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&22_050u32.to_le_bytes());
    wav.extend_from_slice(&44_100u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    wav
}

async fn speech(State(stand_in): State<SpeechStandIn>) -> Vec<u8> {
    stand_in.calls.fetch_add(1, Ordering::SeqCst);
    wav_bytes()
}

async fn remote_previews_are_cached_and_limited_per_tenant(backend: Backend) {
    let stand_in = SpeechStandIn::default();
    let router = Router::new().route("/v1/audio/speech", post(speech)).with_state(stand_in.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let base = format!("http://{addr}/v1");
    let app = spawn_app_with(backend, &[("TTS_API_BASE", &base), ("VOICE_PREVIEWS_PER_HOUR", "2")]).await;
    let first = app.sign_in("preview-a@example.com").await;
    let second = app.sign_in("preview-b@example.com").await;
    let preview = |voice: &str| format!("/api/v1/voices/openai%3A{voice}/preview");

    // The same voice twice: one provider call, then the cached copy.
    for _ in 0..3 {
        let response = app.get_auth(&preview("nova"), &first.access_token).await;
        assert_eq!(response.status(), 200);
        assert!(response.bytes().await.expect("wav").starts_with(b"RIFF"));
    }
    assert_eq!(stand_in.calls.load(Ordering::SeqCst), 1, "cached after the first preview");

    // A second uncached voice is within the limit of 2; a third is refused.
    assert_eq!(app.get_auth(&preview("alloy"), &first.access_token).await.status(), 200);
    let refused = app.get_auth(&preview("echo"), &first.access_token).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(stand_in.calls.load(Ordering::SeqCst), 2, "the refused preview called nobody");
    // Cached previews still play.
    assert_eq!(app.get_auth(&preview("nova"), &first.access_token).await.status(), 200);

    // Another tenant has its own allowance.
    assert_eq!(app.get_auth(&preview("echo"), &second.access_token).await.status(), 200);
    assert_eq!(stand_in.calls.load(Ordering::SeqCst), 3);
}
