//! Stripe billing against a stand-in that speaks Stripe's wire format on
//! loopback (form-encoded requests, JSON objects, `Idempotency-Key`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

db_tests!(
    checkout_creates_one_customer_and_sends_the_right_parameters,
    portal_needs_a_customer,
    billing_unconfigured_answers_503_and_the_rest_works,
    webhook_signatures_are_checked_before_anything_else,
    bad_webhook_signatures_are_limited_per_ip,
    a_verified_webhook_upgrades_at_once_and_duplicates_are_ignored,
    out_of_order_events_follow_stripe_and_downgrade_keeps_data,
    failed_payments_keep_the_plan_and_mail_the_owner_once_per_attempt,
    billing_sync_fixes_drift,
    erasure_cancels_the_subscription,
);

pub(crate) const SECRET: &str = "whsec_test_reelforge";
pub(crate) const PRICE_PRO: &str = "price_pro_test";
const PRICE_ENTERPRISE: &str = "price_ent_test";

/// (method, path, idempotency key, authorization, form)
type Request = (String, String, Option<String>, Option<String>, HashMap<String, String>);

#[derive(Default)]
pub(crate) struct Recorded {
    pub(crate) requests: Vec<Request>,
    customers: HashMap<String, String>,
    pub(crate) subscriptions: HashMap<String, Value>,
    /// Billing Meter events counted (one per identifier, as Stripe counts them).
    pub(crate) meter_events: Vec<HashMap<String, String>>,
    /// Every meter-event call, counted or not.
    pub(crate) meter_calls: usize,
    /// While true every call is answered 500 (an outage).
    pub(crate) outage: bool,
}

pub(crate) type Shared = Arc<Mutex<Recorded>>;

fn record(shared: &Shared, method: &str, path: &str, headers: &HeaderMap, form: HashMap<String, String>) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    shared.lock().expect("lock").requests.push((
        method.into(),
        path.into(),
        header("idempotency-key"),
        header("authorization"),
        form,
    ));
}

async fn customers(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    record(&shared, "POST", "/v1/customers", &headers, form);
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut recorded = shared.lock().expect("lock");
    let next = format!("cus_{}", recorded.customers.len() + 1);
    let id = recorded.customers.entry(key).or_insert(next).clone();
    axum::Json(json!({"id": id, "object": "customer"}))
}

async fn sessions(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    record(&shared, "POST", "/v1/checkout/sessions", &headers, form);
    axum::Json(
        json!({"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.test/c/cs_test_1"}),
    )
}

async fn portal(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    record(&shared, "POST", "/v1/billing_portal/sessions", &headers, form);
    axum::Json(
        json!({"id": "bps_1", "object": "billing_portal.session", "url": "https://billing.stripe.test/p/session_1"}),
    )
}

async fn get_subscription(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> axum::response::Response {
    record(&shared, "GET", &format!("/v1/subscriptions/{id}"), &headers, HashMap::new());
    match shared.lock().expect("lock").subscriptions.get(&id) {
        Some(subscription) => axum::Json(subscription.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"message": "No such subscription", "type": "invalid_request_error"}})),
        )
            .into_response(),
    }
}

async fn cancel_subscription(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> axum::response::Response {
    record(&shared, "DELETE", &format!("/v1/subscriptions/{id}"), &headers, HashMap::new());
    let mut recorded = shared.lock().expect("lock");
    match recorded.subscriptions.get_mut(&id) {
        Some(subscription) => {
            subscription["status"] = json!("canceled");
            axum::Json(subscription.clone()).into_response()
        }
        None => {
            (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"message": "No such subscription"}}))).into_response()
        }
    }
}

async fn list_subscriptions(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let customer = query.get("customer").cloned().unwrap_or_default();
    let data: Vec<Value> = shared
        .lock()
        .expect("lock")
        .subscriptions
        .values()
        .filter(|s| s["customer"] == customer.as_str())
        .cloned()
        .collect();
    axum::Json(json!({"object": "list", "data": data, "has_more": false}))
}

