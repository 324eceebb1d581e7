//! The worked example of `docs/api.md` (`docs/examples/topic_to_video.py`)
//! run as a user would: against a real server, with a key of only the scopes
//! it names, a language model stand-in (chat-completions wire format), and
//! its own webhook receiver verifying with the official Standard Webhooks
//! library. A change that breaks the documented integration fails here.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, spawn_app_with};
use crate::scripts::{LLM_KEY, Reply, stand_in};
use crate::webhooks::has_official_library;

db_tests!(the_documented_example_goes_from_a_topic_to_a_video_without_polling);

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/topic_to_video.py");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The MP4's duration by ffprobe, when it holds video and audio.
fn probed_seconds(path: &Path) -> Option<f64> {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type:format=duration", "-of", "json"])
        .arg(path)
        .output()
        .ok()?;
    let probe: Value = serde_json::from_slice(&output.stdout).ok()?;
    let kinds: Vec<&str> = probe["streams"].as_array()?.iter().filter_map(|s| s["codec_type"].as_str()).collect();
    (kinds.contains(&"video") && kinds.contains(&"audio")).then_some(())?;
    probe["format"]["duration"].as_str()?.parse().ok()
}

async fn the_documented_example_goes_from_a_topic_to_a_video_without_polling(backend: Backend) {
    if !has_official_library() {
        eprintln!("skipping: pip install standardwebhooks");
        return;
    }
    let (llm, _) = stand_in(vec![Reply::Script(2)]).await;
    let app = spawn_app_with(
        backend,
        &[
            ("LLM_API_BASE", llm.as_str()),
            ("LLM_API_KEY", LLM_KEY),
            ("LLM_MODEL", "stand-in-model"),
            ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
    )
    .await;
    let session = app.sign_in("integrator@example.com").await;
    let created: Value = app
        .client
        .post(app.url("/api/account/api-keys"))
        .bearer_auth(&session.access_token)
        .json(&json!({"name": "topic-to-video", "scopes": ["projects:write", "projects:read", "webhooks:manage"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["api_key"].as_str().expect("a key").to_string();

    let out = app.data_dir.path().join("tides.mp4");
    let mut example = tokio::process::Command::new("python3");
    example
        .arg(EXAMPLE)
        .arg("How tides work")
        .arg(&out)
        .env("REELFORGE", &app.base)
        .env("REELFORGE_KEY", &key)
        .env("HOOK_PORT", free_port().to_string())
        .env("WAIT_SECONDS", "240")
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(300), example.output()).await;
    let output = run.expect("the example finishes").expect("python3 runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the example failed:\n{stdout}\n{stderr}");

    // It said what happened, from the signed event, and saved a real video.
    assert!(stdout.contains("script: 'How tides work', 2 scenes"), "{stdout}");
    assert!(stdout.contains("project.completed: completed") || stdout.contains("project.partial: partial"), "{stdout}");
    let seconds = probed_seconds(&out).expect("an MP4 with video and audio");
    assert!(seconds > 2.0, "{seconds} s");

    // The event only reaches the example by its verified webhook (it never
    // polls); the endpoint it registered for the run is gone again.
    let tenant = session.tenant_id.as_str();
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1", tenant).await, 0);
}
