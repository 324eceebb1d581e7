//! Brand templates (issue 18, point 5; SPEC 4.8): a tenant's own templates
//! on a built-in one, with its palette, fonts (uploaded TTF/OTF), caption
//! style, logo, music, motion and transition; usable by projects; a still
//! preview drawn by the render's code.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::media::{ffmpeg, upload, upload_ok};
use crate::projects::{create, wait_finished};

db_tests!(
    templates_are_the_tenants_own_and_built_ins_are_read_only,
    fonts_are_sniffed_and_checked_and_a_template_holds_its_media,
    a_brand_template_shows_in_the_video_even_after_it_is_deleted,
    the_preview_is_drawn_from_the_template,
);

/// A real TrueType font the repository bundles (DejaVu Sans, regular: cards
/// set titles in the bold face, so as a brand heading font it shows).
static DEJAVU: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// A font without Latin letters (Droid Sans Fallback: CJK only).
static NO_LATIN: &[u8] = include_bytes!("../../assets/fonts/DroidSansFallbackFull.ttf");

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(body).send().await.expect("request")
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.patch(app.url(path)).bearer_auth(token).json(body).send().await.expect("request")
}

async fn delete(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.delete(app.url(path)).bearer_auth(token).send().await.expect("request")
}

/// Creates a template and returns it.
async fn create_template(app: &TestApp, token: &str, body: Value) -> Value {
    let response = post(app, token, "/api/v1/templates", &body).await;
    let status = response.status();
    let template: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{template}");
    template
}

