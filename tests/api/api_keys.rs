//! Named, scoped API keys (`/api/account/api-keys`): scopes on every route,
//! shown once, revocation, rotation of the default key only, last use, and
//! the per-key rate limit with its `RateLimit` headers.

use reelforge::auth::Scope;
use reelforge::auth::scopes::{Access, INSUFFICIENT_SCOPE_TYPE, SESSION_REQUIRED_TYPE, access_for};
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, card_png, spawn_app, spawn_app_with};

db_tests!(
    api_keys_work_within_their_scopes_only,
    api_keys_are_shown_once_and_listed_without_the_key,
    revoked_api_keys_fail_at_once_and_other_tenants_keys_are_not_found,
    api_keys_never_reach_billing_erasure_or_key_management,
    rotation_replaces_only_the_default_api_key,
    api_key_last_use_is_recorded_at_most_once_a_minute,
    api_keys_are_rate_limited_per_key_with_ratelimit_headers,
    new_api_keys_are_validated_and_capped,
    every_described_route_refuses_an_api_key_without_its_scope,
);

/// Makes a key with `scopes` for the session's tenant; returns the 201 body.
async fn create_key(app: &TestApp, token: &str, name: &str, scopes: &[&str]) -> Value {
    let response = app
        .client
        .post(app.url("/api/account/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": name, "scopes": scopes}))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    body
}

async fn key_of(app: &TestApp, token: &str, name: &str, scopes: &[&str]) -> String {
    create_key(app, token, name, scopes).await["api_key"].as_str().expect("key").to_string()
}

