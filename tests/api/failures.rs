//! The seed's failure scenarios (SPEC section 6), against stand-ins that speak
//! the OpenAI wire format on loopback, a stand-in ffmpeg that hangs, and a real
//! tmpfs that runs out of space.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(
    image_timeout_falls_back_after_retries_and_retry_regenerates,
    image_partial_failure_lists_the_scenes,
    unsupported_language_falls_back_to_english,
    speech_api_down_falls_back_to_espeak,
    stuck_ffmpeg_is_killed_retried_then_recovers,
    a_re_run_step_reuses_its_output,
    an_expired_lease_is_taken_over_and_the_old_owner_writes_nothing,
    a_slow_first_narration_does_not_fail_the_next_segment,
    ai_scenes_are_prompted_in_the_templates_style,
);

#[derive(Clone, Default)]
struct StandIn {
    /// Image requests whose prompt contains this answer 500.
    fail_when_prompt_contains: Option<&'static str>,
    /// Hang this long before answering (past the client's timeout).
    hang: Option<Duration>,
    calls: Arc<AtomicUsize>,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    /// Every prompt received.
    prompts: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn images(State(stand_in): State<StandIn>, body: axum::Json<Value>) -> axum::response::Response {
    stand_in.calls.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut prompts) = stand_in.prompts.lock() {
        prompts.push(body["prompt"].as_str().unwrap_or_default().to_string());
    }
    if !stand_in.healthy.load(Ordering::SeqCst) {
        if let Some(hang) = stand_in.hang {
            tokio::time::sleep(hang).await;
        }
        let prompt = body["prompt"].as_str().unwrap_or_default();
        if stand_in.fail_when_prompt_contains.is_none_or(|needle| prompt.contains(needle)) {
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": {"message": "overloaded"}})))
                .into_response();
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(crate::helpers::card_png("REMOTE"));
    axum::Json(json!({"created": 1, "data": [{"b64_json": encoded}]})).into_response()
}

async fn start_stand_in(stand_in: StandIn) -> String {
    let router = Router::new().route("/v1/images/generations", post(images)).with_state(stand_in);
    crate::helpers::serve_stand_in(router).await
}

async fn retry(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("/api/v1/projects/{id}/retry"))).bearer_auth(token).send().await.expect("request")
}

