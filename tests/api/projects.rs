//! The creation pipeline end to end: a script becomes a narrated MP4.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

db_tests!(
    a_script_becomes_a_narrated_video,
    another_tenant_gets_404_everywhere,
    validation_and_premium_rules,
    cancel_retry_and_delete,
    queue_full_answers_429_with_an_eta,
    operators_cancel_and_retry_from_the_command_line,
    status_reads_are_cached_for_at_most_a_second,
    estimate_is_what_creation_reserves,
);

pub const THREE_PARAGRAPHS: &str = "Reelforge turns a written script into a narrated video. It draws one picture per scene.\n\n\
    Every scene gets its own voice-over, measured to the millisecond. Subtitles follow the speech.\n\n\
    At the end, ffmpeg joins everything into a single MP4 file. Enjoy the show!";

/// Creates a project and returns its id.
pub async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let response =
        app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("request");
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["status"], "queued");
    assert!(created["eta_seconds"].is_u64());
    created["project_id"].as_str().expect("id").to_string()
}

/// Polls until the project finishes; returns its final view.
pub async fn wait_finished(app: &TestApp, token: &str, id: &str, limit: Duration) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
        let status = project["status"].as_str().unwrap_or_default().to_string();
        if ["completed", "partial", "failed", "cancelled", "draft"].contains(&status.as_str()) {
            return project;
        }
        assert!(std::time::Instant::now() < deadline, "project still {status} after {limit:?}: {project}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn probe(path: &std::path::Path) -> Value {
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name,width,height,pix_fmt",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("json")
}

async fn a_script_becomes_a_narrated_video(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("maker@example.com").await;
    let token = session.access_token.as_str();
    let templates: Value = app.get_auth("/api/v1/templates", token).await.json().await.expect("json");
    assert!(templates.as_array().expect("list").len() >= 4);

    let id =
        create(&app, token, json!({"title": "Demo", "script": THREE_PARAGRAPHS, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["progress"]["percent"], 100.0);
    assert_eq!(project["scenes"].as_array().expect("scenes").len(), 3);
    assert!(project["scenes"].as_array().expect("scenes").iter().all(|s| s["status"] == "done"));
    assert_eq!(project["warnings"], json!([]));
    assert_eq!(project["width"], 1280, "Free renders 720p");

    // The video: H.264 + AAC, browser-playable pixel format, as long as the speech.
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await;
    assert_eq!(video.status(), 200);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    assert_eq!(video.headers()["accept-ranges"], "bytes");
    // Revalidated on each use: a retried render replaces the file at this URL.
    assert_eq!(video.headers()["cache-control"], "private, no-cache");
    let etag = video.headers()["etag"].to_str().expect("etag").to_string();
    let unchanged = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}/video")))
        .bearer_auth(token)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], etag.as_str());
    let thumbnail = app.get_auth(&format!("/api/v1/projects/{id}/thumbnail"), token).await;
    assert_ne!(thumbnail.headers()["etag"], etag.as_str(), "each file has its own version tag");
    let bytes = video.bytes().await.expect("body");
    let path = app.data_dir.path().join("downloaded.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let info = probe(&path);
    let streams = info["streams"].as_array().expect("streams");
    let video_stream = streams.iter().find(|s| s["codec_type"] == "video").expect("video stream");
    assert_eq!(video_stream["codec_name"], "h264");
    assert_eq!(video_stream["pix_fmt"], "yuv420p");
    assert_eq!(video_stream["width"], 1280);
    assert!(streams.iter().any(|s| s["codec_type"] == "audio" && s["codec_name"] == "aac"), "narration");
    let duration: f64 = info["format"]["duration"].as_str().expect("duration").parse().expect("number");
    let reported = project["duration_seconds"].as_f64().expect("duration");
    assert!((duration - reported).abs() < 0.3, "{duration} vs {reported}");
    assert!(duration > 6.0, "three scenes of speech: {duration}");
    // faststart: the index (moov) comes before the media data (mdat).
    let moov = bytes.windows(4).position(|w| w == b"moov").expect("moov");
    let mdat = bytes.windows(4).position(|w| w == b"mdat").expect("mdat");
    assert!(moov < mdat, "+faststart");

    // Range requests.
    let partial = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}/video")))
        .bearer_auth(token)
        .header("range", "bytes=0-99")
        .send()
        .await
        .expect("request");
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.headers()["content-range"], format!("bytes 0-99/{}", bytes.len()));
    assert_eq!(partial.bytes().await.expect("body").as_ref(), &bytes[..100]);
    let beyond = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}/video")))
        .bearer_auth(token)
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .expect("request");
    assert_eq!(beyond.status(), 416);

    let thumbnail = app.get_auth(&format!("/api/v1/projects/{id}/thumbnail"), token).await;
    assert_eq!(thumbnail.status(), 200);
    assert_eq!(thumbnail.headers()["content-type"], "image/jpeg");
    assert_eq!(&thumbnail.bytes().await.expect("body")[..2], &[0xFF, 0xD8]);
    let captions =
        app.get_auth(&format!("/api/v1/projects/{id}/captions.vtt"), token).await.text().await.expect("text");
    assert!(captions.starts_with("WEBVTT"));
    assert_eq!(captions.matches(" --> ").count(), 6, "one cue per sentence: {captions}");
    assert!(captions.contains("Enjoy the show!"));

    let list: Value = app.get_auth("/api/v1/projects", token).await.json().await.expect("json");
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(list["items"][0]["thumbnail_url"].is_string());

    // Server-Sent Events of a finished project: step states, then done.
    let events = app.get_auth(&format!("/api/v1/projects/{id}/events"), token).await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(Duration::from_secs(10), events.text()).await.expect("stream ends").expect("text");
    assert_eq!(text.matches("event: step").count(), 11, "3 images, 3 speech, 3 segments, the sound, the final step");
    assert!(text.contains("event: done") && text.contains("\"status\":\"completed\""));
}