async fn list_keys(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get_auth("/api/account/api-keys", token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["items"].as_array().expect("items").clone()
}

/// A request with `X-API-Key`.
async fn with_key(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn assert_insufficient_scope(response: reqwest::Response, scope: &str, what: &str) {
    assert_eq!(response.status(), 403, "{what}");
    assert_eq!(response.headers()["content-type"], "application/problem+json", "{what}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], INSUFFICIENT_SCOPE_TYPE, "{what}: {body}");
    assert_eq!(body["required_scope"], scope, "{what}: {body}");
}

async fn upload(app: &TestApp, key: &str) -> reqwest::Response {
    let boundary = "reelforge-key-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"card.png\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&card_png("scoped"));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.client
        .post(app.url("/api/v1/media"))
        .header("x-api-key", key)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn api_keys_work_within_their_scopes_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("scopes@example.com").await;
    let token = session.access_token.as_str();
    let reader = key_of(&app, token, "dashboard", &["projects:read"]).await;
    let uploader = key_of(&app, token, "uploader", &["media:write", "account:read"]).await;
    let project = json!({"title": "t", "script": "One scene.", "template_id": "square"});

    // The reader reads projects, and nothing else.
    assert_eq!(with_key(&app, reqwest::Method::GET, "/api/v1/projects", &reader, None).await.status(), 200);
    assert_eq!(with_key(&app, reqwest::Method::GET, "/api/v1/templates", &reader, None).await.status(), 200);
    let create = with_key(&app, reqwest::Method::POST, "/api/v1/projects", &reader, Some(project.clone())).await;
    assert_insufficient_scope(create, "projects:write", "reader creates").await;
    assert_insufficient_scope(upload(&app, &reader).await, "media:write", "reader uploads").await;
    let usage = with_key(&app, reqwest::Method::GET, "/api/usage", &reader, None).await;
    assert_insufficient_scope(usage, "account:read", "reader reads usage").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);

    // The uploader uploads and reads usage, but cannot see or make projects.
    let uploaded = upload(&app, &uploader).await;
    assert_eq!(uploaded.status(), 201);
    let media_id = uploaded.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    assert_eq!(with_key(&app, reqwest::Method::GET, "/api/usage", &uploader, None).await.status(), 200);
    let list = with_key(&app, reqwest::Method::GET, "/api/v1/projects", &uploader, None).await;
    assert_insufficient_scope(list, "projects:read", "uploader lists projects").await;
    let create = with_key(&app, reqwest::Method::POST, "/api/v1/projects", &uploader, Some(project)).await;
    assert_insufficient_scope(create, "projects:write", "uploader creates").await;

    // Reading the library is reading what projects use; deleting from it is media:write.
    let item = format!("/api/v1/media/{media_id}");
    assert_eq!(with_key(&app, reqwest::Method::GET, &item, &reader, None).await.status(), 200);
    let delete = with_key(&app, reqwest::Method::DELETE, &item, &reader, None).await;
    assert_insufficient_scope(delete, "media:write", "reader deletes media").await;
    assert_eq!(with_key(&app, reqwest::Method::DELETE, &item, &uploader, None).await.status(), 204);

    // Either key may ask who it acts for; a session has every scope.
    let me: Value =
        with_key(&app, reqwest::Method::GET, "/api/auth/me", &reader, None).await.json().await.expect("json");
    assert_eq!(me["tenant"]["id"], session.tenant_id.as_str());
    assert_eq!(app.get_auth("/api/usage", token).await.status(), 200);
    assert_eq!(app.get_auth("/api/v1/projects", token).await.status(), 200);
}

async fn api_keys_are_shown_once_and_listed_without_the_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("once@example.com").await;
    let token = session.access_token.as_str();
    let response = app
        .client
        .post(app.url("/api/account/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": "  CI uploader ", "scopes": ["media:write", "projects:read", "media:write"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.expect("json");
    let key = created["api_key"].as_str().expect("key");
    assert!(key.starts_with("rf_") && key.len() == 46, "{key}");
    assert_eq!(created["name"], "CI uploader", "trimmed");
    assert_eq!(created["scopes"], json!(["projects:read", "media:write"]), "in order, once each");
    assert_eq!(created["prefix"], &key[..9]);
    assert!(created["last_used_at"].is_null());
    assert!(created["created_at"].as_str().is_some_and(|t| t.contains('T')));

    // Stored as a hash only.
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys WHERE key_hash = $1", key).await, 0);
    let hashed = reelforge::crypto::hash_token(key);
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys WHERE key_hash = $1", &hashed).await, 1);

    // The list shows the key's facts, never the key or its hash.
    let listing = app.get_auth("/api/account/api-keys", token).await;
    assert_eq!(listing.headers()["cache-control"], "no-store");
    let text = listing.text().await.expect("text");
    assert!(!text.contains(key) && !text.contains(&hashed), "{text}");
    let items: Value = serde_json::from_str(&text).expect("json");
    let items = items["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], created["id"]);
    assert_eq!(items[0]["name"], "CI uploader");
    assert_eq!(items[0]["prefix"], created["prefix"]);
    assert_eq!(items[0]["scopes"], created["scopes"]);
    assert!(items[0].get("api_key").is_none());

    // Audited, without the key.
    let audit: Value = app.get_auth("/api/account/audit", token).await.json().await.expect("json");
    let created_events: Vec<&Value> =
        audit["items"].as_array().expect("items").iter().filter(|e| e["action"] == "account.api_key_created").collect();
    assert_eq!(created_events.len(), 1);
    assert_eq!(created_events[0]["detail"]["key_id"], created["id"]);
    assert!(!audit.to_string().contains(key));
}

async fn revoked_api_keys_fail_at_once_and_other_tenants_keys_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.sign_in("alice-keys@example.com").await;
    let mallory = app.sign_in("mallory-keys@example.com").await;
    let created = create_key(&app, &alice.access_token, "deploy", &["projects:read"]).await;
    let key = created["api_key"].as_str().expect("key").to_string();
    let id = created["id"].as_str().expect("id").to_string();
    let other = key_of(&app, &alice.access_token, "other", &["projects:read"]).await;
    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 200, "cached as valid");

    // Another tenant cannot see, revoke or tell apart Alice's key.
    let path = format!("/api/account/api-keys/{id}");
    let foreign = app.client.delete(app.url(&path)).bearer_auth(&mallory.access_token).send().await.expect("request");
    assert_eq!(foreign.status(), 404);
    assert!(list_keys(&app, &mallory.access_token).await.is_empty());
    let unknown = app
        .client
        .delete(app.url("/api/account/api-keys/0190b7a0-0000-7000-8000-000000000000"))
        .bearer_auth(&mallory.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 200);

    // Revoked: 401 at once, though the key was just cached as valid.
    let revoked = app.client.delete(app.url(&path)).bearer_auth(&alice.access_token).send().await.expect("request");
    assert_eq!(revoked.status(), 204);
    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 401);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401);
    assert_eq!(app.get_auth("/api/v1/projects", &other).await.status(), 200, "the other key stays");
    let again = app.client.delete(app.url(&path)).bearer_auth(&alice.access_token).send().await.expect("request");
    assert_eq!(again.status(), 404, "already revoked");
    let listed = list_keys(&app, &alice.access_token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "other");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'account.api_key_revoked' AND tenant_id = $1",
            &alice.tenant_id
        )
        .await,
        1
    );
}

