//! The render queue between tenants: each tenant gets its turn at the
//! workers, whoever queued first, and may have only so many unfinished
//! projects (by plan).

use std::time::Duration;

use serde_json::json;

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(
    claims_alternate_between_tenants,
    a_small_project_finishes_while_a_flood_is_still_rendering,
    a_free_tenant_gets_429_past_five_unfinished_projects,
    parallel_creates_do_not_pass_the_tenant_limit,
    a_retry_over_a_queue_limit_gets_429,
);

/// A script of `scenes` one-line scenes.
fn script(scenes: usize, word: &str) -> String {
    (1..=scenes).map(|i| format!("{word} {i}.")).collect::<Vec<_>>().join("\n\n")
}

/// Unfinished (queued or running) projects of a tenant.
async fn unfinished(app: &TestApp, tenant_id: &str) -> i64 {
    app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1 AND status IN ('queued', 'running')", tenant_id).await
}

/// A tenant that queued first does not get every worker until its backlog is
/// done: claims take the tenants with ready steps in turn.
async fn claims_alternate_between_tenants(backend: Backend) {
    use reelforge::pipeline::queue;
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let first = app.sign_in("backlog@example.com").await;
    let second = app.sign_in("latecomer@example.com").await;
    // Two projects of three scenes (twelve ready steps) queued first, then one
    // of three scenes (six ready steps) of another tenant.
    for i in 0..2 {
        let body = json!({"title": format!("b{i}"), "script": script(3, "Backlog"), "template_id": "explainer"});
        create(&app, &first.access_token, body).await;
    }
    let body = json!({"title": "late", "script": script(3, "Late"), "template_id": "explainer"});
    create(&app, &second.access_token, body).await;
    let db = &app.state.db;

    // One claim of four takes two steps of each.
    let claimed = queue::claim(db, "fair", 60_000, 4).await.expect("claim");
    let of_first = claimed.iter().filter(|s| s.tenant_id.as_str() == first.tenant_id).count();
    assert_eq!((claimed.len(), of_first), (4, 2), "{claimed:?}");
    // Claims one at a time alternate while both have ready steps...
    let mut order = Vec::new();
    for _ in 0..8 {
        let step = queue::claim(db, "fair", 60_000, 1).await.expect("claim").into_iter().next().expect("a step");
        order.push(if step.tenant_id.as_str() == first.tenant_id { "first" } else { "second" });
    }
    assert_eq!(order, ["first", "second"].repeat(4), "claim order");
    // ...and the backlog gets every worker once the other tenant has none.
    let step = queue::claim(db, "fair", 60_000, 1).await.expect("claim").into_iter().next().expect("a step");
    assert_eq!(step.tenant_id.as_str(), first.tenant_id);
}

/// A tenant's flood of long projects does not hold up another tenant's short
/// one: it finishes while most of the flood is still waiting or rendering.
async fn a_small_project_finishes_while_a_flood_is_still_rendering(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "2")]).await;
    let flood = app.sign_in("flood@example.com").await;
    let small = app.sign_in("small@example.com").await;
    for i in 0..4 {
        let body = json!({"title": format!("flood {i}"), "script": script(20, "Flood"), "template_id": "explainer"});
        create(&app, &flood.access_token, body).await;
    }
    let body = json!({"title": "small", "script": "Just one scene.", "template_id": "explainer"});
    let id = create(&app, &small.access_token, body).await;
    let project = wait_finished(&app, &small.access_token, &id, Duration::from_secs(180)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let waiting = unfinished(&app, &flood.tenant_id).await;
    assert!(waiting >= 2, "only {waiting} of the flood's 4 projects were unfinished when the small one finished");
}

/// Asks to create a one-scene project; the response as it came.
async fn try_create(app: &TestApp, token: &str, title: &str) -> reqwest::Response {
    let body = json!({"title": title, "script": "One scene.", "template_id": "explainer"});
    app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("request")
}

/// POSTs `/retry` or `/cancel` of a project.
async fn action(app: &TestApp, token: &str, id: &str, what: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("/api/v1/projects/{id}/{what}"))).bearer_auth(token).send().await.expect("request")
}

