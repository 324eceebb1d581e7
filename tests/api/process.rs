//! The `reelforge` binary itself: start-up checks, port 0, graceful shutdown, logs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_reelforge");

fn command(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("BIND", "127.0.0.1:0")
        .env("PUBLIC_URL", "http://reelforge.test")
        .current_dir(data_dir);
    command
}

#[test]
fn production_refuses_a_missing_or_short_secret_and_insecure_cookies() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("APP_ENV", "production")], "JWT_SECRET"),
        (&[("APP_ENV", "production"), ("JWT_SECRET", "too-short")], "JWT_SECRET"),
        (
            &[
                ("APP_ENV", "production"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("SECURE_COOKIES", "false"),
            ],
            "SECURE_COOKIES",
        ),
    ];
    for (env, key) in cases {
        let output = command(dir.path()).envs(env.iter().copied()).arg("serve").output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(key), "{stderr}");
        assert!(!stderr.contains("too-short"), "the secret is not echoed");
    }
    let output = command(dir.path()).env("QUEUE_MAX_PENDING", "many").arg("migrate").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("QUEUE_MAX_PENDING"));
}

#[test]
fn a_provider_config_without_its_settings_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("IMAGE_PROVIDER", "openai"), ("IMAGE_API_KEY", "sk-image-not-echoed")], "IMAGE_API_BASE"),
        (&[("TTS_PROVIDER", "openai"), ("TTS_API_KEY", "sk-speech-not-echoed")], "TTS_API_BASE"),
        (&[("TTS_PROVIDER", "piper")], "PIPER_VOICE"),
    ];
    for (env, key) in cases {
        let output = command(dir.path()).envs(env.iter().copied()).arg("serve").output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(key), "{stderr}");
        assert!(!stderr.contains("not-echoed"), "the key is not echoed: {stderr}");
    }
    assert!(!dir.path().join("secret.key").exists(), "a refused start writes no secret");
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
    lines: mpsc::Receiver<String>,
}

pub(crate) fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    start_as(dir, env, "serve")
}

/// Starts `reelforge SUBCOMMAND` and waits for the line naming its listening address.
fn start_as(dir: &std::path::Path, env: &[(&str, &str)], subcommand: &str) -> Server {
    let mut child =
        command(dir).envs(env.iter().copied()).arg(subcommand).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else { continue };
        if line.contains("listening") {
            let start = line.find("127.0.0.1:").expect("address in the line");
            let addr: String =
                line[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
            return Server { child, addr, lines: rx };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not report its address");
}

pub(crate) fn terminate(server: &mut Server) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    panic!("server did not stop on SIGTERM");
}

#[test]
fn binds_port_zero_serves_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = start(dir.path(), &[]);
    assert_ne!(server.addr, "127.0.0.1:0");
    let body = reqwest::blocking::get(format!("http://{}/readyz", server.addr)).expect("request").text().expect("body");
    assert!(body.contains("ready"), "{body}");
    assert!(dir.path().join("reelforge.db").exists(), "SQLite under DATA_DIR");
    assert!(dir.path().join("secret.key").exists(), "development secret kept under DATA_DIR");
    let status = terminate(&mut server);
    assert!(status.success(), "{status}");
    let rest: Vec<String> = server.lines.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

#[test]
fn production_logs_are_json_and_hold_no_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let secret = "prod-secret-0123456789abcdef0123456789";
    let mut server = start(dir.path(), &[("APP_ENV", "production"), ("JWT_SECRET", secret)]);
    let client = reqwest::blocking::Client::new();
    let response = client
        .post(format!("http://{}/api/auth/magic-link/request", server.addr))
        .json(&serde_json::json!({"email": "prod@example.com"}))
        .send()
        .expect("request");
    assert_eq!(response.status(), 202);
    std::thread::sleep(Duration::from_millis(300));
    terminate(&mut server);
    let lines: Vec<String> = server.lines.try_iter().collect();
    for line in &lines {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "not JSON: {line}");
    }
    let file_log = std::fs::read_to_string(dir.path().join("reelforge.log")).expect("log file under DATA_DIR");
    let everything = format!("{}\n{file_log}", lines.join("\n"));
    assert!(!everything.contains(secret));
    assert!(!everything.contains("token="), "no sign-in link in production logs");
    let eml = std::fs::read_dir(dir.path().join("outbox")).expect("outbox").count();
    assert_eq!(eml, 1);
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = tempfile::tempdir().expect("dir");
    let output = command(dir.path()).arg("migrate").output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(dir.path().join("reelforge.db").exists());
    // Idempotent.
    let output = command(dir.path()).arg("migrate").output().expect("runs");
    assert!(output.status.success());
}

