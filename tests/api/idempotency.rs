//! `Idempotency-Key` on the POSTs that create (issue 18, SPEC 4.8): the same
//! key and body answer the first response without doing the work again;
//! another body is a 422; a request still running is a 409; keys are per
//! tenant and last a day.

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};

db_tests!(a_repeated_creation_is_done_once, a_repeated_export_is_started_once);

fn project(title: &str) -> Value {
    json!({"title": title, "template_id": "explainer", "render": false,
           "scenes": [{"text": "One small step.", "visual": {"kind": "card"}}]})
}

async fn create(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("request")
}

async fn projects_of(app: &TestApp, tenant_id: &str) -> i64 {
    app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", tenant_id).await
}

/// Takes a key as another request would have, at `created_at`.
async fn hold_key(app: &TestApp, tenant_id: &str, key: &str, fingerprint: &str, created_at: i64) {
    let tenant = reelforge::domain::TenantId::parse(tenant_id).expect("a tenant id");
    let begun = reelforge::idempotency::begin(&app.state.db, &tenant, key, fingerprint, created_at).await;
    assert_eq!(begun.expect("taken"), reelforge::idempotency::Begun::New);
}

async fn a_repeated_creation_is_done_once(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("idem@example.com").await;
    let (token, tenant) = (&session.access_token, session.tenant_id.as_str());
    let body = project("Once");

    let first = create(&app, token, Some("order-42"), &body).await;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.expect("body");
    // A retry (a timeout, a dropped connection) gets the same answer, and no second project.
    let again = create(&app, token, Some("order-42"), &body).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.bytes().await.expect("body"), first_body, "the first answer, byte for byte");
    assert_eq!(projects_of(&app, tenant).await, 1);

    // The key with another body is a mistake, said so; nothing is made.
    let other = create(&app, token, Some("order-42"), &project("Twice")).await;
    assert_eq!(other.status(), 422);
    let problem: Value = other.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("Idempotency-Key"), "{problem}");
    assert_eq!(projects_of(&app, tenant).await, 1);

    // Not a key: refused before anything is done. No key: every request is new.
    assert_eq!(create(&app, token, Some("two words"), &body).await.status(), 400);
    assert_eq!(create(&app, token, None, &body).await.status(), 202);
    assert_eq!(create(&app, token, None, &body).await.status(), 202);
    assert_eq!(projects_of(&app, tenant).await, 3);

    // Keys are per tenant: another tenant's "order-42" is its own.
    let other_tenant = app.sign_in("someone-else@example.com").await;
    let theirs = create(&app, &other_tenant.access_token, Some("order-42"), &body).await;
    assert_eq!(theirs.status(), 202);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    assert_ne!(theirs.bytes().await.expect("body"), first_body);
    assert_eq!(projects_of(&app, &other_tenant.tenant_id).await, 1);

    // A request still running with the key: 409, nothing made.
    let bytes = serde_json::to_vec(&body).expect("json");
    let fingerprint = reelforge::idempotency::fingerprint("POST", "/api/v1/projects", "application/json", &bytes);
    let now = reelforge::db::now_ms();
    hold_key(&app, tenant, "in-flight", &fingerprint, now).await;
    let busy = create(&app, token, Some("in-flight"), &body).await;
    assert_eq!(busy.status(), 409);
    assert_eq!(projects_of(&app, tenant).await, 3);
    // One that never answered (its process died) frees its key after a while.
    hold_key(&app, tenant, "abandoned", &fingerprint, now - reelforge::idempotency::ABANDONED_MS - 1).await;
    assert_eq!(create(&app, token, Some("abandoned"), &body).await.status(), 202);
    assert_eq!(projects_of(&app, tenant).await, 4);

    // A day later the key is new again; housekeeping forgets old keys.
    app.exec(
        "UPDATE idempotency_keys SET created_at = $2 WHERE idem_key = 'order-42' AND tenant_id = $1",
        tenant,
        now - reelforge::idempotency::KEEP_MS - 1,
    )
    .await;
    let next_day = create(&app, token, Some("order-42"), &body).await;
    assert_eq!(next_day.status(), 202);
    assert!(next_day.headers().get("idempotent-replayed").is_none());
    assert_eq!(projects_of(&app, tenant).await, 5);
    app.exec("UPDATE idempotency_keys SET created_at = $2 WHERE tenant_id = $1", tenant, 0).await;
    reelforge::housekeeping(&app.state).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = $1", tenant).await, 0);
}

async fn a_repeated_export_is_started_once(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("idem-export@example.com").await;
    let token = &session.access_token;
    let start = |key: &'static str| {
        app.client.post(app.url("/api/account/export")).bearer_auth(token).header("Idempotency-Key", key).send()
    };
    // An export already running: a 429, which is not kept (the answer that
    // says "try again" lets the retry succeed).
    app.exec(
        "INSERT INTO exports (id, tenant_id, status, filename, created_at) VALUES ('busy', $1, 'running', 'busy.zip', $2)",
        &session.tenant_id,
        1,
    )
    .await;
    assert_eq!(start("export-1").await.expect("request").status(), 429);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = $1", "export-1").await, 0);
    app.exec("DELETE FROM exports WHERE tenant_id = $1 AND id = 'busy' AND $2 = $2", &session.tenant_id, 0).await;

    let first = start("export-1").await.expect("request");
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.expect("json");
    // The same request again (done or not by now): the first answer, one export.
    let again = start("export-1").await.expect("request");
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["export_id"], first["export_id"]);
    assert!(first["export_id"].is_string(), "{first}");
    assert_eq!(app.count("SELECT COUNT(*) FROM exports WHERE tenant_id = $1", &session.tenant_id).await, 1);
}
