//! Stock photos and footage (issue 16) against stand-ins that speak Pexels'
//! and Pixabay's wire formats and serve real JPEGs and MP4s made here. The
//! stand-in's behaviour follows the query's words ("broken", "nothing",
//! "elsewhere", "lying", "huge", "slow", "busy"), so one server covers every case.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, serve_stand_in, spawn_app_with};
use crate::media::ffmpeg;
use crate::projects::{create, wait_finished};

db_tests!(
    stock_scenes_show_their_own_pictures_with_credits,
    hostile_results_fall_back_to_the_illustration,
    the_picker_searches_through_the_cache_and_obeys_rate_limits,
    without_a_stock_key_search_is_503_and_auto_illustrates,
);

const KEY: &str = "stand-in-key";
const WAIT: Duration = Duration::from_secs(120);

/// The colours a query can name; the stand-in's pictures are flat fields of them.
const COLOURS: [(&str, [u8; 3]); 4] =
    [("red", [220, 30, 30]), ("green", [30, 180, 60]), ("blue", [30, 60, 220]), ("grey", [128, 128, 128])];

fn colour_of(query: &str) -> &'static str {
    COLOURS.iter().map(|(name, _)| *name).find(|name| query.contains(name)).unwrap_or("grey")
}

/// Real files, made once per test binary.
fn files() -> &'static HashMap<String, Vec<u8>> {
    static FILES: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files = HashMap::new();
        for (name, rgb) in COLOURS {
            let colour = format!("0x{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
            let jpeg =
                ffmpeg(&["-f", "lavfi", "-i", &format!("color=c={colour}:s=1920x1080"), "-frames:v", "1"], "a.jpg");
            files.insert(format!("{name}.jpg"), jpeg);
            let clip = ffmpeg(
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    &format!("color=c={colour}:s=1280x720:r=25:d=3"),
                    "-c:v",
                    "libx264",
                    "-pix_fmt",
                    "yuv420p",
                    "-f",
                    "mp4",
                ],
                "a.mp4",
            );
            files.insert(format!("{name}.mp4"), clip);
        }
        files
    })
}

/// What the stand-ins saw.
#[derive(Default)]
pub struct Seen {
    /// `provider path?query` of every API call.
    pub calls: Mutex<Vec<String>>,
    /// Paths of every file served.
    pub files: Mutex<Vec<String>>,
    /// Bytes of the "huge" file sent.
    pub huge_bytes: AtomicUsize,
    /// Requests that reached the "elsewhere" host.
    pub elsewhere: AtomicUsize,
    /// Authorization headers (Pexels) or `key` values (Pixabay) that were wrong.
    pub bad_keys: AtomicUsize,
}

#[derive(Clone)]
struct StandIn {
    seen: Arc<Seen>,
    base: Arc<OnceLock<String>>,
    elsewhere: Arc<OnceLock<String>>,
    provider: &'static str,
}

impl StandIn {
    fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base.get().map(String::as_str).unwrap_or_default())
    }

    /// A file URL for a result of `query`.
    fn link(&self, query: &str, kind: &str, size: &str) -> String {
        let colour = colour_of(query);
        if query.contains("elsewhere") {
            return format!("{}/files/{colour}.{kind}", self.elsewhere.get().map(String::as_str).unwrap_or_default());
        }
        if query.contains("lying") {
            // A "photo" that is a web page; a "video" that is a photo.
            let name = if kind == "jpg" { "page.jpg".to_string() } else { format!("{colour}-{size}.jpg") };
            return self.file_url(&name);
        }
        if query.contains("huge") {
            return self.file_url(&format!("huge-{size}.{kind}"));
        }
        self.file_url(&format!("{colour}-{size}.{kind}"))
    }

    /// The answer for `query` before results: a failure, a wait, or none.
    async fn misbehave(&self, query: &str, headers: &mut HeaderMap) -> Option<Response> {
        let mine = |word: &str| query.contains(word) && (query.contains(self.provider) || !query.contains("only"));
        if mine("broken") {
            return Some((StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response());
        }
        if mine("slow") {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        if mine("busy") {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            if query.contains("retryafter") {
                response.headers_mut().insert("retry-after", "120".parse().ok()?);
            }
            return Some(response);
        }
        if query.contains("lastone") {
            headers.insert("x-ratelimit-remaining", "0".parse().ok()?);
            headers.insert("x-ratelimit-reset", "3600".parse().ok()?);
        }
        None
    }

    fn log(&self, path: &str, query: &HashMap<String, String>) {
        let mut pairs: Vec<String> =
            query.iter().filter(|(k, _)| *k != "key").map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        self.seen.calls.lock().expect("lock").push(format!("{} {path}?{}", self.provider, pairs.join("&")));
    }
}

fn json_with(body: Value, headers: HeaderMap) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().extend(headers);
    response
}

