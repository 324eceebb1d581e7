//! A script from a topic (issue 18 part 1, SPEC 4.8) against a stand-in that
//! speaks the chat-completions wire format: `POST {base}/chat/completions`,
//! the structured answer as a JSON string in `choices[0].message.content`,
//! `message.refusal`, `finish_reason`, errors as `{"error":{...}}`. Each
//! stand-in plays a list of replies in order (the last one again when the
//! list runs out) and keeps every request it got.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, serve_stand_in, spawn_app_with};

db_tests!(
    a_topic_becomes_a_script_that_projects_accept,
    an_unusable_answer_is_asked_for_once_more_and_never_counted,
    a_slow_busy_or_failing_model_is_answered_plainly,
    without_a_model_scripts_are_503_and_requests_are_checked,
    the_quota_and_the_rate_limit_are_per_tenant,
);

pub(crate) const LLM_KEY: &str = "sk-stand-in-secret-key";

/// What the stand-in answers.
#[derive(Clone)]
pub(crate) enum Reply {
    /// A good script of `n` scenes.
    Script(usize),
    /// `message.refusal`.
    Refusal,
    /// Content that is not JSON.
    Prose,
    /// JSON of another shape.
    OtherShape,
    /// Waits, then a good script of one scene.
    Slow(Duration),
    /// HTTP 429 with this `Retry-After`.
    Busy(u64),
    /// An error status with an error body that quotes the key.
    Error(u16),
}

#[derive(Default)]
pub(crate) struct Seen {
    /// Each request: its `Authorization` header and its JSON body.
    requests: Mutex<Vec<(Option<String>, Value)>>,
}

#[derive(Clone)]
struct StandIn {
    replies: Arc<Vec<Reply>>,
    seen: Arc<Seen>,
}

fn script(scenes: usize) -> Value {
    let scenes: Vec<Value> = (0..scenes)
        .map(|i| {
            json!({"narration": format!("Scene {i}: the sea rises and falls twice a day, pulled by the moon."),
                   "stock_query": "ocean tide", "image_prompt": format!("A beach at high tide, picture {i}")})
        })
        .collect();
    json!({"title": "How tides work", "scenes": scenes})
}

fn completion(message: Value, finish_reason: &str) -> Response {
    axum::Json(json!({
        "id": "chatcmpl-standin", "object": "chat.completion", "created": 1_700_000_000, "model": "stand-in-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 200, "total_tokens": 300},
    }))
    .into_response()
}

fn content(value: String) -> Response {
    completion(json!({"role": "assistant", "content": value, "refusal": null}), "stop")
}

async fn chat(State(stand_in): State<StandIn>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let index = {
        let mut requests = stand_in.seen.requests.lock().expect("lock");
        requests.push((authorization, body));
        requests.len() - 1
    };
    let reply = stand_in.replies.get(index).or(stand_in.replies.last()).cloned().expect("a reply");
    match reply {
        Reply::Script(n) => content(script(n).to_string()),
        Reply::Refusal => completion(
            json!({"role": "assistant", "content": null, "refusal": "I'm sorry, I can't help with that."}),
            "stop",
        ),
        Reply::Prose => content("Sure! Here is a script about tides: the sea rises...".into()),
        Reply::OtherShape => content(json!({"title": "Tides", "paragraphs": ["The sea rises."]}).to_string()),
        Reply::Slow(wait) => {
            tokio::time::sleep(wait).await;
            content(script(1).to_string())
        }
        Reply::Busy(seconds) => {
            let body = json!({"error": {"message": "Rate limit reached for requests", "type": "requests",
                                        "code": "rate_limit_exceeded"}});
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", seconds.to_string())], axum::Json(body)).into_response()
        }
        Reply::Error(status) => {
            let body = json!({"error": {"message": format!("Incorrect API key provided: {LLM_KEY}. internal trace 0xdeadbeef"),
                                        "type": "invalid_request_error", "code": "invalid_api_key"}});
            (StatusCode::from_u16(status).expect("status"), axum::Json(body)).into_response()
        }
    }
}

/// A stand-in that plays `replies`; its base URL and what it saw.
pub(crate) async fn stand_in(replies: Vec<Reply>) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let state = StandIn { replies: Arc::new(replies), seen: seen.clone() };
    let router = Router::new().route("/v1/chat/completions", post(chat)).with_state(state);
    (serve_stand_in(router).await, seen)
}

