//! Every error is RFC 9457 problem+json with the right status.

use serde_json::Value;

use crate::db_tests;
use crate::helpers::{Backend, spawn_app};

db_tests!(errors_are_problem_json, probes_and_api_description);

async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.expect("json body");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string(), "{body}");
    body
}

async fn errors_are_problem_json(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_problem(app.client.get(app.url("/api/nope")).send().await.expect("request"), 404).await;
    assert_problem(app.client.get(app.url("/definitely/not/here")).send().await.expect("request"), 404).await;
    let wrong_method = app.client.delete(app.url("/api/auth/me")).send().await.expect("request");
    assert!(wrong_method.headers().contains_key("allow"));
    assert_problem(wrong_method, 405).await;

    let request = "/api/auth/magic-link/request";
    let huge = format!("{{\"email\":\"{}@example.com\"}}", "a".repeat(1_100_000));
    let too_large = app
        .client
        .post(app.url(request))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    assert_problem(too_large, 413).await;

    let malformed = app
        .client
        .post(app.url(request))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .expect("request");
    let body = assert_problem(malformed, 400).await;
    assert!(body["detail"].as_str().expect("detail").contains("malformed JSON"));

    let not_json = app
        .client
        .post(app.url(request))
        .header("content-type", "text/plain")
        .body("email=a@b.c")
        .send()
        .await
        .expect("request");
    assert_problem(not_json, 415).await;

    let wrong_type =
        app.client.post(app.url(request)).json(&serde_json::json!({"email": ["x"]})).send().await.expect("request");
    let body = assert_problem(wrong_type, 422).await;
    assert_eq!(body["errors"][0]["field"], "email");

    let unauthorized =
        assert_problem(app.client.get(app.url("/api/auth/me")).send().await.expect("request"), 401).await;
    assert!(!unauthorized.to_string().contains("sqlx"));

    // Nothing was stored by any of these.
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE email <> $1", "").await, 0);
}

async fn probes_and_api_description(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"), "every response has a request id");
    let ready: Value = app.client.get(app.url("/readyz")).send().await.expect("request").json().await.expect("json");
    assert_eq!(ready["status"], "ready");

    let doc: Value =
        app.client.get(app.url("/api/openapi.json")).send().await.expect("request").json().await.expect("json");
    for path in [
        "/api/auth/magic-link/request",
        "/api/auth/magic-link/verify",
        "/api/auth/refresh",
        "/api/auth/me",
        "/api/auth/logout",
        "/api/account/rotate-api-key",
        "/api/account/audit",
        "/api/account/delete",
        "/api/account/export",
        "/api/account/exports/{id}",
        "/api/account/download-export/{filename}",
        "/api/account/backup-status",
        "/api/v1/templates",
        "/api/v1/voices",
        "/api/v1/voices/{id}/preview",
        "/api/v1/projects",
        "/api/v1/projects/create",
        "/api/v1/projects/{id}",
        "/api/v1/projects/{id}/events",
        "/api/v1/projects/{id}/retry",
        "/api/v1/projects/{id}/cancel",
        "/api/v1/projects/{id}/video",
        "/api/v1/projects/{id}/thumbnail",
        "/api/v1/projects/{id}/captions.vtt",
        "/api/v1/projects/{id}/captions.srt",
        "/api/usage",
        "/api/usage/history",
        "/api/billing/checkout",
        "/api/billing/portal",
        "/api/billing/subscription",
        "/api/billing/webhook",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    let docs = app.client.get(app.url("/docs")).send().await.expect("request");
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.expect("html");
    assert!(html.contains("/api/openapi.json") && html.contains("magic-link"), "the page embeds the description");

    // A request id sent by a proxy is kept.
    let traced = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("request");
    assert_eq!(traced.headers()["x-request-id"], "abc-123");

    // Readiness fails when the database is gone.
    app.state.db.close().await;
    assert_problem(app.client.get(app.url("/readyz")).send().await.expect("request"), 503).await;
}
