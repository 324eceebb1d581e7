//! The `AuthContext` extractor: JWTs, cookies, API keys, the origin check, tenant isolation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, PUBLIC_URL, cookie_value, spawn_app};

db_tests!(
    forged_and_expired_jwts_are_refused,
    api_keys_act_for_their_tenant_and_rotate,
    mangled_api_keys_are_refused,
    cookie_requests_from_another_origin_are_refused,
    an_erased_tenants_tokens_and_keys_stop_at_once,
    audit_events_are_isolated_per_tenant,
);

fn sign(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

async fn forged_and_expired_jwts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("jwt@example.com").await;
    assert_eq!(app.get_auth("/api/auth/me", &session.access_token).await.status(), 200);

    let secret = std::fs::read_to_string(app.data_dir.path().join("secret.key")).expect("dev secret");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let parts: Vec<&str> = session.access_token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    let sid = payload["sid"].clone();
    let claims = |exp: i64| json!({"sub": session.user_id, "tid": session.tenant_id, "iat": now - 10, "exp": exp, "jti": "t", "sid": sid});

    // Sanity: a token we sign ourselves with the real secret is accepted.
    assert_eq!(app.get_auth("/api/auth/me", &sign(&claims(now + 60), secret.trim().as_bytes())).await.status(), 200);

    let mut other_tenant = payload.clone();
    other_tenant["tid"] = json!("00000000-0000-0000-0000-000000000000");
    let altered = URL_SAFE_NO_PAD.encode(other_tenant.to_string());

    let forgeries = [
        ("alg none", format!("{none_header}.{}.", parts[1])),
        ("wrong key", sign(&claims(now + 60), b"not-the-secret-not-the-secret-xx")),
        ("expired", sign(&claims(now - 5), secret.trim().as_bytes())),
        ("altered payload", format!("{}.{altered}.{}", parts[0], parts[2])),
        ("truncated", session.access_token[..session.access_token.len() - 3].to_string()),
        ("garbage", "abc.def.ghi".to_string()),
    ];
    for (what, token) in forgeries {
        let response = app.get_auth("/api/auth/me", &token).await;
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    // Missing auth.
    assert_eq!(app.client.get(app.url("/api/auth/me")).send().await.expect("request").status(), 401);
}

async fn api_keys_act_for_their_tenant_and_rotate(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("keys@example.com").await;
    let response = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let key = response.json::<Value>().await.expect("json")["api_key"].as_str().expect("key").to_string();
    assert!(key.starts_with("rf_") && key.len() >= 35, "{key}");
    assert!(key[3..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    // Both header forms act for the tenant, without a user.
    let via_header: Value = app
        .client
        .get(app.url("/api/auth/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(via_header["tenant"]["id"], session.tenant_id.as_str());
    assert!(via_header["user"].is_null());
    let via_bearer = app.get_auth("/api/auth/me", &key).await;
    assert_eq!(via_bearer.status(), 200);

    // Only a hash and a short prefix are stored.
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys WHERE key_hash = $1 OR prefix = $1", &key).await, 0);
    let hashed = reelforge::crypto::hash_token(&key);
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys WHERE key_hash = $1", &hashed).await, 1);

    // A key cannot rotate itself (key management is for a person); rotating
    // with the session kills the old key at once.
    let by_key = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(by_key.status(), 403);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 200, "refused, so still the key");
    let rotated = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(rotated.status(), 200);
    let new_key = rotated.json::<Value>().await.expect("json")["api_key"].as_str().expect("key").to_string();
    assert_ne!(new_key, key);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401, "old key");
    assert_eq!(app.get_auth("/api/auth/me", &new_key).await.status(), 200, "new key");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'account.api_key_rotated' AND tenant_id = $1",
            &session.tenant_id
        )
        .await,
        2
    );
}

async fn mangled_api_keys_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("mangle@example.com").await;
    let key: Value = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let key = key["api_key"].as_str().expect("key");
    let mut flipped = key.to_string();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    for bad in [
        flipped.as_str(),
        &key[..key.len() - 1],
        &format!("{key}x"),
        "rf_",
        "rf_' OR 1=1 --",
        &key.replace("rf_", "RF_"),
    ] {
        let response = app.client.get(app.url("/api/auth/me")).header("x-api-key", bad).send().await.expect("request");
        assert_eq!(response.status(), 401, "{bad:?}");
    }
}

