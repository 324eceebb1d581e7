//! The binary serves the built web app: files, the app shell for client
//! routes, long cache for hashed assets, and never HTML under `/api`.

use crate::db_tests;
use crate::helpers::{Backend, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_built_app_with_a_fallback_for_client_routes() {
    let dist = tempfile::tempdir().expect("dist");
    std::fs::create_dir_all(dist.path().join("assets")).expect("assets dir");
    std::fs::write(dist.path().join("index.html"), "<!doctype html><div id=root></div>").expect("index");
    std::fs::write(dist.path().join("assets/index-3f2a9c.js"), "console.log(1)").expect("bundle");
    std::fs::write(dist.path().join("robots.txt"), "User-agent: *").expect("robots");
    let dist_dir = dist.path().display().to_string();
    let mut app = spawn_app_with(Backend::Sqlite, &[("WEB_DIST_DIR", dist_dir.as_str())]).await;
    let get = |path: &str| app.client.get(app.url(path)).send();

    for route in ["/", "/login", "/projects", "/projects/0190-abc", "/auth/verify?token=abc", "/billing"] {
        let page = get(route).await.expect("request");
        assert_eq!(page.status(), 200, "{route}");
        assert!(page.headers()["content-type"].to_str().expect("type").starts_with("text/html"), "{route}");
        assert_eq!(page.headers()["cache-control"], "no-store", "{route}: the shell names the current bundle");
        assert_eq!(page.headers()["referrer-policy"], "same-origin", "{route}");
        assert!(page.text().await.expect("body").contains("id=root"), "{route}");
    }

    let bundle = get("/assets/index-3f2a9c.js").await.expect("request");
    assert_eq!(bundle.status(), 200);
    assert!(bundle.headers()["content-type"].to_str().expect("type").contains("javascript"));
    assert_eq!(bundle.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(bundle.text().await.expect("body"), "console.log(1)");
    let robots = get("/robots.txt").await.expect("request");
    assert_eq!(robots.status(), 200);
    assert_eq!(robots.headers()["cache-control"], "no-cache");

    // A stale bundle name, a missing file and an API path are 404
    // problems, never the HTML shell.
    for missing in ["/assets/index-old.js", "/favicon.ico", "/api/nope", "/api"] {
        let response = get(missing).await.expect("request");
        assert_eq!(response.status(), 404, "{missing}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{missing}");
    }
    let post = app.client.post(app.url("/projects")).send().await.expect("request");
    assert_eq!(post.status(), 404, "only GET and HEAD reach the app shell");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_built_app_the_sign_in_pages_still_work() {
    let mut app = crate::helpers::spawn_app(Backend::Sqlite).await;
    for route in ["/", "/login", "/auth/verify?token=x"] {
        let page = app.client.get(app.url(route)).send().await.expect("request");
        assert_eq!(page.status(), 200, "{route}");
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
    }
    let elsewhere = app.client.get(app.url("/projects")).send().await.expect("request");
    assert_eq!(elsewhere.status(), 404);
    app.stop().await;
}

db_tests!(every_response_carries_the_security_headers);

/// `nosniff` and a referrer policy on everything; on HTML a CSP that forbids
/// framing and foreign scripts. Checked on a JSON answer, errors, the app
/// shell, a static file, the built-in sign-in page, and /docs with its script.
async fn every_response_carries_the_security_headers(backend: Backend) {
    let dist = tempfile::tempdir().expect("dist");
    std::fs::write(dist.path().join("index.html"), "<!doctype html><div id=root></div>").expect("index");
    std::fs::write(dist.path().join("robots.txt"), "User-agent: *").expect("robots");
    let dist_dir = dist.path().display().to_string();
    let mut app = spawn_app_with(backend.clone(), &[("WEB_DIST_DIR", dist_dir.as_str())]).await;
    let get = |path: &str| app.client.get(app.url(path)).send();
    let everywhere = |response: &reqwest::Response, what: &str| {
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(response.headers()["referrer-policy"], "same-origin", "{what}");
    };
    let csp = |response: &reqwest::Response| -> String {
        response
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().expect("ascii").to_string())
            .unwrap_or_default()
    };

    let json = get("/healthz").await.expect("request");
    assert_eq!(json.status(), 200);
    everywhere(&json, "JSON answer");
    assert!(csp(&json).is_empty(), "a CSP only on HTML");
    for (path, status) in [("/api/nope", 404), ("/api/auth/me", 401)] {
        let error = get(path).await.expect("request");
        assert_eq!(error.status(), status, "{path}");
        assert_eq!(error.headers()["content-type"], "application/problem+json", "{path}");
        everywhere(&error, path);
    }
    let robots = get("/robots.txt").await.expect("request");
    everywhere(&robots, "static file");

    let shell = get("/projects").await.expect("request");
    assert_eq!(shell.status(), 200);
    everywhere(&shell, "app shell");
    let policy = csp(&shell);
    for directive in ["default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(policy.contains(directive), "app shell CSP lacks {directive}: {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(shell.headers()["x-frame-options"], "DENY");

    let docs = get("/docs").await.expect("request");
    assert_eq!(docs.status(), 200);
    everywhere(&docs, "/docs");
    let policy = csp(&docs);
    assert!(
        policy.contains("script-src 'self' 'unsafe-eval';") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    let page = docs.text().await.expect("body");
    assert!(!page.contains("https://"), "/docs loads nothing from a CDN: {page}");
    let script = get("/docs/scalar.js").await.expect("request");
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().expect("type").starts_with("text/javascript"));
    everywhere(&script, "/docs/scalar.js");
    assert!(script.bytes().await.expect("body").len() > 100_000, "Scalar's bundle is served from the binary");
    app.stop().await;

    // Without a built app: the built-in sign-in page allows its own inline code by hash only.
    let mut bare = crate::helpers::spawn_app(backend).await;
    let login = bare.client.get(bare.url("/login")).send().await.expect("request");
    everywhere(&login, "built-in /login");
    let policy = csp(&login);
    assert!(policy.contains("script-src 'self' 'sha256-") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    bare.stop().await;
}