/// `POST /v1/billing/meter_events`: form-encoded, counted once per
/// `identifier` (a repeat is refused with `resource_already_exists`, as
/// Stripe does within its deduplication window).
async fn meter_events(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    record(&shared, "POST", "/v1/billing/meter_events", &headers, form.clone());
    let mut recorded = shared.lock().expect("lock");
    recorded.meter_calls += 1;
    let refuse = |status: StatusCode, code: &str, message: &str| {
        (status, axum::Json(json!({"error": {"type": "invalid_request_error", "code": code, "message": message}})))
            .into_response()
    };
    if recorded.outage {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"type": "api_error", "message": "outage"}})),
        )
            .into_response();
    }
    for field in ["event_name", "payload[stripe_customer_id]", "payload[value]", "identifier", "timestamp"] {
        if form.get(field).is_none_or(|v| v.is_empty()) {
            return refuse(StatusCode::BAD_REQUEST, "parameter_missing", &format!("Missing required param: {field}."));
        }
    }
    if form["payload[value]"].parse::<i64>().is_err() {
        return refuse(StatusCode::BAD_REQUEST, "parameter_invalid_integer", "payload[value] must be a number");
    }
    if !recorded.customers.values().any(|c| *c == form["payload[stripe_customer_id]"]) {
        return refuse(StatusCode::BAD_REQUEST, "resource_missing", "No such customer");
    }
    if recorded.meter_events.iter().any(|e| e["identifier"] == form["identifier"]) {
        let message = format!("An event already exists with identifier {}.", form["identifier"]);
        return refuse(StatusCode::BAD_REQUEST, "resource_already_exists", &message);
    }
    recorded.meter_events.push(form.clone());
    axum::Json(json!({
        "object": "billing.meter_event", "event_name": form["event_name"], "identifier": form["identifier"],
        "payload": {"stripe_customer_id": form["payload[stripe_customer_id]"], "value": form["payload[value]"]},
        "timestamp": form["timestamp"].parse::<i64>().unwrap_or_default(), "livemode": false
    }))
    .into_response()
}

pub(crate) async fn start_stripe() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let router = Router::new()
        .route("/v1/customers", post(customers))
        .route("/v1/checkout/sessions", post(sessions))
        .route("/v1/billing_portal/sessions", post(portal))
        .route("/v1/subscriptions", get(list_subscriptions))
        .route("/v1/subscriptions/{id}", get(get_subscription).delete(cancel_subscription))
        .route("/v1/billing/meter_events", post(meter_events))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), shared)
}

async fn billing_app(backend: Backend) -> (TestApp, Shared) {
    billing_app_with(backend, &[]).await
}

pub(crate) async fn billing_app_with(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, Shared) {
    let (base, shared) = start_stripe().await;
    let mut config = vec![
        ("STRIPE_API_KEY", "sk_test_reelforge"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_PRICE_PRO", PRICE_PRO),
        ("STRIPE_PRICE_ENTERPRISE", PRICE_ENTERPRISE),
        ("STRIPE_API_BASE", &base),
    ];
    config.extend_from_slice(extra);
    let app = spawn_app_with(backend, &config).await;
    (app, shared)
}

pub(crate) fn subscription(id: &str, customer: &str, tenant: &str, status: &str, price: &str) -> Value {
    json!({
        "id": id, "object": "subscription", "status": status, "customer": customer,
        "cancel_at_period_end": false, "current_period_end": 1_900_000_000,
        "metadata": {"tenant_id": tenant},
        "items": {"object": "list", "data": [{"id": "si_1", "price": {"id": price, "object": "price"}}]}
    })
}

pub(crate) fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}).to_string()
}