async fn api_keys_never_reach_billing_erasure_or_key_management(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("nokeys@example.com").await;
    let all = ["projects:read", "projects:write", "media:write", "webhooks:manage", "account:read"];
    let key = key_of(&app, &session.access_token, "everything", &all).await;
    let created = create_key(&app, &session.access_token, "victim", &["projects:read"]).await;
    let victim = format!("/api/account/api-keys/{}", created["id"].as_str().expect("id"));

    let refused: [(reqwest::Method, &str, Option<Value>); 8] = [
        (reqwest::Method::GET, "/api/account/api-keys", None),
        (reqwest::Method::POST, "/api/account/api-keys", Some(json!({"name": "more", "scopes": ["projects:read"]}))),
        (reqwest::Method::DELETE, &victim, None),
        (reqwest::Method::POST, "/api/account/rotate-api-key", None),
        (reqwest::Method::POST, "/api/account/delete", Some(json!({"confirm": "nokeys@example.com"}))),
        (reqwest::Method::GET, "/api/billing/subscription", None),
        (reqwest::Method::POST, "/api/billing/checkout", Some(json!({"plan": "pro"}))),
        (reqwest::Method::POST, "/api/billing/portal", None),
    ];
    for (method, path, body) in refused {
        let response = with_key(&app, method.clone(), path, &key, body).await;
        assert_eq!(response.status(), 403, "{method} {path}");
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["type"], SESSION_REQUIRED_TYPE, "{method} {path}");
    }
    // Nothing changed: two keys, the account active, the key still working.
    assert_eq!(list_keys(&app, &session.access_token).await.len(), 2);
    assert_eq!(app.get_auth("/api/auth/me", &session.access_token).await.status(), 200);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 200);
    // The same calls by the person get past the key check.
    assert_eq!(app.get_auth("/api/billing/subscription", &session.access_token).await.status(), 200);
}

async fn rotation_replaces_only_the_default_api_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("rotation@example.com").await;
    let token = session.access_token.as_str();
    let rotate = || async {
        let response = app.post_auth("/api/account/rotate-api-key", token).await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.expect("json")["api_key"].as_str().expect("key").to_string()
    };
    let first = rotate().await;
    let named = key_of(&app, token, "integration", &["projects:read"]).await;
    let second = rotate().await;
    assert_eq!(app.get_auth("/api/v1/projects", &first).await.status(), 401, "the old default key");
    assert_eq!(app.get_auth("/api/v1/projects", &second).await.status(), 200, "the new default key");
    assert_eq!(app.get_auth("/api/v1/projects", &named).await.status(), 200, "named keys survive rotation");

    let keys = list_keys(&app, token).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let default = keys.iter().find(|k| k["name"] == "Default key").expect("the default key is listed");
    assert_eq!(
        default["scopes"],
        json!(["projects:read", "projects:write", "media:write", "webhooks:manage", "account:read"])
    );
    assert_eq!(default["prefix"], &second[..9]);
    // The default key has every scope, so it keeps working as before named keys existed.
    assert_eq!(app.get_auth("/api/usage", &second).await.status(), 200);
}

