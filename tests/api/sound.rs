//! The finished video's sound: loudness the platforms expect, AAC-LC at 48 kHz
//! stereo, with and without a music bed.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(finished_sound_meets_the_platforms_loudness, the_loudness_target_is_configurable);

/// Two short scenes (a few seconds of narration: a quick render).
const SCRIPT: &str = "The harbour wakes before the town does, and the boats go out in a line.\n\n\
    By noon the nets are full and the gulls follow every boat back home.";

/// Downloads a project's finished video into the test's data folder.
pub async fn download_video(app: &TestApp, token: &str, id: &str) -> std::path::PathBuf {
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await;
    assert_eq!(video.status(), 200);
    let path = app.data_dir.path().join(format!("{id}.mp4"));
    std::fs::write(&path, video.bytes().await.expect("body")).expect("write");
    path
}

/// The audio stream's codec, profile, sample rate, channels and bit rate.
pub fn audio_stream(path: &Path) -> Value {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a", "-show_entries"])
        .args(["stream=codec_name,profile,sample_rate,channels,bit_rate", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success());
    let info: Value = serde_json::from_slice(&output.stdout).expect("json");
    let streams = info["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 1, "one audio stream: {info}");
    streams[0].clone()
}

/// Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's `ebur128`.
pub async fn loudness(path: &Path) -> (f64, f64) {
    let measured =
        reelforge_media::mix::measure("ffmpeg", path, None, Duration::from_secs(60)).await.expect("measured");
    (measured.integrated, measured.true_peak)
}

/// Checks a finished video's sound against the delivery spec at `target` LUFS.
pub async fn assert_delivery_sound(path: &Path, target: f64) {
    let (integrated, true_peak) = loudness(path).await;
    assert!((integrated - target).abs() <= 1.0, "{integrated} LUFS, wanted {target} ± 1");
    assert!(true_peak <= -1.0, "true peak {true_peak} dBTP");
    let audio = audio_stream(path);
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["profile"], "LC");
    assert_eq!(audio["sample_rate"], "48000");
    assert_eq!(audio["channels"], 2);
    let bit_rate: u64 = audio["bit_rate"].as_str().and_then(|b| b.parse().ok()).expect("a bit rate");
    assert!(bit_rate >= 128_000, "{bit_rate} b/s");
}

async fn finished_sound_meets_the_platforms_loudness(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("loud@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "Loud", "script": SCRIPT, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let path = download_video(&app, token, &id).await;
    assert_delivery_sound(&path, -14.0).await;
}

async fn the_loudness_target_is_configurable(backend: Backend) {
    let app = spawn_app_with(backend, &[("LOUDNESS_TARGET_LUFS", "-23")]).await;
    let session = app.sign_in("broadcast@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "Quiet", "script": SCRIPT, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let path = download_video(&app, token, &id).await;
    assert_delivery_sound(&path, -23.0).await;
}
