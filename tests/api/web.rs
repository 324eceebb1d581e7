//! The binary serves the built web app: files, the app shell for client
//! routes, long cache for hashed assets, and never HTML under `/api`.

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