/// The fields a 422 names.
async fn fields(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("json");
    problem["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().unwrap_or("").into()).collect()
}

/// Mean colour of a region (fractions of the picture) of a PNG or of a
/// video's frame at `seconds`.
fn colour(path: &std::path::Path, seconds: Option<f64>, (x, y, w, h): (f64, f64, f64, f64)) -> [u8; 3] {
    let filter = format!("crop=iw*{w}:ih*{h}:iw*{x}:ih*{y},scale=1:1:flags=area");
    let mut command = std::process::Command::new("ffmpeg");
    command.args(["-v", "error"]);
    if let Some(seconds) = seconds {
        command.args(["-ss", &format!("{seconds:.2}")]);
    }
    let output = command
        .arg("-i")
        .arg(path)
        .args(["-frames:v", "1", "-vf", &filter, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert_eq!(output.stdout.len(), 3, "one pixel: {}", String::from_utf8_lossy(&output.stderr));
    [output.stdout[0], output.stdout[1], output.stdout[2]]
}

async fn templates_are_the_tenants_own_and_built_ins_are_read_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("templates@example.com").await;
    let token = &session.access_token;

    let list: Value = app.get_auth("/api/v1/templates", token).await.json().await.expect("json");
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 4, "the built-ins only");
    assert!(list.iter().all(|t| t["builtin"] == true && t["base_id"].is_null() && t["palette"].is_array()));
    let explainer = list.iter().find(|t| t["id"] == "explainer").expect("explainer").clone();

    // Every wrong field is named.
    let bad = post(
        &app,
        token,
        "/api/v1/templates",
        &json!({"base_id": "tpl_nothing", "name": "", "palette": ["red"], "text_color": "#fff",
                "caption_style": "wavy", "motion": ["spin"], "transition_seconds": 5, "heading_font": "nope",
                "logo": "mine", "music": {"bundled": "no-such-bed"}}),
    )
    .await;
    assert_eq!(
        fields(bad).await,
        [
            "base_id",
            "name",
            "palette",
            "text_color",
            "heading_font",
            "caption_style",
            "logo",
            "music.bundled",
            "motion",
            "transition_seconds"
        ]
    );
    let unknown =
        post(&app, token, "/api/v1/templates", &json!({"base_id": "explainer", "name": "x", "colour": 1})).await;
    assert_eq!(unknown.status(), 422, "an unknown member");

    let body = json!({"base_id": "explainer", "name": "Acme launch", "palette": ["#FFD700", "#b8860b"],
                      "text_color": "#111111", "caption_style": "karaoke", "motion": ["still"],
                      "transition_seconds": 0, "music": {"bundled": "calm-pad", "volume": 0.2}});
    let created = app
        .client
        .post(app.url("/api/v1/templates"))
        .bearer_auth(token)
        .header("Idempotency-Key", "make-acme-1")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    assert!(created.headers()["location"].to_str().unwrap_or_default().starts_with("/api/v1/templates/tpl_"));
    let template: Value = created.json().await.expect("json");
    let id = template["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("tpl_"), "{id}");
    assert_eq!(template["builtin"], false);
    assert_eq!(template["base_id"], "explainer");
    assert_eq!(template["palette"], json!(["#ffd700", "#b8860b"]));
    assert_eq!(template["caption_style"], "karaoke");
    assert_eq!(template["motion"], json!(["still"]));
    assert_eq!(template["logo"], "brand");
    assert_eq!(template["music"], json!({"bundled": "calm-pad", "volume": 0.2}));
    // What the base gives: the size, the frame rate, the description.
    assert_eq!((&template["width"], &template["fps"]), (&explainer["width"], &explainer["fps"]));
    assert_eq!(template["description"], "");
    // The same request again is answered from the first, nothing made twice.
    let again = app
        .client
        .post(app.url("/api/v1/templates"))
        .bearer_auth(token)
        .header("Idempotency-Key", "make-acme-1")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.expect("json")["id"], id.as_str());

    let path = format!("/api/v1/templates/{id}");
    let got: Value = app.get_auth(&path, token).await.json().await.expect("json");
    assert_eq!(got["name"], "Acme launch");
    let list: Value = app.get_auth("/api/v1/templates", token).await.json().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(5));
    assert_eq!(list[4]["id"], id.as_str(), "own templates after the built-ins");

    // PATCH changes what it names; null gives a field back to the base.
    let changed = patch(&app, token, &path, &json!({"palette": ["#00ff00"], "name": "Acme 2"})).await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.expect("json");
    assert_eq!((changed["palette"].clone(), changed["name"].clone()), (json!(["#00ff00"]), json!("Acme 2")));
    assert_eq!(changed["caption_style"], "karaoke", "untouched");
    let reset: Value = patch(&app, token, &path, &json!({"palette": null})).await.json().await.expect("json");
    assert_eq!(reset["palette"], explainer["palette"]);
    assert_eq!(fields(patch(&app, token, &path, &json!({"colour": "#000000"})).await).await, ["colour"]);
    assert_eq!(fields(patch(&app, token, &path, &json!({"motion": "still"})).await).await, ["motion"]);
    assert_eq!(
        fields(patch(&app, token, &path, &json!({"transition_seconds": -1})).await).await,
        ["transition_seconds"]
    );
    assert_eq!(fields(patch(&app, token, &path, &json!({"name": null})).await).await, ["name"]);

    // Built-ins are read-only.
    for response in [
        patch(&app, token, "/api/v1/templates/explainer", &json!({"name": "Mine"})).await,
        delete(&app, token, "/api/v1/templates/explainer").await,
    ] {
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }

    // Another tenant sees none of it.
    let other = app.sign_in("other-templates@example.com").await;
    let other_token = &other.access_token;
    assert_eq!(app.get_auth(&path, other_token).await.status(), 404);
    assert_eq!(patch(&app, other_token, &path, &json!({"name": "Stolen"})).await.status(), 404);
    assert_eq!(delete(&app, other_token, &path).await.status(), 404);
    let theirs: Value = app.get_auth("/api/v1/templates", other_token).await.json().await.expect("json");
    assert_eq!(theirs.as_array().map(Vec::len), Some(4));
    let project = json!({"title": "T", "template_id": id, "script": "One short scene.", "render": false});
    let response = post(&app, other_token, "/api/v1/projects", &project).await;
    assert_eq!(fields(response).await, ["template_id"], "another tenant's template is unknown");

    // A project takes it like a built-in, with its music and caption style.
    let project_id = create(&app, token, project.clone()).await;
    let view: Value = app.get_auth(&format!("/api/v1/projects/{project_id}"), token).await.json().await.expect("json");
    assert_eq!(view["template_id"], id.as_str());
    assert_eq!(view["caption_style"], "karaoke");
    assert_eq!(view["music"], json!({"bundled": "calm-pad", "volume": 0.2}));
    let own = json!({"title": "T", "template_id": id, "script": "One short scene.", "render": false,
                     "caption_style": "pop", "music": {"bundled": "steady-pulse"}});
    let own_id = create(&app, token, own).await;
    let view: Value = app.get_auth(&format!("/api/v1/projects/{own_id}"), token).await.json().await.expect("json");
    assert_eq!(
        (view["caption_style"].clone(), view["music"]["bundled"].clone()),
        (json!("pop"), json!("steady-pulse"))
    );

    // A template on a premium base needs a paid plan, like its base.
    let premium = create_template(&app, token, json!({"base_id": "cinematic", "name": "Gold"})).await;
    assert_eq!(premium["premium"], true);
    let response = post(
        &app,
        token,
        "/api/v1/projects",
        &json!({"title": "T", "template_id": premium["id"], "script": "One scene."}),
    )
    .await;
    assert_eq!(response.status(), 402);

    assert_eq!(delete(&app, token, &path).await.status(), 204);
    assert_eq!(app.get_auth(&path, token).await.status(), 404);
    assert_eq!(delete(&app, token, &path).await.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM tenant_templates WHERE tenant_id = $1", &session.tenant_id).await, 1);
}

async fn fonts_are_sniffed_and_checked_and_a_template_holds_its_media(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("fonts@example.com").await;
    let token = &session.access_token;

    let font = upload_ok(&app, token, "DejaVuSans.ttf", DEJAVU).await;
    assert_eq!((font["kind"].as_str(), font["content_type"].as_str()), (Some("font"), Some("font/ttf")));
    assert_eq!(font["bytes"].as_i64().map(|b| b > DEJAVU.len() as i64), Some(true), "the font and its specimen");
    let thumbnail = app.get_auth(font["thumbnail_url"].as_str().expect("thumbnail"), token).await;
    assert_eq!(thumbnail.status(), 200);
    assert!(thumbnail.bytes().await.expect("jpeg").starts_with(&[0xFF, 0xD8]), "a specimen picture");
    let file = app.get_auth(&format!("/api/v1/media/{}/file", font["id"].as_str().expect("id")), token).await;
    assert_eq!(file.headers()["content-type"], "font/ttf");

    // A font that is cut short does not read; WOFF2 and text are not fonts we take.
    let truncated = upload(&app, token, "cut.ttf", &DEJAVU[..4096]).await;
    assert_eq!(truncated.status(), 422);
    let problem: Value = truncated.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("font"), "{problem}");
    let cjk = upload(&app, token, "cjk.ttf", NO_LATIN).await;
    assert_eq!(cjk.status(), 422, "a brand font must draw basic Latin");
    let problem: Value = cjk.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("no letters or digits"), "{problem}");
    let woff2 = upload(&app, token, "brand.woff2", b"wOF2\0\x01\0\0 a web font").await;
    assert_eq!(woff2.status(), 415);
    let problem: Value = woff2.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("WOFF2"), "{problem}");
    assert_eq!(upload(&app, token, "font.ttf", b"just some text, not a font").await.status(), 415);
    // A picture named .ttf is a picture (the type comes from the bytes), and not a font.
    let png = ffmpeg(&["-f", "lavfi", "-i", "color=c=red:size=200x100", "-frames:v", "1"], "red.png");
    let picture = upload_ok(&app, token, "logo.ttf", &png).await;
    assert_eq!(picture["kind"], "image");
    let body = json!({"base_id": "square", "name": "Fonts", "heading_font": picture["id"]});
    assert_eq!(fields(post(&app, token, "/api/v1/templates", &body).await).await, ["heading_font"]);
    let body = json!({"base_id": "square", "name": "Logo", "logo": {"media_id": font["id"], "corner": "top_left"}});
    assert_eq!(fields(post(&app, token, "/api/v1/templates", &body).await).await, ["logo.media_id"]);
    // Another tenant's font is not one of yours.
    let other = app.sign_in("other-fonts@example.com").await;
    let body = json!({"base_id": "square", "name": "Theirs", "caption_font": font["id"]});
    assert_eq!(fields(post(&app, &other.access_token, "/api/v1/templates", &body).await).await, ["caption_font"]);

    let template = create_template(
        &app,
        token,
        json!({"base_id": "square", "name": "Fonts", "heading_font": font["id"],
               "logo": {"media_id": picture["id"], "corner": "top_left", "opacity": 1}}),
    )
    .await;
    assert_eq!(template["heading_font"], font["id"]);
    assert_eq!(template["logo"], json!({"media_id": picture["id"], "corner": "top_left", "opacity": 1.0}));
    // Media a template uses cannot be deleted: the answer names the template.
    for item in [&font, &picture] {
        let response = delete(&app, token, &format!("/api/v1/media/{}", item["id"].as_str().expect("id"))).await;
        assert_eq!(response.status(), 409);
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["templates"], json!([{"id": template["id"], "name": "Fonts"}]), "{problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("\"Fonts\""), "{problem}");
    }
    let path = format!("/api/v1/templates/{}", template["id"].as_str().expect("id"));
    assert_eq!(delete(&app, token, &path).await.status(), 204);
    let response = delete(&app, token, &format!("/api/v1/media/{}", font["id"].as_str().expect("id"))).await;
    assert_eq!(response.status(), 204, "free once the template is gone");
}

