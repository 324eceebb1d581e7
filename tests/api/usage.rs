//! Usage metering and quotas: exact, once, race-free, per plan.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(
    usage_is_exactly_what_the_steps_produced,
    a_quota_answers_402_naming_the_metric,
    parallel_creates_never_pass_the_quota,
    reservations_are_released_on_cancel_and_failure,
    the_month_boundary_starts_a_new_period,
    a_plan_change_moves_the_quota_at_once,
    a_worker_that_died_mid_step_is_not_counted_twice,
);

async fn usage(app: &TestApp, token: &str) -> Value {
    let response = app.get_auth("/api/usage", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// Ledger sums of one tenant: (images, tts ms, render ms, rows).
async fn ledger(app: &TestApp, tenant: &str) -> (i64, i64, i64, i64) {
    let sum = |metric: &'static str| async move {
        match metric {
            "images_generated" => app.count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_ledger WHERE metric = 'images_generated' AND tenant_id = $1", tenant).await,
            "tts_seconds" => app.count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_ledger WHERE metric = 'tts_seconds' AND tenant_id = $1", tenant).await,
            _ => app.count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_ledger WHERE metric = 'render_minutes' AND tenant_id = $1", tenant).await,
        }
    };
    let rows = app.count("SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1", tenant).await;
    (sum("images_generated").await, sum("tts_seconds").await, sum("render_minutes").await, rows)
}

async fn usage_is_exactly_what_the_steps_produced(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let session = app.sign_in("meter@example.com").await;
    let token = session.access_token.as_str();
    let fresh = usage(&app, token).await;
    assert_eq!(fresh["plan"], "free");
    assert_eq!(fresh["metrics"]["images_generated"]["used"], 0.0);
    assert_eq!(fresh["metrics"]["images_generated"]["quota"], 500.0);
    assert_eq!(fresh["near_limit"], json!([]));

    let id = create(&app, token, json!({"title": "m", "script": "First scene here.\n\nSecond scene there. With two sentences.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "completed");

    // Expected from the steps' own measurements.
    let speech_ms: i64 = {
        let outputs = match &app.state.db {
            reelforge::db::Db::Sqlite(pool) => {
                sqlx::query_scalar::<_, String>("SELECT output FROM steps WHERE project_id = $1 AND kind = 'speech'")
                    .bind(&id)
                    .fetch_all(pool)
                    .await
                    .expect("rows")
            }
            reelforge::db::Db::Postgres(pool) => {
                sqlx::query_scalar::<_, String>("SELECT output FROM steps WHERE project_id = $1 AND kind = 'speech'")
                    .bind(&id)
                    .fetch_all(pool)
                    .await
                    .expect("rows")
            }
        };
        outputs
            .iter()
            .map(|o| {
                (serde_json::from_str::<Value>(o).expect("json")["duration"].as_f64().expect("duration") * 1000.0)
                    .round() as i64
            })
            .sum()
    };
    let video_ms = (project["duration_seconds"].as_f64().expect("duration") * 1000.0).round() as i64;
    let (images, tts_ms, render_ms, rows) = ledger(&app, &session.tenant_id).await;
    assert_eq!((images, tts_ms, render_ms, rows), (2, speech_ms, video_ms, 5), "2 images, 2 speech, 1 render");

    let now = usage(&app, token).await;
    let metrics = &now["metrics"];
    assert_eq!(metrics["images_generated"]["used"], 2.0);
    assert_eq!(metrics["tts_seconds"]["used"].as_f64(), Some((speech_ms as f64 / 10.0).round() / 100.0));
    assert_eq!(metrics["render_minutes"]["used"].as_f64(), Some((video_ms as f64 / 600.0).round() / 100.0));
    assert!(metrics["storage_mb"]["used"].as_f64().expect("storage") > 0.0);
    assert_eq!(metrics["images_generated"]["reserved"], 0.0, "the reservation became actual usage");
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_reservations WHERE project_id = $1", &id).await, 0);
    assert!(now["period"].as_str().expect("period").len() == 7);

    // The JSONL log matches the ledger, line for line.
    let log = reelforge::usage::jsonl::read_tenant(&app.data_dir.path().join("usage"), &session.tenant_id);
    assert_eq!(log.len(), 5);
    let logged_images: f64 =
        log.iter().filter(|l| l["metric"] == "images_generated").map(|l| l["amount"].as_f64().expect("amount")).sum();
    assert_eq!(logged_images, 2.0);
    for line in &log {
        assert_eq!(line["tenant"], session.tenant_id.as_str());
        let key = line["key"].as_str().expect("key");
        assert_eq!(app.count("SELECT COUNT(*) FROM usage_ledger WHERE idempotency_key = $1", key).await, 1);
    }
    // It can be rebuilt from the ledger.
    let entries = reelforge::usage::meter::all_entries(&app.state.db).await.expect("ledger");
    std::fs::remove_dir_all(app.data_dir.path().join("usage")).expect("remove");
    reelforge::usage::jsonl::rebuild(&app.data_dir.path().join("usage"), &entries).expect("rebuild");
    assert_eq!(reelforge::usage::jsonl::read_tenant(&app.data_dir.path().join("usage"), &session.tenant_id), log);

    // A re-run of every step counts nothing more.
    app.exec("UPDATE steps SET status = 'pending', attempts = $2 WHERE project_id = $1", &id, 0).await;
    app.exec("UPDATE projects SET status = 'queued' WHERE id = $1 AND $2 = $2", &id, 0).await;
    app.state.work_available.notify_waiters();
    assert_eq!(wait_finished(&app, token, &id, Duration::from_secs(60)).await["status"], "completed");
    assert_eq!(ledger(&app, &session.tenant_id).await, (2, speech_ms, video_ms, 5));
    assert_eq!(reelforge::usage::jsonl::read_tenant(&app.data_dir.path().join("usage"), &session.tenant_id).len(), 5);

    // Deleting the project lowers storage.
    let before = usage(&app, token).await["metrics"]["storage_mb"]["used"].as_f64().expect("storage");
    assert!(before > 0.0);
    app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("delete");
    assert_eq!(usage(&app, token).await["metrics"]["storage_mb"]["used"], 0.0);

    let history: Value = app.get_auth("/api/usage/history?days=30", token).await.json().await.expect("json");
    let images = history["series"]["images_generated"].as_array().expect("series");
    assert_eq!(images.len(), 30);
    assert_eq!(images.last().expect("today")["amount"], 2.0);
    assert_eq!(app.get_auth("/api/usage/history?days=0", token).await.status(), 422);
}

async fn a_quota_answers_402_naming_the_metric(backend: Backend) {
    let app = spawn_app_with(backend, &[("QUOTA_IMAGES_COUNT", "2"), ("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("quota@example.com").await;
    let token = session.access_token.as_str();
    let response = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "q", "script": "One.\n\nTwo.\n\nThree.", "template_id": "explainer"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 402);
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["metric"], "images_generated");
    assert_eq!(
        (problem["used"].as_f64(), problem["reserved"].as_f64(), problem["quota"].as_f64(), problem["needed"].as_f64()),
        (Some(0.0), Some(0.0), Some(2.0), Some(3.0))
    );
    assert!(problem["upgrade_url"].as_str().expect("url").ends_with("/billing"));
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);
    // Within the quota it is admitted, and the reservation shows.
    create(&app, token, json!({"title": "q", "script": "One.\n\nTwo.", "template_id": "explainer"})).await;
    let now = usage(&app, token).await;
    assert_eq!(now["metrics"]["images_generated"]["reserved"], 2.0);
    assert_eq!(now["metrics"]["images_generated"]["used"], 0.0);
    let again = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"title": "q", "script": "One more.", "template_id": "explainer"}))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 402);
    assert_eq!(again.json::<Value>().await.expect("json")["reserved"], 2.0);
}

