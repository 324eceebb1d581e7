//! Scenes you control (SPEC 4.7): a storyboard first, edits to single
//! scenes, and renders that re-make only what an edit changed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, files_under, spawn_app, spawn_app_with};
use crate::media::{ffmpeg, upload_ok};
use crate::projects::{create, wait_finished};

db_tests!(
    a_storyboard_comes_first_and_renders_on_demand,
    editing_one_scene_rerenders_only_what_changed,
    scenes_are_checked_like_a_new_project,
    moving_scenes_keeps_their_narration,
    uploaded_pictures_and_clips_become_scenes,
    illustrations_are_pictures_not_cards,
);

const WAIT: Duration = Duration::from_secs(90);

fn scenes(texts: &[&str]) -> Value {
    json!(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"text": t, "title": format!("Part {}", i + 1), "visual": {"kind": "card"}}))
            .collect::<Vec<_>>()
    )
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.patch(app.url(path)).bearer_auth(token).json(&body).send().await.expect("request")
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.expect("request")
}

async fn scene_list(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let response = app.get_auth(&format!("/api/v1/projects/{id}/scenes"), token).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// Ledger rows of a metric for the project.
pub async fn ledger(app: &TestApp, id: &str, metric: &'static str) -> i64 {
    let sql = match metric {
        "images_generated" => "SELECT COUNT(*) FROM usage_ledger WHERE project_id = $1 AND metric = 'images_generated'",
        "tts_seconds" => "SELECT COUNT(*) FROM usage_ledger WHERE project_id = $1 AND metric = 'tts_seconds'",
        _ => "SELECT COUNT(*) FROM usage_ledger WHERE project_id = $1 AND metric = 'render_minutes'",
    };
    app.count(sql, id).await
}

/// Step rows of the project that started at or after `since` (ms): the steps a render ran.
pub async fn steps_run_since(app: &TestApp, id: &str, since: i64) -> Vec<(String, i64)> {
    let sql =
        "SELECT kind, scene_index FROM steps WHERE project_id = $1 AND started_at >= $2 ORDER BY kind, scene_index";
    let mut rows: Vec<(String, i64)> = match &app.state.db {
        reelforge::db::Db::Sqlite(pool) => {
            sqlx::query_as(sql).bind(id).bind(since).fetch_all(pool).await.expect("steps")
        }
        reelforge::db::Db::Postgres(pool) => {
            sqlx::query_as(sql).bind(id).bind(since).fetch_all(pool).await.expect("steps")
        }
    };
    rows.sort();
    rows
}

fn now_ms() -> i64 {
    reelforge::db::now_ms()
}

async fn a_storyboard_comes_first_and_renders_on_demand(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("board@example.com").await;
    let token = &session.access_token;
    let body = json!({
        "title": "Storyboard",
        "template_id": "explainer",
        "render": false,
        "scenes": [
            {"text": "Our bakery opens at six every morning.", "title": "Open at six", "visual": {"kind": "card"}},
            {"text": "The bread is baked with flour from the valley.", "voice": "espeak:en-us"},
            {"text": "Come and taste it."},
        ],
    });
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "draft", "{project}");
    assert!(project["video_url"].is_null(), "a storyboard has no video yet");
    assert_eq!(project["stale"], false);
    assert_eq!(project["progress"]["total"], 6, "pictures and narration only");
    let list = scene_list(&app, token, &id).await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["title"], "Open at six");
    assert_eq!(list[1]["voice"], "espeak:en-us");
    for scene in &list {
        assert_eq!(scene["status"], "done", "{scene}");
        assert!(scene["duration_seconds"].as_f64().unwrap_or(0.0) > 0.5, "{scene}");
        let image = app.get_auth(scene["image_url"].as_str().expect("image_url"), token).await;
        assert_eq!(image.status(), 200);
        assert_eq!(image.headers()["content-type"], "image/png");
        assert!(image.bytes().await.expect("png").starts_with(b"\x89PNG"));
        let audio = app.get_auth(scene["audio_url"].as_str().expect("audio_url"), token).await;
        assert_eq!(audio.headers()["content-type"], "audio/wav");
        assert!(audio.bytes().await.expect("wav").starts_with(b"RIFF"));
    }
    assert_eq!(ledger(&app, &id, "render_minutes").await, 0);

    let rendered_at = now_ms();
    let response = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert!(project["video_url"].is_string());
    // The storyboard's pictures and narration were used, not made again.
    let ran = steps_run_since(&app, &id, rendered_at).await;
    assert!(ran.iter().all(|(kind, _)| ["segment", "audio", "final"].contains(&kind.as_str())), "{ran:?}");
    assert_eq!(ran.len(), 5, "three segments, the sound and the final step: {ran:?}");
    assert_eq!(ledger(&app, &id, "images_generated").await, 3);
    assert_eq!(ledger(&app, &id, "tts_seconds").await, 3);
    assert_eq!(ledger(&app, &id, "render_minutes").await, 1);

    // Nothing changed: nothing to render.
    let again = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(again.status(), 409);
    let problem: Value = again.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("up to date"), "{problem}");
}

