//! Reelforge: a multi-tenant SaaS that turns a script into a narrated video.
//!
//! `build_app` assembles everything from a `Config` and binds the listener (port
//! 0 works; `App::local_addr` reports the real one); `App::run` serves until the
//! shutdown future resolves. `main.rs` only wires the command line to these.

pub mod account;
pub mod auth;
pub mod batches;
pub mod billing;
pub mod brand;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod library;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod pipeline;
pub mod projects;
pub mod ratelimit;
pub mod reporting;
pub mod scripts;
pub mod secrets;
pub mod state;
pub mod stock;
pub mod storage;
pub mod teams;
pub mod templates;
pub mod usage;
pub mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::mail::Mailer;
use crate::ratelimit::RateLimiter;
use crate::state::{AppState, PREVIEW_WINDOW, SIGN_IN_WINDOW, Shared};

/// Largest request body accepted anywhere (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A built application with its bound listener, ready to run.
pub struct App {
    /// Held while the app runs: `restore` refuses to touch the data then.
    _data_lock: std::fs::File,
    listener: TcpListener,
    router: Router,
    state: AppState,
    local_addr: SocketAddr,
}

/// Installs the process-wide TLS provider (aws-lc-rs); harmless when already set.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Connects and migrates the database and builds the shared state, without
/// binding a listener (workers and CLI commands use this too).
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    install_crypto_provider();
    metrics::install();
    std::fs::create_dir_all(&config.data_dir)?;
    let secret = secrets::jwt_secret(&config)?;
    let db = Db::connect(&config.storage.database_url).await?;
    db.migrate().await?;
    let (mailer, mail_from) = Mailer::from_config(&config)?;
    let jwt = JwtKeys::new(&secret, config.auth.jwt_expire_hours);
    let sign_in_limiter = match &config.auth.redis_url {
        Some(url) => RateLimiter::shared(SIGN_IN_WINDOW, url.expose(), secret.expose()).await?,
        None => RateLimiter::new(SIGN_IN_WINDOW),
    };
    let api_key_limiter = match &config.auth.redis_url {
        Some(url) => RateLimiter::shared(auth::key_limit::KEY_WINDOW, url.expose(), secret.expose()).await?,
        None => RateLimiter::new(auth::key_limit::KEY_WINDOW),
    };
    let storage = storage::Storage::from_config(&config.storage.storage_url, &config.storage.storage_options)?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("reelforge/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let stock_client = stock::StockClient::new(&config.stock)?;
    let webhook_http = webhooks::target::client(&config.webhooks)?;
    let webhook_key = webhooks::sign::WebhookKey::from_server_secret(secret.expose());
    let (project_events, _) = tokio::sync::broadcast::channel(1024);
    let live = projects::events::LiveHub::new(config.http.live_streams_per_tenant, config.http.live_streams_max);
    // One loaded child per model for each step this process runs at once
    // (at least one, for previews in an API-only process).
    let voice_cache = std::path::absolute(&config.media.voice_cache_dir)?;
    let piper = reelforge_media::piper::PiperPool::new(
        config.media.piper_python.clone(),
        config.queue.worker_concurrency.max(1),
    )
    .with_voice_cache(voice_cache);
    Ok(AppState::new(Shared {
        config,
        db,
        mailer,
        mail_from,
        jwt,
        sign_in_limiter,
        api_key_limiter,
        preview_limiter: RateLimiter::new(PREVIEW_WINDOW),
        stock_limiter: RateLimiter::new(stock::routes::SEARCH_WINDOW),
        scripts_limiter: RateLimiter::new(scripts::routes::WINDOW),
        template_preview_limiter: RateLimiter::new(templates::routes::PREVIEW_WINDOW),
        stock: stock_client,
        auth_cache: auth::cache::new_auth_cache(),
        storage,
        http,
        piper,
        work_available: Default::default(),
        live,
        project_events,
        usage_cache: usage::cache::new_usage_cache(),
        project_cache: projects::service::new_project_cache(),
        stopping: tokio::sync::watch::channel(false).0,
        webhook_key,
        webhook_http,
        webhook_wake: Default::default(),
        overage_wake: Default::default(),
    }))
}

