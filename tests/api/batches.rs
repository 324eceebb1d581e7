//! Batches from data (issue 18, SPEC 4.8): one template script with merge
//! fields rendered once per row of JSON or CSV, admitted as one reservation,
//! a status per row, a ZIP of the finished videos and one `batch.completed`.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::webhooks::Receiver;

db_tests!(
    rows_become_videos_one_webhook_and_a_zip,
    a_csv_upload_is_a_batch_and_a_retry_is_the_same_batch,
    every_row_problem_is_listed,
    the_whole_batch_is_refused_over_quota,
    rows_cancelled_together_complete_the_batch_once,
    a_brand_template_serves_every_row,
);

async fn post_batch(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/batches")).bearer_auth(token).json(body).send().await.expect("request")
}

/// A batch of one short card scene per row.
fn card_batch(rows: Value) -> Value {
    json!({
        "template_id": "explainer",
        "template_script": {
            "title": "Hello {{name}}",
            "scenes": [{"text": "{{ name }} lives in {{city}}.", "title": "{{city}}", "visual": {"kind": "card"}}]
        },
        "rows": rows,
    })
}

/// A multipart body with the CSV in `rows` and the JSON in `batch`.
fn csv_upload(csv: &[u8], batch: &Value) -> (String, Vec<u8>) {
    let boundary = "reelforge-batch-boundary-41c9";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"batch\"\r\nContent-Type: application/json\r\n\r\n{batch}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"rows\"; filename=\"rows.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get_auth(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

/// Polls the batch until none of its rows is queued or running.
async fn wait_batch_done(app: &TestApp, token: &str, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let batch = get_json(app, token, &format!("/api/v1/batches/{id}")).await;
        if !["queued", "running"].contains(&batch["status"].as_str().unwrap_or_default()) {
            return batch;
        }
        assert!(started.elapsed() < limit, "the batch is still {}: {batch}", batch["status"]);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn rows_become_videos_one_webhook_and_a_zip(backend: Backend) {
    let app = spawn_app_with(backend, &[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let session = app.sign_in("batches@example.com").await;
    let token = session.access_token.as_str();
    let (receiver, url) = Receiver::start(200).await;
    let endpoint = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": url, "events": ["batch.completed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.status(), 201);

    let rows = json!([
        {"name": "Ada", "city": "Oslo"},
        {"name": "Grace", "city": "Rome", "unused": 7},
        {"name": "Alan", "city": "Paris"}
    ]);
    let response = post_batch(&app, token, &card_batch(rows)).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    assert!(response.headers()["location"].to_str().unwrap().starts_with("/api/v1/batches/"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["rows"], 3);
    assert_eq!(created["status"], "queued");
    let id = created["id"].as_str().unwrap().to_string();

    // Each row is an ordinary project with its values filled in.
    let batch = get_json(&app, token, &format!("/api/v1/batches/{id}")).await;
    assert_eq!(batch["title"], "Hello {{name}}");
    assert_eq!(batch["row_count"], 3);
    let rows = batch["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (index, (name, city)) in [("Ada", "Oslo"), ("Grace", "Rome"), ("Alan", "Paris")].into_iter().enumerate() {
        assert_eq!(rows[index]["index"], index);
        assert_eq!(rows[index]["title"], format!("Hello {name}"));
        let project_id = rows[index]["project_id"].as_str().unwrap();
        let project = get_json(&app, token, &format!("/api/v1/projects/{project_id}")).await;
        assert_eq!(project["title"], format!("Hello {name}"));
        assert_eq!(project["scenes"][0]["text"], format!("{name} lives in {city}."));
        let scenes = get_json(&app, token, &format!("/api/v1/projects/{project_id}/scenes")).await;
        assert_eq!(scenes[0]["title"], city);
    }
    let list = get_json(&app, token, "/api/v1/batches").await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["row_count"], 3);

    // Another tenant: 404 exactly as for no batch.
    let other = app.sign_in("other-batches@example.com").await;
    for path in [format!("/api/v1/batches/{id}"), format!("/api/v1/batches/{id}/videos.zip")] {
        let theirs = app.get_auth(&path, &other.access_token).await;
        assert_eq!(theirs.status(), 404, "{path}");
        let none = app.get_auth(&path.replace(&id, "0190b5c2-1c1e-7aaa-8bbb-0123456789ab"), token).await;
        assert_eq!(none.status(), 404, "{path}");
    }
    assert_eq!(get_json(&app, &other.access_token, "/api/v1/batches").await["items"], json!([]));

    let done = wait_batch_done(&app, token, &id, Duration::from_secs(180)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["counts"]["completed"], 3, "{done}");
    assert!(done["completed_at"].is_string());
    assert!(done["rows"].as_array().unwrap().iter().all(|row| row["video_url"].is_string()), "{done}");

    // One batch.completed, with the counts.
    let got = receiver.wait_for(1).await;
    let event: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(event["type"], "batch.completed");
    assert_eq!(event["data"]["batch_id"], id.as_str());
    assert_eq!(event["data"]["status"], "completed");
    assert_eq!(event["data"]["counts"]["completed"], 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "exactly one webhook");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE event = 'batch.completed' AND tenant_id = $1",
            &session.tenant_id
        )
        .await,
        1
    );

    // The ZIP: one MP4 per finished row, named by row and title.
    let zip = app.get_auth(&format!("/api/v1/batches/{id}/videos.zip"), token).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(zip.headers()["content-disposition"].to_str().unwrap().contains(&format!("batch-{id}.zip")));
    let bytes = zip.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a ZIP that opens");
    let mut names: Vec<String> = archive.file_names().map(|name| name.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["001-hello-ada.mp4", "002-hello-grace.mp4", "003-hello-alan.mp4"]);
    let first_video =
        app.get_auth(&format!("/api/v1/projects/{}/video", rows[0]["project_id"].as_str().unwrap()), token).await;
    let first_video = first_video.bytes().await.unwrap();
    let mut entry = archive.by_name("001-hello-ada.mp4").unwrap();
    let mut content = Vec::new();
    entry.read_to_end(&mut content).unwrap();
    assert_eq!(&content[4..8], b"ftyp", "an MP4");
    assert_eq!(content, first_video.to_vec(), "the row's video, byte for byte");
}

async fn a_csv_upload_is_a_batch_and_a_retry_is_the_same_batch(backend: Backend) {
    // No workers: the test reads what was admitted.
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("csv@example.com").await;
    let token = session.access_token.as_str();
    // A spreadsheet's export: a byte-order mark, CRLF, a quoted comma, an escaped quote.
    let csv = "\u{FEFF}name,city\r\n\"Ada, Countess\",Oslo\r\n\"Grace \"\"Amazing\"\" Hopper\", New York \r\n";
    let batch = json!({
        "template_id": "explainer",
        "render": false,
        "template_script": {"title": "For {{name}}", "script": "{{name}} visits {{city}}."}
    });
    let (content_type, body) = csv_upload(csv.as_bytes(), &batch);
    let post = |key: &'static str| {
        app.client
            .post(app.url("/api/v1/batches"))
            .bearer_auth(token)
            .header("content-type", content_type.clone())
            .header("idempotency-key", key)
            .body(body.clone())
            .send()
    };
    let first = post("batch-1").await.unwrap();
    assert_eq!(first.status(), 202, "{}", first.text().await.unwrap_or_default());
    let created: Value = first.json().await.unwrap();
    assert_eq!(created["rows"], 2);
    let id = created["id"].as_str().unwrap();

    let view = get_json(&app, token, &format!("/api/v1/batches/{id}")).await;
    assert_eq!(view["status"], "queued");
    assert_eq!(view["counts"]["queued"], 2);
    assert_eq!(view["rows"][0]["title"], "For Ada, Countess");
    assert_eq!(view["rows"][1]["title"], "For Grace \"Amazing\" Hopper");
    let project_id = view["rows"][1]["project_id"].as_str().unwrap();
    let project = get_json(&app, token, &format!("/api/v1/projects/{project_id}")).await;
    assert_eq!(project["scenes"][0]["text"], "Grace \"Amazing\" Hopper visits New York.");

    // The same key and body: the first answer, nothing made again.
    let again = post("batch-1").await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id);
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 2);

    // The same key with JSON rows instead: another body, 422.
    let json_body = json!({"template_id": "explainer", "template_script": {"title": "x {{name}}", "script": "{{name}}."},
                           "rows": [{"name": "Ada"}]});
    let mismatch = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(token)
        .header("idempotency-key", "batch-1")
        .json(&json_body)
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), 422);

    // A CSV whose row has too few fields, and a CSV sent with JSON rows too.
    let (content_type, body) = csv_upload(b"name,city\nAda\n", &batch);
    let short = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);
    let problem: Value = short.json().await.unwrap();
    assert_eq!(problem["errors"][0]["row"], 0, "{problem}");
    let mut with_rows = batch.clone();
    with_rows["rows"] = json!([{"name": "x"}]);
    let (content_type, body) = csv_upload(b"name,city\nAda,Oslo\n", &with_rows);
    let both = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 422);
    let text = app.client.post(app.url("/api/v1/batches")).bearer_auth(token).body("name\nAda\n").send().await.unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await, 1);
}