pub(crate) async fn deliver(app: &TestApp, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/billing/webhook"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.send().await.expect("request")
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn signed(body: &str) -> Option<String> {
    Some(reelforge::billing::stripe::sign(body.as_bytes(), SECRET, now()))
}

pub(crate) async fn plan(app: &TestApp, token: &str) -> String {
    let view: Value = app.get_auth("/api/billing/subscription", token).await.json().await.expect("json");
    assert_eq!(view["billing_enabled"], true, "{view}");
    view["plan"].as_str().expect("plan").to_string()
}

pub(crate) async fn checkout(app: &TestApp, token: &str, plan: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/billing/checkout"))
        .bearer_auth(token)
        .json(&json!({"plan": plan}))
        .send()
        .await
        .expect("request")
}

async fn checkout_creates_one_customer_and_sends_the_right_parameters(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("payer@example.com").await;
    let token = session.access_token.as_str();
    for _ in 0..2 {
        let response = checkout(&app, token, "pro").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["session_id"], "cs_test_1");
        assert!(body["checkout_url"].as_str().expect("url").starts_with("https://checkout.stripe.test/"));
    }
    {
        let recorded = shared.lock().expect("lock");
        let customer_calls: Vec<_> = recorded.requests.iter().filter(|r| r.1 == "/v1/customers").collect();
        assert_eq!(customer_calls.len(), 1, "one customer per tenant");
        assert_eq!(customer_calls[0].4["email"], "payer@example.com");
        assert_eq!(customer_calls[0].4["metadata[tenant_id]"], session.tenant_id);
        let sessions: Vec<_> = recorded.requests.iter().filter(|r| r.1 == "/v1/checkout/sessions").collect();
        assert_eq!(sessions.len(), 2);
        let form = &sessions[0].4;
        assert_eq!(form["mode"], "subscription");
        assert_eq!(form["customer"], "cus_1");
        assert_eq!(form["line_items[0][price]"], PRICE_PRO);
        assert_eq!(form["client_reference_id"], session.tenant_id);
        assert_eq!(form["metadata[tenant_id]"], session.tenant_id);
        assert_eq!(form["subscription_data[metadata][tenant_id]"], session.tenant_id);
        assert!(form["success_url"].starts_with("http://reelforge.test/billing?checkout=success"));
        assert!(form["success_url"].contains("{CHECKOUT_SESSION_ID}"));
        assert!(form["cancel_url"].starts_with("http://reelforge.test/billing"));
        for request in recorded.requests.iter().filter(|r| r.0 == "POST") {
            assert!(
                request.2.as_deref().is_some_and(|k| k.contains(&session.tenant_id)),
                "Idempotency-Key from our ids: {:?}",
                request.2
            );
            assert_eq!(request.3.as_deref(), Some("Bearer sk_test_reelforge"));
        }
    }
    // The plan does not change from the browser's return: only a webhook changes it.
    assert_eq!(plan(&app, token).await, "free");
    let enterprise = checkout(&app, token, "enterprise").await;
    assert_eq!(enterprise.status(), 200);
    assert_eq!(checkout(&app, token, "gold").await.status(), 422);
    assert_eq!(checkout(&app, token, "free").await.status(), 422);
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    assert_eq!(checkout(&app, token, "pro").await.status(), 409, "already on that plan");
}

async fn portal_needs_a_customer(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("portal@example.com").await;
    let token = session.access_token.as_str();
    let before = app.client.post(app.url("/api/billing/portal")).bearer_auth(token).send().await.expect("request");
    assert_eq!(before.status(), 409);
    checkout(&app, token, "pro").await;
    let after = app.client.post(app.url("/api/billing/portal")).bearer_auth(token).send().await.expect("request");
    assert_eq!(after.status(), 200);
    assert_eq!(after.json::<Value>().await.expect("json")["portal_url"], "https://billing.stripe.test/p/session_1");
    let recorded = shared.lock().expect("lock");
    let portal = recorded.requests.iter().find(|r| r.1 == "/v1/billing_portal/sessions").expect("portal call");
    assert_eq!(portal.4["customer"], "cus_1");
    assert_eq!(portal.4["return_url"], "http://reelforge.test/billing");
}