/// Builds the application and binds `BIND`.
pub async fn build_app(config: Config) -> anyhow::Result<App> {
    let bind = config.http.bind;
    let data_lock = account::backup::lock_data_dir(&config)?;
    pipeline::worker::clear_scratch(&config);
    let state = build_state(config).await?;
    let router = router(state.clone());
    let listener = TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {bind} (BIND): {e}"))?;
    let local_addr = listener.local_addr()?;
    Ok(App { _data_lock: data_lock, listener, router, state, local_addr })
}

/// The complete HTTP router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(auth::routes::router())
        .merge(account::routes::router())
        .merge(teams::routes::router())
        .merge(projects::routes::router())
        .merge(projects::scene_routes::router())
        .merge(library::routes::router())
        .merge(stock::routes::router())
        .merge(scripts::routes::router())
        .merge(batches::routes::router())
        .merge(brand::routes::router())
        .merge(usage::routes::router())
        .merge(billing::routes::router())
        .merge(webhooks::routes::router())
        .merge(templates::routes::router())
        .merge(http::ops::routes())
        .route("/api/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .merge(http::docs::routes())
        .fallback(http::spa::fallback)
        // Inside the origin check and the body limit: a refused request takes no key.
        .layer(from_fn_with_state(state.clone(), idempotency::middleware))
        .layer(from_fn_with_state(state.clone(), http::middleware::cookie_origin_check))
        // Inside the timeout: a body that trickles in is answered 408.
        .layer(from_fn_with_state(state.clone(), http::middleware::limit_body))
        .layer(from_fn_with_state(state.clone(), http::middleware::request_timeout))
        // Outside the timeout and the body limit: their answers to a key carry its RateLimit headers too.
        .layer(from_fn_with_state(state.clone(), auth::key_limit::middleware))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::new())
        .layer(from_fn(http::middleware::observe))
        .layer(from_fn(http::middleware::problem_json_errors))
        .layer(from_fn(http::middleware::security_headers))
        .layer(from_fn(http::middleware::close_after_refused_body))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

impl App {
    /// The address actually bound (the real port when `BIND` asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The shared state (tests and commands reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and
    /// lets the in-process workers (`WORKER_CONCURRENCY`) finish or release their steps.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let maintenance = tokio::spawn(maintenance(self.state.clone()));
        let workers = pipeline::worker::WorkerPool::start(&self.state, self.state.config.queue.worker_concurrency);
        let deliveries = webhooks::deliver::start(&self.state);
        let overage_reports = billing::overage::report::start(&self.state);
        let backups = tokio::spawn(account::backup::schedule(self.state.clone()));
        tracing::info!(addr = %self.local_addr, database = self.state.db.backend(), "reelforge is listening");
        let state = self.state.clone();
        let signal = async move {
            shutdown.await;
            // Live-progress streams never end on their own: tell them to.
            state.stopping.send_replace(true);
        };
        let limits = http::serve::ConnectionLimits {
            header_read_timeout: self.state.config.http.header_read_timeout,
            max_connections: self.state.config.http.max_connections,
        };
        http::serve::serve(self.listener, self.router, limits, signal).await;
        workers.shutdown().await;
        deliveries.abort();
        overage_reports.abort();
        backups.abort();
        maintenance.abort();
        self.state.db.close().await;
        tracing::info!("reelforge stopped");
        Ok(())
    }
}

/// Periodic housekeeping: fold metric samples (every 5 s); the minute's work
/// of `housekeeping` (every minute).
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    for round in 0u64.. {
        tick.tick().await;
        metrics::upkeep();
        if round % 12 == 0 {
            housekeeping(&state).await;
        }
    }
}

