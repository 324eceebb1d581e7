//! Every error is RFC 9457 problem+json with the right status.

use serde_json::Value;

use crate::db_tests;
use crate::helpers::{Backend, spawn_app};

db_tests!(
    errors_are_problem_json,
    probes_and_api_description,
    query_errors_are_422_naming_the_parameter,
    listed_voices_can_be_previewed,
    preview_failures_say_nothing_internal,
);

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
        "/api/v1/projects/estimate",
        "/api/v1/projects/{id}",
        "/api/v1/projects/{id}/events",
        "/api/v1/projects/{id}/retry",
        "/api/v1/projects/{id}/cancel",
        "/api/v1/projects/{id}/video",
        "/api/v1/projects/{id}/thumbnail",
        "/api/v1/projects/{id}/captions.vtt",
        "/api/v1/projects/{id}/captions.srt",
        "/api/v1/media",
        "/api/v1/media/{id}",
        "/api/v1/media/{id}/file",
        "/api/v1/media/{id}/thumbnail",
        "/api/usage",
        "/api/usage/history",
        "/api/billing/checkout",
        "/api/billing/portal",
        "/api/billing/subscription",
        "/api/billing/webhook",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert_error_responses_documented(&doc);
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

/// Every operation documents the errors the shared machinery answers with,
/// each as problem+json referencing the one `Problem` schema.
fn assert_error_responses_documented(doc: &Value) {
    let problem = &doc["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail"] {
        assert!(problem["properties"][member].is_object(), "Problem.{member}: {problem}");
    }
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head" | "options") {
                continue;
            }
            operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            let responses = operation["responses"].as_object().expect("responses");
            let documents = |status: &str| responses.contains_key(status);
            let json_body = operation["requestBody"]["content"]["application/json"].is_object();
            if json_body {
                for status in ["400", "413", "415", "422"] {
                    assert!(documents(status), "{name} has a JSON body but does not document {status}");
                }
            }
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(documents("401"), "{name} is secured but does not document 401");
            }
            if matches!(method.as_str(), "post" | "put" | "patch" | "delete") {
                assert!(documents("403"), "{name} is unsafe but does not document the cookie origin 403");
            }
            let params = operation["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "query") {
                assert!(documents("422"), "{name} has query parameters but does not document 422");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{name} {status}"
                    );
                }
            }
        }
    }
    assert!(operations > 30, "{operations} operations");
    // Operation-specific responses are kept, with the shared cause appended.
    let verify = &doc["paths"]["/api/auth/magic-link/verify"]["post"]["responses"]["400"]["description"];
    let verify = verify.as_str().expect("description");
    assert!(verify.contains("invalid or expired link") && verify.contains("malformed JSON"), "{verify}");
    let create = &doc["paths"]["/api/v1/projects/create"]["post"]["responses"];
    assert!(create["402"].is_object() && create["507"].is_object() && create["202"]["content"].is_object());
    assert!(doc["paths"]["/api/v1/projects"]["get"]["responses"]["422"].is_object());
}

/// A query parameter that does not parse is a 422 naming it, like one out of range.
async fn query_errors_are_422_naming_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("query@example.com").await;
    for (path, parameter) in [
        ("/api/v1/projects?limit=false", "limit"),
        ("/api/v1/projects?limit=0", "limit"),
        ("/api/v1/projects?limit=1&limit=2", "limit"),
        ("/api/account/audit?limit=9223372036854775808", "limit"),
        ("/api/account/audit?limit=-1", "limit"),
        ("/api/usage/history?days=AAA", "days"),
        ("/api/usage/history?days=400", "days"),
    ] {
        let body = assert_problem(app.get_auth(path, &session.access_token).await, 422).await;
        assert_eq!(body["errors"][0]["field"], parameter, "{path}: {body}");
        assert!(body["detail"].as_str().expect("detail").contains(parameter), "{path}: {body}");
    }
    let fine = app.get_auth("/api/v1/projects?limit=5&unknown=x", &session.access_token).await;
    assert_eq!(fine.status(), 200);
}

/// Every voice `/api/v1/voices` lists can be spoken; a sample (with Cherokee,
/// whose listed code espeak-ng 1.51 refuses as `-v`) is requested over HTTP.
async fn listed_voices_can_be_previewed(backend: Backend) {
    if std::process::Command::new("espeak-ng").arg("--version").output().is_err() {
        eprintln!("espeak-ng not installed; skipping");
        return;
    }
    let app = spawn_app(backend).await;
    let session = app.sign_in("voices@example.com").await;
    let voices: Value = app.get_auth("/api/v1/voices", &session.access_token).await.json().await.expect("voices");
    let voices = voices.as_array().expect("list");
    assert!(!voices.is_empty());
    let mut sample: Vec<&Value> = voices.iter().filter(|v| v["provider"] == "espeak").step_by(25).collect();
    sample.extend(voices.iter().filter(|v| {
        let id = v["id"].as_str().unwrap_or_default();
        id.starts_with("espeak:chr") || id == "espeak:en-us"
    }));
    for voice in sample {
        let url = voice["preview_url"].as_str().expect("preview_url").replace(':', "%3A");
        let preview = app.get_auth(&url, &session.access_token).await;
        assert_eq!(preview.status(), 200, "{voice}");
        assert_eq!(preview.headers()["content-type"], "audio/wav");
        assert!(preview.bytes().await.expect("wav").starts_with(b"RIFF"), "{voice}");
    }
    assert_problem(app.get_auth("/api/v1/voices/espeak%3Anope/preview", &session.access_token).await, 404).await;
}

/// A voice engine that fails answers 502 without its stderr (which is logged).
async fn preview_failures_say_nothing_internal(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("espeak-ng");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --voices ]; then\n  echo 'Pty Language Age/Gender VoiceName File Other Languages'\n  \
         echo ' 5  zz --/M Fake xx/zz'\n  exit 0\nfi\necho 'Error: /secret/path/espeak-ng-data is broken' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let app = crate::helpers::spawn_app_with(backend, &[("ESPEAK_PATH", fake.to_str().expect("utf-8"))]).await;
    let session = app.sign_in("engine@example.com").await;
    let voices: Value = app.get_auth("/api/v1/voices", &session.access_token).await.json().await.expect("voices");
    assert_eq!(voices[0]["id"], "espeak:zz", "{voices}");
    let body =
        assert_problem(app.get_auth("/api/v1/voices/espeak%3Azz/preview", &session.access_token).await, 502).await;
    let text = body.to_string();
    assert!(!text.contains("secret") && !text.contains("espeak"), "{text}");
}