async fn billing_unconfigured_answers_503_and_the_rest_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in("nobill@example.com").await;
    let token = session.access_token.as_str();
    for response in [
        checkout(&app, token, "pro").await,
        app.client.post(app.url("/api/billing/portal")).bearer_auth(token).send().await.expect("request"),
        deliver(&app, "{}", None).await,
    ] {
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    let view: Value = app.get_auth("/api/billing/subscription", token).await.json().await.expect("json");
    assert_eq!(
        view,
        json!({"plan": "free", "status": "none", "current_period_end": null, "cancel_at_period_end": false,
               "billing_enabled": false}),
        "the web app can tell that payments are off without trying one"
    );
    assert_eq!(app.get_auth("/api/usage", token).await.status(), 200);
}

async fn bad_webhook_signatures_are_limited_per_ip(backend: Backend) {
    let (app, _shared) = billing_app_with(backend, &[("RATE_LIMIT_WEBHOOK_FAILURES_PER_15M", "2")]).await;
    let body = event("evt_flood", "invoice.paid", json!({"id": "in_1"}));
    let forged = || Some(reelforge::billing::stripe::sign(body.as_bytes(), "whsec_wrong", now()));
    assert_eq!(deliver(&app, &body, forged()).await.status(), 400);
    assert_eq!(deliver(&app, &body, None).await.status(), 400);
    let limited = deliver(&app, &body, forged()).await;
    assert_eq!(limited.status(), 429, "the third bad signature from one IP");
    assert_eq!(limited.headers()["content-type"], "application/problem+json");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = $1", "billing.webhook_signature_failed").await,
        2,
        "refusals past the limit are not audited"
    );
    // Stripe's own deliveries verify, so they are never counted or refused.
    let unhandled = event("evt_unhandled", "customer.created", json!({"id": "cus_1"}));
    assert_eq!(deliver(&app, &unhandled, signed(&unhandled)).await.status(), 200);
}