/// A worker killed mid-step leaves its scratch directory behind; the next
/// start on that data directory clears it (the step itself was taken over).
#[test]
fn start_clears_scratch_left_by_a_killed_worker() {
    let dir = tempfile::tempdir().expect("dir");
    let stale = dir.path().join("work").join("01a2-killed-step");
    std::fs::create_dir_all(&stale).expect("scratch");
    std::fs::write(stale.join("segment.mp4"), b"half-written").expect("file");
    let mut server = start(dir.path(), &[]);
    assert!(!stale.exists(), "scratch of a dead worker is removed at start");
    assert!(terminate(&mut server).success());
}

/// A dedicated worker serves its probes and its own step metrics on METRICS_BIND.
#[test]
fn a_worker_serves_probes_and_metrics_on_metrics_bind() {
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = start_as(dir.path(), &[("METRICS_BIND", "127.0.0.1:0"), ("WORKER_CONCURRENCY", "1")], "worker");
    let get = |path: &str| reqwest::blocking::get(format!("http://{}{path}", worker.addr)).expect("request");
    assert_eq!(get("/healthz").status(), 200);
    assert_eq!(get("/readyz").status(), 200);
    let metrics = get("/metrics").text().expect("body");
    assert!(metrics.contains("reelforge_build_info{version="), "{metrics}");
    assert!(metrics.contains("reelforge_queue_depth{state=\"queued\"} 0"), "{metrics}");
    assert_eq!(get("/api/auth/me").status(), 404, "only probes and metrics, no API");
    assert!(terminate(&mut worker).success());
}

/// `reelforge render --scenes`: scenes from a JSON file, a visual naming a
/// local picture or clip, taken in through the library's intake.
#[test]
fn render_takes_scenes_with_local_pictures_and_clips() {
    let dir = tempfile::tempdir().expect("dir");
    let ffmpeg = |args: &[&str]| {
        let status = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).current_dir(dir.path()).status();
        assert!(status.expect("ffmpeg runs").success(), "{args:?}");
    };
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=300x450", "-frames:v", "1", "portrait.png"]);
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1", "-pix_fmt", "yuv420p", "clip.mp4"]);
    let scenes = r#"{"scenes": [
        {"text": "A card opens the video.", "title": "Hello", "visual": {"kind": "card"}},
        {"text": "A picture of our own.", "visual": {"kind": "upload", "file": "portrait.png"}},
        {"text": "A clip of our own.", "visual": {"kind": "upload", "file": "clip.mp4"}}
    ]}"#;
    std::fs::write(dir.path().join("scenes.json"), scenes).expect("write");
    let output = command(dir.path())
        .args(["render", "--scenes", "scenes.json", "-o", "out.mp4", "--plan", "free"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let probe = crate::projects::probe(&dir.path().join("out.mp4"));
    let video = probe["streams"].as_array().expect("streams").iter().find(|s| s["codec_type"] == "video").cloned();
    assert_eq!(video.as_ref().map(|v| v["width"].clone()), Some(serde_json::json!(1280)), "{probe}");

    // A file that is no picture is refused, naming the scene.
    std::fs::write(dir.path().join("fake.png"), "not a picture").expect("write");
    let bad = r#"[{"text": "Broken.", "visual": {"kind": "upload", "file": "fake.png"}}]"#;
    std::fs::write(dir.path().join("bad.json"), bad).expect("write");
    let output = command(dir.path()).args(["render", "--scenes", "bad.json", "-o", "bad.mp4"]).output().expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("scene 1") && stderr.contains("fake.png"), "{stderr}");
    assert!(!dir.path().join("bad.mp4").exists());
}
