//! Overages (SPEC 4.9): usage past the quota admitted up to the owner's cap,
//! reported to a Stripe stand-in as Billing Meter events exactly once, through
//! outages and crashes; stopped by turning them off, a failed payment or a
//! downgrade.

use std::time::Duration;

use serde_json::{Value, json};

use crate::billing::{PRICE_PRO, Shared, billing_app_with, checkout, deliver, event, plan, signed, subscription};
use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::projects::wait_finished;

db_tests!(
    overage_is_admitted_past_the_quota_up_to_the_cap_then_402,
    each_overage_unit_is_reported_once_after_a_stripe_outage_and_a_crash,
    turning_off_a_failed_payment_and_a_downgrade_stop_overage_admission,
    the_overage_settings_belong_to_a_paid_plans_owner,
);

/// Pro has 5 images a month (`QUOTA_IMAGES_COUNT=1` x 5); an image past it costs $0.02.
const BASE: [(&str, &str); 2] =
    [("QUOTA_IMAGES_COUNT", "1"), ("OVERAGE_UNIT_PRICES", "images_generated=0.02,tts_seconds=0,render_minutes=0")];

async fn overage_app(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, Shared) {
    let mut config: Vec<(&str, &str)> = BASE.to_vec();
    config.extend_from_slice(extra);
    billing_app_with(backend, &config).await
}

/// Signs in and subscribes to Pro the way production does: Checkout creates
/// the customer (`cus_1`), Stripe's webhook makes the plan Pro.
async fn pro_session(app: &TestApp, shared: &Shared, email: &str) -> (String, String) {
    let session = app.sign_in(email).await;
    let token = session.access_token.clone();
    assert_eq!(checkout(app, &token, "pro").await.status(), 200);
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_o".into(), subscription("sub_o", "cus_1", &session.tenant_id, "active", PRICE_PRO));
    let body = event("evt_created", "customer.subscription.created", json!({"id": "sub_o"}));
    assert_eq!(deliver(app, &body, signed(&body)).await.status(), 200);
    assert_eq!(plan(app, &token).await, "pro");
    (token, session.tenant_id)
}

/// The subscription moves to `status` at Stripe and a webhook tells us.
async fn subscription_becomes(app: &TestApp, shared: &Shared, tenant: &str, status: &str, event_id: &str) {
    shared
        .lock()
        .expect("lock")
        .subscriptions
        .insert("sub_o".into(), subscription("sub_o", "cus_1", tenant, status, PRICE_PRO));
    let body = event(event_id, "customer.subscription.updated", json!({"id": "sub_o"}));
    assert_eq!(deliver(app, &body, signed(&body)).await.status(), 200);
}

async fn set_overage(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.patch(app.url("/api/billing/overage")).bearer_auth(token).json(&body).send().await.expect("request")
}

/// A project of `scenes` one-sentence scenes: as many images.
async fn create(app: &TestApp, token: &str, scenes: usize) -> reqwest::Response {
    let script: Vec<String> = (0..scenes).map(|i| format!("Scene number {i} is short.")).collect();
    app.client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "overage", "script": script.join("\n\n"), "template_id": "explainer"}))
        .send()
        .await
        .expect("request")
}

/// Creates a project that must be admitted and waits until it is finished.
async fn render(app: &TestApp, token: &str, scenes: usize) -> String {
    let response = create(app, token, scenes).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let id = response.json::<Value>().await.expect("json")["project_id"].as_str().expect("id").to_string();
    assert_eq!(wait_finished(app, token, &id, Duration::from_secs(120)).await["status"], "completed");
    id
}