async fn image_timeout_falls_back_after_retries_and_retry_regenerates(backend: Backend) {
    let stand_in = StandIn { hang: Some(Duration::from_secs(5)), ..Default::default() };
    let base = start_stand_in(stand_in.clone()).await;
    let app = spawn_app_with(
        backend,
        &[("IMAGE_PROVIDER", "openai"), ("IMAGE_API_BASE", &base), ("IMAGE_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let session = app.sign_in("timeout@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "t", "script": "A single scene.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "partial", "{project}");
    assert_eq!(stand_in.calls.load(Ordering::SeqCst), 3, "three tries");
    let warning = project["warnings"][0].as_str().expect("warning");
    assert!(
        warning.contains("Scene 1") && warning.contains("did not answer within 1 s") && warning.contains("Retry"),
        "{warning}"
    );
    assert!(project["video_url"].is_string(), "the video was made with the fallback card");

    // The service recovers; retry regenerates the image and clears the warning.
    stand_in.healthy.store(true, Ordering::SeqCst);
    assert_eq!(retry(&app, token, &id).await.status(), 202);
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["warnings"], json!([]));
    assert_eq!(retry(&app, token, &id).await.status(), 409, "nothing left to retry");
}

async fn image_partial_failure_lists_the_scenes(backend: Backend) {
    let stand_in = StandIn { fail_when_prompt_contains: Some("broken"), ..Default::default() };
    let base = start_stand_in(stand_in.clone()).await;
    let app = spawn_app_with(backend, &[("IMAGE_PROVIDER", "openai"), ("IMAGE_API_BASE", &base)]).await;
    let session = app.sign_in("partial@example.com").await;
    let token = session.access_token.as_str();
    let script = "The first scene works.\n\nThis broken scene fails.\n\nThe third scene works too.";
    let id = create(&app, token, json!({"title": "t", "script": script, "template_id": "square"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "partial", "{project}");
    let warnings = project["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().expect("text").starts_with("Scene 2:"));
    assert!(warnings[0].as_str().expect("text").contains("answered 500"));
    assert!(project["video_url"].is_string());
    stand_in.healthy.store(true, Ordering::SeqCst);
    assert_eq!(retry(&app, token, &id).await.status(), 202);
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "completed");
}

async fn unsupported_language_falls_back_to_english(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let session = app.sign_in("lang@example.com").await;
    let token = session.access_token.as_str();
    let id = create(
        &app,
        token,
        json!({"title": "t", "script": "Hello there.", "template_id": "explainer", "language": "xq"}),
    )
    .await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "partial", "{project}");
    let warning = project["warnings"][0].as_str().expect("warning");
    assert!(warning.contains("\"xq\" is not supported") && warning.contains("English"), "{warning}");
    assert!(project["video_url"].is_string());
}

async fn speech_api_down_falls_back_to_espeak(backend: Backend) {
    // Nothing listens on this port: the speech API is down. The socket stays
    // bound (not listening) for the whole test, so connecting is refused and
    // no other test's server can take the port meanwhile.
    let held = tokio::net::TcpSocket::new_v4().expect("socket");
    held.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let closed = held.local_addr().expect("addr");
    let base = format!("http://{closed}/v1");
    let app = spawn_app_with(backend, &[("TTS_PROVIDER", "openai"), ("TTS_API_BASE", &base)]).await;
    let session = app.sign_in("tts@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "t", "script": "Hello there.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "partial", "{project}");
    let warning = project["warnings"][0].as_str().expect("warning");
    assert!(warning.contains("speech service could not be reached") && warning.contains("built-in voice"), "{warning}");
    let captions =
        app.get_auth(&format!("/api/v1/projects/{id}/captions.vtt"), token).await.text().await.expect("text");
    assert!(captions.contains("Hello there."), "narrated all the same");
}

async fn stuck_ffmpeg_is_killed_retried_then_recovers(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let marker = dir.path().join("stuck");
    let pids = dir.path().join("pids");
    std::fs::write(&marker, "").expect("marker");
    let script = dir.path().join("ffmpeg");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in *segment.mp4*) if [ -e '{marker}' ]; then echo $$ >> '{pids}'; sleep 600 & wait; fi;; esac\nexec ffmpeg \"$@\"\n",
            marker = marker.display(),
            pids = pids.display()
        ),
    )
    .expect("script");
    std::process::Command::new("chmod").arg("+x").arg(&script).status().expect("chmod");
    let ffmpeg = script.display().to_string();
    // Long enough for the real render after recovery on a loaded 2-core machine.
    let app = spawn_app_with(backend, &[("FFMPEG_PATH", &ffmpeg), ("RENDER_TIMEOUT_SECONDS", "4")]).await;
    let session = app.sign_in("stuck@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "t", "script": "One scene only.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "failed", "{project}");
    let error = project["error"].as_str().expect("error");
    assert!(error.contains("did not finish within 4 s"), "{error}");
    assert_eq!(project["scenes"][0]["status"], "failed");
    let started: Vec<i32> =
        std::fs::read_to_string(&pids).expect("pids").lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(started.len(), 3, "three tries");
    for pid in started {
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
        assert!(!alive, "stuck ffmpeg {pid} was not killed");
    }
    // The recovery option: ffmpeg works again, retry finishes the video.
    std::fs::remove_file(&marker).expect("unstick");
    assert_eq!(retry(&app, token, &id).await.status(), 202);
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "completed", "{project}");
}

fn media_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    crate::helpers::files_under(&app.data_dir.path().join("media"))
}

async fn a_re_run_step_reuses_its_output(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let session = app.sign_in("idem@example.com").await;
    let token = session.access_token.as_str();
    let id =
        create(&app, token, json!({"title": "t", "script": "First.\n\nSecond.", "template_id": "explainer"})).await;
    let first = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(first["status"], "completed");
    let files_before = media_files(&app);
    let video_before = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");

    // Every step delivered again (as after a lost acknowledgement): same keys, no new files.
    app.exec("UPDATE steps SET status = 'pending', attempts = $2 WHERE project_id = $1", &id, 0).await;
    app.exec("UPDATE projects SET status = 'queued' WHERE id = $1 AND $2 = $2", &id, 0).await;
    app.state.project_changed(&session.tenant_id, &id);
    app.state.work_available.notify_waiters();
    let again = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(again["status"], "completed");
    assert_eq!(media_files(&app), files_before, "no duplicate outputs");
    let video_after = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    assert_eq!(video_before, video_after);
}