async fn another_tenant_gets_404_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.sign_in("owner@example.com").await;
    let other = app.sign_in("other@example.com").await;
    let id = create(
        &app,
        &owner.access_token,
        json!({"title": "Mine", "script": "One short scene.", "template_id": "square"}),
    )
    .await;
    wait_finished(&app, &owner.access_token, &id, Duration::from_secs(60)).await;
    let missing = "01900000-0000-7000-8000-000000000000";
    for target in [id.as_str(), missing] {
        for path in ["", "/video", "/thumbnail", "/captions.vtt", "/captions.srt", "/events"] {
            let response = app.get_auth(&format!("/api/v1/projects/{target}{path}"), &other.access_token).await;
            assert_eq!(response.status(), 404, "GET {path} of {target}");
            let body: Value = response.json().await.expect("problem");
            assert_eq!(body["detail"], "no such resource", "same answer for another tenant's and a missing project");
        }
        for path in ["/retry", "/cancel"] {
            let response = app
                .client
                .post(app.url(&format!("/api/v1/projects/{target}{path}")))
                .bearer_auth(&other.access_token)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 404, "POST {path}");
        }
        let response = app
            .client
            .delete(app.url(&format!("/api/v1/projects/{target}")))
            .bearer_auth(&other.access_token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404);
    }
    let list: Value = app.get_auth("/api/v1/projects", &other.access_token).await.json().await.expect("json");
    assert_eq!(list["items"], json!([]));
    // Still there for its owner.
    assert_eq!(app.get_auth(&format!("/api/v1/projects/{id}/video"), &owner.access_token).await.status(), 200);
}

async fn validation_and_premium_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("rules@example.com").await;
    let token = session.access_token.as_str();
    let cases = [
        (json!({"title": "t", "script": "", "template_id": "explainer"}), "script"),
        (json!({"title": "t", "script": "x".repeat(20_001), "template_id": "explainer"}), "script"),
        (json!({"title": "t", "script": "?!... ---", "template_id": "explainer"}), "script"),
        (json!({"title": "t", "script": "Hello.", "template_id": "nope"}), "template_id"),
        (json!({"title": "", "script": "Hello.", "template_id": "explainer"}), "title"),
        (json!({"title": "t", "script": "Hello.", "template_id": "explainer", "language": "english!"}), "language"),
        (json!({"title": "t", "template_id": "explainer"}), "script"),
    ];
    for (body, field) in cases {
        let response = app
            .client
            .post(app.url("/api/v1/projects/create"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{field}");
        let problem: Value = response.json().await.expect("json");
        assert!(problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field), "{problem}");
    }
    let premium = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "t", "script": "Hello.", "template_id": "cinematic"}))
        .send()
        .await
        .expect("request");
    assert_eq!(premium.status(), 402);
    let problem: Value = premium.json().await.expect("json");
    assert!(problem["upgrade_url"].as_str().expect("url").ends_with("/billing"));
    let count = app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await;
    assert_eq!(count, 0, "nothing was created");
    assert_eq!(app.client.get(app.url("/api/v1/templates")).send().await.expect("request").status(), 401);

    // A paid tenant may use it, at the template's full size.
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    let response = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "t", "script": "Hello.", "template_id": "cinematic"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.expect("json")["project_id"].as_str().expect("id").to_string();
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["width"], 1920);
}