async fn usage(app: &TestApp, token: &str) -> Value {
    let response = app.get_auth("/api/usage", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn refused(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 402);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    response.json().await.expect("json")
}

/// Counted meter events: (number, sum of values).
fn counted(shared: &Shared) -> (usize, i64) {
    let recorded = shared.lock().expect("lock");
    let sum = recorded.meter_events.iter().map(|e| e["payload[value]"].parse::<i64>().expect("integer")).sum();
    (recorded.meter_events.len(), sum)
}

/// Waits until every report of the tenant is acknowledged by Stripe.
async fn wait_reported(app: &TestApp, tenant: &str, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let open =
            app.count("SELECT COUNT(*) FROM overage_reports WHERE status <> 'sent' AND tenant_id = $1", tenant).await;
        if open == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{open} overage report(s) still unacknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Overage e-mails in the outbox (subjects name the cap).
fn cap_mails(app: &TestApp) -> Vec<String> {
    let mut subjects: Vec<String> = crate::helpers::files_under(&app.data_dir.path().join("outbox"))
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter_map(|raw| raw.lines().find(|l| l.starts_with("Subject:")).map(str::to_string))
        .filter(|subject| subject.contains("overage cap"))
        .collect();
    subjects.sort();
    subjects
}

async fn wait_for_mails(app: &TestApp, count: usize) -> Vec<String> {
    for _ in 0..50 {
        if cap_mails(app).len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cap_mails(app)
}

async fn overage_is_admitted_past_the_quota_up_to_the_cap_then_402(backend: Backend) {
    let (app, shared) = overage_app(backend, &[]).await;
    let (token, tenant) = pro_session(&app, &shared, "grow@example.com").await;
    render(&app, &token, 5).await;
    // At the quota, overages off: 402 as before, naming no cap.
    let off = refused(create(&app, &token, 1).await).await;
    assert_eq!(off["metric"], "images_generated");
    assert!(off.get("cap_usd").is_none(), "{off}");

    let on = set_overage(&app, &token, json!({"enabled": true, "cap_usd": 0.10})).await;
    assert_eq!(on.status(), 200);
    let on: Value = on.json().await.expect("json");
    assert_eq!(
        (on["enabled"].clone(), on["active"].clone(), on["cap_usd"].clone()),
        (json!(true), json!(true), json!(0.1))
    );

    // 3 images past the quota ($0.06: 60% of the cap), then 1 ($0.08: 80%), then 1 ($0.10: the cap).
    render(&app, &token, 3).await;
    wait_reported(&app, &tenant, Duration::from_secs(20)).await;
    assert_eq!(wait_for_mails(&app, 1).await.len(), 1, "50%");
    render(&app, &token, 1).await;
    wait_reported(&app, &tenant, Duration::from_secs(20)).await;
    assert_eq!(wait_for_mails(&app, 2).await.len(), 2, "80%");
    render(&app, &token, 1).await;
    wait_reported(&app, &tenant, Duration::from_secs(20)).await;
    let mails = wait_for_mails(&app, 3).await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(mails.iter().any(|s| s.contains("50%")) && mails.iter().any(|s| s.contains("80%")));
    assert!(mails.iter().any(|s| s.contains("reached")), "{mails:?}");

    // Past the cap: 402 naming it.
    let capped = refused(create(&app, &token, 1).await).await;
    assert_eq!(capped["metric"], "images_generated");
    assert_eq!(capped["cap_usd"], 0.1);
    assert_eq!(capped["spent_usd"], 0.1);
    assert!(capped["detail"].as_str().expect("detail").contains("cap"), "{capped}");

    // What GET /api/usage shows, and what Stripe counted: exactly the 5 images past the quota.
    let shown = usage(&app, &token).await;
    assert_eq!(shown["metrics"]["images_generated"]["used"], 10.0);
    let overage = &shown["overage"];
    assert_eq!(overage["enabled"], true);
    assert_eq!(overage["cap_usd"], 0.1);
    assert_eq!(overage["spent_usd"], 0.1);
    assert_eq!(overage["metrics"]["images_generated"], 5.0);
    assert_eq!(overage["metrics"]["tts_seconds"], 0.0);
    assert_eq!(overage["cost_usd"]["images_generated"], 0.1);
    assert_eq!(counted(&shared), (5, 5), "five one-image ledger rows past the quota");
    let events = shared.lock().expect("lock").meter_events.clone();
    for meter_event in &events {
        assert_eq!(meter_event["event_name"], "reelforge_images");
        assert_eq!(meter_event["payload[stripe_customer_id]"], "cus_1");
        assert!(meter_event["identifier"].starts_with("rf_ovg_"));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let at: i64 = meter_event["timestamp"].parse().expect("seconds");
        assert!((now - 600..=now).contains(&at), "{at}");
    }
    let identifiers: std::collections::HashSet<_> = events.iter().map(|e| e["identifier"].clone()).collect();
    assert_eq!(identifiers.len(), 5);
    for identifier in identifiers {
        let ledger_id = identifier.trim_start_matches("rf_ovg_").to_string();
        let sql = "SELECT COUNT(*) FROM usage_ledger WHERE metric = 'images_generated' AND id = $1";
        assert_eq!(app.count(sql, &ledger_id).await, 1, "the identifier names its ledger row");
    }
    // The notices are once a month: checking again sends nothing.
    let tenant_id = reelforge::domain::TenantId::parse(&tenant).expect("tenant");
    reelforge::billing::overage::check_cap_notices(&app.state, &tenant_id).await.expect("notices");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cap_mails(&app).len(), 3);
}

async fn each_overage_unit_is_reported_once_after_a_stripe_outage_and_a_crash(backend: Backend) {
    let (mut app, shared) = overage_app(backend, &[]).await;
    let (token, tenant) = pro_session(&app, &shared, "outage@example.com").await;
    let started = std::time::Instant::now();
    assert_eq!(set_overage(&app, &token, json!({"enabled": true, "cap_usd": 50})).await.status(), 200);
    shared.lock().expect("lock").outage = true;
    render(&app, &token, 7).await;
    // Stripe answers 500: the reports stay in the outbox; the render was not held up.
    let reports = "SELECT COUNT(*) FROM overage_reports WHERE tenant_id = $1";
    assert_eq!(app.count(reports, &tenant).await, 2);
    for _ in 0..100 {
        if shared.lock().expect("lock").meter_calls >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shared.lock().expect("lock").meter_calls >= 2, "the loop tried");
    assert_eq!(counted(&shared), (0, 0));
    let tried =
        "SELECT COUNT(*) FROM overage_reports WHERE status = 'pending' AND error LIKE '%500%' AND tenant_id = $1";
    assert!(app.count(tried, &tenant).await >= 1);
    // Stripe comes back: the same process's retries get them through.
    shared.lock().expect("lock").outage = false;
    wait_reported(&app, &tenant, Duration::from_secs(90)).await;
    assert_eq!(counted(&shared), (2, 2), "each image past the quota counted once");

    // Stripe fails again while another image past the quota is made...
    shared.lock().expect("lock").outage = true;
    let before = shared.lock().expect("lock").meter_calls;
    render(&app, &token, 1).await;
    for _ in 0..100 {
        if shared.lock().expect("lock").meter_calls > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.count(reports, &tenant).await, 3);

    // ...and the process dies with that report unsent; Stripe comes back;
    // another process on the same database sends it.
    app.stop().await;
    shared.lock().expect("lock").outage = false;
    let database_url = match &app.state.config.storage.database_url {
        reelforge::config::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        reelforge::config::DatabaseUrl::Postgres(url) => url.expose().to_string(),
    };
    let stripe_base = app.state.config.stripe().expect("billing").api_base.to_string();
    let mut config: Vec<(&str, &str)> = BASE.to_vec();
    config.extend_from_slice(&[
        ("DATABASE_URL", &database_url),
        ("STRIPE_API_KEY", "sk_test_reelforge"),
        ("STRIPE_WEBHOOK_SECRET", crate::billing::SECRET),
        ("STRIPE_PRICE_PRO", PRICE_PRO),
        ("STRIPE_API_BASE", stripe_base.trim_end_matches('/')),
    ]);
    let second = spawn_app_with(Backend::Sqlite, &config).await;
    // A lease the dead process held runs out after 30 seconds.
    wait_reported(&second, &tenant, Duration::from_secs(120)).await;
    eprintln!("reported by the second process {:?} after the first started", started.elapsed());
    assert_eq!(counted(&shared), (3, 3), "each image past the quota counted once");

    // An acknowledgement lost on the way back: the row is sent again, and
    // Stripe (same identifier) does not count it twice.
    second
        .exec(
            "UPDATE overage_reports SET status = 'pending', sent_at = NULL WHERE tenant_id = $1 AND $2 = $2",
            &tenant,
            0,
        )
        .await;
    let calls = shared.lock().expect("lock").meter_calls;
    let (resent, left) = reelforge::billing::overage::report::resend_unacknowledged(&second.state).await.expect("sync");
    assert_eq!((resent, left), (3, 0));
    assert_eq!(shared.lock().expect("lock").meter_calls, calls + 3);
    assert_eq!(counted(&shared), (3, 3));
    let session = second.sign_in("outage@example.com").await;
    assert_eq!(session.tenant_id, tenant);
    let usage = usage(&second, &session.access_token).await;
    assert_eq!(usage["overage"]["metrics"]["images_generated"], 3.0);
    assert_eq!(usage["overage"]["spent_usd"], 0.06);
}

async fn turning_off_a_failed_payment_and_a_downgrade_stop_overage_admission(backend: Backend) {
    // No workers: admission alone (reservations count toward quota and cap).
    let (app, shared) =
        overage_app(backend, &[("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING_PER_TENANT", "100")]).await;
    let (token, tenant) = pro_session(&app, &shared, "stop@example.com").await;
    assert_eq!(create(&app, &token, 5).await.status(), 202, "the quota");
    refused(create(&app, &token, 1).await).await;
    assert_eq!(set_overage(&app, &token, json!({"enabled": true, "cap_usd": 1})).await.status(), 200);
    assert_eq!(create(&app, &token, 1).await.status(), 202, "past the quota");

    // Off: refused at once; the settings keep the cap.
    let off = set_overage(&app, &token, json!({"enabled": false})).await;
    assert_eq!(off.status(), 200);
    let off: Value = off.json().await.expect("json");
    assert_eq!((off["enabled"].clone(), off["cap_usd"].clone()), (json!(false), json!(1.0)));
    let refusal = refused(create(&app, &token, 1).await).await;
    assert!(refusal.get("cap_usd").is_none());
    assert_eq!(set_overage(&app, &token, json!({"enabled": true})).await.status(), 200, "the cap is kept");
    assert_eq!(create(&app, &token, 1).await.status(), 202);

    // A failed payment (past_due) stops it; paying again restores it.
    subscription_becomes(&app, &shared, &tenant, "past_due", "evt_past_due").await;
    refused(create(&app, &token, 1).await).await;
    assert_eq!(usage(&app, &token).await["overage"]["active"], false);
    subscription_becomes(&app, &shared, &tenant, "active", "evt_paid").await;
    assert_eq!(create(&app, &token, 1).await.status(), 202);

    // The cap counts the reservations held: 3 images past the quota are
    // reserved ($0.06); 47 more would make $1.00, 48 would pass it.
    let capped = refused(create(&app, &token, 48).await).await;
    assert_eq!(capped["cap_usd"], 1.0);
    assert_eq!(capped["projected_usd"], 1.02);
    assert_eq!(create(&app, &token, 47).await.status(), 202);

    // A downgrade to Free stops it, and Free cannot turn it on.
    subscription_becomes(&app, &shared, &tenant, "canceled", "evt_canceled").await;
    assert_eq!(plan(&app, &token).await, "free");
    refused(create(&app, &token, 1).await).await;
    let shown = usage(&app, &token).await;
    assert_eq!((shown["overage"]["enabled"].clone(), shown["overage"]["active"].clone()), (json!(true), json!(false)));
    assert_eq!(set_overage(&app, &token, json!({"enabled": true, "cap_usd": 5})).await.status(), 409);
}

async fn the_overage_settings_belong_to_a_paid_plans_owner(backend: Backend) {
    let prices = [
        ("STRIPE_PRICE_OVERAGE_IMAGES", "price_ovg_images"),
        ("STRIPE_PRICE_OVERAGE_TTS_SECONDS", "price_ovg_tts"),
        ("STRIPE_PRICE_OVERAGE_RENDER_MINUTES", "price_ovg_render"),
    ];
    let (app, shared) = overage_app(backend.clone(), &prices).await;
    let session = app.sign_in("owner@example.com").await;
    let token = session.access_token.as_str();
    let fresh = usage(&app, token).await;
    assert_eq!(
        fresh["overage"],
        json!({"enabled": false, "active": false, "cap_usd": null, "spent_usd": 0.0,
               "metrics": {"images_generated": 0.0, "tts_seconds": 0.0, "render_minutes": 0.0},
               "cost_usd": {"images_generated": 0.0, "tts_seconds": 0.0, "render_minutes": 0.0}})
    );
    // Free: 409.
    let free = set_overage(&app, token, json!({"enabled": true, "cap_usd": 10})).await;
    assert_eq!(free.status(), 409);
    assert_eq!(free.headers()["content-type"], "application/problem+json");

    // Checkout adds the metered prices, without a quantity.
    assert_eq!(checkout(&app, token, "pro").await.status(), 200);
    {
        let recorded = shared.lock().expect("lock");
        let form = &recorded.requests.iter().rev().find(|r| r.1 == "/v1/checkout/sessions").expect("checkout").4;
        assert_eq!(form["line_items[0][price]"], PRICE_PRO);
        assert_eq!(form["line_items[0][quantity]"], "1");
        assert_eq!(form["line_items[1][price]"], "price_ovg_images");
        assert_eq!(form["line_items[2][price]"], "price_ovg_tts");
        assert_eq!(form["line_items[3][price]"], "price_ovg_render");
        assert!(!form.keys().any(|k| k.starts_with("line_items[1][quantity]") || k.starts_with("line_items[3][q")));
    }
    let (token, _) = pro_session(&app, &shared, "owner@example.com").await;
    let token = token.as_str();

    // Bad caps: 422 naming the field.
    for body in [
        json!({"enabled": true}),
        json!({"enabled": true, "cap_usd": 0}),
        json!({"enabled": true, "cap_usd": -5}),
        json!({"enabled": true, "cap_usd": 1e9}),
        json!({"enabled": true, "cap_usd": "ten"}),
        json!({"cap_usd": 10}),
    ] {
        let response = set_overage(&app, token, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.expect("json");
        assert!(problem.to_string().contains("cap_usd") || problem.to_string().contains("enabled"), "{problem}");
    }
    let saved = set_overage(&app, token, json!({"enabled": true, "cap_usd": 25.555})).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.json::<Value>().await.expect("json")["cap_usd"], 25.56, "kept in cents");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'billing.overage_changed' AND tenant_id = $1",
            &session.tenant_id
        )
        .await,
        1
    );

    // An API key never reaches billing, whatever its scopes.
    let key = app
        .client
        .post(app.url("/api/account/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": "ci", "scopes": ["projects:read", "projects:write", "media:write", "webhooks:manage", "account:read"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(key.status(), 201);
    let key = key.json::<Value>().await.expect("json")["api_key"].as_str().expect("key").to_string();
    let by_key = app
        .client
        .patch(app.url("/api/billing/overage"))
        .header("x-api-key", &key)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(by_key.status(), 403);

    // Without Stripe there is nothing to bill: 503.
    let unbilled = spawn_app(backend).await;
    let session = unbilled.sign_in("nobill@example.com").await;
    unbilled.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    let response = set_overage(&unbilled, &session.access_token, json!({"enabled": true, "cap_usd": 10})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(usage(&unbilled, &session.access_token).await["overage"]["active"], false);
}
