//! Account erasure: everything of the tenant goes, nothing of anyone else.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, PUBLIC_URL, spawn_app};
use crate::projects::{create, wait_finished};

db_tests!(erasure_is_complete_immediate_and_only_theirs);

async fn erasure_is_complete_immediate_and_only_theirs(backend: Backend) {
    let app = spawn_app(backend).await;
    let leaving = app.sign_in("leaving@example.com").await;
    let staying = app.sign_in("staying@example.com").await;
    let token = leaving.access_token.as_str();
    let key: Value = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let key = key["api_key"].as_str().expect("key").to_string();
    let mine = create(&app, token, json!({"title": "mine", "script": "My own video.", "template_id": "square"})).await;
    let theirs = create(
        &app,
        &staying.access_token,
        json!({"title": "theirs", "script": "Someone else's video.", "template_id": "square"}),
    )
    .await;
    wait_finished(&app, token, &mine, Duration::from_secs(60)).await;
    wait_finished(&app, &staying.access_token, &theirs, Duration::from_secs(60)).await;
    let theirs_video = app
        .get_auth(&format!("/api/v1/projects/{theirs}/video"), &staying.access_token)
        .await
        .bytes()
        .await
        .expect("video");

    // A wrong confirmation changes nothing; an API key cannot erase.
    for confirm in ["someone@example.com", "", "leaving@example"] {
        let response = app
            .client
            .post(app.url("/api/account/delete"))
            .bearer_auth(token)
            .json(&json!({"confirm": confirm}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{confirm:?}");
    }
    let by_key = app
        .client
        .post(app.url("/api/account/delete"))
        .header("x-api-key", &key)
        .json(&json!({"confirm": "leaving@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(by_key.status(), 403);
    assert_eq!(app.get_auth("/api/auth/me", token).await.status(), 200);

    let response = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .header("origin", PUBLIC_URL)
        .json(&json!({"confirm": "  Leaving@Example.com "}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    // Every credential answers 401 at once.
    assert_eq!(app.get_auth("/api/auth/me", token).await.status(), 401);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401);
    assert_eq!(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": leaving.refresh_token})).await.status(),
        401
    );
    assert_eq!(app.get_auth(&format!("/api/v1/projects/{mine}"), token).await.status(), 401);

    // The purge leaves no row and no file of the tenant but one anonymised audit record.
    let tenant = reelforge::domain::TenantId(leaving.tenant_id.clone());
    for _ in 0..100 {
        if reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query"), "purged");
    let t = leaving.tenant_id.as_str();
    for sql in [
        "SELECT COUNT(*) FROM users WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM projects WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM steps WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM refresh_tokens WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM billing_accounts WHERE tenant_id = $1",
    ] {
        assert_eq!(app.count(sql, t).await, 0, "{sql}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM scenes WHERE project_id = $1", &mine).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1", t).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND action = 'account.deleted' AND ip IS NULL AND user_id IS NULL", t).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE email = $1", "leaving@example.com").await, 0);
    assert!(!app.data_dir.path().join("media/tenants").join(t).exists(), "media gone");
    assert!(!app.data_dir.path().join("usage").join(t).exists(), "usage log gone");

    // Another tenant is untouched.
    let still = app
        .get_auth(&format!("/api/v1/projects/{theirs}/video"), &staying.access_token)
        .await
        .bytes()
        .await
        .expect("video");
    assert_eq!(still, theirs_video);
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1", &staying.tenant_id).await, 3);

    // The same address can sign up again: a new, empty tenant.
    let again = app.sign_in("leaving@example.com").await;
    assert_ne!(again.tenant_id, leaving.tenant_id);
    let list: Value = app.get_auth("/api/v1/projects", &again.access_token).await.json().await.expect("json");
    assert_eq!(list["items"], json!([]));
}
