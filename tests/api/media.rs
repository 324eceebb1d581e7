//! The media library: pictures and clips in, typed by their content, stored
//! upright with a thumbnail, counted toward storage at once, listed, served
//! with ranges, deleted unless a scene uses them; and every kind of bad input
//! refused with a clear 4xx and nothing left behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reelforge::domain::TenantId;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, card_png, files_under, spawn_app, spawn_app_with};

db_tests!(
    pictures_are_stored_upright_with_a_thumbnail,
    clips_are_probed_and_kept_as_uploaded,
    the_library_is_listed_paged_and_served_with_ranges,
    storage_counts_at_once_and_falls_after_delete,
    another_tenants_media_is_not_found,
    media_in_use_cannot_be_deleted,
    bad_input_is_refused_and_leaves_nothing,
    types_come_from_content_and_names_are_labels,
    an_upload_past_media_max_mb_is_413,
    an_upload_past_the_storage_quota_is_402,
    export_and_erasure_include_the_library,
);

/// A multipart body with one part `file`.
fn multipart(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "reelforge-test-boundary-7d3f0a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(app: &TestApp, token: &str, filename: &str, bytes: &[u8]) -> reqwest::Response {
    let (content_type, body) = multipart("file", filename, bytes);
    app.client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Uploads and expects a 201; returns the item.
pub async fn upload_ok(app: &TestApp, token: &str, filename: &str, bytes: &[u8]) -> Value {
    let response = upload(app, token, filename, bytes).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{filename}: {body}");
    body
}

/// Runs ffmpeg with `args` writing `name` in a temporary folder; its bytes.
pub fn ffmpeg(args: &[&str], name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(out).expect("read")
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", &format!("testsrc=size={width}x{height}"), "-frames:v", "1"], "a.jpg")
}

fn webp() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=96x48", "-frames:v", "1"], "a.webp")
}

/// A 2-second 320x240 H.264 clip (the index at the end, as ffmpeg writes it).
fn mp4() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p"], "clip.mp4")
}

fn webm() -> Vec<u8> {
    ffmpeg(
        &["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v", "libvpx", "-b:v", "200k"],
        "c.webm",
    )
}

/// A PNG of noise (it does not compress): about 3 MB.
fn big_png() -> Vec<u8> {
    ffmpeg(
        &["-f", "lavfi", "-i", "nullsrc=s=1024x1024,geq=random(1)*255:random(2)*255:random(3)*255", "-frames:v", "1"],
        "n.png",
    )
}

/// `jpeg` with an APP1 Exif segment (big-endian TIFF, Orientation =
/// `orientation`) spliced in after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A 30,000 x 30,000 PNG of a few dozen bytes: an IHDR and a tiny zlib IDAT.
fn decompression_bomb() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }
    let mut ihdr = 30_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    // zlib: a stored (uncompressed) empty block is enough to look like data.
    let idat = [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01];
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).expect("tenant id")
}

/// The stored object of `key` on the test server's file storage.
fn stored(app: &TestApp, key: &str) -> PathBuf {
    app.data_dir.path().join("media").join(key)
}

/// Width and height of a picture file, by ffprobe.
fn probe_size(path: &Path) -> (u64, u64) {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=width,height", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let value: Value = serde_json::from_slice(&out.stdout).expect("json");
    let stream = &value["streams"][0];
    (stream["width"].as_u64().expect("width"), stream["height"].as_u64().expect("height"))
}

async fn storage_used_mb(app: &TestApp, token: &str) -> f64 {
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    usage["metrics"]["storage_mb"]["used"].as_f64().expect("storage used")
}

