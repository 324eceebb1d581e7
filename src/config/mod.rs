//! The one typed configuration, read from the environment and an optional `.env`.
//!
//! Every key of SPEC section 2 lives here, including those later subsystems use,
//! so a typo in any of them stops start-up with one line naming the key. Keys
//! are read by section (one file each); `validate` then refuses combinations
//! that no single section can judge. Reading configuration never writes a file:
//! the development JWT key is kept by start-up code (`crate::secrets`).

mod auth;
mod billing;
mod http;
mod media;
mod ops;
mod providers;
mod queue;
mod scripts;
mod source;
mod stock;
mod storage;
mod usage;
mod webhooks;

use std::collections::HashMap;
use std::path::PathBuf;

pub use auth::AuthConfig;
pub use billing::{MeterNames, OveragePrices, StripeConfig};
pub use http::HttpConfig;
pub use media::MediaConfig;
pub use ops::OpsConfig;
pub use providers::{ImageProvider, OpenAiApi, ProvidersConfig, SpeechConfig, SpeechProvider};
pub use queue::QueueConfig;
pub use scripts::{DEFAULT_LLM_MODEL, ScriptsConfig};
pub use source::{ConfigError, Secret};
pub use stock::{StockApi, StockConfig};
pub use storage::{DatabaseUrl, StorageConfig};
pub use usage::{OverageUnitPrices, UsageConfig};
pub use webhooks::WebhookConfig;

use source::{Source, bad};

/// Deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local use: generated secret, readable logs, links logged.
    Development,
    /// Strict checks and JSON logs.
    Production,
}

/// The whole configuration, by section. Built once at start and shared read-only.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_env: AppEnv,
    /// Root of every local default (database, media, outbox, usage log, backups, log file).
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    /// `None`: billing is off and its endpoints answer 503.
    pub billing: Option<StripeConfig>,
    pub usage: UsageConfig,
    pub providers: ProvidersConfig,
    /// Stock photo and footage providers (`PEXELS_API_KEY`, `PIXABAY_API_KEY`).
    pub stock: StockConfig,
    /// The language model that writes scripts (`LLM_*`, `SCRIPTS_PER_MINUTE`).
    pub scripts: ScriptsConfig,
    pub media: MediaConfig,
    pub queue: QueueConfig,
    pub ops: OpsConfig,
    /// Outgoing webhooks (`WEBHOOK_ALLOW_PRIVATE`, `WEBHOOK_TIMEOUT_SECONDS`).
    pub webhooks: WebhookConfig,
}

/// Every configuration key (SPEC section 2); `.env.example` documents each.
pub const KEYS: &[&str] = &[
    // Service
    "APP_ENV",
    "DATA_DIR",
    // http
    "PUBLIC_URL",
    "BIND",
    "SECURE_COOKIES",
    "TRUSTED_PROXIES",
    "WEB_DIST_DIR",
    "HEADER_READ_TIMEOUT_SECONDS",
    "REQUEST_TIMEOUT_SECONDS",
    "MAX_CONNECTIONS",
    "LIVE_STREAMS_PER_TENANT",
    "LIVE_STREAMS_MAX",
    // storage
    "DATABASE_URL",
    "STORAGE_URL",
    // auth
    "JWT_SECRET",
    "JWT_EXPIRE_HOURS",
    "MAGIC_LINK_TTL_MINUTES",
    "INVITE_TTL_HOURS",
    "MAGIC_LINK_FROM",
    "SMTP_URL",
    "RATE_LIMIT_EMAIL_PER_15M",
    "RATE_LIMIT_IP_PER_15M",
    "RATE_LIMIT_VERIFY_FAILURES_PER_15M",
    "RATE_LIMIT_WEBHOOK_FAILURES_PER_15M",
    "REDIS_URL",
    "API_KEY_RATE_LIMIT_PER_MINUTE",
    // billing
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PRICE_PRO",
    "STRIPE_PRICE_ENTERPRISE",
    "STRIPE_API_BASE",
    "STRIPE_PRICE_OVERAGE_IMAGES",
    "STRIPE_PRICE_OVERAGE_TTS_SECONDS",
    "STRIPE_PRICE_OVERAGE_RENDER_MINUTES",
    "STRIPE_METER_IMAGES",
    "STRIPE_METER_TTS_SECONDS",
    "STRIPE_METER_RENDER_MINUTES",
    // usage
    "QUOTA_IMAGES_COUNT",
    "QUOTA_TTS_SECONDS",
    "QUOTA_RENDER_MINUTES",
    "QUOTA_STORAGE_MB",
    "QUOTA_SCRIPTS_COUNT",
    "TENANT_DEFAULT_PLAN",
    "USAGE_LOG_DIR",
    "OVERAGE_UNIT_PRICES",
    "SEATS_FREE",
    "SEATS_PRO",
    // providers
    "IMAGE_PROVIDER",
    "IMAGE_API_BASE",
    "IMAGE_API_KEY",
    "IMAGE_MODEL",
    "TTS_PROVIDER",
    "TTS_API_BASE",
    "TTS_API_KEY",
    "TTS_MODEL",
    "PIPER_VOICE",
    // stock
    "PEXELS_API_KEY",
    "PIXABAY_API_KEY",
    "STOCK_API_BASE_PEXELS",
    "STOCK_API_BASE_PIXABAY",
    "STOCK_SEARCHES_PER_MINUTE",
    // scripts
    "LLM_API_BASE",
    "LLM_API_KEY",
    "LLM_MODEL",
    "LLM_TIMEOUT_SECONDS",
    "SCRIPTS_PER_MINUTE",
    // media
    "FFMPEG_PATH",
    "FFPROBE_PATH",
    "ESPEAK_PATH",
    "PIPER_PYTHON",
    "PIPER_VOICES_DIR",
    "IMAGE_TIMEOUT_SECONDS",
    "TTS_TIMEOUT_SECONDS",
    "RENDER_TIMEOUT_SECONDS",
    "VOICE_PREVIEWS_PER_HOUR",
    "MEDIA_MAX_MB",
    "LOUDNESS_TARGET_LUFS",
    // queue
    "QUEUE_MAX_PENDING",
    "QUEUE_MAX_PENDING_PER_TENANT",
    "WORKER_CONCURRENCY",
    "WORKER_LEASE_SECONDS",
    // ops
    "SENTRY_DSN",
    "METRICS_TOKEN",
    "METRICS_BIND",
    "BACKUP_DIR",
    "BACKUPS_CRON",
    "BACKUPS_RETENTION_DAYS",
    "AUDIT_RETENTION_DAYS",
    // webhooks
    "WEBHOOK_ALLOW_PRIVATE",
    "WEBHOOK_TIMEOUT_SECONDS",
];

