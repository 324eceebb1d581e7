//! Live-progress streams: capped per tenant and per server, and the streams
//! of one project share one feed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::create;

db_tests!(live_streams_are_capped_per_tenant_and_per_server);

async fn open(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get_auth(&format!("/api/v1/projects/{id}/events"), token).await
}

/// The first chunk of an open stream (its first `step` events).
async fn first_chunk(stream: &mut reqwest::Response) -> String {
    let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await.expect("an event in time");
    String::from_utf8_lossy(&chunk.expect("read").expect("a chunk")).into_owned()
}

async fn assert_refused(response: reqwest::Response, says: &str) {
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().contains_key("retry-after"));
    let problem: Value = response.json().await.expect("json");
    assert!(problem["detail"].as_str().expect("detail").contains(says), "{problem}");
}

async fn live_streams_are_capped_per_tenant_and_per_server(backend: Backend) {
    // No workers: the projects stay queued, so their streams stay open.
    let app = spawn_app_with(
        backend,
        &[("WORKER_CONCURRENCY", "0"), ("LIVE_STREAMS_PER_TENANT", "2"), ("LIVE_STREAMS_MAX", "3")],
    )
    .await;
    let first = app.sign_in("live-a@example.com").await;
    let second = app.sign_in("live-b@example.com").await;
    let body = json!({"title": "t", "script": "One scene.\n\nTwo scenes.", "template_id": "explainer"});
    let a_project = create(&app, &first.access_token, body.clone()).await;
    let b_project = create(&app, &second.access_token, body).await;

    let mut a1 = open(&app, &first.access_token, &a_project).await;
    let mut a2 = open(&app, &first.access_token, &a_project).await;
    assert_eq!((a1.status().as_u16(), a2.status().as_u16()), (200, 200));
    assert!(first_chunk(&mut a1).await.contains("event: step"));
    assert!(first_chunk(&mut a2).await.contains("event: step"));
    // Two streams of one project, one feed.
    assert_eq!(app.state.live.feeds(), 1);

    // The tenant's third stream is refused.
    assert_refused(open(&app, &first.access_token, &a_project).await, "for this account").await;

    // Another tenant is not held by the first one's cap, only by the server's.
    let mut b1 = open(&app, &second.access_token, &b_project).await;
    assert_eq!(b1.status(), 200);
    assert!(first_chunk(&mut b1).await.contains("event: step"));
    assert_eq!(app.state.live.feeds(), 2);
    assert_refused(open(&app, &second.access_token, &b_project).await, "on this server").await;

    // A stream the client closes gives its place back.
    drop(a2);
    let mut reopened = None;
    for _ in 0..50 {
        let response = open(&app, &first.access_token, &a_project).await;
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut a3 = reopened.expect("a closed stream's place is given back");
    assert!(first_chunk(&mut a3).await.contains("event: step"));
    assert_eq!(app.state.live.open_streams(&first.tenant_id), (3, 2));

    // Every stream gone: the feeds stop and the counts are zero.
    drop((a1, a3, b1));
    for _ in 0..50 {
        if app.state.live.feeds() == 0 && app.state.live.open_streams(&first.tenant_id) == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.state.live.open_streams(&first.tenant_id), (0, 0));
    assert_eq!(app.state.live.feeds(), 0);
}