async fn estimate_is_what_creation_reserves(backend: Backend) {
    // No workers: the reservation stays in place while we read it.
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("estimate@example.com").await;
    let token = session.access_token.as_str();
    let estimate_of =
        |body: Value| app.client.post(app.url("/api/v1/projects/estimate")).bearer_auth(token).json(&body).send();

    // The title is optional; a body that creation takes gives the same figures.
    let without_title =
        estimate_of(json!({"script": THREE_PARAGRAPHS, "template_id": "explainer"})).await.expect("request");
    assert_eq!(without_title.status(), 200);
    let estimate: Value = without_title.json().await.expect("json");
    let body = json!({"title": "Demo", "script": THREE_PARAGRAPHS, "template_id": "explainer", "language": "en"});
    let with_title: Value = estimate_of(body.clone()).await.expect("request").json().await.expect("json");
    assert_eq!(estimate, with_title);
    // 15 + 14 + 14 words at 2.5 words a second: 6 + 5.6 + 5.6 s of speech; each
    // scene's video is its speech plus 0.6 s (19 s); 150 B per video ms plus
    // 600 kB per scene.
    assert_eq!(estimate["scenes"], 3, "{estimate}");
    assert_eq!(estimate["words"], 43, "{estimate}");
    let reserve = &estimate["reserve"];
    for (metric, amount) in
        [("images_generated", 3.0), ("tts_seconds", 17.2), ("render_minutes", 0.32), ("storage_mb", 4.65)]
    {
        assert_eq!(reserve[metric].as_f64(), Some(amount), "{metric}: {estimate}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    for metric in ["images_generated", "tts_seconds", "render_minutes", "storage_mb"] {
        assert_eq!(usage["metrics"][metric]["reserved"].as_f64(), Some(0.0), "an estimate reserves nothing");
    }

    // Creating the project reserves exactly the estimate.
    create(&app, token, body).await;
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    for metric in ["images_generated", "tts_seconds", "render_minutes", "storage_mb"] {
        assert_eq!(usage["metrics"][metric]["reserved"], reserve[metric], "{metric}: {usage}");
    }

    // The same 422s as creation.
    let cases = [
        (json!({"script": "", "template_id": "explainer"}), "script"),
        (json!({"script": "x".repeat(20_001), "template_id": "explainer"}), "script"),
        (json!({"script": "?!... ---", "template_id": "explainer"}), "script"),
        (json!({"script": "Hello.", "template_id": "nope"}), "template_id"),
        (json!({"title": "", "script": "Hello.", "template_id": "explainer"}), "title"),
        (json!({"script": "Hello.", "template_id": "explainer", "language": "english!"}), "language"),
        (json!({"script": "Hello.", "template_id": "explainer", "voice": "../x"}), "voice"),
        (json!({"template_id": "explainer"}), "script"),
    ];
    for (body, field) in cases {
        let response = estimate_of(body).await.expect("request");
        assert_eq!(response.status(), 422, "{field}");
        let problem: Value = response.json().await.expect("json");
        assert!(problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field), "{problem}");
    }
    // Signed in only.
    let anonymous = app
        .client
        .post(app.url("/api/v1/projects/estimate"))
        .json(&json!({"script": "Hello.", "template_id": "explainer"}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
}

async fn cancel_retry_and_delete(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("cancel@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "c", "script": "One.\n\nTwo.", "template_id": "explainer"})).await;
    let cancel = app.post_auth(&format!("/api/v1/projects/{id}/cancel"), token).await;
    assert_eq!(cancel.status(), 202);
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["status"], "cancelled");
    let again = app.post_auth(&format!("/api/v1/projects/{id}/cancel"), token).await;
    assert_eq!(again.status(), 409, "already finished");
    // Cancelled work can be retried; then nothing is left to retry.
    let retry = app
        .client
        .post(app.url(&format!("/api/v1/projects/{id}/retry")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(retry.status(), 202);
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["status"], "queued");
    let retry = app
        .client
        .post(app.url(&format!("/api/v1/projects/{id}/retry")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(retry.status(), 409);

    let script_file = app
        .data_dir
        .path()
        .join("media/tenants")
        .join(&session.tenant_id)
        .join("projects")
        .join(&id)
        .join("script.txt");
    assert!(script_file.exists(), "{}", script_file.display());
    let delete =
        app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(delete.status(), 204);
    assert!(!script_file.exists(), "media deleted");
    assert_eq!(app.get_auth(&format!("/api/v1/projects/{id}"), token).await.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM steps WHERE project_id = $1", &id).await, 0);
}

async fn queue_full_answers_429_with_an_eta(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING", "2")]).await;
    let session = app.sign_in("busy@example.com").await;
    let token = session.access_token.as_str();
    for i in 0..2 {
        create(&app, token, json!({"title": format!("p{i}"), "script": "Hello there.", "template_id": "explainer"}))
            .await;
    }
    let full = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "p", "script": "Hello.", "template_id": "explainer"}))
        .send()
        .await
        .expect("request");
    assert_eq!(full.status(), 429);
    let retry_after: u64 = full.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    let problem: Value = full.json().await.expect("json");
    assert_eq!(problem["eta_seconds"].as_u64(), Some(retry_after));
    assert!(retry_after >= 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_event_streams() {
    let mut app = spawn_app_with(Backend::Sqlite, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("stream@example.com").await;
    let id = create(
        &app,
        &session.access_token,
        json!({"title": "s", "script": "Never rendered.", "template_id": "explainer"}),
    )
    .await;
    let stream = app.get_auth(&format!("/api/v1/projects/{id}/events"), &session.access_token).await;
    assert_eq!(stream.status(), 200);
    // The project never finishes (no workers); stopping must not wait for the stream.
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("the server stopped with a stream open");
    let body = tokio::time::timeout(Duration::from_secs(5), stream.text()).await.expect("the stream ended");
    assert!(body.unwrap_or_default().contains("event: step"));
}

/// Operators can cancel and retry a customer's project from the command line.
async fn operators_cancel_and_retry_from_the_command_line(backend: Backend) {
    use reelforge::cli::{ProjectAction, project_action};
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("operator@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "o", "script": "One scene.", "template_id": "explainer"})).await;
    let config = app.state.config.clone();
    project_action(config.clone(), &id, ProjectAction::Cancel).await.expect("cancel");
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["status"], "cancelled", "{project}");
    assert!(project_action(config.clone(), &id, ProjectAction::Cancel).await.is_err(), "already finished");
    project_action(config.clone(), &id, ProjectAction::Retry).await.expect("retry");
    // The command is another process: the API's status cache shows it within a second.
    tokio::time::sleep(reelforge::projects::service::PROJECT_CACHE_TTL).await;
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_ne!(project["status"], "cancelled", "{project}");
    let missing = project_action(config, "no-such-project", ProjectAction::Retry).await.expect_err("unknown id");
    assert!(missing.to_string().contains("no project"), "{missing}");
}

/// Status polls are served from a one-second cache: a change this process
/// makes shows at once, a change made elsewhere (another worker process)
/// within the second.
async fn status_reads_are_cached_for_at_most_a_second(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("poller@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "before", "script": "One scene.", "template_id": "explainer"})).await;
    assert_eq!(project_title(&app, token, &id).await, "before");
    // Another process's write: nothing here is told about it.
    app.exec("UPDATE projects SET title = $1 WHERE id IN (SELECT id FROM projects WHERE $2 = $2)", "after", 0).await;
    assert_eq!(project_title(&app, token, &id).await, "before", "served from the cache");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(project_title(&app, token, &id).await, "after", "fresh after the TTL");
    // A change made through this process shows at once.
    assert_eq!(
        app.client
            .post(app.url(&format!("/api/v1/projects/{id}/cancel")))
            .bearer_auth(token)
            .send()
            .await
            .expect("cancel")
            .status(),
        202
    );
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    assert_eq!(project["status"], "cancelled");
}

async fn project_title(app: &TestApp, token: &str, id: &str) -> String {
    let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
    project["title"].as_str().unwrap_or_default().to_string()
}