// --- Pexels -----------------------------------------------------------------

fn pexels_photo(s: &StandIn, id: u64, query: &str) -> Value {
    let link = |size: &str| s.link(query, "jpg", size);
    json!({
        "id": id, "width": 6000, "height": 4000,
        "url": format!("https://www.pexels.com/photo/{}-{id}/", colour_of(query)),
        "photographer": format!("Pexels Author {id}"), "photographer_url": format!("https://www.pexels.com/@author{id}"),
        "photographer_id": id, "avg_color": "#777777",
        "src": {
            "original": link("original"), "large2x": link("large2x"), "large": link("large"),
            "medium": link("medium"), "small": link("small"), "portrait": link("portrait"),
            "landscape": link("landscape"), "tiny": link("tiny"),
        },
        "liked": false, "alt": query,
    })
}

fn pexels_video(s: &StandIn, id: u64, query: &str) -> Value {
    let file = |w: u32, h: u32| {
        json!({"id": w, "quality": "hd", "file_type": "video/mp4", "width": w, "height": h, "fps": 25,
        "link": s.link(query, "mp4", &w.to_string())})
    };
    json!({
        "id": id, "width": 3840, "height": 2160, "duration": 12,
        "url": format!("https://www.pexels.com/video/{}-{id}/", colour_of(query)),
        "image": s.link(query, "jpg", "medium"),
        "user": {"id": id, "name": format!("Pexels Filmmaker {id}"), "url": format!("https://www.pexels.com/@film{id}")},
        "video_files": [file(640, 360), file(3840, 2160), file(1280, 720), file(1920, 1080),
            {"id": 1, "quality": null, "file_type": "hls", "width": null, "height": null, "link": s.file_url("playlist.m3u8")}],
        "video_pictures": [],
    })
}

fn pexels_key_ok(s: &StandIn, headers: &HeaderMap) -> bool {
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(KEY);
    if !ok {
        s.seen.bad_keys.fetch_add(1, Ordering::SeqCst);
    }
    ok
}

async fn pexels_search(
    State(s): State<StandIn>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    s.log(&format!("/{kind}/search"), &query);
    if !pexels_key_ok(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "Unauthorized"}))).into_response();
    }
    let q = query.get("query").cloned().unwrap_or_default();
    let mut extra = HeaderMap::new();
    if let Some(response) = s.misbehave(&q, &mut extra).await {
        return response;
    }
    extra.insert("x-ratelimit-limit", "25000".parse().expect("value"));
    if !extra.contains_key("x-ratelimit-remaining") {
        extra.insert("x-ratelimit-remaining", "24999".parse().expect("value"));
    }
    let results: Vec<Value> = if q.contains("nothing") {
        Vec::new()
    } else if kind == "v1" {
        (1..=3).map(|i| pexels_photo(&s, 100 + i, &q)).collect()
    } else {
        (1..=3).map(|i| pexels_video(&s, 200 + i, &q)).collect()
    };
    let list = if kind == "v1" { "photos" } else { "videos" };
    json_with(json!({"page": 1, "per_page": 15, "total_results": results.len(), list: results}), extra)
}