async fn every_row_problem_is_listed(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("problems@example.com").await;
    let token = session.access_token.as_str();

    // A missing or blank field, per row; a filled-in title that is too long.
    let long = "word ".repeat(380).trim_end().to_string();
    let rows = json!([
        {"name": "Ada", "city": "Oslo"},
        {"name": "Grace"},
        {"name": "", "city": "Rome"},
        {"name": long, "city": "Paris"}
    ]);
    let response = post_batch(&app, token, &card_batch(rows)).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    let errors = problem["errors"].as_array().unwrap();
    let listed: Vec<(i64, &str)> =
        errors.iter().map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap())).collect();
    assert!(listed.contains(&(1, "city")), "{problem}");
    assert!(listed.contains(&(2, "name")), "{problem}");
    assert!(listed.contains(&(3, "title")), "a title over 200 characters once filled in: {problem}");
    assert!(!listed.iter().any(|(row, _)| *row == 0), "row 0 is fine: {problem}");
    assert_eq!(problem["errors_total"], errors.len());

    // A field no row has, a bad merge field, an unknown template: told once, without a row.
    let mut unknown = card_batch(json!([{"name": "Ada"}, {"name": "Grace"}]));
    unknown["template_id"] = json!("nope");
    let problem: Value = post_batch(&app, token, &unknown).await.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["template_id", "template_script"], "{problem}");
    assert!(problem["errors"][1]["message"].as_str().unwrap().contains("{{city}}"), "{problem}");
    assert!(problem["errors"][1].get("row").is_none());
    let mut broken = card_batch(json!([{"name": "Ada", "city": "Oslo"}]));
    broken["template_script"]["title"] = json!("Hello {{name");
    let problem: Value = post_batch(&app, token, &broken).await.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "template_script.title", "{problem}");

    // More scenes than a batch makes: 500 rows of 11 scenes.
    let mut heavy = card_batch(Value::Array((0..500).map(|i| json!({"name": format!("n{i}"), "city": "x"})).collect()));
    heavy["template_script"]["scenes"] =
        Value::Array((0..11).map(|i| json!({"text": format!("{{{{name}}}} {i}.")})).collect());
    let response = post_batch(&app, token, &heavy).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("5500 scenes"), "{problem}");

    // 0 rows, 501 rows, no rows at all.
    for rows in [json!([]), Value::Array((0..501).map(|i| json!({"name": format!("n{i}"), "city": "x"})).collect())] {
        let response = post_batch(&app, token, &card_batch(rows)).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "rows", "{problem}");
    }
    let mut no_rows = card_batch(json!([]));
    no_rows.as_object_mut().unwrap().remove("rows");
    assert_eq!(post_batch(&app, token, &no_rows).await.status(), 422);

    // Nothing was made by any of it.
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);

    // 500 rows are one batch.
    let rows = Value::Array((0..500).map(|i| json!({"name": format!("Person {i}"), "city": "Oslo"})).collect());
    let mut storyboards = card_batch(rows);
    storyboards["render"] = json!(false);
    let response = post_batch(&app, token, &storyboards).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 500);
}