async fn parallel_creates_never_pass_the_quota(backend: Backend) {
    // The per-tenant queue limit (5 unfinished projects on Free) is raised:
    // this test is about the quota.
    let app = spawn_app_with(
        backend,
        &[("QUOTA_IMAGES_COUNT", "10"), ("WORKER_CONCURRENCY", "0"), ("QUEUE_MAX_PENDING_PER_TENANT", "100")],
    )
    .await;
    let session = app.sign_in("race@example.com").await;
    let token = session.access_token.clone();
    let requests = (0..30).map(|i| {
        let request = app
            .client
            .post(app.url("/api/v1/projects"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("r{i}"), "script": "Just one scene.", "template_id": "explainer"}));
        async move { request.send().await.expect("request").status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let admitted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 402).count();
    assert_eq!(admitted, 10, "{statuses:?}");
    assert_eq!(refused, 20, "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 10);
    assert_eq!(
        app.count(
            "SELECT CAST(COALESCE(SUM(images), 0) AS BIGINT) FROM usage_reservations WHERE tenant_id = $1",
            &session.tenant_id
        )
        .await,
        10
    );
}

async fn reservations_are_released_on_cancel_and_failure(backend: Backend) {
    let app = spawn_app_with(backend.clone(), &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("release@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "c", "script": "Cancel me.", "template_id": "explainer"})).await;
    assert_eq!(usage(&app, token).await["metrics"]["images_generated"]["reserved"], 1.0);
    app.client.post(app.url(&format!("/api/v1/projects/{id}/cancel"))).bearer_auth(token).send().await.expect("cancel");
    assert_eq!(usage(&app, token).await["metrics"]["images_generated"]["reserved"], 0.0);
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1", &session.tenant_id).await, 0);
    drop(app);

    // A render that fails is not billed; what succeeded before it is.
    let app = spawn_app_with(backend, &[("FFMPEG_PATH", "false")]).await;
    let session = app.sign_in("failed@example.com").await;
    let token = session.access_token.as_str();
    let id =
        create(&app, token, json!({"title": "f", "script": "This render fails.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    assert_eq!(project["status"], "failed", "{project}");
    let (images, tts_ms, render_ms, _) = ledger(&app, &session.tenant_id).await;
    assert_eq!(images, 1);
    assert!(tts_ms > 0);
    assert_eq!(render_ms, 0, "failed renders are not billed");
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1", &session.tenant_id).await, 0);
    let now = usage(&app, token).await;
    assert_eq!(now["metrics"]["render_minutes"]["reserved"], 0.0);
}

async fn the_month_boundary_starts_a_new_period(backend: Backend) {
    let app = spawn_app_with(backend, &[("QUOTA_IMAGES_COUNT", "1"), ("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("month@example.com").await;
    let token = session.access_token.as_str();
    let now = reelforge::db::now_ms();
    let period = reelforge::usage::quota::period_of(now);
    // The last millisecond of the previous month.
    let (year, month): (i64, i64) = (period[..4].parse().expect("year"), period[5..].parse().expect("month"));
    let first_of_month =
        time::Date::from_calendar_date(year as i32, time::Month::try_from(month as u8).expect("month"), 1)
            .expect("date")
            .midnight()
            .assume_utc();
    let last_ms_of_previous = (first_of_month.unix_timestamp_nanos() / 1_000_000) as i64 - 1;
    let previous = reelforge::usage::quota::period_of(last_ms_of_previous);
    assert_ne!(previous, period);
    let insert = "INSERT INTO usage_ledger (id, tenant_id, project_id, metric, amount, idempotency_key, period, created_at) \
                  VALUES ($1, $2, NULL, 'images_generated', 1, $1, $3, $4)";
    match &app.state.db {
        reelforge::db::Db::Sqlite(pool) => {
            sqlx::query(insert)
                .bind("old-month")
                .bind(&session.tenant_id)
                .bind(&previous)
                .bind(last_ms_of_previous)
                .execute(pool)
                .await
                .expect("insert");
        }
        reelforge::db::Db::Postgres(pool) => {
            sqlx::query(insert)
                .bind("old-month")
                .bind(&session.tenant_id)
                .bind(&previous)
                .bind(last_ms_of_previous)
                .execute(pool)
                .await
                .expect("insert");
        }
    }
    // Last month's image does not count against this month's quota of one.
    assert_eq!(usage(&app, token).await["metrics"]["images_generated"]["used"], 0.0);
    create(&app, token, json!({"title": "m", "script": "A new month.", "template_id": "explainer"})).await;
}

async fn a_plan_change_moves_the_quota_at_once(backend: Backend) {
    let app = spawn_app_with(backend, &[("QUOTA_IMAGES_COUNT", "1"), ("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("upgrade@example.com").await;
    let token = session.access_token.as_str();
    create(&app, token, json!({"title": "1", "script": "One.", "template_id": "explainer"})).await;
    let body = json!({"title": "2", "script": "Two.", "template_id": "explainer"});
    let refused =
        app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("request");
    assert_eq!(refused.status(), 402);
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    let now = usage(&app, token).await;
    assert_eq!(now["plan"], "pro");
    assert_eq!(now["metrics"]["images_generated"]["quota"], 5.0);
    create(&app, token, body.clone()).await;
    app.exec("UPDATE tenants SET plan = 'enterprise' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    assert!(usage(&app, token).await["metrics"]["images_generated"]["quota"].is_null(), "unlimited");
    for _ in 0..5 {
        create(&app, token, body.clone()).await;
    }
    app.exec("UPDATE tenants SET plan = 'free' WHERE id = $1 AND $2 = $2", &session.tenant_id, 0).await;
    let refused =
        app.client.post(app.url("/api/v1/projects")).bearer_auth(token).json(&body).send().await.expect("request");
    assert_eq!(refused.status(), 402, "a downgrade applies at once too");
}

async fn a_worker_that_died_mid_step_is_not_counted_twice(backend: Backend) {
    use reelforge::pipeline::{queue, steps, worker};
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("died@example.com").await;
    let token = session.access_token.as_str();
    let id =
        create(&app, token, json!({"title": "d", "script": "A worker dies here.", "template_id": "explainer"})).await;
    // A worker claims the image, does the work, and dies before recording it.
    let db = &app.state.db;
    let claimed = queue::claim(db, "doomed", 60_000, 1).await.expect("claim");
    let step = claimed.into_iter().next().expect("a step");
    let work = app.data_dir.path().join("doomed-work");
    std::fs::create_dir_all(&work).expect("dir");
    steps::run(&app.state, &step, &work).await.expect("work done");
    app.exec("UPDATE steps SET lease_expires_at = $2 WHERE id = $1", &step.id, 1).await;
    assert_eq!(queue::reap(db).await.expect("reap"), 1);
    // Healthy workers take over and finish.
    let pool = worker::WorkerPool::start(&app.state, 2);
    let project = wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    pool.shutdown().await;
    assert_eq!(project["status"], "completed");
    let (images, _, _, rows) = ledger(&app, &session.tenant_id).await;
    assert_eq!((images, rows), (1, 3), "one image, one speech, one render");
}
