//! The finished video's sound: loudness the platforms expect, AAC-LC at 48 kHz
//! stereo, with and without a music bed.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::media::{ffmpeg, upload_ok};
use crate::projects::{create, wait_finished};

db_tests!(
    finished_sound_meets_the_platforms_loudness,
    the_loudness_target_is_configurable,
    a_bundled_bed_plays_under_the_narration_and_changes_only_the_final_step,
    music_from_the_library_plays_and_is_in_use,
    bad_music_is_refused_naming_the_field,
);

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

/// The fields a 422 names.
async fn invalid_fields(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("json");
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().into())
        .collect()
}

async fn a_bundled_bed_plays_under_the_narration_and_changes_only_the_final_step(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("beds@example.com").await;
    let token = session.access_token.as_str();

    // The beds on offer, each with a preview.
    let beds: Value = app.get_auth("/api/v1/music", token).await.json().await.expect("json");
    let beds = beds.as_array().expect("a list");
    assert!(beds.len() >= 3, "{beds:?}");
    let calm = beds.iter().find(|b| b["id"] == "calm-pad").expect("calm-pad");
    assert_eq!(calm["licence"], "CC0-1.0");
    let preview = app.get_auth(calm["preview_url"].as_str().expect("url"), token).await;
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "audio/wav");
    let wav = reelforge_media::wav::Pcm::parse(&preview.bytes().await.expect("body")).expect("a WAV");
    assert_eq!((wav.sample_rate, wav.channels), (48_000, 2));
    assert_eq!(app.get_auth("/api/v1/music/nope/preview", token).await.status(), 404);
    assert_eq!(app.client.get(app.url("/api/v1/music")).send().await.expect("request").status(), 401);

    let body = json!({"title": "With a bed", "script": SCRIPT, "template_id": "explainer",
                      "music": {"bundled": "calm-pad"}});
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["music"], json!({"bundled": "calm-pad", "volume": 0.3}));
    let first = download_video(&app, token, &id).await;
    assert_delivery_sound(&first, -14.0).await;
    let first = std::fs::read(&first).expect("read");

    // A louder bed: only the final step is stale, and a render makes only it.
    let patch = |music: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/projects/{id}")))
            .bearer_auth(token)
            .json(&json!({"music": music}))
            .send()
    };
    let changed = patch(json!({"bundled": "steady-pulse", "volume": 0.6})).await.expect("request");
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.expect("json");
    assert_eq!(changed["music"], json!({"bundled": "steady-pulse", "volume": 0.6}));
    assert_eq!(changed["stale"], true);
    assert!(changed["scenes"].as_array().expect("scenes").iter().all(|s| s["status"] == "done"), "{changed}");
    let speech_before = crate::scenes::ledger(&app, &id, "tts_seconds").await;
    let rendered_at = reelforge::db::now_ms();
    let render = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(render.status(), 202);
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["stale"], false);
    assert_eq!(crate::scenes::ledger(&app, &id, "tts_seconds").await, speech_before, "no narration made again");
    let ran = crate::scenes::steps_run_since(&app, &id, rendered_at).await;
    assert_eq!(ran, [("audio".to_string(), -1), ("final".to_string(), -1)], "only the sound and the join ran");
    let second = download_video(&app, token, &id).await;
    assert_ne!(first, std::fs::read(&second).expect("read"), "a new mix");
    assert_delivery_sound(&second, -14.0).await;

    // No music again; bad music is refused as on creation.
    assert_eq!(invalid_fields(patch(json!({"bundled": "nope"})).await.expect("request")).await, ["music.bundled"]);
    let cleared: Value = patch(Value::Null).await.expect("request").json().await.expect("json");
    assert_eq!(cleared["music"], Value::Null);
}

/// A few seconds of a chord as MP3: a tenant's own music.
fn mp3_track() -> Vec<u8> {
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=6",
            "-filter_complex",
            "amix=inputs=2",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
        ],
        "track.mp3",
    )
}

