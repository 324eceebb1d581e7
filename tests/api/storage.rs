//! Storage a tenant cannot escape: exports count toward the quota and one
//! runs at a time; the media of cancelled and failed projects counts until
//! it is deleted; erasure leaves no file behind, even of work that was running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::projects::create;

db_tests!(
    an_export_past_the_storage_quota_is_refused,
    simultaneous_exports_start_exactly_one,
    a_new_export_retires_the_older_ones,
    a_cancelled_projects_media_counts_until_deleted,
    erasure_outlasts_running_work,
);

async fn post_export(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.post(app.url("/api/account/export")).bearer_auth(token).send().await.expect("request")
}

/// Polls an export until it is ready (or failed); returns its view.
async fn wait_export(app: &TestApp, token: &str, id: &str) -> Value {
    let mut view = Value::Null;
    for _ in 0..300 {
        view = app.get_auth(&format!("/api/account/exports/{id}"), token).await.json().await.expect("json");
        if view["status"] == "ready" || view["status"] == "failed" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("export {id} still {} after 30 s", view["status"]);
}

async fn storage_used_mb(app: &TestApp, token: &str) -> f64 {
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    usage["metrics"]["storage_mb"]["used"].as_f64().expect("storage used")
}

/// The archive holds the tenant's media again, so it needs that much room.
async fn an_export_past_the_storage_quota_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUOTA_STORAGE_MB", "1")]).await;
    let session = app.sign_in("export-quota@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "q", "script": "Short.", "template_id": "explainer"})).await;
    // 0.6 MB stored and the project's 0.9 MB reservation: another 0.6 MB passes 1 MB.
    app.exec("UPDATE projects SET bytes_stored = $2 WHERE id = $1", &id, 600_000).await;
    let refused = post_export(&app, token).await;
    assert_eq!(refused.status(), 402);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["metric"], "storage_mb", "{problem}");
    assert_eq!(problem["needed"], 0.6, "the estimate is the stored media: {problem}");
    assert_eq!(problem["quota"], 1.0, "{problem}");
    assert_eq!(app.count("SELECT COUNT(*) FROM exports WHERE tenant_id = $1", &session.tenant_id).await, 0);

    // Without the reservation, and with less stored, it fits.
    let cancel = app.post_auth(&format!("/api/v1/projects/{id}/cancel"), token).await;
    assert_eq!(cancel.status(), 202);
    app.exec("UPDATE projects SET bytes_stored = $2 WHERE id = $1", &id, 400_000).await;
    let started = post_export(&app, token).await;
    assert_eq!(started.status(), 202);
    let export_id = started.json::<Value>().await.expect("json")["export_id"].as_str().expect("id").to_string();
    assert_eq!(wait_export(&app, token, &export_id).await["status"], "ready");
}

/// Two tabs (or a script) asking at once start one export, on both databases.
async fn simultaneous_exports_start_exactly_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("export-race@example.com").await;
    let token = session.access_token.clone();
    // A large media file keeps the first export busy while every request arrives.
    let blob = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("projects/blob");
    std::fs::create_dir_all(&blob).expect("dir");
    std::fs::write(blob.join("blob.bin"), vec![7u8; 96 << 20]).expect("blob");
    let requests = (0..10).map(|_| {
        let request = app.client.post(app.url("/api/account/export")).bearer_auth(&token);
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let started: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, b)| b).collect();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 429).map(|(_, b)| b).collect();
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(started.len(), 1, "{statuses:?}");
    assert_eq!(refused.len(), 9, "{statuses:?}");
    let export_id = started[0]["export_id"].as_str().expect("id");
    assert!(refused.iter().all(|p| p["export_id"] == export_id), "each 429 names the running export");
    assert_eq!(app.count("SELECT COUNT(*) FROM exports WHERE tenant_id = $1", &session.tenant_id).await, 1);
    assert_eq!(wait_export(&app, &token, export_id).await["status"], "ready");
}

/// Only the newest archive is kept: the older one's file and storage go
/// when the new one is ready.
async fn a_new_export_retires_the_older_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("export-twice@example.com").await;
    let token = session.access_token.as_str();
    let blob = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("projects/blob");
    std::fs::create_dir_all(&blob).expect("dir");
    std::fs::write(blob.join("blob.bin"), vec![7u8; 3_000_000]).expect("blob");
    let exports_dir = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("exports");

    let first = post_export(&app, token).await.json::<Value>().await.expect("json")["export_id"]
        .as_str()
        .expect("id")
        .to_string();
    let first_view = wait_export(&app, token, &first).await;
    assert_eq!(first_view["status"], "ready");
    let one = storage_used_mb(&app, token).await;
    assert!(one >= 3.0, "the archive counts: {one} MB");

    let second = post_export(&app, token).await.json::<Value>().await.expect("json")["export_id"]
        .as_str()
        .expect("id")
        .to_string();
    let second_view = wait_export(&app, token, &second).await;
    assert_eq!(second_view["status"], "ready");
    // The older one is retired right after the new one is marked ready.
    let mut first_view = Value::Null;
    for _ in 0..50 {
        first_view = app.get_auth(&format!("/api/account/exports/{first}"), token).await.json().await.expect("json");
        if first_view["status"] != "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(first_view["status"], "expired", "{first_view}");
    assert_eq!(first_view["size_bytes"], 0);
    let files: Vec<String> = crate::helpers::files_under(&exports_dir)
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, vec![format!("reelforge-export-{second}.zip")]);
    let old_download = format!("/api/account/download-export/reelforge-export-{first}.zip");
    assert_eq!(app.get_auth(&old_download, token).await.status(), 404);
    let after = storage_used_mb(&app, token).await;
    assert!((after - one).abs() < 0.1, "one archive counted, not two: {one} MB then {after} MB");
}