async fn the_whole_batch_is_refused_over_quota(backend: Backend) {
    // Two pictures a month; every row makes one.
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("QUOTA_IMAGES_COUNT", "2")]).await;
    let session = app.sign_in("quota@example.com").await;
    let token = session.access_token.as_str();
    let three = card_batch(json!([{"name": "A", "city": "B"}, {"name": "C", "city": "D"}, {"name": "E", "city": "F"}]));
    let response = post_batch(&app, token, &three).await;
    assert_eq!(response.status(), 402);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["metric"], "images_generated", "{problem}");
    assert_eq!(problem["quota"], 2.0);
    assert_eq!(problem["used"], 0.0);
    assert_eq!(problem["reserved"], 0.0);
    assert_eq!(problem["needed"], 3.0, "the whole batch's need: {problem}");
    assert_eq!(problem["rows"], 3);
    assert!(problem["upgrade_url"].as_str().unwrap().ends_with("/billing"));
    // Nothing made, nothing reserved, no script left in storage.
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM projects WHERE tenant_id = $1", &session.tenant_id).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1", &session.tenant_id).await, 0);
    let media = app.data_dir.path().join("media").join("tenants").join(&session.tenant_id);
    assert!(crate::helpers::files_under(&media).is_empty(), "{:?}", crate::helpers::files_under(&media));

    // Two rows fit, each with its own reservation; a third project does not.
    let two = card_batch(json!([{"name": "A", "city": "B"}, {"name": "C", "city": "D"}]));
    assert_eq!(post_batch(&app, token, &two).await.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1", &session.tenant_id).await, 2);
    let one = card_batch(json!([{"name": "A", "city": "B"}]));
    assert_eq!(post_batch(&app, token, &one).await.status(), 402);

    // A premium template on Free: 402 for the batch, as for a project.
    let mut premium = card_batch(json!([{"name": "A", "city": "B"}]));
    premium["template_id"] = json!("cinematic");
    let response = post_batch(&app, token, &premium).await;
    assert_eq!(response.status(), 402);
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await, 1);
}