/// The maintenance loop's work every minute: forget old rate-limit windows and
/// cache entries, purge dead tokens and old anonymous audit rows, erase and
/// expire. Public so that tests can run a round without waiting for it.
pub async fn housekeeping(state: &AppState) {
    state.sign_in_limiter.sweep();
    state.preview_limiter.sweep();
    state.api_key_limiter.sweep();
    state.stock_limiter.sweep();
    state.scripts_limiter.sweep();
    state.template_preview_limiter.sweep();
    state.auth_cache.sweep();
    state.usage_cache.sweep();
    state.project_cache.sweep();
    if let Err(err) = auth::service::purge_expired(&state.db).await {
        tracing::warn!(error = %err, "purging expired tokens failed");
    }
    account::erase::purge_pending(state).await;
    if let Err(err) = account::export::expire(state).await {
        tracing::warn!(error = %err, "expiring exports failed");
    }
    if let Err(err) = stock::store::prune(&state.db, db::now_ms() - stock::store::CACHE_MS).await {
        tracing::warn!(error = %err, "pruning the stock search cache failed");
    }
    // A script's reservation outlives its request only when the process died meanwhile.
    let stale_scripts = db::now_ms() - 2 * scripts::routes::request_limit(state).as_millis() as i64;
    if let Err(err) = usage::store::prune_script_reservations(&state.db, stale_scripts).await {
        tracing::warn!(error = %err, "pruning stale script reservations failed");
    }
    if let Err(err) = idempotency::prune(&state.db, db::now_ms()).await {
        tracing::warn!(error = %err, "pruning idempotency keys failed");
    }
    match billing::overage::store::backlog(&state.db).await {
        Ok((count, oldest)) => {
            ::metrics::gauge!(crate::metrics::OVERAGE_REPORT_BACKLOG).set(count as f64);
            let age = oldest.map(|at| (db::now_ms() - at).max(0) as f64 / 1000.0).unwrap_or(0.0);
            ::metrics::gauge!(crate::metrics::OVERAGE_REPORT_OLDEST_AGE).set(age);
        }
        Err(err) => tracing::warn!(error = %err, "reading the overage report backlog failed"),
    }
    if let Err(err) = webhooks::prune(&state.db, webhooks::KEEP_DELIVERIES_DAYS).await {
        tracing::warn!(error = %err, "pruning the webhook delivery log failed");
    }
    match account::audit::prune_anonymous(&state.db, state.config.ops.audit_retention_days).await {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, "pruned anonymous audit rows past AUDIT_RETENTION_DAYS"),
        Err(err) => tracing::warn!(error = %err, "pruning the audit log failed"),
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when the future is first polled: a server polls it only once
/// it serves, and a SIGTERM arriving in between (a supervisor stopping a
/// process that just said it was listening) would otherwise kill the process
/// with the default action instead of shutting it down gracefully.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (terminate, interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(terminate) => {},
                () = wait(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested");
    }
}

/// `reelforge worker`: connects to the shared database and runs step workers
/// (and housekeeping) until `shutdown` resolves.
pub async fn run_worker(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let count = config.queue.worker_concurrency.max(1);
    let _data_lock = account::backup::lock_data_dir(&config)?;
    pipeline::worker::clear_scratch(&config);
    let state = build_state(config).await?;
    tracing::info!(database = state.db.backend(), workers = count, "worker started");
    let maintenance = tokio::spawn(maintenance(state.clone()));
    // Probes and step metrics of this process, for the orchestrator and Prometheus.
    let probes = match state.config.ops.metrics_bind {
        Some(bind) => {
            let listener = TcpListener::bind(bind)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {bind} (METRICS_BIND): {e}"))?;
            tracing::info!(address = %listener.local_addr()?, "worker probes and metrics listening");
            let router = http::ops::routes().with_state(state.clone());
            Some(tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "the worker's metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let workers = pipeline::worker::WorkerPool::start(&state, count);
    let deliveries = webhooks::deliver::start(&state);
    let overage_reports = billing::overage::report::start(&state);
    shutdown.await;
    workers.shutdown().await;
    deliveries.abort();
    overage_reports.abort();
    if let Some(probes) = probes {
        probes.abort();
    }
    maintenance.abort();
    state.db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