fn calls(seen: &Seen) -> usize {
    seen.requests.lock().expect("lock").len()
}

async fn app_with_model(backend: Backend, replies: Vec<Reply>, extra: &[(&str, &str)]) -> (TestApp, Arc<Seen>) {
    let (base, seen) = stand_in(replies).await;
    let mut overrides = vec![
        ("LLM_API_BASE", base.as_str()),
        ("LLM_API_KEY", LLM_KEY),
        ("LLM_MODEL", "stand-in-model"),
        ("WORKER_CONCURRENCY", "0"),
    ];
    overrides.extend_from_slice(extra);
    (spawn_app_with(backend, &overrides).await, seen)
}

async fn ask(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/scripts")).bearer_auth(token).json(body).send().await.expect("request")
}

/// `scripts_generated` of `GET /api/usage`: `(used, quota, reserved)`.
async fn scripts_used(app: &TestApp, token: &str) -> (f64, Value, f64) {
    // The usage cache keeps an answer for a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    let metric = &usage["metrics"]["scripts_generated"];
    (metric["used"].as_f64().expect("used"), metric["quota"].clone(), metric["reserved"].as_f64().expect("reserved"))
}

async fn reservations(app: &TestApp, tenant_id: &str) -> i64 {
    app.count("SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1", tenant_id).await
}

async fn a_topic_becomes_a_script_that_projects_accept(backend: Backend) {
    let (app, seen) = app_with_model(backend, vec![Reply::Script(4)], &[]).await;
    let session = app.sign_in("writer@example.com").await;
    let (token, tenant) = (&session.access_token, session.tenant_id.as_str());

    let asked =
        json!({"topic": "How tides work", "language": "en", "duration_seconds": 40, "tone": "calm", "scenes": 4});
    let response = ask(&app, token, &asked).await;
    assert_eq!(response.status(), 200);
    let written: Value = response.json().await.expect("json");
    assert_eq!(written["title"], "How tides work");
    assert_eq!(written["language"], "en");
    let scenes = written["scenes"].as_array().expect("scenes");
    assert_eq!(scenes.len(), 4);
    assert_eq!(
        scenes[0],
        json!({"text": "Scene 0: the sea rises and falls twice a day, pulled by the moon.",
               "visual": {"kind": "stock", "media": "photo", "query": "ocean tide"},
               "prompt": "A beach at high tide, picture 0"})
    );

    // What the model was asked: the model, the brief, the schema, the key in the header only.
    let requests = seen.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 1);
    let (authorization, request) = &requests[0];
    assert_eq!(authorization.as_deref(), Some(format!("Bearer {LLM_KEY}").as_str()));
    assert_eq!(request["model"], "stand-in-model");
    assert_eq!(request["messages"][0]["role"], "system");
    assert_eq!(request["messages"][1]["role"], "user");
    let user = request["messages"][1]["content"].as_str().expect("user message");
    assert!(user.contains("How tides work") && user.contains("exactly 4 scenes") && user.contains("calm"), "{user}");
    let format = &request["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    assert!(format["json_schema"]["name"].is_string());
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["required"], json!(["title", "scenes"]));
    assert_eq!(
        schema["properties"]["scenes"]["items"]["required"],
        json!(["narration", "stock_query", "image_prompt"])
    );
    assert!(!request.to_string().contains(LLM_KEY), "the key is not in the body");

    // Counted once, in the ledger and the usage log.
    assert_eq!(scripts_used(&app, token).await, (1.0, json!(50.0), 0.0));
    assert_eq!(reservations(&app, tenant).await, 0);
    let log = reelforge::usage::jsonl::read_tenant(&app.state.config.usage.usage_log_dir, tenant);
    assert_eq!(log.iter().filter(|line| line["metric"] == "scripts_generated").count(), 1, "{log:?}");

    // The answer is a project's body as it is: add a template and create.
    let mut body = written.clone();
    body["template_id"] = json!("explainer");
    body["render"] = json!(false);
    let created =
        app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("create");
    assert_eq!(created.status(), 202, "{}", created.text().await.unwrap_or_default());
    let project: Value = created.json().await.expect("json");
    let id = project["project_id"].as_str().expect("id");
    let stored: Value = app.get_auth(&format!("/api/v1/projects/{id}/scenes"), token).await.json().await.expect("json");
    let stored = stored.as_array().expect("scenes");
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[2]["text"], scenes[2]["text"]);
    assert_eq!(stored[2]["visual"], json!({"kind": "stock", "media": "photo", "query": "ocean tide"}));

    // The same request again under one Idempotency-Key: the first answer, the model not asked, counted once.
    let keyed = |key: &'static str| {
        app.client.post(app.url("/api/v1/scripts")).bearer_auth(token).header("Idempotency-Key", key).json(&asked)
    };
    let first = keyed("script-7").send().await.expect("request");
    assert_eq!(first.status(), 200);
    let first = first.bytes().await.expect("body");
    let again = keyed("script-7").send().await.expect("request");
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.expect("body"), first);
    assert_eq!(calls(&seen), 2);
    assert_eq!(scripts_used(&app, token).await.0, 2.0);
}

