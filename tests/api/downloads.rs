//! Media and export downloads are streamed from storage with HTTP ranges.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::projects::{create, wait_finished};

db_tests!(large_files_download_whole_and_by_range);

/// 24 MiB that differ everywhere (a wrong offset shows), written to a file.
fn large_file(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..24 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let path = dir.join("large.bin");
    std::fs::write(&path, &bytes).expect("write");
    (path, bytes)
}

/// Whole, middle, suffix, open-ended and unsatisfiable ranges of `url`, whose
/// stored object is `expected`.
async fn check_ranges(app: &TestApp, token: &str, url: &str, expected: &[u8], content_type: &str) {
    let size = expected.len();
    let whole = app.get_auth(url, token).await;
    assert_eq!(whole.status(), 200, "{url}");
    assert_eq!(whole.headers()["content-length"], size.to_string());
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-type"], content_type);
    assert!(whole.bytes().await.expect("body") == expected, "{url}: whole body differs");

    let cases = [
        ("bytes=1000000-15999999".to_string(), 1_000_000, 16_000_000),
        (format!("bytes={}-", size - 12_345), size - 12_345, size),
        ("bytes=-4096".to_string(), size - 4096, size),
        (format!("bytes={}-{}", size - 10, size + 1_000_000), size - 10, size),
    ];
    for (range, start, end) in cases {
        let partial =
            app.client.get(app.url(url)).bearer_auth(token).header("range", &range).send().await.expect("get");
        assert_eq!(partial.status(), 206, "{url} {range}");
        assert_eq!(partial.headers()["content-range"], format!("bytes {start}-{}/{size}", end - 1), "{range}");
        assert_eq!(partial.headers()["content-length"], (end - start).to_string(), "{range}");
        assert_eq!(partial.headers()["content-type"], content_type);
        let body = partial.bytes().await.expect("body");
        assert!(body == expected[start..end], "{url} {range}: body differs");
    }
    let outside =
        app.client.get(app.url(url)).bearer_auth(token).header("range", format!("bytes={size}-")).send().await;
    let outside = outside.expect("get");
    assert_eq!(outside.status(), 416, "{url}");
    assert_eq!(outside.headers()["content-range"], format!("bytes */{size}"));
}

async fn large_files_download_whole_and_by_range(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("downloads@example.com").await;
    let token = session.access_token.as_str();
    let scratch = tempfile::tempdir().expect("dir");
    let (large, expected) = large_file(scratch.path());

    // A rendered video, replaced in storage by a large file.
    let id = create(&app, token, json!({"title": "t", "script": "One scene.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let tenant = reelforge::domain::TenantId::parse(&session.tenant_id).expect("tenant id");
    let project_id = reelforge::domain::ProjectId::parse(&id).expect("project id");
    let key = reelforge::projects::service::file_key(
        &app.state.db,
        &tenant,
        &project_id,
        reelforge::projects::types::ProjectFile::Video,
    )
    .await
    .expect("video key");
    app.state.storage.put_file(&key, &large).await.expect("replace the video");
    check_ranges(&app, token, &format!("/api/v1/projects/{id}/video"), &expected, "video/mp4").await;

    // An export, replaced in storage by the same large file.
    let started = app.client.post(app.url("/api/account/export")).bearer_auth(token).send().await.expect("request");
    assert_eq!(started.status(), 202);
    let export_id = started.json::<Value>().await.expect("json")["export_id"].as_str().expect("id").to_string();
    let mut view = Value::Null;
    for _ in 0..200 {
        view = app.get_auth(&format!("/api/account/exports/{export_id}"), token).await.json().await.expect("json");
        if view["status"] == "ready" || view["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["status"], "ready", "{view}");
    let url = view["download_url"].as_str().expect("url").to_string();
    let filename = url.rsplit('/').next().expect("name").to_string();
    let key = reelforge::account::export::download_key(&app.state.db, &tenant, &filename).await.expect("export key");
    app.state.storage.put_file(&key, &large).await.expect("replace the export");
    check_ranges(&app, token, &url, &expected, "application/zip").await;
}