async fn cookie_requests_from_another_origin_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("csrf@example.com").await;
    let cookie = format!("rf_access={}", cookie_value(&session.set_cookies, "rf_access").expect("cookie"));
    let post = |origin: Option<&str>, referer: Option<&str>| {
        let mut request = app.client.post(app.url("/api/account/rotate-api-key")).header("cookie", cookie.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(referer) = referer {
            request = request.header("referer", referer);
        }
        request.send()
    };
    assert_eq!(post(Some("https://evil.example"), None).await.expect("request").status(), 403);
    assert_eq!(post(Some("http://reelforge.test.evil.example"), None).await.expect("request").status(), 403);
    assert_eq!(post(None, Some("https://evil.example/page")).await.expect("request").status(), 403);
    assert_eq!(post(None, None).await.expect("request").status(), 403, "no origin at all");
    let refused = post(Some("null"), None).await.expect("request");
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1", &session.tenant_id).await,
        0,
        "nothing changed"
    );

    assert_eq!(post(Some(PUBLIC_URL), None).await.expect("request").status(), 200);
    assert_eq!(post(None, Some(&format!("{PUBLIC_URL}/account"))).await.expect("request").status(), 200);
    // A refresh cookie alone also triggers the check.
    let refresh = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("cookie", format!("rf_refresh={}", session.refresh_token))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(refresh.status(), 403);
    // Bearer requests carry no ambient credentials: any origin may call.
    let bearer = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(&session.access_token)
        .header("origin", "https://integration.example")
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);
    // Safe methods pass (they change nothing).
    let get = app
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", cookie.clone())
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 200);
}

async fn an_erased_tenants_tokens_and_keys_stop_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let keep = app.sign_in("stays@example.com").await;
    let rotate = |token: String| {
        let request = app.client.post(app.url("/api/account/rotate-api-key")).bearer_auth(token);
        async move {
            request.send().await.expect("request").json::<Value>().await.expect("json")["api_key"]
                .as_str()
                .expect("key")
                .to_string()
        }
    };

    // Erasure marks the tenant and invalidates what this process remembers: 401 at once.
    let session = app.sign_in("gone@example.com").await;
    let key = rotate(session.access_token.clone()).await;
    assert_eq!(app.get_auth("/api/auth/me", &session.access_token).await.status(), 200);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 200);
    app.exec("UPDATE tenants SET status = 'deleted', deleted_at = $2 WHERE id = $1", &session.tenant_id, 1).await;
    app.state.auth_cache.invalidate_tenant(&session.tenant_id);
    assert_eq!(app.get_auth("/api/auth/me", &session.access_token).await.status(), 401);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401);
    let refresh = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(refresh.status(), 401);

    // A change made by another process is seen within the cache's lifetime.
    let elsewhere = app.sign_in("elsewhere@example.com").await;
    let key = rotate(elsewhere.access_token.clone()).await;
    assert_eq!(app.get_auth("/api/auth/me", &elsewhere.access_token).await.status(), 200);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 200);
    app.exec("UPDATE tenants SET status = 'deleted', deleted_at = $2 WHERE id = $1", &elsewhere.tenant_id, 1).await;
    tokio::time::sleep(reelforge::auth::cache::AUTH_CACHE_TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(app.get_auth("/api/auth/me", &elsewhere.access_token).await.status(), 401);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401);

    assert_eq!(app.get_auth("/api/auth/me", &keep.access_token).await.status(), 200, "other tenants unaffected");
}

async fn audit_events_are_isolated_per_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.sign_in("alice@example.com").await;
    let bob = app.sign_in("bob@example.com").await;
    for _ in 0..3 {
        app.client
            .post(app.url("/api/account/rotate-api-key"))
            .bearer_auth(&alice.access_token)
            .send()
            .await
            .expect("request");
    }
    let page: Value = app.get_auth("/api/account/audit?limit=2", &alice.access_token).await.json().await.expect("json");
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    let cursor = page["next_cursor"].as_str().expect("more pages");
    let rest: Value = app
        .get_auth(&format!("/api/account/audit?limit=2&cursor={cursor}"), &alice.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rest["items"].as_array().expect("items").len(), 2, "3 rotations + 1 sign-in");
    assert!(rest["next_cursor"].is_null());

    let bobs: Value = app.get_auth("/api/account/audit", &bob.access_token).await.json().await.expect("json");
    let actions: Vec<&str> =
        bobs["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().unwrap_or("")).collect();
    assert_eq!(actions, vec!["auth.sign_in"], "bob sees only his own events");
    assert_eq!(app.get_auth("/api/account/audit?limit=0", &bob.access_token).await.status(), 422);
}
