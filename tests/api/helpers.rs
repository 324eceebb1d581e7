//! `spawn_app()`: a real server on port 0 with a temporary `DATA_DIR`, a fresh
//! SQLite file or a fresh PostgreSQL database, and the `.eml` outbox.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use reelforge::config::Config;
use reelforge::state::AppState;
use serde_json::Value;
use tempfile::TempDir;

/// The configured public URL of every test server (links and the origin check use it).
pub const PUBLIC_URL: &str = "http://reelforge.test";

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    /// PostgreSQL when `TEST_POSTGRES_URL` (default the local server) answers.
    /// In CI an unreachable server fails the test instead of skipping it.
    pub async fn postgres() -> Option<Backend> {
        static REACHABLE: OnceLock<bool> = OnceLock::new();
        let admin_url =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let admin_url = admin_url.trim_end_matches('/').to_string();
        let reachable = match REACHABLE.get() {
            Some(r) => *r,
            None => {
                let ok = tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::PgPool::connect(&format!("{admin_url}/postgres")),
                )
                .await
                .is_ok_and(|r| r.is_ok());
                *REACHABLE.get_or_init(|| ok)
            }
        };
        if reachable {
            return Some(Backend::Postgres { admin_url });
        }
        if std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var("REQUIRE_POSTGRES").is_ok() {
            panic!("PostgreSQL at {admin_url} is not reachable, and CI must run every test on it");
        }
        eprintln!("skipping: PostgreSQL at {admin_url} is not reachable");
        None
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: TempDir,
    /// Outbox files whose link a test already took.
    seen_mail: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg: Option<(String, String)>,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub tenant_id: String,
    pub user_id: String,
    pub body: Value,
    pub set_cookies: Vec<String>,
}

/// A small real PNG (a designed card reading `label`): what a remote images
/// API stand-in answers with.
pub fn card_png(label: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("remote.png");
    let style = reelforge_media::card::CardStyle {
        palette: vec!["#0f766e".into(), "#1e3a8a".into()],
        text_color: "#ffffff".into(),
        text_scale: 0.08,
        weight: "bold".into(),
        show_scene_number: false,
        heading_font: None,
        body_font: None,
    };
    reelforge_media::card::render_card(label, 0, 512, 288, 1.0, &style, &path).expect("png");
    std::fs::read(path).expect("read")
}

/// Serves a stand-in for a third-party API (its real wire format) on a free
/// loopback port; returns its base URL, `http://127.0.0.1:PORT/v1`.
pub async fn serve_stand_in(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/v1")
}

/// Starts a server with the default test configuration.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts a server with extra configuration keys.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut map: HashMap<String, String> = HashMap::new();
    map.insert("DATA_DIR".into(), data_dir.path().display().to_string());
    map.insert("BIND".into(), "127.0.0.1:0".into());
    map.insert("PUBLIC_URL".into(), PUBLIC_URL.into());
    map.insert("WORKER_CONCURRENCY".into(), "2".into());
    // espeak-ng speaks in milliseconds: tests narrate with it unless they ask
    // for the default (`TTS_PROVIDER=auto`, Piper when .venv-piper is installed).
    map.insert("TTS_PROVIDER".into(), "espeak".into());
    // Tests see the built-in pages unless they supply a built web app.
    map.insert("WEB_DIST_DIR".into(), data_dir.path().join("web-not-built").display().to_string());
    let mut pg = None;
    if let Backend::Postgres { admin_url } = &backend {
        let name = format!("rf_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&format!("{admin_url}/postgres")).await.expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        map.insert("DATABASE_URL".into(), format!("{admin_url}/{name}"));
        pg = Some((admin_url.clone(), name));
    }
    for (key, value) in overrides {
        map.insert((*key).into(), (*value).into());
    }
    let config = Config::from_map(map).expect("valid test configuration");
    let app = reelforge::build_app(config).await.expect("app builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run(async {
                let _ = rx.await;
            })
            .await;
    });
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp {
        seen_mail: Default::default(),
        base: format!("http://{addr}"),
        client,
        state,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
        pg,
    }
}