async fn api_key_last_use_is_recorded_at_most_once_a_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("lastused@example.com").await;
    let created = create_key(&app, &session.access_token, "poller", &["projects:read"]).await;
    let key = created["api_key"].as_str().expect("key").to_string();
    let id = created["id"].as_str().expect("id").to_string();
    assert!(list_keys(&app, &session.access_token).await[0]["last_used_at"].is_null());

    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 200);
    let used = list_keys(&app, &session.access_token).await[0]["last_used_at"].clone();
    assert!(used.as_str().is_some_and(|t| t.contains('T')), "{used}");

    // Used 30 seconds ago: a new lookup (the cache forgotten) writes nothing.
    let now = reelforge::db::now_ms();
    app.exec("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", &id, now - 30_000).await;
    app.state.auth_cache.invalidate_tenant(&session.tenant_id);
    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 200);
    let stored = app.count("SELECT last_used_at FROM api_keys WHERE id = $1", &id).await;
    assert_eq!(stored, now - 30_000, "at most one write a minute");

    // Used two minutes ago: the next lookup records this use.
    app.exec("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", &id, now - 120_000).await;
    app.state.auth_cache.invalidate_tenant(&session.tenant_id);
    assert_eq!(app.get_auth("/api/v1/projects", &key).await.status(), 200);
    let stored = app.count("SELECT last_used_at FROM api_keys WHERE id = $1", &id).await;
    assert!(stored >= now, "recorded again: {stored} < {now}");
}

async fn api_keys_are_rate_limited_per_key_with_ratelimit_headers(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let session = app.sign_in("limits@example.com").await;
    let busy = key_of(&app, &session.access_token, "busy", &["projects:read"]).await;
    let calm = key_of(&app, &session.access_token, "calm", &["projects:read"]).await;

    for remaining in [2, 1, 0] {
        let response = app.get_auth("/api/v1/projects", &busy).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-policy"], "\"api-key\";q=3;w=60");
        let standing = response.headers()["ratelimit"].to_str().expect("ascii").to_string();
        assert!(standing.starts_with(&format!("\"api-key\";r={remaining};t=")), "{standing}");
        let reset: u64 = standing.rsplit("t=").next().and_then(|t| t.parse().ok()).expect("t");
        assert!((1..=60).contains(&reset), "{standing}");
    }
    // Past the limit: 429 with Retry-After, and t names the same moment. Any route counts.
    let refused = app.get_auth("/api/auth/me", &busy).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.headers()["ratelimit"], format!("\"api-key\";r=0;t={retry_after}").as_str());
    assert_eq!(refused.headers()["ratelimit-policy"], "\"api-key\";q=3;w=60");
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["retry_after_seconds"], retry_after);

    // The limit is per key; a person's session is not limited by it.
    let other = app.get_auth("/api/v1/projects", &calm).await;
    assert_eq!(other.status(), 200);
    assert!(other.headers()["ratelimit"].to_str().expect("ascii").starts_with("\"api-key\";r=2;"));
    for _ in 0..5 {
        let response = app.get_auth("/api/v1/projects", &session.access_token).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("ratelimit").is_none());
    }
}

