//! The render queue between tenants: each tenant gets its turn at the
//! workers, whoever queued first.

use std::time::Duration;

use serde_json::json;

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(claims_alternate_between_tenants, a_small_project_finishes_while_a_flood_is_still_rendering);

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
