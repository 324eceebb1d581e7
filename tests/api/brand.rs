//! A paid tenant's brand logo (issue 17): uploaded as PNG or SVG, checked,
//! placed in the chosen corner with its opacity over every scene of its
//! videos; Free tenants keep the watermark and cannot set one.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::projects::{create, wait_finished};

db_tests!(a_logo_is_checked_and_only_for_paid_plans, the_logo_is_in_its_corner_of_the_video);

const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">
    <rect width="200" height="100" fill="#ff0000"/></svg>"##;

async fn put_logo(app: &TestApp, token: &str, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/brand/logo"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn patch(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.patch(app.url("/api/v1/brand")).bearer_auth(token).json(&body).send().await.expect("request")
}

async fn a_logo_is_checked_and_only_for_paid_plans(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("brand@example.com").await;
    let token = &session.access_token;

    let brand: Value = app.get_auth("/api/v1/brand", token).await.json().await.expect("json");
    assert_eq!(brand, json!({"logo_url": null, "corner": "bottom_right", "opacity": 0.85, "available": false}));
    let response = put_logo(&app, token, SVG.as_bytes().to_vec(), "image/svg+xml").await;
    assert_eq!(response.status(), 402, "Free videos carry the watermark instead");
    let problem: Value = response.json().await.expect("json");
    assert!(problem["upgrade_url"].as_str().unwrap_or_default().ends_with("/billing"), "{problem}");
    assert_eq!(patch(&app, token, json!({"corner": "top_left"})).await.status(), 402);

    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    // Types are read from the content: an SVG sent as PNG is still an SVG.
    let response = put_logo(&app, token, SVG.as_bytes().to_vec(), "image/png").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    let brand: Value = response.json().await.expect("json");
    assert_eq!(brand["available"], true);
    let url = brand["logo_url"].as_str().expect("a logo").to_string();
    let logo = app.get_auth(&url, token).await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert!(logo.bytes().await.expect("png").starts_with(b"\x89PNG"));

    for (body, why) in [
        (b"GIF89a not a logo".to_vec(), "PNG or an SVG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect".to_vec(), "could not be read"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>".to_vec(), "nothing visible"),
    ] {
        let response = put_logo(&app, token, body, "image/png").await;
        assert_eq!(response.status(), 422, "{why}");
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "file");
        assert!(problem["errors"][0]["message"].as_str().unwrap_or_default().contains(why), "{problem}");
    }
    let huge = put_logo(&app, token, vec![b' '; 3 * 1024 * 1024], "image/svg+xml").await;
    assert_eq!(huge.status(), 413);
    // A refused upload keeps the logo there was.
    let brand: Value = app.get_auth("/api/v1/brand", token).await.json().await.expect("json");
    assert_eq!(brand["logo_url"], url.as_str());

    for (body, field) in [
        (json!({"corner": "middle"}), "corner"),
        (json!({"opacity": 1.5}), "opacity"),
        (json!({"opacity": 0.0}), "opacity"),
    ] {
        let response = patch(&app, token, body).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let response = patch(&app, token, json!({"corner": "top_left", "opacity": 0.5})).await;
    assert_eq!(response.status(), 200);
    let brand: Value = response.json().await.expect("json");
    assert_eq!((brand["corner"].as_str(), brand["opacity"].as_f64()), (Some("top_left"), Some(0.5)));

    // Another tenant sees no logo of this one.
    let other = app.sign_in("other-brand@example.com").await;
    assert_eq!(app.get_auth("/api/v1/brand/logo", &other.access_token).await.status(), 404);

    let deleted = app.client.delete(app.url("/api/v1/brand/logo")).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get_auth("/api/v1/brand/logo", token).await.status(), 404);
    let brand_dir = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("brand");
    let files = crate::helpers::files_under(&brand_dir);
    assert!(files.is_empty(), "the logo file is deleted: {files:?}");
}

/// Mean colour of a region of a frame (fractions of the frame).
fn colour(video: &std::path::Path, seconds: f64, x: f64, y: f64, w: f64, h: f64) -> [u8; 3] {
    let filter = format!("crop=iw*{w}:ih*{h}:iw*{x}:ih*{y},scale=1:1");
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{seconds:.2}"), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-vf", &filter, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert_eq!(output.stdout.len(), 3, "one pixel");
    [output.stdout[0], output.stdout[1], output.stdout[2]]
}

async fn the_logo_is_in_its_corner_of_the_video(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("branded@example.com").await;
    let token = &session.access_token;
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    assert_eq!(put_logo(&app, token, SVG.as_bytes().to_vec(), "image/svg+xml").await.status(), 200);
    assert_eq!(patch(&app, token, json!({"corner": "bottom_left", "opacity": 1.0})).await.status(), 200);

    let body = json!({
        "title": "Branded",
        "template_id": "square",
        "scenes": [{"text": "Our bakery opens at six.", "visual": {"kind": "card"}}],
    });
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &video).expect("write");
    // The logo is 1/12 of the height, two by one, a 40th in from the corner:
    // its middle is red, the opposite corner is not.
    let logo = colour(&path, 1.0, 0.03, 0.88, 0.12, 0.06);
    assert!(logo[0] > 200 && logo[1] < 80 && logo[2] < 80, "red logo bottom left: {logo:?}");
    let other = colour(&path, 1.0, 0.85, 0.88, 0.12, 0.06);
    assert!(!(other[0] > 200 && other[1] < 80), "nothing red bottom right: {other:?}");
    // No Free watermark on a paid plan.
    let corner = colour(&path, 1.0, 0.7, 0.02, 0.28, 0.04);
    let card = colour(&path, 1.0, 0.4, 0.02, 0.2, 0.04);
    let diff = corner.iter().zip(card).map(|(a, b)| a.abs_diff(b)).max().unwrap_or(0);
    assert!(diff < 40, "no watermark top right: {corner:?} vs {card:?}");
}
