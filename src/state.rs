//! The state every handler and worker shares.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::{Notify, broadcast};

use crate::auth::cache::AuthCache;
use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::mail::{Mailer, OutgoingMail};
use crate::ratelimit::RateLimiter;
use crate::storage::Storage;

/// Cheap to clone: one `Arc` around everything.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What `AppState` holds.
pub struct Shared {
    /// Validated configuration.
    pub config: Config,
    /// Database pool.
    pub db: Db,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Sender of every message.
    pub mail_from: Mailbox,
    /// Access-token keys.
    pub jwt: JwtKeys,
    /// Magic-link request limits (per address and per client IP).
    pub sign_in_limiter: RateLimiter,
    /// Remote voice previews per tenant (`VOICE_PREVIEWS_PER_HOUR`).
    pub preview_limiter: RateLimiter,
    /// Requests per API key (`API_KEY_RATE_LIMIT_PER_MINUTE`).
    pub api_key_limiter: RateLimiter,
    /// Stock searches per tenant (`STOCK_SEARCHES_PER_MINUTE`).
    pub stock_limiter: RateLimiter,
    /// Scripts written per tenant (`SCRIPTS_PER_MINUTE`).
    pub scripts_limiter: RateLimiter,
    /// Brand template previews drawn per tenant.
    pub template_preview_limiter: RateLimiter,
    /// The stock providers' clients and their rate-limit backoff.
    pub stock: crate::stock::StockClient,
    /// Recently resolved credentials.
    pub auth_cache: AuthCache,
    /// Media storage.
    pub storage: Storage,
    /// HTTP client for remote providers.
    pub http: reqwest::Client,
    /// Loaded Piper voices (long-lived children), shared by steps and previews.
    pub piper: reelforge_media::piper::PiperPool,
    /// Wakes idle workers of this process when new work may be ready.
    pub work_available: Notify,
    /// Ids of projects that changed in this process (live progress).
    pub project_events: broadcast::Sender<String>,
    /// Live-progress feeds (one per watched project) and the stream caps.
    pub live: crate::projects::events::LiveHub,
    /// Recently read usage per tenant.
    pub usage_cache: crate::usage::cache::UsageCache,
    /// Project views, for status polling.
    pub project_cache: crate::projects::service::ProjectCache,
    /// Set when the process is stopping: long-lived responses (SSE) end.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// The key endpoint secrets are derived from (`crate::webhooks::sign`).
    pub webhook_key: crate::webhooks::sign::WebhookKey,
    /// The client deliveries go through (no redirects, no proxy, the SSRF resolver).
    pub webhook_http: reqwest::Client,
    /// Wakes this process's delivery loop when a delivery was queued here.
    pub webhook_wake: Notify,
    /// Wakes this process's overage report loop when reports were queued here.
    pub overage_wake: Notify,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }

    /// Tells live-progress listeners in this process that a project changed.
    pub fn project_changed(&self, tenant_id: &str, project_id: &str) {
        self.project_cache.invalidate_tenant(tenant_id);
        let _ = self.project_events.send(project_id.to_string());
    }

    /// Forgets cached usage of a tenant whose usage, reservations or plan changed.
    pub fn usage_changed(&self, tenant_id: &str) {
        self.usage_cache.invalidate_tenant(tenant_id);
    }

    /// Forgets everything cached about a tenant whose plan or standing changed
    /// (credentials resolve again, usage and quotas are read again).
    pub fn tenant_changed(&self, tenant_id: &str) {
        self.auth_cache.invalidate_tenant(tenant_id);
        self.usage_changed(tenant_id);
    }

    /// Sends mail in the background: the request that caused it does not wait
    /// on the SMTP server, and a failure is logged (never the message body).
    pub fn send_mail_later(&self, mail: OutgoingMail) {
        let state = self.clone();
        tokio::spawn(async move {
            let recipient_domain = mail.to.as_str().split('@').nth(1).unwrap_or_default().to_string();
            if let Err(err) = state.mailer.send(&state.mail_from, mail).await {
                metrics::counter!(crate::metrics::EMAIL_FAILURES).increment(1);
                tracing::error!(error = %err, domain = %recipient_domain, "sending e-mail failed");
            }
        });
    }
}

/// The window of the voice-preview limit.
pub const PREVIEW_WINDOW: Duration = Duration::from_secs(3600);

/// The window of the sign-in rate limits.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);
