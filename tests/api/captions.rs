//! Word-by-word captions (issue 17, SPEC 4.7 `caption_style`): the style is
//! chosen per project (else the template's), checked, and visible in the
//! finished video: karaoke highlights the spoken word along the sentence, pop
//! shows a few large words in the middle of the frame.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::projects::{create, wait_finished};

db_tests!(caption_styles_are_chosen_per_project_and_checked, karaoke_and_pop_are_seen_in_the_video);

const WAIT: Duration = Duration::from_secs(120);
const SENTENCE: &str = "Storms were the hardest nights of the whole long year.";

async fn post(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("request")
}

async fn caption_styles_are_chosen_per_project_and_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("captions@example.com").await;
    let token = &session.access_token;

    let templates: Value = app.get_auth("/api/v1/templates", token).await.json().await.expect("json");
    let style_of = |id: &str| {
        templates.as_array().and_then(|t| t.iter().find(|t| t["id"] == id)).map(|t| t["caption_style"].clone())
    };
    assert_eq!(style_of("short"), Some(json!("pop")), "{templates}");
    assert_eq!(style_of("explainer"), Some(json!("line")), "{templates}");

    let body = |style: Option<&str>, template: &str| {
        let mut body = json!({"title": "Styles", "template_id": template, "script": SENTENCE, "render": false});
        if let Some(style) = style {
            body["caption_style"] = json!(style);
        }
        body
    };
    let own = create(&app, token, body(Some("karaoke"), "short")).await;
    let inherited = create(&app, token, body(None, "short")).await;
    for (id, expected) in [(&own, "karaoke"), (&inherited, "pop")] {
        let project: Value = app.get_auth(&format!("/api/v1/projects/{id}"), token).await.json().await.expect("json");
        assert_eq!(project["caption_style"], expected, "{project}");
    }

    for bad in ["wavy", "POP ", "line;"] {
        let response = post(&app, token, body(Some(bad), "explainer")).await;
        assert_eq!(response.status(), 422, "{bad}");
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "caption_style", "{problem}");
    }
    // The picker's list, each with a still drawn by the renderer.
    let styles: Value = app.get_auth("/api/v1/caption-styles", token).await.json().await.expect("json");
    let ids: Vec<&str> = styles.as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["line", "karaoke", "pop"]);
    let mut stills = Vec::new();
    for style in styles.as_array().expect("list") {
        let still = app.get_auth(style["preview_url"].as_str().expect("url"), token).await;
        assert_eq!(still.status(), 200);
        assert_eq!(still.headers()["content-type"], "image/png");
        stills.push(still.bytes().await.expect("png"));
    }
    assert!(stills[0] != stills[1] && stills[1] != stills[2], "each style looks different");
    assert_eq!(app.get_auth("/api/v1/caption-styles/wavy/preview.png", token).await.status(), 404);

    // The estimate checks it as creation does.
    let response = app
        .client
        .post(app.url("/api/v1/projects/estimate"))
        .bearer_auth(token)
        .json(&body(Some("wavy"), "explainer"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 422);
}

/// Pixels of a frame drawn in the highlight colour: (mean x, mean y) as
/// fractions of the frame, and how many.
fn highlight(video: &Path, seconds: f64) -> (f64, f64, usize) {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{seconds:.3}"), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    let size = crate::projects::probe(video);
    let streams = size["streams"].as_array().cloned().unwrap_or_default();
    let video_stream = streams.iter().find(|s| s["codec_type"] == "video").expect("video stream");
    let width = video_stream["width"].as_u64().expect("width") as usize;
    let height = video_stream["height"].as_u64().expect("height") as usize;
    assert_eq!(output.stdout.len(), width * height * 3, "one frame at {seconds} s");
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
    for (i, px) in output.stdout.chunks_exact(3).enumerate() {
        // The highlight is (255, 214, 10); video coding moves it a little.
        if px[0] > 200 && px[1] > 160 && px[1] < 240 && px[2] < 90 {
            sx += (i % width) as f64 / width as f64;
            sy += (i / width) as f64 / height as f64;
            n += 1;
        }
    }
    if n == 0 { (0.0, 0.0, 0) } else { (sx / n as f64, sy / n as f64, n) }
}

/// The first cue's (start, end) in seconds, from the project's WebVTT.
async fn first_cue(app: &TestApp, token: &str, id: &str) -> (f64, f64) {
    let vtt = app.get_auth(&format!("/api/v1/projects/{id}/captions.vtt"), token).await.text().await.expect("vtt");
    let line = vtt.lines().find(|l| l.contains("-->")).expect("a cue");
    let seconds =
        |t: &str| t.trim().split(':').fold(0.0, |acc, part| acc * 60.0 + part.parse::<f64>().expect("a time"));
    let (start, end) = line.split_once("-->").expect("a cue");
    (seconds(start), seconds(end))
}

async fn render(
    app: &TestApp,
    token: &str,
    template: &str,
    style: &str,
) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let body = json!({
        "title": style,
        "template_id": template,
        "caption_style": style,
        "scenes": [{"text": SENTENCE, "visual": {"kind": "card"}}],
    });
    let id = create(app, token, body).await;
    let project = wait_finished(app, token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &video).expect("write");
    (dir, path, id)
}

async fn karaoke_and_pop_are_seen_in_the_video(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("karaoke@example.com").await;
    let token = &session.access_token;

    // Karaoke: the sentence at the bottom, the highlight moving along it.
    let (_dir, video, id) = render(&app, token, "explainer", "karaoke").await;
    let (start, end) = first_cue(&app, token, &id).await;
    let early = highlight(&video, start + 0.15 * (end - start));
    let late = highlight(&video, start + 0.85 * (end - start));
    assert!(early.2 > 200 && late.2 > 200, "a word is highlighted: {early:?} {late:?}");
    assert!(late.0 > early.0 + 0.15, "the highlighted word moves along the sentence: {early:?} -> {late:?}");
    assert!(early.1 > 0.75 && late.1 > 0.75, "at the bottom: {early:?} {late:?}");

    // Line captions have no highlight at all.
    let (_dir2, plain, id) = render(&app, token, "explainer", "line").await;
    let (start, end) = first_cue(&app, token, &id).await;
    assert_eq!(highlight(&plain, (start + end) / 2.0).2, 0, "line captions highlight nothing");

    // Pop: a few large words low in a vertical frame (clear of the picture's
    // title), changing as they are spoken.
    let (_dir3, pop, id) = render(&app, token, "short", "pop").await;
    let (start, end) = first_cue(&app, token, &id).await;
    let early = highlight(&pop, start + 0.1 * (end - start));
    let late = highlight(&pop, start + 0.9 * (end - start));
    assert!(early.2 > 200 && late.2 > 200, "{early:?} {late:?}");
    for frame in [early, late] {
        assert!((0.74..0.86).contains(&frame.1), "pop captions sit at four fifths: {frame:?}");
    }
    assert!((early.0 - late.0).abs() > 0.01 || (early.2 as f64 - late.2 as f64).abs() > 5.0, "{early:?} {late:?}");
}