async fn pexels_photo_by_id(State(s): State<StandIn>, Path(id): Path<u64>, headers: HeaderMap) -> Response {
    s.log(&format!("/v1/photos/{id}"), &HashMap::new());
    if !pexels_key_ok(&s, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // Picked photos are green, whatever the scene's words.
    axum::Json(pexels_photo(&s, id, "green pick")).into_response()
}

// --- Pixabay ----------------------------------------------------------------

async fn pixabay_search(
    State(s): State<StandIn>,
    Path(kind): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    s.log(&format!("/api/{kind}"), &query);
    if query.get("key").map(String::as_str) != Some(KEY) {
        s.seen.bad_keys.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::BAD_REQUEST, "[ERROR 400] Invalid or missing API key").into_response();
    }
    let q = query.get("q").cloned().unwrap_or_default();
    let mut extra = HeaderMap::new();
    if let Some(response) = s.misbehave(&q, &mut extra).await {
        return response;
    }
    let hits: Vec<Value> = if q.contains("nothing") {
        Vec::new()
    } else if kind == "videos" {
        (1..=3)
            .map(|i| {
                let file = |w: u32, h: u32, size: &str| json!({"url": s.link(&q, "mp4", &w.to_string()), "width": w, "height": h,
                    "size": 1000, "thumbnail": s.link(&q, "jpg", size)});
                json!({"id": 300 + i, "pageURL": format!("https://pixabay.com/videos/id-{}/", 300 + i), "type": "film",
                    "tags": q, "duration": 15, "videos": {"large": file(1920, 1080, "large"), "medium": file(1280, 720, "medium"),
                    "small": file(960, 540, "small"), "tiny": file(640, 360, "tiny")},
                    "user_id": 77, "user": "PixabayFilmer", "userImageURL": ""})
            })
            .collect()
    } else {
        (1..=3)
            .map(|i| {
                json!({"id": 400 + i, "pageURL": format!("https://pixabay.com/photos/{}-{}/", colour_of(&q), 400 + i),
                    "type": "photo", "tags": q, "previewURL": s.link(&q, "jpg", "150"), "webformatURL": s.link(&q, "jpg", "640"),
                    "largeImageURL": s.link(&q, "jpg", "1280"), "imageWidth": 4000, "imageHeight": 2250, "user_id": 88,
                    "user": "PixabayShooter", "userImageURL": ""})
            })
            .collect()
    };
    json_with(json!({"total": hits.len(), "totalHits": hits.len(), "hits": hits}), extra)
}

// --- Files ------------------------------------------------------------------