impl TestApp {
    /// Stops the server (and its workers) but keeps its data and database.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs JSON.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request")
    }

    /// GET with a bearer token.
    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    /// POST without a body, with a bearer token.
    pub async fn post_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    /// Asks for a magic link.
    pub async fn request_link(&self, email: &str) -> reqwest::Response {
        self.post_json("/api/auth/magic-link/request", &serde_json::json!({ "email": email })).await
    }

    /// Waits for the newest link e-mailed to `email` and returns its token.
    pub async fn link_token(&self, email: &str) -> String {
        let wanted = email.trim().to_ascii_lowercase();
        for _ in 0..100 {
            {
                let mut seen = self.seen_mail.lock().expect("lock");
                if let Some((path, token)) =
                    unseen_token_in_outbox(&self.data_dir.path().join("outbox"), &wanted, &seen)
                {
                    seen.insert(path);
                    return token;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no sign-in e-mail for {email} in the outbox");
    }

    /// Number of messages in the outbox.
    pub fn outbox_count(&self) -> usize {
        std::fs::read_dir(self.data_dir.path().join("outbox")).map(|d| d.count()).unwrap_or(0)
    }

    /// Verifies a token.
    pub async fn verify(&self, token: &str) -> reqwest::Response {
        self.post_json("/api/auth/magic-link/verify", &serde_json::json!({ "token": token })).await
    }

    /// Full sign-in through the outbox.
    pub async fn sign_in(&self, email: &str) -> Session {
        let response = self.request_link(email).await;
        assert_eq!(response.status(), 202, "link request");
        let token = self.link_token(email).await;
        session_of(self.verify(&token).await).await
    }

    /// Rows of a table for one tenant (for isolation and at-rest checks).
    pub async fn count(&self, sql: &'static str, bind: &str) -> i64 {
        match &self.state.db {
            reelforge::db::Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(bind).fetch_one(pool).await.expect("count"),
            reelforge::db::Db::Postgres(pool) => {
                sqlx::query_scalar(sql).bind(bind).fetch_one(pool).await.expect("count")
            }
        }
    }

    /// Runs a statement with one text and one integer parameter.
    pub async fn exec(&self, sql: &'static str, text: &str, number: i64) {
        match &self.state.db {
            reelforge::db::Db::Sqlite(pool) => {
                sqlx::query(sql).bind(text).bind(number).execute(pool).await.expect("exec");
            }
            reelforge::db::Db::Postgres(pool) => {
                sqlx::query(sql).bind(text).bind(number).execute(pool).await.expect("exec");
            }
        }
    }
}

/// Every file under `root`, sorted (an absent root has none).
pub fn files_under(root: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// The session a 200 answer that signs someone in carries (a verified link,
/// a refresh, a switch of tenant).
pub async fn session_of(response: reqwest::Response) -> Session {
    assert_eq!(response.status(), 200, "a session");
    let set_cookies = set_cookies(&response);
    let body: Value = response.json().await.expect("json");
    Session {
        access_token: body["access_token"].as_str().expect("access token").into(),
        refresh_token: body["refresh_token"].as_str().expect("refresh token").into(),
        tenant_id: body["tenant"]["id"].as_str().expect("tenant").into(),
        user_id: body["user"]["id"].as_str().expect("user").into(),
        body,
        set_cookies,
    }
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect()
}

/// The value of cookie `name` among `Set-Cookie` headers.
pub fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (key, value) = first.split_once('=')?;
        (key.trim() == name).then(|| value.trim().to_string())
    })
}

/// Undoes quoted-printable soft breaks and `=XX` escapes.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits for the newest sign-in link mailed to `email` in the outbox `dir`
/// (for servers run as a separate process) and returns its token.
pub async fn link_in_outbox(dir: &std::path::Path, email: &str) -> String {
    for _ in 0..100 {
        if let Some((_, token)) = unseen_token_in_outbox(dir, email, &Default::default()) {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no sign-in e-mail for {email} in {}", dir.display());
}

/// The token of a message to `email` that no earlier call returned (file
/// times are too coarse to tell two quick messages apart).
fn unseen_token_in_outbox(
    dir: &std::path::Path,
    email: &str,
    seen: &std::collections::HashSet<PathBuf>,
) -> Option<(PathBuf, String)> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    for (_, path) in files.iter().rev().filter(|(_, p)| !seen.contains(p)) {
        let raw = std::fs::read_to_string(path).ok()?;
        if !raw.lines().any(|l| l.to_ascii_lowercase() == format!("to: {email}")) {
            continue;
        }
        let text = decode_quoted_printable(&raw);
        let start = text.find("/auth/verify?token=")? + "/auth/verify?token=".len();
        let token: String =
            text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        return Some((path.clone(), token));
    }
    None
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some((admin_url, name)) = self.pg.take() {
            // A fresh runtime on its own thread: Drop cannot await on the test's runtime.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                runtime.block_on(async move {
                    if let Ok(admin) = sqlx::PgPool::connect(&format!("{admin_url}/postgres")).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&admin)
                                .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Declares each listed `async fn name(backend: Backend)` as two tests,
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::helpers::Backend::postgres().await {
                        super::$name(backend).await
                    }
                }
            }
        )*
    };
}
