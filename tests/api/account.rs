//! Account erasure: everything of the tenant goes, nothing of anyone else.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, PUBLIC_URL, spawn_app};
use crate::projects::{create, wait_finished};

db_tests!(
    erasure_is_complete_immediate_and_only_theirs,
    export_holds_everything_and_only_theirs,
    backup_restores_database_and_media,
    anonymous_audit_rows_are_pruned_after_the_retention,
);

async fn anonymous_audit_rows_are_pruned_after_the_retention(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, &[("AUDIT_RETENTION_DAYS", "30")]).await;
    let session = app.sign_in("audited@example.com").await;
    assert_eq!(app.verify("not-a-token").await.status(), 400, "a fresh anonymous row");
    let now_ms =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms");
    let old = now_ms - 31 * 24 * 3600 * 1000;
    app.exec(
        "INSERT INTO audit_log (id, tenant_id, actor, action, detail, created_at) \
         VALUES ($1, NULL, 'anonymous', 'auth.verify_failed', '{}', $2)",
        "old-anonymous",
        old,
    )
    .await;
    app.exec(
        "INSERT INTO audit_log (id, tenant_id, actor, action, detail, created_at) \
         VALUES ('old-of-a-tenant', $1, 'user', 'auth.sign_in', '{}', $2)",
        &session.tenant_id,
        old,
    )
    .await;

    reelforge::housekeeping(&app.state).await;

    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE id = $1", "old-anonymous").await, 0, "pruned");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE tenant_id IS NULL AND id <> $1", "old-anonymous").await,
        1,
        "the anonymous row inside the retention stays"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE id = $1", "old-of-a-tenant").await,
        1,
        "a tenant's history stays"
    );
}