/// Nothing of the tenant's library is left: no file, no row, no upload scratch.
async fn assert_nothing_left(app: &TestApp, tenant_id: &str) {
    let library = app.data_dir.path().join("media/tenants").join(tenant_id).join("media");
    assert_eq!(files_under(&library), Vec::<PathBuf>::new(), "files left in the library");
    assert_eq!(app.count("SELECT COUNT(*) FROM media WHERE tenant_id = $1", tenant_id).await, 0, "rows left");
    let scratch: Vec<PathBuf> = files_under(&app.data_dir.path().join("work"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("upload-"))
        .collect();
    assert!(scratch.is_empty(), "scratch files left: {scratch:?}");
}

async fn assert_problem(response: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(response.status(), status, "{what}");
    assert_eq!(response.headers()["content-type"], "application/problem+json", "{what}");
    response.json().await.expect("json")
}

async fn pictures_are_stored_upright_with_a_thumbnail(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("pictures@example.com").await;
    let token = session.access_token.as_str();

    let png = upload_ok(&app, token, "card.png", &card_png("Hello")).await;
    assert_eq!(png["kind"], "image");
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["filename"], "card.png");
    assert_eq!((png["width"].as_u64(), png["height"].as_u64()), (Some(512), Some(288)));
    assert!(png["duration_seconds"].is_null());
    let id = png["id"].as_str().expect("id");
    assert_eq!(png["thumbnail_url"], format!("/api/v1/media/{id}/thumbnail"));
    assert_eq!(png["file_url"], format!("/api/v1/media/{id}/file"));
    assert!(png["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    // A JPEG stored on its side (EXIF orientation 6): the render copy is upright.
    let sideways = with_exif_orientation(&jpeg(64, 32), 6);
    let turned = upload_ok(&app, token, "phone.jpg", &sideways).await;
    assert_eq!(turned["content_type"], "image/jpeg");
    assert_eq!((turned["width"].as_u64(), turned["height"].as_u64()), (Some(32), Some(64)), "{turned}");
    let item =
        reelforge::library::store::find(&app.state.db, &tenant(&session.tenant_id), turned["id"].as_str().expect("id"))
            .await
            .expect("query")
            .expect("found");
    assert_eq!(item.kind, reelforge::library::MediaKind::Image);
    assert!(item.render_key.ends_with("/render.png") && item.file_key.ends_with("/original.jpg"), "{item:?}");
    assert!(item.render_key.starts_with(&format!("tenants/{}/media/{}/", session.tenant_id, item.id)));
    assert_eq!(probe_size(&stored(&app, &item.render_key)), (32, 64), "the render copy is upright");
    assert_eq!(probe_size(&stored(&app, &item.file_key)), (64, 32), "the original is kept as uploaded");
    let thumbnail = std::fs::read(stored(&app, &item.thumbnail_key)).expect("thumbnail");
    assert!(thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG thumbnail");
    assert_eq!(probe_size(&stored(&app, &item.thumbnail_key)).0, 320);
    let on_disk: u64 = [&item.file_key, &item.render_key, &item.thumbnail_key]
        .iter()
        .map(|key| std::fs::metadata(stored(&app, key)).expect("stored").len())
        .sum();
    assert_eq!(item.bytes as u64, on_disk, "bytes counts every stored file");
    assert_eq!(turned["bytes"].as_u64(), Some(on_disk));

    let webp = upload_ok(&app, token, "w.webp", &webp()).await;
    assert_eq!((webp["content_type"].as_str(), webp["kind"].as_str()), (Some("image/webp"), Some("image")));
    assert_eq!((webp["width"].as_u64(), webp["height"].as_u64()), (Some(96), Some(48)));

    // The demuxer the render steps force for each stored type.
    assert_eq!(reelforge_media::intake::demuxer_for("image/jpeg"), Some("jpeg_pipe"));
    assert_eq!(reelforge_media::intake::demuxer_for(&item.content_type), Some("jpeg_pipe"));
}

async fn clips_are_probed_and_kept_as_uploaded(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("clips@example.com").await;
    let token = session.access_token.as_str();
    let tenant_id = tenant(&session.tenant_id);
    for (name, bytes, content_type, extension) in
        [("clip.mp4", mp4(), "video/mp4", "mp4"), ("clip.webm", webm(), "video/webm", "webm")]
    {
        let clip = upload_ok(&app, token, name, &bytes).await;
        assert_eq!(clip["kind"], "video", "{clip}");
        assert_eq!(clip["content_type"], content_type);
        assert_eq!((clip["width"].as_u64(), clip["height"].as_u64()), (Some(320), Some(240)));
        let seconds = clip["duration_seconds"].as_f64().expect("duration");
        assert!((seconds - 2.0).abs() < 0.1, "{seconds}");
        let item = reelforge::library::store::find(&app.state.db, &tenant_id, clip["id"].as_str().expect("id"))
            .await
            .expect("query")
            .expect("found");
        assert_eq!(item.render_key, item.file_key, "a clip renders from its original");
        assert!(item.file_key.ends_with(&format!("/original.{extension}")));
        assert_eq!(std::fs::read(stored(&app, &item.file_key)).expect("original"), bytes, "kept as uploaded");
        assert_eq!(probe_size(&stored(&app, &item.thumbnail_key)), (320, 240));
        assert!(reelforge_media::intake::demuxer_for(&item.content_type).is_some());
    }
}

async fn the_library_is_listed_paged_and_served_with_ranges(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("listing@example.com").await;
    let token = session.access_token.as_str();
    let mut ids = Vec::new();
    for label in ["one", "two", "three"] {
        ids.push(
            upload_ok(&app, token, &format!("{label}.png"), &card_png(label)).await["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let page: Value = app.get_auth("/api/v1/media?limit=2", token).await.json().await.expect("json");
    let listed: Vec<&str> =
        page["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().expect("id")).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()], "newest first");
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest: Value =
        app.get_auth(&format!("/api/v1/media?limit=2&cursor={cursor}"), token).await.json().await.expect("json");
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest["next_cursor"].is_null());
    assert_problem(app.get_auth("/api/v1/media?limit=0", token).await, 422, "limit 0").await;
    assert_problem(app.get_auth("/api/v1/media?cursor=nope", token).await, 422, "bad cursor").await;

    let item: Value = app.get_auth(&format!("/api/v1/media/{}", ids[0]), token).await.json().await.expect("json");
    assert_eq!(item["filename"], "one.png");
    let original = card_png("one");
    let whole = app.get_auth(&format!("/api/v1/media/{}/file", ids[0]), token).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "image/png");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.expect("body").as_ref(), original.as_slice());
    let ranged = app
        .client
        .get(app.url(&format!("/api/v1/media/{}/file", ids[0])))
        .bearer_auth(token)
        .header("range", "bytes=0-7")
        .send()
        .await
        .expect("request");
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 0-7/{}", original.len()));
    assert_eq!(ranged.bytes().await.expect("body").as_ref(), &original[..8]);
    let thumbnail = app.get_auth(&format!("/api/v1/media/{}/thumbnail", ids[0]), token).await;
    assert_eq!(thumbnail.status(), 200);
    assert_eq!(thumbnail.headers()["content-type"], "image/jpeg");
    assert!(thumbnail.bytes().await.expect("body").starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_problem(app.get_auth("/api/v1/media/not-an-id", token).await, 404, "not an id").await;
    assert_problem(app.get_auth(&format!("/api/v1/media/{}", uuid::Uuid::now_v7()), token).await, 404, "no such id")
        .await;
    assert_eq!(app.client.get(app.url("/api/v1/media")).send().await.expect("request").status(), 401);
}

async fn storage_counts_at_once_and_falls_after_delete(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("usage-media@example.com").await;
    let token = session.access_token.as_str();
    assert_eq!(storage_used_mb(&app, token).await, 0.0);
    let item = upload_ok(&app, token, "noise.png", &big_png()).await;
    let bytes = item["bytes"].as_f64().expect("bytes");
    assert!(bytes > 3_000_000.0, "{bytes}");
    let used = storage_used_mb(&app, token).await;
    assert!((used - bytes / 1e6).abs() < 0.011, "counted at once: {used} MB for {bytes} bytes");

    let id = item["id"].as_str().expect("id");
    let deleted =
        app.client.delete(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(storage_used_mb(&app, token).await, 0.0, "released at once");
    assert_problem(app.get_auth(&format!("/api/v1/media/{id}"), token).await, 404, "gone").await;
    assert_nothing_left(&app, &session.tenant_id).await;
}

async fn another_tenants_media_is_not_found(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let owner = app.sign_in("owner-media@example.com").await;
    let other = app.sign_in("other-media@example.com").await;
    let id = upload_ok(&app, &owner.access_token, "mine.png", &card_png("mine")).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    for path in
        [format!("/api/v1/media/{id}"), format!("/api/v1/media/{id}/file"), format!("/api/v1/media/{id}/thumbnail")]
    {
        let body = assert_problem(app.get_auth(&path, &other.access_token).await, 404, &path).await;
        assert_eq!(body["detail"], "no such resource", "exactly like none");
    }
    let delete = app
        .client
        .delete(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&other.access_token)
        .send()
        .await
        .expect("request");
    assert_problem(delete, 404, "delete").await;
    let theirs: Value = app.get_auth("/api/v1/media", &other.access_token).await.json().await.expect("json");
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(app.get_auth(&format!("/api/v1/media/{id}"), &owner.access_token).await.status(), 200, "still there");
    let found = reelforge::library::store::find(&app.state.db, &tenant(&other.tenant_id), &id).await.expect("query");
    assert!(found.is_none(), "find is tenant-scoped");
}

async fn media_in_use_cannot_be_deleted(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("in-use@example.com").await;
    let token = session.access_token.as_str();
    let id = upload_ok(&app, token, "used.png", &card_png("used")).await["id"].as_str().expect("id").to_string();
    let project = crate::projects::create(
        &app,
        token,
        json!({"title": "Uses the picture", "script": "One scene.\n\nTwo scenes.", "template_id": "explainer"}),
    )
    .await;
    // The scenes API is built elsewhere: point a scene at the item directly.
    app.exec("UPDATE scenes SET media_id = $1 WHERE scene_index = $2", &id, 1).await;
    let refused =
        app.client.delete(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(token).send().await.expect("request");
    let problem = assert_problem(refused, 409, "in use").await;
    assert_eq!(problem["projects"], json!([{"id": project, "title": "Uses the picture"}]), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("Uses the picture")), "{problem}");
    assert_eq!(app.get_auth(&format!("/api/v1/media/{id}/file"), token).await.status(), 200, "kept");

    app.exec("UPDATE scenes SET media_id = NULL WHERE media_id = $1 AND scene_index = $2", &id, 1).await;
    let deleted =
        app.client.delete(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 204);
    assert_nothing_left(&app, &session.tenant_id).await;
}

async fn bad_input_is_refused_and_leaves_nothing(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("bad-input@example.com").await;
    let token = session.access_token.as_str();
    let png = card_png("half");
    let clip = mp4();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("notes.png", b"just some text, named like a picture\n".to_vec(), 415),
        ("x.jpg", b"plain text with a jpg name".to_vec(), 415),
        ("empty.png", Vec::new(), 415),
        ("archive.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest of a zip".to_vec(), 415),
        ("playlist.mp4", b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXTINF:10,\nhttp://127.0.0.1:9/x\n#EXT-X-ENDLIST\n".to_vec(), 415),
        ("concat.mp4", b"ffconcat version 1.0\nfile /etc/passwd\nfile http://127.0.0.1:9/x\n".to_vec(), 415),
        ("half.png", png[..png.len() / 2].to_vec(), 422),
        ("half.mp4", clip[..clip.len() / 2].to_vec(), 422),
    ];
    for (name, bytes, status) in cases {
        let problem = assert_problem(upload(&app, token, name, &bytes).await, status, name).await;
        if status == 415 {
            let detail = problem["detail"].as_str().expect("detail");
            assert!(detail.contains("PNG, JPEG or WebP") && detail.contains("MP4"), "{name}: {detail}");
        } else {
            assert!(problem["detail"].as_str().is_some_and(|d| d.contains("could not be read")), "{name}: {problem}");
            assert_eq!(problem["errors"][0]["field"], "file");
        }
        assert!(!problem.to_string().contains("/work/") && !problem.to_string().contains("ffprobe"), "{problem}");
    }

    // A decompression bomb is refused from its header, fast, never decoded.
    let bomb = decompression_bomb();
    assert!(bomb.len() < 200, "{} bytes", bomb.len());
    let started = Instant::now();
    let problem = assert_problem(upload(&app, token, "bomb.png", &bomb).await, 422, "bomb").await;
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}", started.elapsed());
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("30000 x 30000") && detail.contains("50 megapixels"), "{detail}");

    // No part named file; not multipart at all.
    let (content_type, body) = multipart("picture", "a.png", &png);
    let wrong_field = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    assert_problem(wrong_field, 422, "no file part").await;
    let not_multipart = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .expect("request");
    assert_problem(not_multipart, 415, "not multipart").await;

    assert_nothing_left(&app, &session.tenant_id).await;
    assert_eq!(storage_used_mb(&app, token).await, 0.0);
}

async fn types_come_from_content_and_names_are_labels(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("labels@example.com").await;
    let token = session.access_token.as_str();
    // A PNG named like a clip is a picture.
    let lying = upload_ok(&app, token, "clip.mp4", &card_png("really a png")).await;
    assert_eq!((lying["kind"].as_str(), lying["content_type"].as_str()), (Some("image"), Some("image/png")));
    assert_eq!(lying["filename"], "clip.mp4");
    // A path in the name is dropped: a label only, never part of a key.
    let pathy = upload_ok(&app, token, "../../evil.png", &card_png("evil")).await;
    assert_eq!(pathy["filename"], "evil.png");
    let windows = upload_ok(&app, token, "C:\\x\\y.png", &card_png("y")).await;
    assert_eq!(windows["filename"], "y.png");
    let item =
        reelforge::library::store::find(&app.state.db, &tenant(&session.tenant_id), pathy["id"].as_str().expect("id"))
            .await
            .expect("query")
            .expect("found");
    for key in [&item.file_key, &item.render_key, &item.thumbnail_key] {
        assert!(!key.contains("evil") && !key.contains(".."), "{key}");
        assert!(key.starts_with(&format!("tenants/{}/media/{}/", session.tenant_id, item.id)), "{key}");
    }
    assert!(!app.data_dir.path().join("evil.png").exists());
    assert!(files_under(app.data_dir.path()).iter().all(|p| !p.to_string_lossy().contains("evil")));
}

async fn an_upload_past_media_max_mb_is_413(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("MEDIA_MAX_MB", "1")]).await;
    let session = app.sign_in("too-big@example.com").await;
    let token = session.access_token.as_str();
    let mut big = card_png("big");
    big.resize(2_000_000, 7);
    let problem = assert_problem(upload(&app, token, "big.png", &big).await, 413, "2 MB").await;
    assert_eq!(problem["max_mb"], 1);
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("1 MB")), "{problem}");
    // Chunked (no Content-Length): streamed through the limit, cut off past
    // it, the rest drained so that the client still sending reads the 413.
    let answer = send_chunked(&app, token, &big).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("\"max_mb\":1"), "{answer}");
    // Just past the limit, within the multipart framing's allowance: the
    // handler's own count refuses it.
    big.truncate(1_000_100);
    let problem = assert_problem(upload(&app, token, "edge.png", &big).await, 413, "just past").await;
    assert_eq!(problem["max_mb"], 1);
    // Within the limit, JSON bodies elsewhere keep their 1 MiB.
    let small = upload_ok(&app, token, "small.png", &card_png("small")).await;
    assert_eq!(small["kind"], "image");
    let json_body = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(vec![b' '; 1_100_000])
        .send()
        .await
        .expect("request");
    assert_eq!(json_body.status(), 413);
    let id = small["id"].as_str().expect("id");
    let deleted =
        app.client.delete(app.url(&format!("/api/v1/media/{id}"))).bearer_auth(token).send().await.expect("request");
    assert_eq!(deleted.status(), 204);
    assert_nothing_left(&app, &session.tenant_id).await;
}