/// An OpenAI-compatible speech API that never answers in time: the project's
/// images are made while its narration waits.
async fn start_stuck_speech() -> String {
    async fn speech() -> &'static str {
        tokio::time::sleep(Duration::from_secs(300)).await;
        "too late"
    }
    let router = axum::Router::new().route("/v1/audio/speech", axum::routing::post(speech));
    crate::helpers::serve_stand_in(router).await
}

/// A project cancelled before its video was made still holds its images: they
/// count toward `storage_mb` until the project is deleted.
async fn a_cancelled_projects_media_counts_until_deleted(backend: Backend) {
    let base = start_stuck_speech().await;
    let app = spawn_app_with(backend, &[("TTS_PROVIDER", "openai"), ("TTS_API_BASE", &base)]).await;
    let session = app.sign_in("cancelled-media@example.com").await;
    let token = session.access_token.as_str();
    let script = "First scene here.\n\nSecond scene here.\n\nThird scene here.";
    let id = create(&app, token, json!({"title": "c", "script": script, "template_id": "explainer"})).await;
    let mut images_done = 0;
    for _ in 0..300 {
        images_done = app
            .count("SELECT COUNT(*) FROM steps WHERE project_id = $1 AND kind = 'image' AND status = 'done'", &id)
            .await;
        if images_done > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(images_done > 0, "an image was made");
    let cancel = app.post_auth(&format!("/api/v1/projects/{id}/cancel"), token).await;
    assert_eq!(cancel.status(), 202);
    let images = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("projects").join(&id);
    let on_disk: u64 = crate::helpers::files_under(&images).iter().map(|f| f.metadata().expect("metadata").len()).sum();
    let stored = app.count("SELECT bytes_stored FROM projects WHERE id = $1", &id).await;
    assert!(stored > 0 && stored as u64 <= on_disk, "{stored} bytes recorded, {on_disk} on disk");
    let used = storage_used_mb(&app, token).await;
    assert!(used > 0.0, "the cancelled project's images count: {used} MB");

    let delete =
        app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(delete.status(), 204);
    assert_eq!(storage_used_mb(&app, token).await, 0.0, "deleting the project released its storage");
}

/// An OpenAI-compatible image API that answers after two seconds; counts the
/// requests it got and the answers it sent.
async fn start_slow_images(asked: Arc<AtomicUsize>, answered: Arc<AtomicUsize>) -> String {
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crate::helpers::card_png("SLOW"));
    let router = axum::Router::new().route(
        "/v1/images/generations",
        axum::routing::post(move || {
            let (asked, answered, encoded) = (asked.clone(), answered.clone(), encoded.clone());
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(2)).await;
                answered.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"created": 1, "data": [{"b64_json": encoded}]}))
            }
        }),
    );
    crate::helpers::serve_stand_in(router).await
}

/// A step and an export running when the account is erased finish after
/// the first purge pass: nothing they store may survive the erasure.
async fn erasure_outlasts_running_work(backend: Backend) {
    let (asked, answered) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let base = start_slow_images(asked.clone(), answered.clone()).await;
    let app = spawn_app_with(
        backend,
        &[("IMAGE_PROVIDER", "openai"), ("IMAGE_API_BASE", &base), ("WORKER_LEASE_SECONDS", "12")],
    )
    .await;
    let session = app.sign_in("erased-mid-work@example.com").await;
    let token = session.access_token.as_str();
    create(&app, token, json!({"title": "e", "script": "Only one scene.", "template_id": "explainer"})).await;
    for _ in 0..300 {
        if asked.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(asked.load(Ordering::SeqCst) > 0, "the image step is running");
    // An export with media enough to still be running at the erasure.
    let tenant_media = app.data_dir.path().join("media/tenants").join(&session.tenant_id);
    std::fs::create_dir_all(tenant_media.join("projects/blob")).expect("dir");
    std::fs::write(tenant_media.join("projects/blob/blob.bin"), vec![7u8; 32 << 20]).expect("blob");
    assert_eq!(post_export(&app, token).await.status(), 202);

    let erase = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .json(&json!({"confirm": "erased-mid-work@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(erase.status(), 202);
    let tenant = reelforge::domain::TenantId::parse(&session.tenant_id).expect("a tenant id");
    for _ in 0..400 {
        if reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query"), "purged");
    // The slow image has been answered and its step has had time to store it.
    for _ in 0..100 {
        if answered.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let left = crate::helpers::files_under(&tenant_media);
    assert!(left.is_empty(), "files of the erased tenant survived: {left:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM steps WHERE tenant_id = $1", &session.tenant_id).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM exports WHERE tenant_id = $1", &session.tenant_id).await, 0);
}