async fn erasure_is_complete_immediate_and_only_theirs(backend: Backend) {
    let app = spawn_app(backend).await;
    let leaving = app.sign_in("leaving@example.com").await;
    let staying = app.sign_in("staying@example.com").await;
    let token = leaving.access_token.as_str();
    let key: Value = app
        .client
        .post(app.url("/api/account/rotate-api-key"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let key = key["api_key"].as_str().expect("key").to_string();
    let mine = create(&app, token, json!({"title": "mine", "script": "My own video.", "template_id": "square"})).await;
    let theirs = create(
        &app,
        &staying.access_token,
        json!({"title": "theirs", "script": "Someone else's video.", "template_id": "square"}),
    )
    .await;
    wait_finished(&app, token, &mine, Duration::from_secs(60)).await;
    wait_finished(&app, &staying.access_token, &theirs, Duration::from_secs(60)).await;
    let theirs_video = app
        .get_auth(&format!("/api/v1/projects/{theirs}/video"), &staying.access_token)
        .await
        .bytes()
        .await
        .expect("video");

    // A wrong confirmation changes nothing; an API key cannot erase.
    for confirm in ["someone@example.com", "", "leaving@example"] {
        let response = app
            .client
            .post(app.url("/api/account/delete"))
            .bearer_auth(token)
            .json(&json!({"confirm": confirm}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{confirm:?}");
    }
    let by_key = app
        .client
        .post(app.url("/api/account/delete"))
        .header("x-api-key", &key)
        .json(&json!({"confirm": "leaving@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(by_key.status(), 403);
    assert_eq!(app.get_auth("/api/auth/me", token).await.status(), 200);

    let response = app
        .client
        .post(app.url("/api/account/delete"))
        .bearer_auth(token)
        .header("origin", PUBLIC_URL)
        .json(&json!({"confirm": "  Leaving@Example.com "}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    // Every credential answers 401 at once.
    assert_eq!(app.get_auth("/api/auth/me", token).await.status(), 401);
    assert_eq!(app.get_auth("/api/auth/me", &key).await.status(), 401);
    assert_eq!(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": leaving.refresh_token})).await.status(),
        401
    );
    assert_eq!(app.get_auth(&format!("/api/v1/projects/{mine}"), token).await.status(), 401);

    // The purge leaves no row and no file of the tenant but one anonymised audit record.
    let tenant = reelforge::domain::TenantId::parse(&leaving.tenant_id).expect("a tenant id");
    for _ in 0..100 {
        if reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reelforge::account::erase::is_purged(&app.state.db, &tenant).await.expect("query"), "purged");
    let t = leaving.tenant_id.as_str();
    for sql in [
        "SELECT COUNT(*) FROM memberships WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM invites WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM users WHERE last_tenant_id = $1",
        "SELECT COUNT(*) FROM projects WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM steps WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM refresh_tokens WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM usage_reservations WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM billing_accounts WHERE tenant_id = $1",
    ] {
        assert_eq!(app.count(sql, t).await, 0, "{sql}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM scenes WHERE project_id = $1", &mine).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1", t).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND action = 'account.deleted' AND ip IS NULL AND user_id IS NULL", t).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM magic_links WHERE email = $1", "leaving@example.com").await, 0);
    assert!(!app.data_dir.path().join("media/tenants").join(t).exists(), "media gone");
    assert!(!app.data_dir.path().join("usage").join(t).exists(), "usage log gone");

    // Another tenant is untouched.
    let still = app
        .get_auth(&format!("/api/v1/projects/{theirs}/video"), &staying.access_token)
        .await
        .bytes()
        .await
        .expect("video");
    assert_eq!(still, theirs_video);
    assert_eq!(app.count("SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1", &staying.tenant_id).await, 3);

    // The same address can sign up again: a new, empty tenant.
    let again = app.sign_in("leaving@example.com").await;
    assert_ne!(again.tenant_id, leaving.tenant_id);
    let list: Value = app.get_auth("/api/v1/projects", &again.access_token).await.json().await.expect("json");
    assert_eq!(list["items"], json!([]));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn export_holds_everything_and_only_theirs(backend: Backend) {
    use std::io::Read;
    let app = spawn_app(backend).await;
    let owner = app.sign_in("exporter@example.com").await;
    let other = app.sign_in("snooper@example.com").await;
    let token = owner.access_token.as_str();
    let id = create(
        &app,
        token,
        json!({"title": "exported", "script": "First scene.\n\nSecond scene.", "template_id": "square"}),
    )
    .await;
    wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    let storage_before =
        app.get_auth("/api/usage", token).await.json::<Value>().await.expect("json")["metrics"]["storage_mb"]["used"]
            .as_f64()
            .expect("mb");

    // One running export at a time.
    app.exec("INSERT INTO exports (id, tenant_id, status, filename, created_at) VALUES ('busy', $1, 'running', 'busy.zip', $2)", &owner.tenant_id, 1).await;
    let busy = app.client.post(app.url("/api/account/export")).bearer_auth(token).send().await.expect("request");
    assert_eq!(busy.status(), 429);
    let problem: Value = busy.json().await.expect("json");
    assert_eq!(problem["export_id"], "busy", "the answer names the running export to follow: {problem}");
    app.exec("DELETE FROM exports WHERE tenant_id = $1 AND id = 'busy' AND $2 = $2", &owner.tenant_id, 0).await;

    let hook = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&serde_json::json!({"url": "https://hooks.example.com/export", "description": "CRM"}))
        .send()
        .await
        .expect("request");
    assert_eq!(hook.status(), 201);
    let started = app.client.post(app.url("/api/account/export")).bearer_auth(token).send().await.expect("request");
    assert_eq!(started.status(), 202);
    let export_id = started.json::<Value>().await.expect("json")["export_id"].as_str().expect("id").to_string();
    let mut view = Value::Null;
    for _ in 0..100 {
        view = app.get_auth(&format!("/api/account/exports/{export_id}"), token).await.json().await.expect("json");
        if view["status"] == "ready" || view["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["status"], "ready", "{view}");
    // The owner is e-mailed that it is ready.
    let mut mailed = false;
    for _ in 0..50 {
        mailed = std::fs::read_dir(app.data_dir.path().join("outbox")).expect("outbox").flatten().any(|f| {
            std::fs::read_to_string(f.path()).is_ok_and(|t| {
                t.contains("Subject: Your Reelforge data export is ready") && t.contains("To: exporter@example.com")
            })
        });
        if mailed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mailed, "the owner got an e-mail");
    let url = view["download_url"].as_str().expect("url").to_string();
    let filename = url.rsplit('/').next().expect("name").to_string();
    let zip_bytes = app.get_auth(&url, token).await.bytes().await.expect("zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).expect("a zip");
    let mut read = |name: &str| -> Vec<u8> {
        let mut out = Vec::new();
        archive.by_name(name).expect(name).read_to_end(&mut out).expect("read");
        out
    };
    let account: Value = serde_json::from_slice(&read("account.json")).expect("json");
    assert_eq!(account["users"][0]["email"], "exporter@example.com");
    // The webhook endpoints are the tenant's data too; their secrets' salts are not.
    assert_eq!(account["webhook_endpoints"][0]["url"], "https://hooks.example.com/export", "{account}");
    assert_eq!(account["webhook_endpoints"][0]["description"], "CRM");
    assert!(account["webhook_endpoints"][0].get("secret_salt").is_none());
    let projects: Value = serde_json::from_slice(&read("projects.json")).expect("json");
    assert_eq!(projects[0]["id"], id.as_str());
    assert_eq!(projects[0]["scenes"].as_array().expect("scenes").len(), 2);
    let usage: Value = serde_json::from_slice(&read("usage.json")).expect("json");
    assert_eq!(
        usage.as_array().expect("rows").len() as i64,
        app.count("SELECT COUNT(*) FROM usage_ledger WHERE tenant_id = $1", &owner.tenant_id).await
    );
    let _billing: Value = serde_json::from_slice(&read("billing.json")).expect("json");
    let audit: Value = serde_json::from_slice(&read("audit.json")).expect("json");
    assert!(audit.as_array().expect("rows").iter().any(|a| a["action"] == "auth.sign_in"));
    // Every media file is there, byte for byte.
    let media_root = app.data_dir.path().join("media/tenants").join(&owner.tenant_id).join("projects");
    let files = crate::helpers::files_under(&media_root);
    assert!(files.len() >= 8, "script, images, speech, segments, outputs");
    for file in &files {
        let relative = file.strip_prefix(&media_root).expect("relative").display().to_string();
        let inside = read(&format!("media/{relative}"));
        assert_eq!(sha256_hex(&inside), sha256_hex(&std::fs::read(file).expect("file")), "{relative}");
    }
    assert!(!archive.file_names().any(|n| n.is_ok_and(|n| n.contains(&other.tenant_id))), "nothing of another tenant");

    // Only its own tenant can download it, and only by its exact name.
    assert_eq!(app.get_auth(&url, &other.access_token).await.status(), 404);
    assert_eq!(app.get_auth(&format!("/api/account/exports/{export_id}"), &other.access_token).await.status(), 404);
    for path in [
        "/api/account/download-export/..%2F..%2Fsecret.key",
        "/api/account/download-export/%2e%2e%2f%2e%2e%2freelforge.db",
        "/api/account/download-export/..%252F..%252Freelforge.db",
        "/api/account/download-export/reelforge-export-00000000-0000-0000-0000-000000000000.zip",
        "/api/account/download-export/../../secret.key",
    ] {
        assert_eq!(app.get_auth(path, token).await.status(), 404, "{path}");
    }
    let storage_with_export =
        app.get_auth("/api/usage", token).await.json::<Value>().await.expect("json")["metrics"]["storage_mb"]["used"]
            .as_f64()
            .expect("mb");
    assert!(storage_with_export >= storage_before, "the export counts as storage");

    // After seven days it is gone and its storage released.
    app.exec("UPDATE exports SET expires_at = $2 WHERE id = $1", &export_id, 1).await;
    assert_eq!(app.get_auth(&url, token).await.status(), 404);
    reelforge::account::export::expire(&app.state).await.expect("expire");
    assert!(!app.data_dir.path().join("media/tenants").join(&owner.tenant_id).join("exports").join(&filename).exists());
    let view: Value =
        app.get_auth(&format!("/api/account/exports/{export_id}"), token).await.json().await.expect("json");
    assert_eq!(view["status"], "expired");
}

async fn backup_restores_database_and_media(backend: Backend) {
    use reelforge::account::backup;
    let mut app = spawn_app(backend).await;
    let session = app.sign_in("backup@example.com").await;
    let token = session.access_token.as_str();
    let id =
        create(&app, token, json!({"title": "keep me", "script": "Worth a backup.", "template_id": "square"})).await;
    wait_finished(&app, token, &id, Duration::from_secs(60)).await;
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    let status: Value = app.get_auth("/api/account/backup-status", token).await.json().await.expect("json");
    assert_eq!(status["last_status"], "never");
    assert_eq!(status["retention_days"], 14);
    assert!(status["next_backup_at"].as_str().expect("next").contains("T03:00:00"));

    let report = backup::run(&app.state).await.expect("backup");
    assert!(
        report.file.exists()
            && report
                .file
                .with_file_name(format!("{}.sha256", report.file.file_name().and_then(|n| n.to_str()).expect("name")))
                .exists()
    );
    let status: Value = app.get_auth("/api/account/backup-status", token).await.json().await.expect("json");
    assert_eq!(status["last_status"], "ok");
    assert!(status["last_backup_at"].is_string());
    let manifest = backup::verify(&report.file).expect("verifies");
    assert!(
        manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["name"].as_str().is_some_and(|n| n.ends_with("video.mp4")))
    );

    // Yesterday's state is lost...
    app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("delete");
    assert_eq!(app.get_auth(&format!("/api/v1/projects/{id}"), token).await.status(), 404);
    let config = app.state.config.clone();
    let refused = backup::restore(&config, &report.file, true).await.expect_err("a server is running");
    assert!(format!("{refused:#}").contains("running"), "{refused:#}");
    app.stop().await;
    let unconfirmed = backup::restore(&config, &report.file, false).await.expect_err("needs --yes");
    assert!(format!("{unconfirmed:#}").contains("--yes"));

    // A damaged archive is refused and changes nothing.
    let damaged = report.file.with_file_name("reelforge-backup-damaged.zip");
    let mut bytes = std::fs::read(&report.file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&damaged, &bytes).expect("write");
    let sidecar = std::fs::read_to_string(format!("{}.sha256", report.file.display())).expect("sidecar");
    std::fs::write(format!("{}.sha256", damaged.display()), sidecar).expect("write");
    let err = backup::restore(&config, &damaged, true).await.expect_err("damaged");
    assert!(format!("{err:#}").contains("checksum"), "{err:#}");

    // ...and comes back with one command.
    backup::restore(&config, &report.file, true).await.expect("restore");
    let db = reelforge::db::Db::connect(&config.storage.database_url).await.expect("connect");
    let restored: i64 = match &db {
        reelforge::db::Db::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .expect("query"),
        reelforge::db::Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .expect("query"),
    };
    db.close().await;
    assert_eq!(restored, 1, "the project row is back");
    let media = app.data_dir.path().join("media/tenants").join(&session.tenant_id).join("projects").join(&id);
    let videos: Vec<_> = crate::helpers::files_under(&media).into_iter().filter(|p| p.ends_with("video.mp4")).collect();
    assert_eq!(videos.len(), 1, "the media is back");
    assert_eq!(std::fs::read(&videos[0]).expect("video"), video.to_vec());

    // Retention removes archives older than BACKUPS_RETENTION_DAYS, not newer ones.
    let old = report.file.with_file_name("reelforge-backup-20000101T000000Z-old.zip");
    std::fs::write(&old, b"old").expect("write");
    std::fs::write(format!("{}.sha256", old.display()), "x").expect("write");
    std::process::Command::new("touch").args(["-d", "20 days ago"]).arg(&old).status().expect("touch");
    let removed = backup::prune(report.file.parent().expect("dir"), 14, std::time::SystemTime::now()).expect("prune");
    assert_eq!(removed, vec![old.clone()]);
    assert!(!old.exists() && !std::path::Path::new(&format!("{}.sha256", old.display())).exists());
    assert!(report.file.exists());
}