async fn an_expired_lease_is_taken_over_and_the_old_owner_writes_nothing(backend: Backend) {
    use reelforge::pipeline::queue;
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("lease@example.com").await;
    let id =
        create(&app, &session.access_token, json!({"title": "t", "script": "Only one.", "template_id": "explainer"}))
            .await;
    let db = &app.state.db;
    let claimed = queue::claim(db, "dead-worker", 60_000, 1).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let step = claimed[0].clone();
    assert_eq!(step.project_id.as_str(), id);
    // Nobody else can claim it while the lease holds.
    let others = queue::claim(db, "second", 60_000, 10).await.expect("claim");
    assert!(others.iter().all(|s| s.id != step.id));
    for other in &others {
        assert!(queue::release(db, other, "second").await.expect("release"));
    }
    // The worker dies: its lease runs out and the reaper takes the step back.
    app.exec("UPDATE steps SET lease_expires_at = $2 WHERE id = $1", &step.id, 1).await;
    assert_eq!(queue::reap(db).await.expect("reap"), 1);
    let retaken = queue::claim(db, "second", 60_000, 10).await.expect("claim");
    let mine = retaken.iter().find(|s| s.id == step.id).expect("taken over");
    assert_eq!(mine.attempts, 2);
    // The dead worker wakes up: its heartbeat and its result are refused.
    assert!(!queue::heartbeat(db, &step.id, "dead-worker", 60_000).await.expect("heartbeat"));
    let result = queue::StepResult {
        idempotency_key: "k".into(),
        output: reelforge::pipeline::steps::StepOutput::Image(reelforge::pipeline::steps::ImageOutput::picture(
            "k".into(),
        )),
        warning: None,
        project_outputs: None,
        usage: Vec::new(),
    };
    assert!(queue::complete(db, &app.state.config, &step, "dead-worker", &result).await.expect("complete").is_none());
    assert!(queue::complete(db, &app.state.config, mine, "second", &result).await.expect("complete").is_some());
    let done = app.count("SELECT COUNT(*) FROM steps WHERE status = 'done' AND project_id = $1", &id).await;
    assert_eq!(done, 1);
    let by_second = app.count("SELECT COUNT(*) FROM steps WHERE finished_by = 'second' AND project_id = $1", &id).await;
    assert_eq!(by_second, 1, "the step records the worker that finished it");
}

/// A small real tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    /// Fills the file system, then frees `leave` bytes.
    fn fill_leaving(&self, leave: u64) {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        let len = std::fs::metadata(&path).expect("meta").len();
        file.set_len(len.saturating_sub(leave)).expect("truncate");
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("filler"));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

db_tests!(disk_exhausted_answers_507_and_keeps_earlier_outputs);

async fn disk_exhausted_answers_507_and_keeps_earlier_outputs(backend: Backend) {
    let Some(tmpfs) = Tmpfs::mount("8m") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI must be able to mount a tmpfs (run as root)");
        }
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        return;
    };
    let storage = format!("file://{}", tmpfs.dir.path().join("media").display());
    let app = spawn_app_with(backend, &[("STORAGE_URL", &storage)]).await;
    let session = app.sign_in("full@example.com").await;
    let token = session.access_token.as_str();

    // A first project completes; its files must survive what follows.
    let done =
        create(&app, token, json!({"title": "ok", "script": "Before the disk filled up.", "template_id": "square"}))
            .await;
    assert_eq!(wait_finished(&app, token, &done, Duration::from_secs(60)).await["status"], "completed");
    let video_before =
        app.get_auth(&format!("/api/v1/projects/{done}/video"), token).await.bytes().await.expect("video");

    // Room for a script, not for images: the steps fail with a clear message.
    tmpfs.fill_leaving(16 * 1024);
    let starved =
        create(&app, token, json!({"title": "s", "script": "No room for my picture.", "template_id": "square"})).await;
    let project = wait_finished(&app, token, &starved, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "failed", "{project}");
    assert!(project["error"].as_str().expect("error").contains("storage is full"), "{project}");

    // No room at all: the API answers 507 and stores nothing.
    tmpfs.fill_leaving(0);
    let before = app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await;
    let response = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "x", "script": "Nothing fits.", "template_id": "square"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 507);
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["status"], 507);
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, before);

    // Earlier outputs are intact and still served.
    let video_after =
        app.get_auth(&format!("/api/v1/projects/{done}/video"), token).await.bytes().await.expect("video");
    assert_eq!(video_before, video_after);

    // Space is freed: the failed project recovers with a retry.
    tmpfs.free();
    assert_eq!(retry(&app, token, &starved).await.status(), 202);
    assert_eq!(wait_finished(&app, token, &starved, Duration::from_secs(60)).await["status"], "completed");
    drop(app);
}