async fn a_brand_template_shows_in_the_video_even_after_it_is_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("brand-video@example.com").await;
    let token = &session.access_token;
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;

    let font = upload_ok(&app, token, "DejaVuSans.ttf", DEJAVU).await;
    let png = ffmpeg(&["-f", "lavfi", "-i", "color=c=red:size=200x100", "-frames:v", "1"], "red.png");
    let logo = upload_ok(&app, token, "logo.png", &png).await;
    let template = create_template(
        &app,
        token,
        json!({"base_id": "square", "name": "Gold", "palette": ["#ffd700"], "text_color": "#111111",
               "heading_font": font["id"], "caption_font": font["id"], "caption_style": "line",
               "logo": {"media_id": logo["id"], "corner": "top_left", "opacity": 1}, "motion": ["still"],
               "transition_seconds": 0}),
    )
    .await;
    let body = json!({
        "title": "Gold",
        "template_id": template["id"],
        "scenes": [{"text": "Our bakery opens at six.", "visual": {"kind": "card"}}],
    });
    let id = create(&app, token, body).await;
    // Neither the template nor its files are needed any more: the project kept its own.
    let path = format!("/api/v1/templates/{}", template["id"].as_str().expect("id"));
    assert_eq!(delete(&app, token, &path).await.status(), 204);
    for item in [&font, &logo] {
        let response = delete(&app, token, &format!("/api/v1/media/{}", item["id"].as_str().expect("id"))).await;
        assert_eq!(response.status(), 204);
    }
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!((project["width"].as_i64(), project["height"].as_i64()), (Some(1080), Some(1080)));
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &video).expect("write");
    if let Some(keep) = std::env::var_os("REELFORGE_KEEP_FRAMES") {
        let _ = std::fs::copy(&path, std::path::Path::new(&keep).join("template-video.mp4"));
    }
    // The card is gold (the square base is teal, blue, purple and pink), and
    // the logo is red in the top left corner.
    let background = colour(&path, Some(1.0), (0.02, 0.45, 0.08, 0.1));
    assert!(background[0] > 140 && background[1] > 110 && background[2] < 80, "gold card: {background:?}");
    let corner = colour(&path, Some(1.0), (0.03, 0.035, 0.1, 0.05));
    assert!(corner[0] > 200 && corner[1] < 80 && corner[2] < 80, "red logo top left: {corner:?}");
    // Nothing changed: the video is up to date.
    let again = post(&app, token, &format!("/api/v1/projects/{id}/render"), &json!({})).await;
    assert_eq!(again.status(), 409, "nothing changed");
    // An edit renders again from the snapshot: its copies outlived the first
    // render's clean-up of unused files.
    let edit = patch(&app, token, &format!("/api/v1/projects/{id}/scenes/0"), &json!({"title": "Fresh bread"})).await;
    assert_eq!(edit.status(), 200);
    let snapshot_dir = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("projects").join(&id);
    let copies = crate::helpers::files_under(&snapshot_dir.join("template"));
    assert_eq!(copies.len(), 2, "the font and the logo are kept with the project: {copies:?}");
    // Written long before this render ends, as in real life: the clean-up
    // after it must still keep them.
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for copy in &copies {
        std::fs::File::options().write(true).open(copy).and_then(|f| f.set_modified(an_hour_ago)).expect("mtime");
    }
    assert_eq!(app.post_auth(&format!("/api/v1/projects/{id}/render"), token).await.status(), 202);
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let kept = crate::helpers::files_under(&snapshot_dir.join("template"));
    assert_eq!(kept, copies, "the clean-up after a render keeps the snapshot's files");
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    std::fs::write(&path, &video).expect("write");
    let background = colour(&path, Some(1.0), (0.02, 0.45, 0.08, 0.1));
    assert!(background[0] > 140 && background[1] > 110 && background[2] < 80, "still gold: {background:?}");
}

