//! Operations: the Prometheus scrape and error reports to Sentry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, spawn_app_with};
use crate::projects::{THREE_PARAGRAPHS, create, wait_finished};

db_tests!(metrics_report_requests_queue_steps_and_usage);

/// The value of the first series named `name` whose labels include every one of `labels`.
fn series(scrape: &str, name: &str, labels: &[&str]) -> Option<f64> {
    scrape.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (metric, rest) = key.split_once('{').unwrap_or((key, ""));
        (metric == name && labels.iter().all(|l| rest.contains(l))).then(|| value.parse().ok()).flatten()
    })
}

async fn scrape(app: &crate::helpers::TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn metrics_report_requests_queue_steps_and_usage(backend: Backend) {
    let mut app =
        spawn_app_with(backend, &[("METRICS_TOKEN", "scrape-secret-0123456789"), ("WORKER_CONCURRENCY", "0")]).await;
    assert_eq!(scrape(&app, None).await.status(), 401, "the token is required when set");
    assert_eq!(scrape(&app, Some("wrong")).await.status(), 401);

    let session = app.sign_in("metrics@example.com").await;
    let id = create(
        &app,
        &session.access_token,
        json!({"title": "M", "script": THREE_PARAGRAPHS, "template_id": "explainer"}),
    )
    .await;
    let _ = app.client.get(app.url("/no/such/page/7f3e")).send().await.expect("request");

    // No workers yet: the three images and three narrations wait in the queue.
    let response = scrape(&app, Some("scrape-secret-0123456789")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/plain"));
    let before = response.text().await.expect("body");
    assert_eq!(series(&before, "reelforge_queue_depth", &["state=\"queued\""]), Some(6.0), "{before}");
    assert_eq!(series(&before, "reelforge_queue_depth", &["state=\"running\""]), Some(0.0));
    assert!(series(&before, "reelforge_queue_oldest_age_seconds", &[]).is_some_and(|age| age >= 0.0));
    let created = ["route=\"/api/v1/projects\"", "method=\"POST\"", "status=\"202\""];
    assert!(series(&before, "reelforge_http_requests_total", &created).is_some_and(|n| n >= 1.0), "{before}");
    assert!(
        series(&before, "reelforge_http_request_duration_seconds_count", &["route=\"/api/v1/projects\""]).is_some()
    );
    assert!(before.contains("reelforge_build_info{version="), "{before}");
    // Unknown paths share one label: a scanner cannot grow the series without bound.
    assert!(!before.contains("7f3e"), "raw paths are never labels");
    assert!(series(&before, "reelforge_http_requests_total", &["route=\"other\"", "status=\"404\""]).is_some());
    let images_before =
        series(&before, "reelforge_usage_recorded_total", &["metric=\"images_generated\""]).unwrap_or(0.0);

    // Run the work, then the usage, step and queue figures move.
    let workers = reelforge::pipeline::worker::WorkerPool::start(&app.state, 2);
    let project = wait_finished(&app, &session.access_token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let after = scrape(&app, Some("scrape-secret-0123456789")).await.text().await.expect("body");
    let images_after =
        series(&after, "reelforge_usage_recorded_total", &["metric=\"images_generated\""]).unwrap_or(0.0);
    assert!(images_after - images_before >= 3.0, "three images recorded: {after}");
    for kind in ["image", "speech", "segment", "audio", "final"] {
        let label = format!("kind=\"{kind}\"");
        assert!(
            series(&after, "reelforge_step_duration_seconds_count", &[&label]).is_some_and(|n| n >= 1.0),
            "{kind}: {after}"
        );
    }
    assert_eq!(series(&after, "reelforge_queue_depth", &["state=\"queued\""]), Some(0.0));
    workers.shutdown().await;
    app.stop().await;
}

/// A minimal Sentry ingest endpoint: stores each envelope it is sent.
async fn sentry_stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = received.clone();
    let router = axum::Router::new().route(
        "/api/{project}/envelope/",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let auth = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok()).unwrap_or_default();
                assert!(auth.contains("sentry_key=publickey"), "{auth}");
                store.lock().expect("lock").push(String::from_utf8_lossy(&body).into_owned());
                axum::Json(json!({"id": "0"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://publickey@{addr}/42"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_reach_sentry_tagged_with_tenant_and_request_but_no_token() {
    let (dsn, received) = sentry_stand_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut server = crate::process::start(dir.path(), &[("SENTRY_DSN", dsn.as_str())]);
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let email = "oops@example.com";
    let sent = client.post(format!("{base}/api/auth/magic-link/request")).json(&json!({"email": email})).send().await;
    assert_eq!(sent.expect("request").status(), 202);
    let token = crate::helpers::link_in_outbox(&dir.path().join("outbox"), email).await;
    let session: Value = client
        .post(format!("{base}/api/auth/magic-link/verify"))
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let access = session["access_token"].as_str().expect("access token").to_string();
    let tenant = session["tenant"]["id"].as_str().expect("tenant").to_string();

    // Break the database under the running server: listing projects now fails inside.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("reelforge.db").display()))
        .await
        .expect("open the database");
    sqlx::query("DROP TABLE steps").execute(&pool).await.expect("drop");
    sqlx::query("ALTER TABLE projects RENAME TO projects_gone").execute(&pool).await.expect("rename");
    pool.close().await;
    let failed = client
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(&access)
        .header("x-request-id", "req-sentry-check-1")
        .send()
        .await
        .expect("request");
    assert_eq!(failed.status(), 500);
    let body = failed.text().await.expect("body");
    assert!(!body.contains("projects"), "the 500 says nothing internal: {body}");

    let mut event = None;
    for _ in 0..100 {
        event = received.lock().expect("lock").iter().find(|e| e.contains("req-sentry-check-1")).cloned();
        if event.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = crate::process::terminate(&mut server);
    let event = event.expect("an event reached Sentry");
    assert!(event.contains(&tenant), "tagged with the tenant: {event}");
    assert!(event.contains("\"request_id\":\"req-sentry-check-1\""), "{event}");
    assert!(!event.contains(&access), "never the access token");
    assert!(!event.contains(&token), "never the sign-in token");
    assert!(!event.to_ascii_lowercase().contains("authorization"), "no request headers");
}