/// A WAV (16-bit mono, 22,050 Hz) of a quiet tone lasting `seconds`: what an
/// OpenAI-compatible speech API answers with `response_format: "wav"`.
fn tone_wav(seconds: f64) -> Vec<u8> {
    let rate = 22_050u32;
    let samples = (seconds * f64::from(rate)) as u32;
    let mut wav = Vec::with_capacity(44 + samples as usize * 2);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples * 2).to_le_bytes());
    for n in 0..samples {
        let value = (f64::from(n) * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin() * 3000.0;
        wav.extend_from_slice(&(value as i16).to_le_bytes());
    }
    wav
}

/// An OpenAI-compatible speech API that answers the first scene last: a
/// slow voice (a remote API, Piper under load) finishing out of order.
async fn start_slow_first_speech() -> String {
    async fn speech(body: axum::Json<Value>) -> axum::response::Response {
        let input = body["input"].as_str().unwrap_or_default();
        if input.starts_with("First") {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        ([(axum::http::header::CONTENT_TYPE, "audio/wav")], tone_wav(1.5)).into_response()
    }
    let router = Router::new().route("/v1/audio/speech", post(speech));
    crate::helpers::serve_stand_in(router).await
}

/// A segment crossfades in from the scene before it, so it reads that
/// scene's narration: it must wait for it, not fail "not ready" three times
/// and take the project down while the narration is still being made.
async fn a_slow_first_narration_does_not_fail_the_next_segment(backend: Backend) {
    let base = start_slow_first_speech().await;
    let app =
        spawn_app_with(backend, &[("TTS_PROVIDER", "openai"), ("TTS_API_BASE", &base), ("WORKER_CONCURRENCY", "3")])
            .await;
    let session = app.sign_in("slow-voice@example.com").await;
    let token = session.access_token.as_str();
    let script = "First scene here.\n\nSecond scene here.\n\nThird scene here.";
    let id = create(&app, token, json!({"title": "t", "script": script, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert!(project["warnings"].as_array().is_some_and(Vec::is_empty), "{project}");
}

/// An `ai` scene with no prompt is drawn from its words in the template's
/// style; a scene's own prompt is sent as written; a card asks nothing.
async fn ai_scenes_are_prompted_in_the_templates_style(backend: Backend) {
    let stand_in = StandIn::default();
    stand_in.healthy.store(true, Ordering::SeqCst);
    let base = start_stand_in(stand_in.clone()).await;
    let app = spawn_app_with(backend, &[("IMAGE_PROVIDER", "openai"), ("IMAGE_API_BASE", &base)]).await;
    let session = app.sign_in("prompts@example.com").await;
    let token = session.access_token.as_str();
    let body = json!({
        "title": "Prompts",
        "template_id": "explainer",
        "render": false,
        "scenes": [
            {"text": "A lighthouse stands on the rocks.", "visual": {"kind": "ai"}},
            {"text": "Nobody reads this for the picture.", "visual": {"kind": "ai", "prompt": "a red fox in deep snow"}},
            {"text": "A title card.", "visual": {"kind": "card"}},
        ],
    });
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "draft", "{project}");
    let mut prompts = stand_in.prompts.lock().map(|p| p.clone()).unwrap_or_default();
    prompts.sort();
    assert_eq!(prompts.len(), 2, "{prompts:?}");
    assert_eq!(prompts[0], "a red fox in deep snow");
    assert!(
        prompts[1].starts_with("flat vector illustration") && prompts[1].contains("A lighthouse stands on the rocks."),
        "{prompts:?}"
    );
    let images =
        app.count("SELECT COUNT(*) FROM usage_ledger WHERE project_id = $1 AND metric = 'images_generated'", &id).await;
    assert_eq!(images, 3, "two pictures generated and the card");
}