async fn the_preview_is_drawn_from_the_template(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("preview@example.com").await;
    let token = &session.access_token;
    let font = upload_ok(&app, token, "DejaVuSans.ttf", DEJAVU).await;
    let dir = tempfile::tempdir().expect("dir");

    let draw = async |name: &str, body: Value| -> (std::path::PathBuf, Duration) {
        let started = Instant::now();
        let response = post(&app, token, "/api/v1/templates/preview", &body).await;
        let took = started.elapsed();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        let png = response.bytes().await.expect("png");
        assert!(png.starts_with(b"\x89PNG"));
        let path = dir.path().join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write");
        (path, took)
    };
    let base = json!({"base_id": "explainer", "name": ""});
    let (plain, _) = draw("plain", base.clone()).await;
    let mut red = base.clone();
    red["palette"] = json!(["#ff0000"]);
    let (red, took) = draw("red", red).await;
    let mut blue = base.clone();
    blue["palette"] = json!(["#0000ff"]);
    let (blue, _) = draw("blue", blue).await;
    let edge = (0.01, 0.3, 0.08, 0.1);
    let (r, b) = (colour(&red, None, edge), colour(&blue, None, edge));
    assert!(r[0] > 120 && r[2] < 60, "red palette: {r:?}");
    assert!(b[2] > 120 && b[0] < 60, "blue palette: {b:?}");
    assert!(took < Duration::from_secs(2), "a preview is quick: {took:?}");

    // The heading font changes the title's letters, not the background.
    let mut fonted = base.clone();
    fonted["heading_font"] = font["id"].clone();
    let (fonted, _) = draw("fonted", fonted).await;
    let title = (0.2, 0.35, 0.6, 0.2);
    if let Some(keep) = std::env::var_os("REELFORGE_KEEP_FRAMES") {
        let _ = std::fs::copy(&plain, std::path::Path::new(&keep).join("template-plain.png"));
        let _ = std::fs::copy(&fonted, std::path::Path::new(&keep).join("template-font.png"));
    }
    let (a, b) = (colour(&plain, None, title), colour(&fonted, None, title));
    let diff: u32 = a.iter().zip(b).map(|(x, y)| u32::from(x.abs_diff(y))).sum();
    assert!(diff > 0, "the title is drawn in the brand font: {a:?} vs {b:?}");
    assert_eq!(colour(&plain, None, edge), colour(&fonted, None, edge), "same background");

    // The same checks as a template's.
    let response = post(
        &app,
        token,
        "/api/v1/templates/preview",
        &json!({"base_id": "explainer", "name": "",
        "palette": ["nope"]}),
    )
    .await;
    assert_eq!(fields(response).await, ["palette"]);
    let times: Vec<Duration> = {
        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(draw("again", json!({"base_id": "short", "name": "", "caption_style": "pop"})).await.1);
        }
        times
    };
    println!("template preview round trips: {times:?}");
}
