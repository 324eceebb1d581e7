//! Magic-link sign-in, sessions, refresh rotation and logout.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, PUBLIC_URL, cookie_value, set_cookies, spawn_app, spawn_app_with};

db_tests!(
    sign_in_creates_tenant_and_session,
    link_request_answers_the_same_for_known_and_unknown_addresses,
    invalid_addresses_are_refused_and_change_nothing,
    unknown_used_and_expired_links_get_one_message,
    a_link_is_consumed_once_under_concurrency,
    the_landing_page_never_consumes_a_link,
    rate_limits_per_address_and_per_ip,
    forwarded_for_counts_only_from_trusted_proxies,
    ipv6_clients_share_a_limit_per_64_and_mapped_ipv4_is_ipv4,
    failed_verifies_are_limited_per_ip,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_works_from_the_cookie,
    logout_revokes_the_family_and_clears_cookies,
    signing_out_ends_the_sessions_access_tokens,
    refresh_reuse_ends_the_familys_access_tokens,
    tokens_are_stored_hashed,
    signing_in_again_keeps_the_same_tenant,
);

async fn sign_in_creates_tenant_and_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.request_link("  Alice@Example.COM ").await;
    assert_eq!(response.status(), 202);
    let token = app.link_token("alice@example.com").await;
    assert_eq!(token.len(), 43, "32 random bytes, base64url");

    let response = app.verify(&token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookies = set_cookies(&response);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 24 * 3600);
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["role"], "owner");
    assert_eq!(body["tenant"]["plan"], "free");

    let access_cookie = cookies.iter().find(|c| c.starts_with("rf_access=")).expect("access cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(access_cookie.contains(attribute), "{access_cookie} lacks {attribute}");
    }
    let refresh_cookie = cookies.iter().find(|c| c.starts_with("rf_refresh=")).expect("refresh cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/api/auth"] {
        assert!(refresh_cookie.contains(attribute), "{refresh_cookie} lacks {attribute}");
    }

    // The JWT carries sub, tid, exp, iat and jti.
    let access = body["access_token"].as_str().expect("token");
    let payload = access.split('.').nth(1).expect("payload");
    use base64::Engine;
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64"))
            .expect("claims");
    assert_eq!(claims["sub"], body["user"]["id"]);
    assert_eq!(claims["tid"], body["tenant"]["id"]);
    for claim in ["exp", "iat", "jti"] {
        assert!(!claims[claim].is_null(), "missing {claim}");
    }

    let me: Value = app.get_auth("/api/auth/me", access).await.json().await.expect("json");
    assert_eq!(me["user"]["email"], "alice@example.com");
    assert_eq!(me["tenant"]["id"], body["tenant"]["id"]);
    assert_eq!(me["tenant"]["plan"], "free");

    // The access cookie alone authenticates a GET.
    let cookie = format!("rf_access={}", cookie_value(&cookies, "rf_access").expect("value"));
    let response = app.client.get(app.url("/api/auth/me")).header("cookie", cookie).send().await.expect("request");
    assert_eq!(response.status(), 200);

    let signed_in = app
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.sign_in' AND tenant_id = $1",
            body["tenant"]["id"].as_str().expect("id"),
        )
        .await;
    assert_eq!(signed_in, 1);
    let audit: Value = app.get_auth("/api/account/audit", access).await.json().await.expect("json");
    assert_eq!(audit["items"][0]["action"], "auth.sign_in");
    assert!(audit["items"][0]["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"));
}

async fn link_request_answers_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in("known@example.com").await;
    let known = app.request_link("known@example.com").await;
    let unknown = app.request_link("nobody@example.com").await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    let known: Value = known.json().await.expect("json");
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(known, unknown);
    // No account exists until a link is verified.
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "nobody@example.com").await, 0);
}