/// Uploads `bytes` with `Transfer-Encoding: chunked` over a raw connection;
/// the whole answer as text.
async fn send_chunked(app: &TestApp, token: &str, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (content_type, body) = multipart("file", "chunked.png", bytes);
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    let head = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: reelforge.test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in body.chunks(64 * 1024) {
        stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.expect("chunk size");
        stream.write_all(chunk).await.expect("chunk");
        stream.write_all(b"\r\n").await.expect("chunk end");
    }
    stream.write_all(b"0\r\n\r\n").await.expect("last chunk");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn an_upload_past_the_storage_quota_is_402(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUOTA_STORAGE_MB", "2")]).await;
    let session = app.sign_in("quota-media@example.com").await;
    let token = session.access_token.as_str();
    // The original alone (about 3 MB) passes 2 MB: refused before any work.
    let problem = assert_problem(upload(&app, token, "noise.png", &big_png()).await, 402, "original").await;
    assert_eq!(problem["metric"], "storage_mb", "{problem}");
    assert_eq!(problem["quota"], 2.0);
    assert_nothing_left(&app, &session.tenant_id).await;
    // An original that fits, whose copies together do not: refused after storing, and cleaned up.
    let fits = ffmpeg(
        &["-f", "lavfi", "-i", "nullsrc=s=700x700,geq=random(1)*255:random(2)*255:random(3)*255", "-frames:v", "1"],
        "m.png",
    );
    assert!(fits.len() < 2_000_000 && fits.len() > 1_000_000, "{}", fits.len());
    let problem = assert_problem(upload(&app, token, "medium.png", &fits).await, 402, "with copies").await;
    assert_eq!(problem["metric"], "storage_mb", "{problem}");
    assert_nothing_left(&app, &session.tenant_id).await;
    assert_eq!(storage_used_mb(&app, token).await, 0.0);
    // Something small still fits.
    upload_ok(&app, token, "small.png", &card_png("small")).await;
}

async fn export_and_erasure_include_the_library(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("library-export@example.com").await;
    let token = session.access_token.as_str();
    let item = upload_ok(&app, token, "kept.png", &card_png("kept")).await;
    let id = item["id"].as_str().expect("id");

    let started: Value = app.post_auth("/api/account/export", token).await.json().await.expect("json");
    let export_id = started["export_id"].as_str().expect("export id");
    let mut view = Value::Null;
    for _ in 0..300 {
        view = app.get_auth(&format!("/api/account/exports/{export_id}"), token).await.json().await.expect("json");
        if view["status"] == "ready" || view["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["status"], "ready", "{view}");
    let zip_bytes = app.get_auth(view["download_url"].as_str().expect("url"), token).await.bytes().await.expect("zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).expect("zip");
    let names: Vec<String> = archive.file_names().map(|name| name.expect("name").to_string()).collect();
    for expected in [
        format!("library/{id}/original.png"),
        format!("library/{id}/render.png"),
        format!("library/{id}/thumbnail.jpg"),
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let listing: Value = {
        let mut entry = archive.by_name("media.json").expect("media.json");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
        serde_json::from_str(&text).expect("json")
    };
    assert_eq!(listing[0]["id"], id);
    assert_eq!(listing[0]["filename"], "kept.png");
    assert_eq!(listing[0]["file"], format!("library/{id}/original.png"));
    assert!(listing[0].get("file_key").is_none(), "no storage keys in the archive");
    let mut original = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name(&format!("library/{id}/original.png")).expect("entry"),
        &mut original,
    )
    .expect("read");
    assert_eq!(original, card_png("kept"));

    // Erasure: the purge takes the library's files and rows with the tenant.
    let erase = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .json(&json!({"confirm": "library-export@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(erase.status(), 202);
    let tenant_id = tenant(&session.tenant_id);
    for _ in 0..100 {
        if reelforge::account::erase::is_purged(&app.state.db, &tenant_id).await.expect("query") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reelforge::account::erase::is_purged(&app.state.db, &tenant_id).await.expect("query"));
    assert_nothing_left(&app, &session.tenant_id).await;
    assert!(files_under(&app.data_dir.path().join("media/tenants").join(&session.tenant_id)).is_empty());
}