async fn rows_cancelled_together_complete_the_batch_once(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0"), ("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let session = app.sign_in("cancel@example.com").await;
    let token = session.access_token.as_str();
    let (receiver, url) = Receiver::start(200).await;
    let endpoint = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoint.status(), 201);
    let rows = Value::Array((0..6).map(|i| json!({"name": format!("N{i}"), "city": "C"})).collect());
    let created: Value = post_batch(&app, token, &card_batch(rows)).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let batch = get_json(&app, token, &format!("/api/v1/batches/{id}")).await;
    let projects: Vec<String> =
        batch["rows"].as_array().unwrap().iter().map(|r| r["project_id"].as_str().unwrap().to_string()).collect();

    // No video yet: the ZIP has nothing to hold.
    assert_eq!(app.get_auth(&format!("/api/v1/batches/{id}/videos.zip"), token).await.status(), 409);

    // One row deleted, the rest cancelled all at once: the batch completes once.
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/projects/{}", projects[0])))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let cancels = projects[1..].iter().map(|project| {
        app.client.post(app.url(&format!("/api/v1/projects/{project}/cancel"))).bearer_auth(token).send()
    });
    for response in futures_util::future::join_all(cancels).await {
        assert_eq!(response.unwrap().status(), 202);
    }
    let view = get_json(&app, token, &format!("/api/v1/batches/{id}")).await;
    assert_eq!(view["status"], "cancelled", "{view}");
    assert_eq!(view["counts"]["cancelled"], 5);
    assert_eq!(view["counts"]["deleted"], 1);
    assert_eq!(view["rows"][0]["status"], "deleted");
    assert!(view["rows"][0]["project_id"].is_null());
    assert!(view["completed_at"].is_string());
    let got = receiver.wait_for(1).await;
    let event: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(event["type"], "batch.completed");
    assert_eq!(event["data"]["status"], "cancelled");
    let completions = || {
        app.count(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE event = 'batch.completed' AND tenant_id = $1",
            &session.tenant_id,
        )
    };
    assert_eq!(completions().await, 1);

    // A row made again runs the batch again, but its end sends no second event.
    let retried = app.post_auth(&format!("/api/v1/projects/{}/retry", projects[1]), token).await;
    assert_eq!(retried.status(), 202);
    assert_eq!(get_json(&app, token, &format!("/api/v1/batches/{id}")).await["status"], "running");
    let cancelled = app.post_auth(&format!("/api/v1/projects/{}/cancel", projects[1]), token).await;
    assert_eq!(cancelled.status(), 202);
    assert_eq!(get_json(&app, token, &format!("/api/v1/batches/{id}")).await["status"], "cancelled");
    assert_eq!(completions().await, 1, "batch.completed is sent once per batch");

    // Erasure takes the batch with the rest.
    let erase = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .json(&json!({"confirm": "cancel@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 202);
    let started = Instant::now();
    while app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &session.tenant_id).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "batches left after erasure");
        reelforge::housekeeping(&app.state).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_brand_template_serves_every_row(backend: Backend) {
    let app = spawn_app_with(backend, &[("WORKER_CONCURRENCY", "0")]).await;
    let session = app.sign_in("brand-batches@example.com").await;
    let token = session.access_token.as_str();
    let template: Value = app
        .client
        .post(app.url("/api/v1/templates"))
        .bearer_auth(token)
        .json(&json!({"base_id": "explainer", "name": "Acme", "palette": ["#ffd700", "#b8860b"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template_id = template["id"].as_str().expect("a template id");
    let mut body = card_batch(json!([{"name": "Ada", "city": "Oslo"}, {"name": "Alan", "city": "Paris"}]));
    body["template_id"] = json!(template_id);
    let response = post_batch(&app, token, &body).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // Every row is made with the template as it is now (its own snapshot).
    let batch = get_json(&app, token, &format!("/api/v1/batches/{id}")).await;
    assert_eq!(batch["template_id"], template_id);
    let snapshots = "SELECT COUNT(*) FROM projects WHERE batch_id = $1 AND template LIKE '%ffd700%'";
    assert_eq!(app.count(snapshots, &id).await, 2);

    // Another tenant cannot use it: told once, nothing made.
    let other = app.sign_in("other-brand-batches@example.com").await;
    let theirs = post_batch(&app, &other.access_token, &body).await;
    assert_eq!(theirs.status(), 422);
    let problem: Value = theirs.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["template_id"], "{problem}");
    assert_eq!(app.count("SELECT COUNT(*) FROM batches WHERE tenant_id = $1", &other.tenant_id).await, 0);
}