async fn invalid_addresses_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = format!("{}@example.com", "a".repeat(300));
    for email in ["", "not-an-email", "a@b", "a b@example.com", "аlice@example.com", long.as_str(), "x@exa mple.com"] {
        let response = app.request_link(email).await;
        assert_eq!(response.status(), 422, "{email:?}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["errors"][0]["field"], "email", "{email:?}");
    }
    for body in [json!({"email": 42}), json!({}), json!(["a@example.com"])] {
        let response = app.post_json("/api/auth/magic-link/request", &body).await;
        assert_eq!(response.status(), 422, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE email <> $1", "").await, 0);
    assert_eq!(app.outbox_count(), 0);
}

async fn unknown_used_and_expired_links_get_one_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant_count_before = app.count("SELECT COUNT(*) FROM tenants WHERE id <> $1", "").await;

    let unknown = app.verify("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(unknown.status(), 400);
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(unknown["detail"], "invalid or expired link");

    let malformed = app.verify("../../etc/passwd").await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<Value>().await.expect("json")["detail"], "invalid or expired link");

    app.request_link("used@example.com").await;
    let token = app.link_token("used@example.com").await;
    assert_eq!(app.verify(&token).await.status(), 200);
    let reused = app.verify(&token).await;
    assert_eq!(reused.status(), 400);
    assert_eq!(reused.json::<Value>().await.expect("json")["detail"], "invalid or expired link");

    app.request_link("late@example.com").await;
    let token = app.link_token("late@example.com").await;
    app.exec("UPDATE magic_links SET expires_at = $2 WHERE email = $1", "late@example.com", 1).await;
    let expired = app.verify(&token).await;
    assert_eq!(expired.status(), 400);
    assert_eq!(expired.json::<Value>().await.expect("json")["detail"], "invalid or expired link");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "late@example.com").await, 0);

    // Only the one good verify created a tenant; the failures are audited.
    assert_eq!(app.count("SELECT COUNT(*) FROM tenants WHERE id <> $1", "").await, tenant_count_before + 1);
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = $1", "auth.verify_failed").await >= 4);
}

async fn a_link_is_consumed_once_under_concurrency(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("race@example.com").await;
    let token = app.link_token("race@example.com").await;
    let attempts = (0..10).map(|_| app.verify(&token));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 9, "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "race@example.com").await, 1);
}

async fn the_landing_page_never_consumes_a_link(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("scanner@example.com").await;
    let token = app.link_token("scanner@example.com").await;
    // What a mail scanner does: GET the link, several times.
    for _ in 0..3 {
        let page = app.client.get(app.url(&format!("/auth/verify?token={token}"))).send().await.expect("request");
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        let html = page.text().await.expect("html");
        assert!(html.contains("/api/auth/magic-link/verify"), "the page POSTs the token");
    }
    assert_eq!(app.verify(&token).await.status(), 200);
}

async fn rate_limits_per_address_and_per_ip(backend: Backend) {
    let app = spawn_app_with(backend, &[("RATE_LIMIT_EMAIL_PER_15M", "2"), ("RATE_LIMIT_IP_PER_15M", "4")]).await;
    assert_eq!(app.request_link("a@example.com").await.status(), 202);
    assert_eq!(app.request_link("A@example.com ").await.status(), 202, "normalised: same address");
    let limited = app.request_link("a@example.com").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(body["status"], 429);
    assert!(body["detail"].as_str().expect("detail").contains("minute"));

    // Another address from the same client still works until the IP limit.
    assert_eq!(app.request_link("b@example.com").await.status(), 202);
    assert_eq!(app.request_link("c@example.com").await.status(), 202);
    assert_eq!(app.request_link("d@example.com").await.status(), 429, "IP limit of 4 reached");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.outbox_count(), 4, "refused requests send nothing");
}

