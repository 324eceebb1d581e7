//! `STORAGE_URL=s3://bucket/prefix` against an S3-compatible server started on
//! loopback (PyPI's moto in server mode).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, spawn_app_with};
use crate::projects::{create, wait_finished};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("moto_server is missing; `make test` installs it (pip install \"moto[server]\")");
            }
            eprintln!("skipping: moto_server is not installed");
            return None;
        }
    };
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if reqwest::get(&moto.endpoint).await.is_ok() {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_render_into_an_s3_bucket() {
    let Some(moto) = start_moto().await else { return };
    let client = reqwest::Client::new();
    let created = client.put(format!("{}/reelforge-media", moto.endpoint)).send().await.expect("create bucket");
    assert!(created.status().is_success(), "{}", created.status());
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("STORAGE_URL", "s3://reelforge-media/prod"),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .await;
    let session = app.sign_in("s3@example.com").await;
    let token = session.access_token.as_str();
    let id = create(
        &app,
        token,
        json!({"title": "s3", "script": "Stored in a bucket.\n\nTwo scenes.", "template_id": "square"}),
    )
    .await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let video = app.get_auth(&format!("/api/v1/projects/{id}/video"), token).await.bytes().await.expect("video");
    assert!(video.len() > 1000);
    let partial = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}/video")))
        .bearer_auth(token)
        .header("range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.bytes().await.expect("body").as_ref(), &video[10..20]);

    // The objects are in the bucket under the prefix and the tenant's keys; nothing on local disk.
    let listing = client
        .get(format!("{}/reelforge-media?list-type=2&prefix=prod/tenants/{}/", moto.endpoint, session.tenant_id))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("xml");
    assert!(listing.contains("video.mp4") && listing.contains("script.txt"), "{listing}");
    assert!(!app.data_dir.path().join("media").join("tenants").exists());

    app.client.delete(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(token).send().await.expect("delete");
    let listing = client
        .get(format!("{}/reelforge-media?list-type=2&prefix=prod/tenants/{}/", moto.endpoint, session.tenant_id))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("xml");
    assert!(!listing.contains("<Key>"), "deleted from the bucket: {listing}");
}