async fn music_from_the_library_plays_and_is_in_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("own-music@example.com").await;
    let token = session.access_token.as_str();
    let track = upload_ok(&app, token, "track.mp3", &mp3_track()).await;
    assert_eq!(track["kind"], "audio");
    assert_eq!(track["content_type"], "audio/mpeg");
    assert!((track["duration_seconds"].as_f64().expect("duration") - 6.0).abs() < 0.2, "{track}");
    assert_eq!(app.get_auth(track["thumbnail_url"].as_str().expect("url"), token).await.status(), 200);
    let media_id = track["id"].as_str().expect("id").to_string();
    // The other sound formats are taken in too.
    for (name, args) in [
        ("a.wav", &["-c:a", "pcm_s16le"][..]),
        ("a.flac", &["-c:a", "flac"][..]),
        ("a.ogg", &["-c:a", "libvorbis"][..]),
        ("a.m4a", &["-c:a", "aac"][..]),
        ("a.aac", &["-c:a", "aac", "-f", "adts"][..]),
    ] {
        let mut all = vec!["-f", "lavfi", "-i", "sine=frequency=440:duration=2"];
        all.extend_from_slice(args);
        let item = upload_ok(&app, token, name, &ffmpeg(&all, name)).await;
        assert_eq!(item["kind"], "audio", "{name}: {item}");
    }

    let body = json!({"title": "Own music", "script": SCRIPT, "template_id": "explainer",
                      "music": {"media_id": media_id, "volume": 0.5}});
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let path = download_video(&app, token, &id).await;
    assert_delivery_sound(&path, -14.0).await;

    // In use: the library keeps it while the project plays it.
    let refused = app
        .client
        .delete(app.url(&format!("/api/v1/media/{media_id}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["projects"], json!([{"id": id, "title": "Own music"}]), "{problem}");
    let deleted =
        app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 204);
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/media/{media_id}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
}

async fn bad_music_is_refused_naming_the_field(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("bad-music@example.com").await;
    let token = session.access_token.as_str();
    let other = app.sign_in("someone-else@example.com").await;
    let theirs = upload_ok(&app, &other.access_token, "theirs.mp3", &mp3_track()).await["id"].clone();
    let picture = upload_ok(&app, token, "picture.png", &crate::helpers::card_png("x")).await["id"].clone();
    let sound = upload_ok(&app, token, "mine.mp3", &mp3_track()).await["id"].clone();
    let post = |music: Value| {
        app.client
            .post(app.url("/api/v1/projects"))
            .bearer_auth(token)
            .json(&json!({"title": "t", "script": "Hello there.", "template_id": "explainer", "music": music}))
            .send()
    };
    for (music, field) in [
        (json!({"media_id": "01900000-0000-7000-8000-000000000000"}), "music.media_id"),
        (json!({"media_id": theirs}), "music.media_id"),
        (json!({"media_id": picture}), "music.media_id"),
        (json!({"bundled": "not-a-bed"}), "music.bundled"),
        (json!({"bundled": "calm-pad", "volume": 1.01}), "music.volume"),
        (json!({"bundled": "calm-pad", "volume": -1}), "music.volume"),
        (json!({}), "music"),
        (json!({"bundled": "calm-pad", "media_id": sound}), "music"),
    ] {
        assert_eq!(invalid_fields(post(music.clone()).await.expect("request")).await, [field], "{music}");
    }
    // A sound is music, not a scene's picture.
    let scene_sound = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "t", "template_id": "explainer",
                      "scenes": [{"text": "Hi.", "visual": {"kind": "upload", "media_id": sound}}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(invalid_fields(scene_sound).await, ["scenes[0].visual.media_id"]);
    // The estimate checks music as creation does.
    let estimate = app
        .client
        .post(app.url("/api/v1/projects/estimate"))
        .bearer_auth(token)
        .json(&json!({"script": "Hello.", "template_id": "explainer", "music": {"bundled": "nope"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(invalid_fields(estimate).await, ["music.bundled"]);
    let ok = post(json!({"media_id": sound, "volume": 0})).await.expect("request");
    assert_eq!(ok.status(), 202);
}