async fn forwarded_for_counts_only_from_trusted_proxies(backend: Backend) {
    // Untrusted peer: a spoofed header buys nothing.
    let app = spawn_app_with(backend.clone(), &[("RATE_LIMIT_IP_PER_15M", "2")]).await;
    for (i, expected) in [(1, 202), (2, 202), (3, 429)] {
        let response = app
            .client
            .post(app.url("/api/auth/magic-link/request"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"email": format!("spoof{i}@example.com")}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), expected, "request {i}");
    }
    drop(app);

    // Trusted proxy: each forwarded client has its own budget.
    let app = spawn_app_with(backend, &[("RATE_LIMIT_IP_PER_15M", "1"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    for i in 1..=3 {
        let response = app
            .client
            .post(app.url("/api/auth/magic-link/request"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"email": format!("proxied{i}@example.com")}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 202, "client {i}");
    }
    let again = app
        .client
        .post(app.url("/api/auth/magic-link/request"))
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.1")
        .json(&json!({"email": "proxied9@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 429, "the right-most untrusted hop is the client");
}

async fn ipv6_clients_share_a_limit_per_64_and_mapped_ipv4_is_ipv4(backend: Backend) {
    let app = spawn_app_with(backend, &[("RATE_LIMIT_IP_PER_15M", "2"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let from = |client: &'static str, n: u32| {
        app.client
            .post(app.url("/api/auth/magic-link/request"))
            .header("x-forwarded-for", client)
            .json(&json!({"email": format!("v6-{n}@example.com")}))
            .send()
    };
    // Three addresses of one /64 are one client: the third request is over the limit of 2.
    assert_eq!(from("2001:db8:1:2::1", 1).await.expect("request").status(), 202);
    assert_eq!(from("2001:db8:1:2:ffff::9", 2).await.expect("request").status(), 202);
    let limited = from("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 3).await.expect("request");
    assert_eq!(limited.status(), 429, "same /64, same budget");
    assert!(limited.headers().contains_key("retry-after"));
    // The next /64 is another client.
    assert_eq!(from("2001:db8:1:3::1", 4).await.expect("request").status(), 202);

    // ::ffff:a.b.c.d is a.b.c.d: for the limit ...
    assert_eq!(from("203.0.113.5", 5).await.expect("request").status(), 202);
    assert_eq!(from("::ffff:203.0.113.5", 6).await.expect("request").status(), 202);
    assert_eq!(from("203.0.113.5", 7).await.expect("request").status(), 429, "mapped and plain share a budget");
    // ... and in the audit log.
    let failed = app
        .client
        .post(app.url("/api/auth/magic-link/verify"))
        .header("x-forwarded-for", "::ffff:198.51.100.77")
        .json(&json!({"token": "not-a-token"}))
        .send()
        .await
        .expect("request");
    assert_eq!(failed.status(), 400);
    let audited = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.verify_failed' AND ip = $1", "198.51.100.77")
        .await;
    assert_eq!(audited, 1, "the audit row names the IPv4 address");
}

async fn failed_verifies_are_limited_per_ip(backend: Backend) {
    let app =
        spawn_app_with(backend, &[("RATE_LIMIT_VERIFY_FAILURES_PER_15M", "3"), ("TRUSTED_PROXIES", "127.0.0.1/32")])
            .await;
    let verify_from = |client: &'static str, token: String| {
        app.client
            .post(app.url("/api/auth/magic-link/verify"))
            .header("x-forwarded-for", client)
            .json(&json!({"token": token}))
            .send()
    };
    let guess = || "A".repeat(43);
    for attempt in 1..=3 {
        let refused = verify_from("203.0.113.50", guess()).await.expect("request");
        assert_eq!(refused.status(), 400, "attempt {attempt}");
    }
    let limited = verify_from("203.0.113.50", "garbage".into()).await.expect("request");
    assert_eq!(limited.status(), 429, "the fourth failure from one IP");
    assert_eq!(limited.headers()["content-type"], "application/problem+json");
    let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let audited =
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.verify_failed' AND ip = $1", "203.0.113.50");
    assert_eq!(audited.await, 3, "refused attempts past the limit write nothing");

    // Another client is not affected, and a real link still works from the limited IP.
    assert_eq!(verify_from("203.0.113.51", guess()).await.expect("request").status(), 400);
    app.request_link("limited@example.com").await;
    let token = app.link_token("limited@example.com").await;
    assert_eq!(verify_from("203.0.113.50", token).await.expect("request").status(), 200);
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("rotate@example.com").await;
    let first = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    let rotated = first["refresh_token"].as_str().expect("new refresh").to_string();
    assert_ne!(rotated, session.refresh_token);
    assert_eq!(app.get_auth("/api/auth/me", first["access_token"].as_str().expect("access")).await.status(), 200);

    // The old token again: theft. The whole family dies, including the new token.
    let replay = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(replay.status(), 401);
    let after = app.post_json("/api/auth/refresh", &json!({"refresh_token": rotated})).await;
    assert_eq!(after.status(), 401, "family revoked");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = $1", "auth.refresh_reuse").await, 1);

    // Garbage and missing tokens.
    assert_eq!(app.post_json("/api/auth/refresh", &json!({"refresh_token": "nope"})).await.status(), 401);
    assert_eq!(app.post_json("/api/auth/refresh", &json!({})).await.status(), 401);

    // A fresh sign-in is a new family and is unaffected.
    let other = app.sign_in("rotate@example.com").await;
    assert_eq!(app.post_json("/api/auth/refresh", &json!({"refresh_token": other.refresh_token})).await.status(), 200);
}

async fn refresh_works_from_the_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("cookie@example.com").await;
    let refresh = cookie_value(&session.set_cookies, "rf_refresh").expect("cookie");
    let response = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("cookie", format!("rf_refresh={refresh}"))
        .header("origin", PUBLIC_URL)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookies = set_cookies(&response);
    assert!(cookie_value(&cookies, "rf_refresh").is_some_and(|v| v != refresh), "rotated cookie");
    assert!(cookie_value(&cookies, "rf_access").is_some());
}

async fn logout_revokes_the_family_and_clears_cookies(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("bye@example.com").await;
    let response = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("cookie", format!("rf_refresh={}", session.refresh_token))
        .header("origin", PUBLIC_URL)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 204);
    let cookies = set_cookies(&response);
    for name in ["rf_access", "rf_refresh"] {
        let cookie = cookies.iter().find(|c| c.starts_with(&format!("{name}="))).expect("cleared cookie");
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
    }
    let refresh = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(refresh.status(), 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.logout' AND tenant_id = $1", &session.tenant_id)
            .await,
        1
    );
    // Logging out without a session is harmless.
    assert_eq!(app.client.post(app.url("/api/auth/logout")).send().await.expect("request").status(), 204);
}

async fn tokens_are_stored_hashed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("hash@example.com").await;
    let token = app.link_token("hash@example.com").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE token_hash = $1", &token).await, 0);
    let hashed = reelforge::crypto::hash_token(&token);
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE token_hash = $1", &hashed).await, 1);
    let response = app.verify(&token).await;
    let body: Value = response.json().await.expect("json");
    let refresh = body["refresh_token"].as_str().expect("refresh");
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = $1", refresh).await, 0);
    let hashed = reelforge::crypto::hash_token(refresh);
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = $1", &hashed).await, 1);
}

async fn signing_in_again_keeps_the_same_tenant(backend: Backend) {
    let app = spawn_app_with(backend, &[("TENANT_DEFAULT_PLAN", "pro")]).await;
    let first = app.sign_in("again@example.com").await;
    let second = app.sign_in("AGAIN@example.com").await;
    assert_eq!(first.tenant_id, second.tenant_id);
    assert_eq!(first.user_id, second.user_id);
    assert_eq!(second.body["tenant"]["plan"], "pro", "TENANT_DEFAULT_PLAN applies at creation");
    let other = app.sign_in("someone-else@example.com").await;
    assert_ne!(other.tenant_id, first.tenant_id);
}

/// With `REDIS_URL`, every API process of one deployment (one `JWT_SECRET`)
/// counts against the same sign-in limits; another deployment on the same
/// Redis keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_shared_through_redis() {
    let redis_url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect("127.0.0.1:6379"))
        .await
        .is_ok_and(|c| c.is_ok());
    if !reachable && redis_url.contains("127.0.0.1:6379") {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI must run the Redis test");
        eprintln!("skipping: Redis is not reachable");
        return;
    }
    let secret = reelforge::crypto::random_token();
    let other_secret = reelforge::crypto::random_token();
    let shared = |secret: &str| {
        [("REDIS_URL", redis_url.clone()), ("JWT_SECRET", secret.to_string()), ("RATE_LIMIT_EMAIL_PER_15M", "2".into())]
    };
    fn as_refs<'a>(pairs: &'a [(&'a str, String); 3]) -> Vec<(&'a str, &'a str)> {
        pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    let (one, two, other) = (shared(&secret), shared(&secret), shared(&other_secret));
    let mut first = spawn_app_with(Backend::Sqlite, &as_refs(&one)).await;
    let mut second = spawn_app_with(Backend::Sqlite, &as_refs(&two)).await;
    let mut elsewhere = spawn_app_with(Backend::Sqlite, &as_refs(&other)).await;
    assert!(first.state.sign_in_limiter.is_shared());

    assert_eq!(first.request_link("shared@example.com").await.status(), 202);
    assert_eq!(second.request_link("shared@example.com").await.status(), 202);
    let limited = first.request_link("shared@example.com").await;
    assert_eq!(limited.status(), 429, "the second process's request counted in the first");
    let wait: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    assert_eq!(second.request_link("shared@example.com").await.status(), 429);
    assert_eq!(elsewhere.request_link("shared@example.com").await.status(), 202, "another deployment's own window");

    // Without Redis, each process would have admitted two more.
    let mut local = spawn_app_with(Backend::Sqlite, &[("RATE_LIMIT_EMAIL_PER_15M", "2")]).await;
    assert!(!local.state.sign_in_limiter.is_shared());
    for app in [&mut first, &mut second, &mut elsewhere, &mut local] {
        app.stop().await;
    }
}

/// Whether an access token is still accepted, waiting out the auth cache's one second.
async fn refused_within_a_second(app: &crate::helpers::TestApp, token: &str) -> bool {
    for _ in 0..15 {
        if app.get_auth("/api/v1/projects", token).await.status() == 401 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn signing_out_ends_the_sessions_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let leaving = app.sign_in("leaving@example.com").await;
    let staying = app.sign_in("leaving@example.com").await;
    // Both sessions resolve (and are cached) before the sign-out.
    assert_eq!(app.get_auth("/api/v1/projects", &leaving.access_token).await.status(), 200);
    assert_eq!(app.get_auth("/api/v1/projects", &staying.access_token).await.status(), 200);

    let response = app.post_json("/api/auth/logout", &json!({"refresh_token": leaving.refresh_token})).await;
    assert_eq!(response.status(), 204);
    let refused = app.get_auth("/api/v1/projects", &leaving.access_token).await;
    assert_eq!(refused.status(), 401, "refused at once in the process that signed out");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(app.get_auth("/api/auth/me", &leaving.access_token).await.status(), 401);
    // The same user's other session is untouched.
    assert_eq!(app.get_auth("/api/v1/projects", &staying.access_token).await.status(), 200);
    assert_eq!(app.get_auth("/api/auth/me", &staying.access_token).await.status(), 200);
}

async fn refresh_reuse_ends_the_familys_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let stolen = app.sign_in("stolen@example.com").await;
    let other = app.sign_in("stolen@example.com").await;
    let rotated = app.post_json("/api/auth/refresh", &json!({"refresh_token": stolen.refresh_token})).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.expect("json");
    let rotated_access = rotated["access_token"].as_str().expect("access").to_string();
    for token in [&stolen.access_token, &rotated_access, &other.access_token] {
        assert_eq!(app.get_auth("/api/v1/projects", token).await.status(), 200);
    }

    // The rotated-away refresh token again: the whole family is revoked, and
    // with it both access tokens issued to it.
    let replay = app.post_json("/api/auth/refresh", &json!({"refresh_token": stolen.refresh_token})).await;
    assert_eq!(replay.status(), 401);
    assert!(refused_within_a_second(&app, &stolen.access_token).await, "first access token still accepted");
    assert!(refused_within_a_second(&app, &rotated_access).await, "rotated access token still accepted");
    assert_eq!(app.get_auth("/api/v1/projects", &other.access_token).await.status(), 200, "other session");
}