async fn editing_one_scene_rerenders_only_what_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("edit@example.com").await;
    let token = &session.access_token;
    let texts = [
        "The first scene sets the stage.",
        "The second scene tells the story.",
        "The third scene turns it around.",
        "The fourth scene ends it.",
    ];
    let id = create(&app, token, json!({"title": "Edits", "template_id": "explainer", "scenes": scenes(&texts)})).await;
    let first = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(first["status"], "completed", "{first}");
    let old_video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let project_dir =
        app.data_dir.path().join("media").join("tenants").join(&session.tenant_id).join("projects").join(&id);
    let old_videos: Vec<_> = files_under(&project_dir).into_iter().filter(|p| p.ends_with("video.mp4")).collect();
    assert_eq!(old_videos.len(), 1);

    let edited = patch(
        &app,
        token,
        &format!("/api/v1/projects/{id}/scenes/1"),
        json!({"text": "The second scene tells a better story."}),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.expect("json");
    assert_eq!(edited["text"], "The second scene tells a better story.");
    assert_eq!(edited["status"], "stale");
    assert!(edited["audio_url"].is_null(), "the old narration is not this text's");
    assert_eq!(edited["title"], "Part 2", "what the edit does not name stays");
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["stale"], true);
    assert_eq!(project["status"], "completed");
    let statuses: Vec<&str> = project["scenes"]
        .as_array()
        .expect("scenes")
        .iter()
        .map(|s| s["status"].as_str().unwrap_or_default())
        .collect();
    // Scene 1's speech and the crossfades of its neighbours are out of date.
    assert_eq!(statuses, ["stale", "stale", "stale", "done"]);

    let rendered_at = now_ms();
    let started = Instant::now();
    let response = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(response.status(), 202);
    // The previous video stays downloadable while the new one is made.
    let during = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await;
    assert_eq!(during.status(), 200);
    let project = wait_finished(&app, token, &id, WAIT).await;
    let rerender = started.elapsed();
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["stale"], false);

    // Exactly the narration of scene 1, the three segments around it, the sound and the final step ran.
    let ran = steps_run_since(&app, &id, rendered_at).await;
    let expected: Vec<(String, i64)> = vec![
        ("audio".into(), -1),
        ("final".into(), -1),
        ("segment".into(), 0),
        ("segment".into(), 1),
        ("segment".into(), 2),
        ("speech".into(), 1),
    ];
    assert_eq!(ran, expected, "re-rendered in {rerender:?}");
    // Billed: one more narration and the new video; no picture (its title did not change).
    assert_eq!(ledger(&app, &id, "images_generated").await, 4);
    assert_eq!(ledger(&app, &id, "tts_seconds").await, 5);
    assert_eq!(ledger(&app, &id, "render_minutes").await, 2);

    let new_video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    assert_ne!(old_video, new_video);
    // Storage follows: the previous video and the replaced outputs are gone,
    // and the project counts what is left.
    let files = files_under(&project_dir);
    let videos: Vec<_> = files.iter().filter(|p| p.ends_with("video.mp4")).collect();
    assert_eq!(videos.len(), 1, "{videos:?}");
    assert!(!files.contains(&old_videos[0]));
    let segments = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4") && p.to_string_lossy().contains("/segments/"))
        .count();
    assert_eq!(segments, 4);
    let on_disk: u64 = files.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
    let counted = app.count("SELECT bytes_stored FROM projects WHERE id = $1", &id).await;
    assert_eq!(counted as u64, on_disk);
}