async fn webhook_signatures_are_checked_before_anything_else(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("forger@example.com").await;
    shared.lock().expect("lock").subscriptions.insert(
        "sub_forged".into(),
        subscription("sub_forged", "cus_x", &session.tenant_id, "active", PRICE_ENTERPRISE),
    );
    let body = event(
        "evt_forged",
        "customer.subscription.updated",
        json!({"id": "sub_forged", "metadata": {"tenant_id": session.tenant_id}}),
    );
    let sign = |secret: &str, at: i64| reelforge::billing::stripe::sign(body.as_bytes(), secret, at);
    // A minute past the tolerance each way, so the server's clock moving on
    // during the test cannot bring a timestamp back inside it.
    let outside = reelforge::billing::stripe::SIGNATURE_TOLERANCE_SECONDS + 60;
    let cases = [
        ("none", None),
        ("wrong secret", Some(sign("whsec_wrong", now()))),
        ("old", Some(sign(SECRET, now() - outside))),
        ("future", Some(sign(SECRET, now() + outside))),
        ("v0 only", Some(sign(SECRET, now()).replace("v1=", "v0="))),
        ("garbage", Some("t=1,v1=nothex".to_string())),
    ];
    for (what, signature) in cases {
        let response = deliver(&app, &body, signature).await;
        assert_eq!(response.status(), 400, "{what}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    // Signed, then changed after signing.
    // One timestamp for the rotation case below too: its two signatures must
    // sign the same `t` even when the clock ticks between them.
    let signed_at = now();
    let good = sign(SECRET, signed_at);
    let tampered = body.replace("evt_forged", "evt_forgex");
    assert_eq!(deliver(&app, &tampered, Some(good.clone())).await.status(), 400, "body changed after signing");
    assert_eq!(plan(&app, &session.access_token).await, "free", "nothing changed");
    assert_eq!(app.count("SELECT COUNT(*) FROM stripe_events WHERE id <> $1", "").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = $1", "billing.webhook_signature_failed").await,
        7
    );
    assert!(shared.lock().expect("lock").requests.iter().all(|r| r.0 != "GET"), "Stripe was not even asked");

    // During a secret rotation, any matching v1 is accepted.
    let rotated = format!("{},v1={}", sign("whsec_previous", signed_at), good.split("v1=").nth(1).unwrap_or_default());
    assert_eq!(deliver(&app, &body, Some(rotated)).await.status(), 200);
    assert_eq!(plan(&app, &session.access_token).await, "enterprise");
}

async fn a_verified_webhook_upgrades_at_once_and_duplicates_are_ignored(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("upgrade@example.com").await;
    let token = session.access_token.as_str();
    // A webhook endpoint (it need not answer) is told of subscription changes, once per change.
    let endpoint = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": "https://hooks.example.com/billing", "events": ["subscription.updated"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(endpoint.status(), 201);
    checkout(&app, token, "pro").await;
    let before: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    assert_eq!(before["metrics"]["images_generated"]["quota"], 500.0);
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_1".into(), subscription("sub_1", "cus_1", &session.tenant_id, "active", PRICE_PRO));
    let body = event(
        "evt_1",
        "checkout.session.completed",
        json!({"id": "cs_test_1", "customer": "cus_1", "subscription": "sub_1", "client_reference_id": session.tenant_id}),
    );
    let response = deliver(&app, &body, signed(&body)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json")["outcome"], "processed");
    // Pro at once: plan, quotas, and what the caller sees.
    let view: Value = app.get_auth("/api/billing/subscription", token).await.json().await.expect("json");
    assert_eq!(view["plan"], "pro");
    assert_eq!(view["status"], "active");
    assert!(view["current_period_end"].as_str().expect("date").starts_with("2030-"));
    let after: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    assert_eq!(after["metrics"]["images_generated"]["quota"], 2500.0);
    let me: Value = app.get_auth("/api/auth/me", token).await.json().await.expect("json");
    assert_eq!(me["tenant"]["plan"], "pro");

    // The same event again: acknowledged, ignored.
    let again = deliver(&app, &body, signed(&body)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json")["outcome"], "duplicate");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'billing.plan_changed' AND tenant_id = $1",
            &session.tenant_id
        )
        .await,
        1
    );
    let updates = "SELECT COUNT(*) FROM webhook_deliveries WHERE event = 'subscription.updated' AND tenant_id = $1";
    assert_eq!(app.count(updates, &session.tenant_id).await, 1);
    let payload = "SELECT COUNT(*) FROM webhook_deliveries WHERE payload LIKE '%\"plan\":\"pro\"%' AND tenant_id = $1";
    assert_eq!(app.count(payload, &session.tenant_id).await, 1);
    // Unknown event types get 200.
    let other = event("evt_other", "customer.created", json!({"id": "cus_1"}));
    let response = deliver(&app, &other, signed(&other)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json")["outcome"], "ignored");
}

async fn out_of_order_events_follow_stripe_and_downgrade_keeps_data(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("order@example.com").await;
    let token = session.access_token.as_str();
    checkout(&app, token, "pro").await;
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_9".into(), subscription("sub_9", "cus_1", &session.tenant_id, "active", PRICE_PRO));
    let created = event("evt_a", "customer.subscription.created", json!({"id": "sub_9"}));
    deliver(&app, &created, signed(&created)).await;
    assert_eq!(plan(&app, token).await, "pro");
    app.exec(
        "INSERT INTO audit_log (id, tenant_id, actor, action, created_at) VALUES ('keep-me', $1, 'user', 'marker', $2)",
        &session.tenant_id,
        1,
    )
    .await;

    // Stripe deletes the subscription; the deletion arrives, then a late "updated".
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_9".into(), subscription("sub_9", "cus_1", &session.tenant_id, "canceled", PRICE_PRO));
    let deleted = event("evt_c", "customer.subscription.deleted", json!({"id": "sub_9", "status": "canceled"}));
    assert_eq!(deliver(&app, &deleted, signed(&deleted)).await.status(), 200);
    assert_eq!(plan(&app, token).await, "free");
    let late = event("evt_b", "customer.subscription.updated", json!({"id": "sub_9", "status": "active"}));
    assert_eq!(deliver(&app, &late, signed(&late)).await.status(), 200);
    assert_eq!(plan(&app, token).await, "free", "the late event re-reads Stripe, which says canceled");
    let usage: Value = app.get_auth("/api/usage", token).await.json().await.expect("json");
    assert_eq!(usage["metrics"]["images_generated"]["quota"], 500.0, "quota follows the downgrade");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE id = $1", "keep-me").await, 1, "nothing deleted");
}

async fn failed_payments_keep_the_plan_and_mail_the_owner_once_per_attempt(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("late-payer@example.com").await;
    let token = session.access_token.as_str();
    checkout(&app, token, "pro").await;
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_p".into(), subscription("sub_p", "cus_1", &session.tenant_id, "past_due", PRICE_PRO));
    let mails_before = app.outbox_count();
    for (event_id, attempt) in [("evt_f1", 1), ("evt_f1b", 1), ("evt_f2", 2)] {
        let body = event(
            event_id,
            "invoice.payment_failed",
            json!({"id": "in_1", "subscription": "sub_p", "customer": "cus_1", "attempt_count": attempt}),
        );
        assert_eq!(deliver(&app, &body, signed(&body)).await.status(), 200);
    }
    assert_eq!(plan(&app, token).await, "pro", "past_due keeps the plan");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.outbox_count() - mails_before, 2, "one e-mail per invoice attempt");
    let paid = event("evt_paid", "invoice.paid", json!({"id": "in_1", "subscription": "sub_p"}));
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_p".into(), subscription("sub_p", "cus_1", &session.tenant_id, "active", PRICE_PRO));
    assert_eq!(deliver(&app, &paid, signed(&paid)).await.status(), 200);
    let view: Value = app.get_auth("/api/billing/subscription", token).await.json().await.expect("json");
    assert_eq!(view["status"], "active");
}

async fn billing_sync_fixes_drift(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("drift@example.com").await;
    let token = session.access_token.as_str();
    checkout(&app, token, "pro").await;
    // The webhook never arrived.
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_d".into(), subscription("sub_d", "cus_1", &session.tenant_id, "active", PRICE_ENTERPRISE));
    assert_eq!(plan(&app, token).await, "free");
    let changed = reelforge::billing::service::sync_all(&app.state).await.expect("sync");
    assert_eq!(changed, 1);
    assert_eq!(plan(&app, token).await, "enterprise");
    assert_eq!(reelforge::billing::service::sync_all(&app.state).await.expect("sync"), 0, "nothing left to fix");
}

async fn erasure_cancels_the_subscription(backend: Backend) {
    let (app, shared) = billing_app(backend).await;
    let session = app.sign_in("cancel-me@example.com").await;
    let token = session.access_token.as_str();
    checkout(&app, token, "pro").await;
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_e".into(), subscription("sub_e", "cus_1", &session.tenant_id, "active", PRICE_PRO));
    let body = event("evt_e", "customer.subscription.created", json!({"id": "sub_e"}));
    deliver(&app, &body, signed(&body)).await;
    assert_eq!(plan(&app, token).await, "pro");
    let response = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .json(&json!({"confirm": "cancel-me@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    let tenant = reelforge::domain::TenantId::parse(&session.tenant_id).expect("a tenant id");
    for _ in 0..100 {
        if reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let recorded = shared.lock().expect("lock");
    let cancels: Vec<_> =
        recorded.requests.iter().filter(|r| r.0 == "DELETE" && r.1 == "/v1/subscriptions/sub_e").collect();
    assert_eq!(cancels.len(), 1, "the subscription was cancelled once");
    assert_eq!(recorded.subscriptions["sub_e"]["status"], "canceled");
}