async fn new_api_keys_are_validated_and_capped(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("validate@example.com").await;
    let token = session.access_token.as_str();
    let long = "x".repeat(101);
    let cases = [
        (json!({"name": "", "scopes": ["projects:read"]}), vec!["name"]),
        (json!({"name": "   ", "scopes": ["projects:read"]}), vec!["name"]),
        (json!({"name": long, "scopes": ["projects:read"]}), vec!["name"]),
        (json!({"name": "ok", "scopes": []}), vec!["scopes"]),
        (json!({"name": "ok", "scopes": ["projects:read", "admin"]}), vec!["scopes"]),
        (json!({"name": "", "scopes": ["root"]}), vec!["name", "scopes"]),
        (json!({"name": "ok"}), vec!["scopes"]),
        (json!({"name": "ok", "scopes": "projects:read"}), vec!["scopes"]),
    ];
    for (body, fields) in cases {
        let response = app
            .client
            .post(app.url("/api/account/api-keys"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.expect("json");
        let named: Vec<&str> =
            problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(named, fields, "{body}: {problem}");
    }
    let unknown: Value = app
        .client
        .post(app.url("/api/account/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": "ok", "scopes": ["admin"]}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(unknown["errors"][0]["message"].as_str().is_some_and(|m| m.contains("admin") && m.contains("media:write")));
    assert!(list_keys(&app, token).await.is_empty(), "nothing made");

    // 100 characters is a name; 25 active keys at most, revoked ones do not count.
    let first = create_key(&app, token, &"y".repeat(100), &["projects:read"]).await;
    for i in 1..25 {
        create_key(&app, token, &format!("key {i}"), &["projects:read"]).await;
    }
    let body = json!({"name": "one too many", "scopes": ["projects:read"]});
    let full =
        app.client.post(app.url("/api/account/api-keys")).bearer_auth(token).json(&body).send().await.expect("request");
    assert_eq!(full.status(), 409);
    let path = format!("/api/account/api-keys/{}", first["id"].as_str().expect("id"));
    assert_eq!(app.client.delete(app.url(&path)).bearer_auth(token).send().await.expect("request").status(), 204);
    create_key(&app, token, "room again", &["projects:read"]).await;
}

/// The walk that fails when a route is added without a scope decision: every
/// operation of the served API description has a rule in `ROUTE_ACCESS`, and
/// on each, a key lacking the route's scope gets 403 (naming the scope), a key
/// holding only that scope gets past the check, and a session-only route
/// refuses even a key with every scope.
async fn every_described_route_refuses_an_api_key_without_its_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("walker@example.com").await;
    let token = session.access_token.as_str();
    let mut without = std::collections::HashMap::new();
    let mut only = std::collections::HashMap::new();
    for scope in Scope::ALL {
        let others: Vec<&str> = Scope::ALL.iter().filter(|s| **s != scope).map(|s| s.as_str()).collect();
        without.insert(scope, key_of(&app, token, &format!("all but {scope}"), &others).await);
        only.insert(scope, key_of(&app, token, &format!("only {scope}"), &[scope.as_str()]).await);
    }
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let everything = key_of(&app, token, "everything", &all).await;

    let doc: Value =
        app.client.get(app.url("/api/openapi.json")).send().await.expect("request").json().await.expect("json");
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let path = template
            .replace("{id}", "0190b7a0-0000-7000-8000-000000000000")
            .replace("{index}", "0")
            .replace("{filename}", "reelforge-export-0190b7a0-0000-7000-8000-000000000000.zip");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let method: reqwest::Method = method.to_uppercase().parse().expect("method");
            let http_method: axum::http::Method = method.as_str().parse().expect("method");
            let access = access_for(&http_method, template)
                .unwrap_or_else(|| panic!("{method} {template} has no rule in auth::scopes::ROUTE_ACCESS"));
            let body = (method != reqwest::Method::GET && method != reqwest::Method::DELETE).then(|| json!({}));
            let what = format!("{method} {template}");
            match access {
                Access::Public => continue,
                Access::AnyKey => {
                    let response = with_key(&app, method.clone(), &path, &without[&Scope::ProjectsRead], body).await;
                    assert_ne!(response.status(), 403, "{what}");
                }
                Access::SessionOnly => {
                    let response = with_key(&app, method.clone(), &path, &everything, body).await;
                    assert_eq!(response.status(), 403, "{what}");
                    let problem: Value = response.json().await.expect("json");
                    assert_eq!(problem["type"], SESSION_REQUIRED_TYPE, "{what}");
                }
                Access::Scope(scope) => {
                    let response = with_key(&app, method.clone(), &path, &without[&scope], body.clone()).await;
                    assert_insufficient_scope(response, scope.as_str(), &what).await;
                    let response = with_key(&app, method.clone(), &path, &only[&scope], body).await;
                    assert_ne!(response.status(), 403, "{what} with only {scope}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "walked {checked} operations");
}