async fn scenes_are_checked_like_a_new_project(backend: Backend) {
    // No workers: a queued project stays queued.
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("rules@example.com").await;
    let token = &session.access_token;
    let id = create(
        &app,
        token,
        json!({"title": "Rules", "template_id": "explainer", "render": false, "scenes": scenes(&["One.", "Two."])}),
    )
    .await;
    let base = format!("/api/v1/projects/{id}");

    // While a render runs, scenes do not change and no second render starts.
    let busy = patch(&app, token, &format!("{base}/scenes/0"), json!({"text": "Changed."})).await;
    assert_eq!(busy.status(), 409);
    assert_eq!(app.post_auth(&format!("{base}/render"), token).await.status(), 409);
    assert_eq!(app.post_auth(&format!("{base}/cancel"), token).await.status(), 202);

    let bad = patch(
        &app,
        token,
        &format!("{base}/scenes/0"),
        json!({"text": "  ", "title": "x".repeat(81), "voice": "piper:/etc/passwd"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.expect("json");
    let fields: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().unwrap_or_default()).collect();
    assert_eq!(fields, ["text", "title", "voice"]);
    let typo = patch(&app, token, &format!("{base}/scenes/0"), json!({"txt": "typo"})).await;
    assert_eq!(typo.status(), 422);
    assert_eq!(patch(&app, token, &format!("{base}/scenes/7"), json!({"text": "Nope."})).await.status(), 404);
    assert_eq!(patch(&app, token, &format!("{base}/scenes/x"), json!({"text": "Nope."})).await.status(), 404);

    let inserted = post(
        &app,
        token,
        &format!("{base}/scenes"),
        json!({"at": 1, "text": "One and a half.", "visual": {"kind": "card"}}),
    )
    .await;
    assert_eq!(inserted.status(), 200);
    let list: Vec<Value> = inserted.json().await.expect("json");
    let texts: Vec<&str> = list.iter().map(|s| s["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(texts, ["One.", "One and a half.", "Two."]);
    assert_eq!(post(&app, token, &format!("{base}/scenes"), json!({"at": 9, "text": "Far."})).await.status(), 422);

    let reordered = post(&app, token, &format!("{base}/scenes/reorder"), json!({"order": [2, 0, 1]})).await;
    assert_eq!(reordered.status(), 200);
    let list: Vec<Value> = reordered.json().await.expect("json");
    let texts: Vec<&str> = list.iter().map(|s| s["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(texts, ["Two.", "One.", "One and a half."]);
    assert_eq!(list[0]["title"], "Part 2", "a scene moves with its title and visual");
    for order in [json!([0, 0, 1]), json!([0, 1]), json!([0, 1, 2, 3])] {
        let refused = post(&app, token, &format!("{base}/scenes/reorder"), json!({"order": order})).await;
        assert_eq!(refused.status(), 422, "{order}");
    }

    let deleted =
        app.client.delete(app.url(&format!("{base}/scenes/1"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 200);
    let list: Vec<Value> = deleted.json().await.expect("json");
    assert_eq!(list.len(), 2);
    let deleted =
        app.client.delete(app.url(&format!("{base}/scenes/1"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 200);
    let last =
        app.client.delete(app.url(&format!("{base}/scenes/0"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(last.status(), 422, "a project keeps at least one scene");

    // Another tenant sees none of it.
    let other = app.sign_in("other@example.com").await;
    assert_eq!(app.get_auth(&format!("{base}/scenes"), &other.access_token).await.status(), 404);
    assert_eq!(
        patch(&app, &other.access_token, &format!("{base}/scenes/0"), json!({"text": "Mine."})).await.status(),
        404
    );
    assert_eq!(app.post_auth(&format!("{base}/render"), &other.access_token).await.status(), 404);
    assert_eq!(app.get_auth(&format!("{base}/scenes/0/image"), &other.access_token).await.status(), 404);

    // At most 60 scenes.
    let sixty: Vec<String> = (0..60).map(|i| format!("Scene number {i}.")).collect();
    let refs: Vec<&str> = sixty.iter().map(String::as_str).collect();
    let full = create(
        &app,
        token,
        json!({"title": "Full", "template_id": "explainer", "render": false, "scenes": scenes(&refs)}),
    )
    .await;
    assert_eq!(app.post_auth(&format!("/api/v1/projects/{full}/cancel"), token).await.status(), 202);
    let over =
        post(&app, token, &format!("/api/v1/projects/{full}/scenes"), json!({"at": 0, "text": "One too many."})).await;
    assert_eq!(over.status(), 422);
}

async fn moving_scenes_keeps_their_narration(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("move@example.com").await;
    let token = &session.access_token;
    let body = json!({"title": "Moves", "template_id": "explainer", "render": false, "scenes": scenes(&["Alpha is first.", "Beta is second.", "Gamma is third."])});
    let id = create(&app, token, body).await;
    assert_eq!(wait_finished(&app, token, &id, WAIT).await["status"], "draft");
    let before = scene_list(&app, token, &id).await;
    let moved = post(&app, token, &format!("/api/v1/projects/{id}/scenes/reorder"), json!({"order": [2, 0, 1]})).await;
    assert_eq!(moved.status(), 200);
    let after: Vec<Value> = moved.json().await.expect("json");
    // The narration of each scene is found wherever the scene went.
    assert_eq!(after[0]["duration_seconds"], before[2]["duration_seconds"]);
    assert!(after[0]["audio_url"].is_string());
    let response = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(response.status(), 202);
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(ledger(&app, &id, "tts_seconds").await, 3, "no narration was made again");
    let texts: Vec<&str> =
        project["scenes"].as_array().expect("scenes").iter().map(|s| s["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(texts, ["Gamma is third.", "Alpha is first.", "Beta is second."]);
    let captions = app.get_auth(&format!("/api/v1/projects/{id}/captions.vtt"), token).await.text().await.expect("vtt");
    let gamma = captions.find("Gamma").expect("gamma");
    let alpha = captions.find("Alpha").expect("alpha");
    assert!(gamma < alpha, "captions follow the new order: {captions}");
}

/// The mean luma of a frame of `video` at `seconds`, over a band of rows
/// (`top`..`bottom` as fractions of the height).
fn luma(video: &std::path::Path, seconds: f64, top: f64, bottom: f64) -> f64 {
    let filter = format!("crop=iw:ih*{h}:0:ih*{top},scale=64:8,format=gray", h = bottom - top);
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{seconds:.2}"), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-vf", &filter, "-f", "rawvideo", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(!output.stdout.is_empty(), "no frame at {seconds} s");
    output.stdout.iter().map(|v| f64::from(*v)).sum::<f64>() / output.stdout.len() as f64
}

async fn uploaded_pictures_and_clips_become_scenes(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("uploads@example.com").await;
    let token = &session.access_token;
    // A white panorama (a different shape than the 16:9 frame) and a 2 s red clip.
    let panorama = ffmpeg(&["-f", "lavfi", "-i", "color=c=white:s=1200x300", "-frames:v", "1"], "wide.png");
    let picture = upload_ok(&app, token, "wide.png", &panorama).await;
    let clip_bytes = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=640x480:r=25:d=2",
            "-f",
            "lavfi",
            "-i",
            "sine=d=2",
            "-shortest",
            "-pix_fmt",
            "yuv420p",
        ],
        "red.mp4",
    );
    let clip = upload_ok(&app, token, "red.mp4", &clip_bytes).await;
    let body = json!({
        "title": "Uploads",
        "template_id": "explainer",
        "scenes": [
            {"text": "A wide white picture of our own.", "visual": {"kind": "upload", "media_id": picture["id"]}},
            {"text": "A red clip of our own, shorter than the words that go with it.", "visual": {"kind": "upload", "media_id": clip["id"]}},
        ],
    });
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    // Nothing was generated for either scene.
    assert_eq!(ledger(&app, &id, "images_generated").await, 0);
    let list = scene_list(&app, token, &id).await;
    assert_eq!(list[1]["visual"]["kind"], "upload");
    assert!(list[1]["image_url"].is_string(), "the clip's first frame is the storyboard picture");

    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &video).expect("write");
    let info = crate::projects::probe(&path);
    let streams = info["streams"].as_array().expect("streams");
    assert_eq!(streams.iter().filter(|s| s["codec_type"] == "audio").count(), 1, "the narration only: {info}");
    // The panorama keeps its shape: white in the middle band, a blurred (dimmer) fill above it.
    let middle = luma(&path, 1.0, 0.45, 0.55);
    let top = luma(&path, 1.0, 0.0, 0.08);
    assert!(middle > 200.0, "the picture fills the middle band: {middle}");
    assert!(top < middle - 30.0 && top > 10.0, "the band above is a dimmed fill, not the picture or black: {top}");
    // The clip plays in its scene (red), and holds its last frame past its 2 s.
    let duration = info["format"]["duration"].as_str().and_then(|d| d.parse::<f64>().ok()).expect("duration");
    let near_end = duration - 0.3;
    let red = |t: f64| {
        let output = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-ss", &format!("{t:.2}"), "-i"])
            .arg(&path)
            .args([
                "-frames:v",
                "1",
                "-vf",
                "crop=iw/2:ih/2:iw/4:ih/4,scale=1:1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ])
            .output()
            .expect("ffmpeg runs");
        output.stdout.clone()
    };
    let last = red(near_end);
    assert!(last.len() == 3 && last[0] > 180 && last[1] < 80 && last[2] < 80, "red at {near_end:.1} s: {last:?}");

    // A file a scene shows cannot be deleted; the answer names the project.
    let refused = app
        .client
        .delete(app.url(&format!("/api/v1/media/{}", clip["id"].as_str().expect("id"))))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["projects"][0]["id"], id.as_str(), "{problem}");
    // Another tenant's file cannot be used in a scene.
    let other = app.sign_in("stranger@example.com").await;
    let theirs = upload_ok(&app, &other.access_token, "wide.png", &panorama).await;
    let stolen = patch(
        &app,
        token,
        &format!("/api/v1/projects/{id}/scenes/0"),
        json!({"visual": {"kind": "upload", "media_id": theirs["id"]}}),
    )
    .await;
    assert_eq!(stolen.status(), 422);
    let problem: Value = stolen.json().await.expect("json");
    assert_eq!(problem["errors"][0]["field"], "visual.media_id");
}

/// `{"kind":"illustration"}` scenes get the offline illustration (an icon
/// matched to their words), and so does an `auto` scene on a server without
/// an images provider: pictures (captions burn over them), not the card.
async fn illustrations_are_pictures_not_cards(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("illustrations@example.com").await;
    let token = &session.access_token;
    let text = "Storms were the hardest nights. Wind shook the glass.";
    let body = json!({
        "title": "Illustrated",
        "template_id": "explainer",
        "render": false,
        "scenes": [
            {"text": text, "title": "Storm nights", "visual": {"kind": "card"}},
            {"text": text, "title": "Storm nights", "visual": {"kind": "illustration"}},
            {"text": "Our bakery opens at six."},
        ],
    });
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "draft", "{project}");
    let list = scene_list(&app, token, &id).await;
    assert_eq!(list[1]["visual"], json!({"kind": "illustration"}), "{}", list[1]);
    let mut pictures = Vec::new();
    for scene in &list {
        let image = app.get_auth(scene["image_url"].as_str().expect("image_url"), token).await;
        assert_eq!(image.status(), 200);
        let png = image.bytes().await.expect("png");
        assert!(png.starts_with(b"\x89PNG"));
        pictures.push(png);
    }
    assert_ne!(pictures[0], pictures[1], "the illustration is not the card of the same scene");
    let cards = app
        .count(
            "SELECT COUNT(*) FROM steps WHERE project_id = $1 AND kind = 'image' AND output LIKE '%\"card\":true%'",
            &id,
        )
        .await;
    assert_eq!(cards, 1, "only the card scene is a card; the illustration and the auto scene are pictures");
    assert_eq!(ledger(&app, &id, "images_generated").await, 3);

    // The whole video renders with them.
    let response = app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let project = wait_finished(&app, token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
}