impl Config {
    /// Reads the process environment over `.env` in the working directory (if present).
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut map = HashMap::new();
        if let Ok(iter) = dotenvy::from_path_iter(".env") {
            for (key, value) in iter.flatten() {
                map.insert(key, value);
            }
        }
        map.extend(std::env::vars());
        Config::from_map(map)
    }

    /// Builds and validates a configuration from explicit key/value pairs.
    pub fn from_map(map: HashMap<String, String>) -> Result<Config, ConfigError> {
        Self::parse(&Source::new(map))
    }

    fn parse(src: &Source) -> Result<Config, ConfigError> {
        let app_env = match src.get("APP_ENV").map(str::to_ascii_lowercase).as_deref() {
            None | Some("development" | "dev" | "test") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => return Err(bad("APP_ENV", format!("expected development or production, got {other:?}"))),
        };
        let data_dir = src.path("DATA_DIR", PathBuf::from("data"));
        let config = Config {
            app_env,
            http: HttpConfig::parse(src)?,
            storage: StorageConfig::parse(src, &data_dir)?,
            auth: AuthConfig::parse(src)?,
            billing: StripeConfig::parse(src)?,
            usage: UsageConfig::parse(src, &data_dir)?,
            providers: ProvidersConfig::parse(src)?,
            stock: StockConfig::parse(src, app_env == AppEnv::Production)?,
            scripts: ScriptsConfig::parse(src)?,
            media: MediaConfig::parse(src, &data_dir)?,
            queue: QueueConfig::parse(src)?,
            ops: OpsConfig::parse(src, &data_dir)?,
            webhooks: WebhookConfig::parse(src, app_env == AppEnv::Production)?,
            data_dir,
        };
        config.validate()?;
        Ok(config)
    }

    /// Refuses combinations across sections (the strict production checks).
    fn validate(&self) -> Result<(), ConfigError> {
        if self.app_env == AppEnv::Production {
            if self.auth.jwt_secret.is_none() {
                return Err(bad("JWT_SECRET", "required when APP_ENV=production (at least 32 bytes)"));
            }
            if !self.http.secure_cookies {
                return Err(bad("SECURE_COOKIES", "false is refused when APP_ENV=production"));
            }
        }
        Ok(())
    }

    /// The origin (`scheme://host[:port]`) of `PUBLIC_URL`, for the cookie origin check.
    pub fn public_origin(&self) -> String {
        self.http.public_url.origin().ascii_serialization()
    }

    /// Directory where outgoing mail is written when `SMTP_URL` is unset.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Stripe's settings, or `None` when billing is off.
    pub fn stripe(&self) -> Option<&StripeConfig> {
        self.billing.as_ref()
    }
}

#[cfg(test)]
mod tests;