async fn file(State(s): State<StandIn>, Path(name): Path<String>) -> Response {
    s.seen.files.lock().expect("lock").push(format!("{} {name}", s.provider));
    if name == "page.jpg" {
        return ([("content-type", "image/jpeg")], "<html><body>not a picture</body></html>").into_response();
    }
    if name.starts_with("huge-") {
        // A JPEG header and then zeros without end, chunked (no length).
        let seen = s.seen.clone();
        let head = files().get("grey.jpg").cloned().unwrap_or_default();
        let chunks = futures_util::stream::unfold(0usize, move |sent| {
            let seen = seen.clone();
            let head = head.clone();
            async move {
                if sent > 400_000_000 {
                    return None;
                }
                let chunk = if sent == 0 { head[..head.len().min(1024)].to_vec() } else { vec![0u8; 256 * 1024] };
                seen.huge_bytes.fetch_add(chunk.len(), Ordering::SeqCst);
                Some((Ok::<_, std::io::Error>(chunk), sent + 256 * 1024))
            }
        });
        return ([("content-type", "image/jpeg")], Body::from_stream(chunks)).into_response();
    }
    // `{colour}-{size}.{ext}`: every size of a colour is the same real file.
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
    let colour = stem.split('-').next().unwrap_or_default();
    match files().get(&format!("{colour}.{ext}")) {
        Some(bytes) => {
            let content_type = if ext == "mp4" { "video/mp4" } else { "image/jpeg" };
            ([("content-type", content_type)], bytes.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn elsewhere(State(s): State<StandIn>) -> Response {
    s.seen.elsewhere.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND.into_response()
}

/// The two stand-ins and what they saw; their bases for `STOCK_API_BASE_*`.
pub struct StandIns {
    pub seen: Arc<Seen>,
    pub pexels: String,
    pub pixabay: String,
}

pub async fn start_stand_ins() -> StandIns {
    files();
    let seen = Arc::new(Seen::default());
    let elsewhere_base = Arc::new(OnceLock::new());
    let other =
        StandIn { seen: seen.clone(), base: Arc::default(), elsewhere: elsewhere_base.clone(), provider: "elsewhere" };
    let url = serve_stand_in(Router::new().fallback(elsewhere).with_state(other)).await;
    let _ = elsewhere_base.set(url.trim_end_matches("/v1").to_string());
    let mut bases = Vec::new();
    for provider in ["pexels", "pixabay"] {
        let base = Arc::new(OnceLock::new());
        let stand_in = StandIn { seen: seen.clone(), base: base.clone(), elsewhere: elsewhere_base.clone(), provider };
        let router = Router::new()
            .route("/{kind}/search", get(pexels_search))
            .route("/v1/photos/{id}", get(pexels_photo_by_id))
            .route("/api/", get(|s, q| pixabay_search(s, Path("photos".into()), q)))
            .route("/api/{kind}/", get(pixabay_search))
            .route("/files/{name}", get(file))
            .with_state(stand_in);
        let url = serve_stand_in(router).await.trim_end_matches("/v1").to_string();
        let _ = base.set(url.clone());
        bases.push(url);
    }
    let pixabay = bases.pop().unwrap_or_default();
    let pexels = bases.pop().unwrap_or_default();
    StandIns { seen, pexels, pixabay }
}

pub async fn spawn_with_stock(backend: Backend, stand_ins: &StandIns, extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("PEXELS_API_KEY", KEY),
        ("PIXABAY_API_KEY", KEY),
        ("STOCK_API_BASE_PEXELS", stand_ins.pexels.as_str()),
        ("STOCK_API_BASE_PIXABAY", stand_ins.pixabay.as_str()),
        ("IMAGE_TIMEOUT_SECONDS", "2"),
    ];
    overrides.extend_from_slice(extra);
    spawn_app_with(backend, &overrides).await
}

/// The mean colour of the middle of the picture at `seconds`.
fn colour_at(video: &std::path::Path, seconds: f64) -> [u8; 3] {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{seconds:.2}"), "-i"])
        .arg(video)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "crop=iw/3:ih/3:iw/3:ih/4,scale=1:1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert_eq!(output.stdout.len(), 3, "a frame at {seconds} s");
    [output.stdout[0], output.stdout[1], output.stdout[2]]
}

fn close_to(seen: [u8; 3], want: [u8; 3]) -> bool {
    seen.iter().zip(want).all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() < 45)
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> Value {
    app.get_auth(path, token).await.json().await.expect("json")
}

async fn stock_scenes_show_their_own_pictures_with_credits(backend: Backend) {
    let stand_ins = start_stand_ins().await;
    let app = spawn_with_stock(backend, &stand_ins, &[]).await;
    let token = app.sign_in("stock@example.com").await.access_token;
    let body = json!({
        "title": "Colours",
        "template_id": "explainer",
        "scenes": [
            // No query: the words give one (and `auto` is stock when a key is set).
            {"text": "Redwood forests stood tall and old."},
            {"text": "The hills turned a deep colour in spring.", "visual": {"kind": "stock", "media": "photo", "query": "green hills"}},
            {"text": "Then the sea came into view, wide and calm.", "visual": {"kind": "stock", "media": "video", "query": "blue sea"}},
            {"text": "We chose this one ourselves.", "visual": {"kind": "stock", "media": "photo", "provider": "pexels", "pick": "555"}},
        ],
    });
    let id = create(&app, &token, body).await;
    let project = wait_finished(&app, &token, &id, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["warnings"], json!([]));
    assert_eq!(stand_ins.seen.bad_keys.load(Ordering::SeqCst), 0, "every call carried the key");

    // Searches: the words' query, the template's orientation, one page.
    let calls = stand_ins.seen.calls.lock().expect("lock").clone();
    let red =
        calls.iter().find(|c| c.contains("/v1/search") && c.contains("redwood")).expect("a search from the words");
    assert!(red.contains("orientation=landscape") && red.contains("page=1"), "{red}");
    assert!(calls.iter().any(|c| c == "pexels /v1/photos/555?"), "the pick is looked up by id: {calls:?}");
    // The smallest file that covers the frame: large2x for a panned 720p photo, the 1280 rendition of the clip.
    let files = stand_ins.seen.files.lock().expect("lock").clone();
    assert!(files.iter().any(|f| f == "pexels red-large2x.jpg"), "{files:?}");
    assert!(files.iter().any(|f| f == "pexels blue-1280.mp4"), "{files:?}");
    assert!(!files.iter().any(|f| f.contains("original") || f.contains("3840")), "{files:?}");

    // Frame by frame: each scene shows its own picture.
    let scenes = json_of(&app, &format!("/api/v1/projects/{id}/scenes"), &token).await;
    let scenes = scenes.as_array().expect("scenes").clone();
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), &token).await.bytes().await.expect("video");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &video).expect("write");
    let mut start = 0.0;
    let want = [[220, 30, 30], [30, 180, 60], [30, 60, 220], [30, 180, 60]];
    for (scene, want) in scenes.iter().zip(want) {
        let length = scene["duration_seconds"].as_f64().expect("duration") + 0.4;
        let seen = colour_at(&path, start + length / 2.0);
        assert!(close_to(seen, want), "scene {} shows {seen:?}, not {want:?}", scene["index"]);
        start += length.max(2.0);
    }

    // Credits: per scene, in the project, and as a file.
    assert_eq!(scenes[0]["credit"]["provider"], "pexels");
    assert_eq!(scenes[0]["credit"]["author"], "Pexels Author 101");
    assert_eq!(scenes[2]["credit"]["media"], "video");
    assert!(scenes[0]["suggested_query"].as_str().is_some_and(|q| q.contains("red")), "{}", scenes[0]);
    let credits = project["credits"].as_array().expect("credits");
    assert_eq!(credits.len(), 4, "{credits:?}");
    assert_eq!(credits[2]["text"], "Video by Pexels Filmmaker 201 on Pexels");
    assert_eq!(credits[3]["id"], "555");
    let text = app.get_auth(&format!("/api/v1/projects/{id}/credits.txt"), &token).await.text().await.expect("text");
    assert!(text.contains("Scene 1: Photo by Pexels Author 101 on Pexels"), "{text}");
    assert!(text.contains("https://www.pexels.com/video/blue-201/"), "{text}");
    // Stock is not billed as images made.
    assert_eq!(crate::scenes::ledger(&app, &id, "images_generated").await, 0);

    // Another tenant searching the same words within the day: answered from the cache.
    let before = stand_ins.seen.calls.lock().expect("lock").len();
    let other = app.sign_in("other@example.com").await.access_token;
    let again = create(
        &app,
        &other,
        json!({"title": "Again", "template_id": "explainer", "scenes": [
            {"text": "Another scene.", "visual": {"kind": "stock", "media": "photo", "query": "green hills"}}]}),
    )
    .await;
    let project = wait_finished(&app, &other, &again, WAIT).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(stand_ins.seen.calls.lock().expect("lock").len(), before, "no new search");
}