async fn an_unusable_answer_is_asked_for_once_more_and_never_counted(backend: Backend) {
    let replies = vec![
        // Not JSON, then good: one script, counted once.
        Reply::Prose,
        Reply::Script(1),
        // Refused twice: 502.
        Reply::Refusal,
        Reply::Refusal,
        // Another shape, then a script far from what was asked (5 scenes for 1): 502.
        Reply::OtherShape,
        Reply::Script(5),
    ];
    let (app, seen) = app_with_model(backend, replies, &[]).await;
    let session = app.sign_in("retry@example.com").await;
    let (token, tenant) = (&session.access_token, session.tenant_id.as_str());
    let asked = json!({"topic": "Tides", "scenes": 1});

    let response = ask(&app, token, &asked).await;
    assert_eq!(response.status(), 200);
    let written: Value = response.json().await.expect("json");
    assert_eq!(written["scenes"].as_array().map(Vec::len), Some(1));
    assert_eq!(calls(&seen), 2);
    assert_eq!(scripts_used(&app, token).await.0, 1.0);

    let refused = ask(&app, token, &asked).await;
    assert_eq!(refused.status(), 502);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["reason"], "refused");
    assert!(!problem.to_string().contains("sorry"), "the model's words are not passed on: {problem}");
    assert_eq!(calls(&seen), 4);

    let invalid = ask(&app, token, &asked).await;
    assert_eq!(invalid.status(), 502);
    let problem: Value = invalid.json().await.expect("json");
    assert_eq!(problem["reason"], "invalid_answer");
    assert_eq!(calls(&seen), 6, "asked twice, not more");

    // The failures cost nothing and hold nothing.
    assert_eq!(scripts_used(&app, token).await, (1.0, json!(50.0), 0.0));
    assert_eq!(reservations(&app, tenant).await, 0);
    let ledger = app.count("SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1", tenant).await;
    assert_eq!(ledger, 1);
}