/// A 429 whose `Retry-After` and problem+json agree; returns the problem.
async fn too_many(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!(retry_after >= 1);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = response.json().await.expect("json");
    assert_eq!(problem["eta_seconds"].as_u64(), Some(retry_after), "{problem}");
    problem
}

/// A Free tenant may have five unfinished projects; the sixth waits, and
/// another tenant is not held up by it.
async fn a_free_tenant_gets_429_past_five_unfinished_projects(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let busy = app.sign_in("five@example.com").await;
    let other = app.sign_in("other@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = json!({"title": format!("p{i}"), "script": "One scene.", "template_id": "explainer"});
        ids.push(create(&app, &busy.access_token, body).await);
    }
    let problem = too_many(try_create(&app, &busy.access_token, "sixth").await).await;
    assert_eq!(problem["limit"], "unfinished_projects", "{problem}");
    assert_eq!(problem["max_unfinished"], 5, "{problem}");
    assert_eq!(problem["plan"], "free", "{problem}");
    assert!(problem["detail"].as_str().expect("detail").contains("5 unfinished"), "{problem}");
    assert_eq!(unfinished(&app, &busy.tenant_id).await, 5);
    // Nothing of the refused project was kept.
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &busy.tenant_id).await, 5);
    // Another tenant still gets in.
    assert_eq!(try_create(&app, &other.access_token, "other").await.status(), 202);
    // When one of the five ends, the tenant gets in again.
    assert_eq!(action(&app, &busy.access_token, &ids[0], "cancel").await.status(), 202);
    assert_eq!(try_create(&app, &busy.access_token, "after").await.status(), 202);
    // A Pro tenant may have five times as many.
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &busy.tenant_id, 0).await;
    assert_eq!(try_create(&app, &busy.access_token, "pro").await.status(), 202);
}

/// Concurrent creates of one tenant count each other (the check holds the
/// tenant's lock): exactly the limit gets in.
async fn parallel_creates_do_not_pass_the_tenant_limit(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING_PER_TENANT", "3")]).await;
    let session = app.sign_in("racer@example.com").await;
    let requests = (0..20).map(|i| {
        let title = format!("r{i}");
        let app = &app;
        let token = session.access_token.as_str();
        async move { try_create(app, token, &title).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let admitted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((admitted, refused), (3, 17), "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 3);
}

/// A retry makes a project unfinished again, so it obeys the tenant's limit
/// and the service's.
async fn a_retry_over_a_queue_limit_gets_429(backend: Backend) {
    // The tenant's limit.
    let app =
        spawn_app_with(backend.clone(), &[("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING_PER_TENANT", "2")]).await;
    let session = app.sign_in("retrier@example.com").await;
    let token = session.access_token.as_str();
    let first = create(&app, token, json!({"title": "a", "script": "One.", "template_id": "explainer"})).await;
    assert_eq!(action(&app, token, &first, "cancel").await.status(), 202);
    for title in ["b", "c"] {
        create(&app, token, json!({"title": title, "script": "One.", "template_id": "explainer"})).await;
    }
    let problem = too_many(action(&app, token, &first, "retry").await).await;
    assert_eq!(problem["max_unfinished"], 2, "{problem}");
    let project: serde_json::Value =
        app.get_auth(&format!("/api/v1/projects/{first}"), token).await.json().await.expect("json");
    assert_eq!(project["status"], "cancelled", "the refused retry changed nothing");
    drop(app);

    // The service's limit.
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING", "2")]).await;
    let mine = app.sign_in("mine@example.com").await;
    let theirs = app.sign_in("theirs@example.com").await;
    let token = mine.access_token.as_str();
    let first = create(&app, token, json!({"title": "a", "script": "One.", "template_id": "explainer"})).await;
    assert_eq!(action(&app, token, &first, "cancel").await.status(), 202);
    create(&app, token, json!({"title": "b", "script": "One.", "template_id": "explainer"})).await;
    create(&app, &theirs.access_token, json!({"title": "c", "script": "One.", "template_id": "explainer"})).await;
    let problem = too_many(action(&app, token, &first, "retry").await).await;
    assert!(problem["detail"].as_str().expect("detail").contains("queue is full"), "{problem}");
}