async fn hostile_results_fall_back_to_the_illustration(backend: Backend) {
    let stand_ins = start_stand_ins().await;
    let app = spawn_with_stock(backend, &stand_ins, &[("MEDIA_MAX_MB", "5")]).await;
    let token = app.sign_in("hostile@example.com").await.access_token;
    let scene =
        |text: &str, query: &str| json!({"text": text, "visual": {"kind": "stock", "media": "photo", "query": query}});
    let body = json!({
        "title": "Hostile",
        "template_id": "explainer",
        "scenes": [
            scene("Files on another host are refused.", "red elsewhere"),
            scene("A web page dressed as a photo.", "red lying"),
            scene("A file without end.", "red huge"),
            scene("Nothing matches this.", "nothing"),
            // Pexels fails, Pixabay answers.
            scene("The first provider is down.", "blue broken only pexels"),
            {"text": "A video that is a photo.", "visual": {"kind": "stock", "media": "video", "query": "green lying"}},
        ],
    });
    let id = create(&app, &token, body).await;
    let project = wait_finished(&app, &token, &id, WAIT).await;
    assert_eq!(project["status"], "partial", "{project}");
    let warnings: Vec<String> = project["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect();
    let warning =
        |scene: usize| warnings.iter().find(|w| w.starts_with(&format!("Scene {scene}:"))).cloned().unwrap_or_default();
    assert!(
        warning(1).contains("not one of the provider's file hosts") && warning(1).contains("illustration"),
        "{warnings:?}"
    );
    assert!(warning(2).contains("not a picture or clip"), "{warnings:?}");
    assert!(warning(3).contains("larger than 5 MB"), "{warnings:?}");
    assert!(warning(4).contains("no stock photo matched \"nothing\""), "{warnings:?}");
    assert_eq!(warning(5), "", "Pixabay stood in for Pexels: {warnings:?}");
    assert!(warning(6).contains("not the video its answer promised"), "{warnings:?}");
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert_eq!(stand_ins.seen.elsewhere.load(Ordering::SeqCst), 0, "nothing was fetched from another host");
    let huge = stand_ins.seen.huge_bytes.load(Ordering::SeqCst);
    assert!(huge < 60_000_000, "the huge file was cut off near the cap, {huge} bytes were sent");
    let scenes = json_of(&app, &format!("/api/v1/projects/{id}/scenes"), &token).await;
    assert_eq!(scenes[4]["credit"]["provider"], "pixabay", "{}", scenes[4]);
    assert_eq!(scenes[0]["credit"], Value::Null, "an illustration has no credit");
    assert!(project["video_url"].is_string(), "the video was made with the illustrations");
}

async fn search(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client.get(app.url(&format!("/api/v1/stock/search?{query}"))).bearer_auth(token).send().await.expect("request")
}

fn calls_to(stand_ins: &StandIns, provider: &str, word: &str) -> usize {
    let calls = stand_ins.seen.calls.lock().expect("lock");
    calls.iter().filter(|c| c.starts_with(provider) && c.contains(word)).count()
}

async fn the_picker_searches_through_the_cache_and_obeys_rate_limits(backend: Backend) {
    let stand_ins = start_stand_ins().await;
    let app = spawn_with_stock(backend, &stand_ins, &[("STOCK_SEARCHES_PER_MINUTE", "12")]).await;
    let token = app.sign_in("picker@example.com").await.access_token;

    // Results with thumbnails served through Reelforge; the second page is another search.
    let response = search(&app, &token, "q=red+barn&media=video&orientation=portrait").await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("json");
    assert_eq!((page["provider"].as_str(), page["page"].as_u64()), (Some("pexels"), Some(1)), "{page}");
    let first = &page["results"][0];
    assert_eq!((first["id"].as_str(), first["media"].as_str()), (Some("201"), Some("video")), "{page}");
    assert_eq!(first["duration_seconds"], 12.0);
    assert_eq!(first["author"], "Pexels Filmmaker 201");
    let thumbnail = first["thumbnail_url"].as_str().expect("thumbnail");
    assert!(thumbnail.starts_with("/api/v1/stock/thumbnail?"), "{thumbnail}");
    let picture = app.get_auth(thumbnail, &token).await;
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.headers()["content-type"], "image/jpeg");
    assert!(picture.bytes().await.expect("bytes").starts_with(&[0xFF, 0xD8]));
    let calls = stand_ins.seen.calls.lock().expect("lock").clone();
    assert!(
        calls.iter().any(|c| c.starts_with("pexels /videos/search") && c.contains("orientation=portrait")),
        "{calls:?}"
    );
    // A thumbnail address outside the provider's hosts is not fetched.
    let foreign =
        app.get_auth("/api/v1/stock/thumbnail?provider=pexels&src=http%3A%2F%2F169.254.169.254%2Flatest", &token).await;
    assert_eq!(foreign.status(), 404);

    // The same search again (any tenant) is answered from the day-long cache.
    let other = app.sign_in("picker2@example.com").await.access_token;
    assert_eq!(search(&app, &other, "q=Red+Barn&media=video&orientation=portrait").await.status(), 200);
    assert_eq!(calls_to(&stand_ins, "pexels", "barn"), 1, "one call for both searches");

    // Pexels limits us (429 with Retry-After): Pixabay answers, and Pexels is left alone meanwhile.
    let page: Value = search(&app, &token, "q=busy+retryafter+only+pexels").await.json().await.expect("json");
    assert_eq!(page["provider"], "pixabay", "{page}");
    let page: Value = search(&app, &token, "q=blue+lake").await.json().await.expect("json");
    assert_eq!(page["provider"], "pixabay", "Pexels is waited for: {page}");
    assert_eq!(calls_to(&stand_ins, "pexels", "lake"), 0);
    // Pixabay says no requests remain: the answer counts, the next search waits for its reset.
    let page: Value = search(&app, &token, "q=lastone").await.json().await.expect("json");
    assert_eq!(page["provider"], "pixabay", "{page}");
    let waiting = search(&app, &token, "q=green+field").await;
    assert_eq!(waiting.status(), 503);
    let problem: Value = waiting.json().await.expect("json");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("limiting")), "{problem}");
    assert_eq!(problem["reason"], "provider_busy");
    assert!(problem["retry_after_seconds"].as_u64().is_some_and(|s| s > 3000), "{problem}");
    assert_eq!(calls_to(&stand_ins, "pixabay", "field"), 0);

    // Malformed searches; a tenant past its searches per minute.
    assert_eq!(search(&app, &token, "q=").await.status(), 422);
    assert_eq!(search(&app, &token, "q=x&page=51").await.status(), 422);
    assert_eq!(search(&app, &token, "q=x&media=gif").await.status(), 422);
    let mut limited = None;
    for _ in 0..12 {
        let response = search(&app, &token, "q=red+barn&media=video&orientation=portrait").await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the tenant is limited");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(search(&app, &other, "q=red+barn&media=video&orientation=portrait").await.status(), 200, "per tenant");
}