async fn a_slow_busy_or_failing_model_is_answered_plainly(backend: Backend) {
    let replies = vec![Reply::Slow(Duration::from_secs(4)), Reply::Busy(17), Reply::Error(401), Reply::Error(500)];
    let (app, seen) = app_with_model(backend, replies, &[("LLM_TIMEOUT_SECONDS", "1")]).await;
    let session = app.sign_in("slow@example.com").await;
    let (token, tenant) = (&session.access_token, session.tenant_id.as_str());
    let asked = json!({"topic": "Tides", "scenes": 1});

    // Past LLM_TIMEOUT_SECONDS: 504, and not asked again (it would only double the wait).
    let started = std::time::Instant::now();
    let slow = ask(&app, token, &asked).await;
    assert_eq!(slow.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let problem: Value = slow.json().await.expect("json");
    assert_eq!(problem["reason"], "timeout");
    assert_eq!(calls(&seen), 1);

    // The provider's 429 is passed on with its Retry-After.
    let busy = ask(&app, token, &asked).await;
    assert_eq!(busy.status(), 429);
    assert_eq!(busy.headers()["retry-after"], "17");
    let problem: Value = busy.json().await.expect("json");
    assert_eq!(problem["reason"], "provider_busy");
    assert_eq!(problem["retry_after_seconds"], 17);
    assert_eq!(calls(&seen), 2);

    // Error statuses: 502, and the provider's text (which quotes the key) is not passed on.
    for (reason, call) in [("refused our API key", 3), ("failed on its side", 4)] {
        let failed = ask(&app, token, &asked).await;
        assert_eq!(failed.status(), 502);
        let text = failed.text().await.expect("body");
        assert!(text.contains(reason), "{text}");
        assert!(!text.contains(LLM_KEY) && !text.contains("deadbeef"), "{text}");
        assert_eq!(calls(&seen), call);
    }

    assert_eq!(scripts_used(&app, token).await, (0.0, json!(50.0), 0.0));
    assert_eq!(reservations(&app, tenant).await, 0);
}

async fn without_a_model_scripts_are_503_and_requests_are_checked(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("nomodel@example.com").await;
    let token = &session.access_token;

    let response = ask(&app, token, &json!({"topic": "Tides"})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["reason"], "not_configured");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("LLM_API_BASE"), "{problem}");

    let unauthenticated = app.post_json("/api/v1/scripts", &json!({"topic": "Tides"})).await;
    assert_eq!(unauthenticated.status(), 401);

    let bad =
        json!({"topic": " ", "language": "klingon!", "duration_seconds": 5, "scenes": 61, "tone": "x".repeat(61)});
    let response = ask(&app, token, &bad).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("json");
    let fields: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["topic", "language", "duration_seconds", "scenes", "tone"]);
    assert_eq!(ask(&app, token, &json!({"topic": "a".repeat(501)})).await.status(), 422);
    assert_eq!(ask(&app, token, &json!({"topic": "Tides", "duration_seconds": 601})).await.status(), 422);
    assert_eq!(ask(&app, token, &json!({"topik": "Tides"})).await.status(), 422);
    assert_eq!(ask(&app, token, &json!({"topic": "Tides", "scenes": -1})).await.status(), 422);

    // The metric shows with its quota even before any use.
    assert_eq!(scripts_used(&app, token).await, (0.0, json!(50.0), 0.0));
}

async fn the_quota_and_the_rate_limit_are_per_tenant(backend: Backend) {
    let extra = [("QUOTA_SCRIPTS_COUNT", "1"), ("SCRIPTS_PER_MINUTE", "3")];
    let (app, seen) = app_with_model(backend, vec![Reply::Script(1)], &extra).await;
    let first = app.sign_in("quota@example.com").await;
    let token = &first.access_token;
    let asked = json!({"topic": "Tides", "scenes": 1});

    assert_eq!(ask(&app, token, &asked).await.status(), 200);
    // The quota (1 on Free) is used: 402, and the model is not asked.
    for _ in 0..2 {
        let over = ask(&app, token, &asked).await;
        assert_eq!(over.status(), 402);
        let problem: Value = over.json().await.expect("json");
        assert_eq!(problem["metric"], "scripts_generated");
        assert_eq!(
            (problem["used"].as_f64(), problem["quota"].as_f64(), problem["needed"].as_f64()),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(problem["reserved"], 0.0);
        assert!(problem["upgrade_url"].is_string());
    }
    assert_eq!(calls(&seen), 1);
    // The fourth request this minute passes SCRIPTS_PER_MINUTE.
    let limited = ask(&app, token, &asked).await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let problem: Value = limited.json().await.expect("json");
    assert_eq!(problem["reason"], "rate_limited");

    let usage: Value = {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        app.get_auth("/api/usage", token).await.json().await.expect("json")
    };
    assert_eq!(usage["metrics"]["scripts_generated"]["used"], 1.0);
    assert!(usage["near_limit"].as_array().expect("list").contains(&json!("scripts_generated")), "{usage}");
    // And usage.near_limit is due for it (recorded once, whatever webhooks the tenant has).
    let notices = "SELECT COUNT(*) FROM usage_notices WHERE metric = 'scripts_generated' AND tenant_id = $1";
    assert_eq!(app.count(notices, &first.tenant_id).await, 1);
    let history: Value = app.get_auth("/api/usage/history?days=2", token).await.json().await.expect("json");
    let today = history["series"]["scripts_generated"].as_array().and_then(|days| days.last()).cloned();
    assert_eq!(today.map(|d| d["amount"].clone()), Some(json!(1.0)), "{history}");

    // Another tenant has its own quota and its own limit.
    let other = app.sign_in("other-writer@example.com").await;
    assert_eq!(ask(&app, &other.access_token, &asked).await.status(), 200);
    assert_eq!(calls(&seen), 2);
}