async fn without_a_stock_key_search_is_503_and_auto_illustrates(backend: Backend) {
    let stand_ins = start_stand_ins().await;
    // A slow Pexels alone: its timeout is a 502 naming it.
    let second = backend.clone();
    let app = spawn_app_with(
        backend,
        &[
            ("PEXELS_API_KEY", KEY),
            ("STOCK_API_BASE_PEXELS", stand_ins.pexels.as_str()),
            ("IMAGE_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await;
    let token = app.sign_in("slow@example.com").await.access_token;
    let started = std::time::Instant::now();
    let slow = search(&app, &token, "q=slow").await;
    assert_eq!(slow.status(), 502);
    assert!(started.elapsed() < Duration::from_secs(4), "the timeout holds: {:?}", started.elapsed());
    let problem: Value = slow.json().await.expect("json");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("Pexels did not answer within 1 s")), "{problem}");
    assert_eq!(search(&app, &token, "q=x&provider=pixabay").await.status(), 503, "Pixabay has no key here");

    let mut bare = crate::helpers::spawn_app(second).await;
    let token = bare.sign_in("bare@example.com").await.access_token;
    let response = search(&bare, &token, "q=storm").await;
    assert_eq!(response.status(), 503);
    let problem: Value = response.json().await.expect("json");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("PEXELS_API_KEY")), "{problem}");
    assert_eq!(problem["reason"], "not_configured");
    // A stock scene without a provider shows its illustration and says why.
    let id = create(
        &bare,
        &token,
        json!({"title": "Bare", "template_id": "explainer", "scenes": [
            {"text": "Storms were the hardest nights.", "visual": {"kind": "stock", "media": "photo"}}]}),
    )
    .await;
    let project = wait_finished(&bare, &token, &id, WAIT).await;
    assert_eq!(project["status"], "partial", "{project}");
    assert!(project["warnings"][0].as_str().is_some_and(|w| w.contains("no stock provider is set up")), "{project}");
    assert_eq!(project["credits"], json!([]));
    bare.stop().await;
}
