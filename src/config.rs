//! The one typed configuration, read from the environment and an optional `.env`.
//!
//! Every key of SPEC section 2 lives here, including those later subsystems use,
//! so a typo in any of them stops start-up with one line naming the key.
//! Reading configuration never writes a file: the development JWT key is kept
//! by start-up code (`crate::secrets`).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ipnet::IpNet;
use url::Url;

use crate::billing::Plan;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A start-up error: one line naming the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {problem}")]
pub struct ConfigError {
    /// The environment key at fault.
    pub key: &'static str,
    /// What is wrong, in words an operator can act on.
    pub problem: String,
}

fn bad(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { key, problem: problem.into() }
}

/// Deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local use: generated secret, readable logs, links logged.
    Development,
    /// Strict checks and JSON logs.
    Production,
}

/// Which database the service runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (kept secret: it may hold a password).
    Postgres(Secret),
}

/// The whole configuration. Built once at start and shared read-only.
#[derive(Debug, Clone)]
pub struct Config {
    pub public_url: Url,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub storage_url: String,
    pub app_env: AppEnv,
    /// `JWT_SECRET` as given. `None` only in development: start-up then keeps a
    /// generated key in `$DATA_DIR/secret.key` (`crate::secrets::jwt_secret`).
    pub jwt_secret: Option<Secret>,
    pub jwt_expire_hours: u64,
    pub magic_link_ttl_minutes: u64,
    pub magic_link_from: String,
    pub smtp_url: Option<Secret>,
    pub secure_cookies: bool,
    pub rate_limit_email_per_15m: u32,
    pub rate_limit_ip_per_15m: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub stripe_api_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    pub stripe_price_pro: Option<String>,
    pub stripe_price_enterprise: Option<String>,
    pub stripe_api_base: Url,
    pub quota_images_count: u64,
    pub quota_tts_seconds: u64,
    pub quota_render_minutes: u64,
    pub quota_storage_mb: u64,
    pub usage_log_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub backups_cron: String,
    pub backups_retention_days: u32,
    pub tenant_default_plan: Plan,
    pub image_provider: String,
    pub tts_provider: String,
    pub image_api_base: Option<Url>,
    pub image_api_key: Option<Secret>,
    pub image_model: Option<String>,
    pub tts_api_base: Option<Url>,
    pub tts_api_key: Option<Secret>,
    pub tts_model: Option<String>,
    pub piper_voice: Option<String>,
    pub redis_url: Option<Secret>,
    pub queue_max_pending: u64,
    pub worker_concurrency: usize,
    /// How long a claimed step stays leased without a heartbeat (heartbeats every third of it).
    pub worker_lease_seconds: u64,
    pub image_timeout_seconds: u64,
    pub tts_timeout_seconds: u64,
    pub render_timeout_seconds: u64,
    pub sentry_dsn: Option<Secret>,
    pub metrics_token: Option<Secret>,
    /// The standard `AWS_*` variables (lower-cased names), for `s3://` storage.
    pub storage_options: Vec<(String, Secret)>,
    /// Programs the media steps run (names on PATH or absolute paths).
    pub ffmpeg_path: String,
    pub ffprobe_path: String,
    pub espeak_path: String,
    pub piper_path: String,
    /// Where `reelforge worker` serves `/healthz`, `/readyz` and `/metrics` (unset: nowhere).
    pub metrics_bind: Option<SocketAddr>,
    /// The built web app (`web/dist`), served with an `index.html` fallback.
    pub web_dist_dir: PathBuf,
}

/// Every configuration key (SPEC section 2); `.env.example` documents each.
pub const KEYS: &[&str] = &[
    "PUBLIC_URL",
    "BIND",
    "DATA_DIR",
    "DATABASE_URL",
    "STORAGE_URL",
    "APP_ENV",
    "JWT_SECRET",
    "JWT_EXPIRE_HOURS",
    "MAGIC_LINK_TTL_MINUTES",
    "MAGIC_LINK_FROM",
    "SMTP_URL",
    "SECURE_COOKIES",
    "RATE_LIMIT_EMAIL_PER_15M",
    "RATE_LIMIT_IP_PER_15M",
    "TRUSTED_PROXIES",
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PRICE_PRO",
    "STRIPE_PRICE_ENTERPRISE",
    "STRIPE_API_BASE",
    "QUOTA_IMAGES_COUNT",
    "QUOTA_TTS_SECONDS",
    "QUOTA_RENDER_MINUTES",
    "QUOTA_STORAGE_MB",
    "USAGE_LOG_DIR",
    "BACKUP_DIR",
    "BACKUPS_CRON",
    "BACKUPS_RETENTION_DAYS",
    "TENANT_DEFAULT_PLAN",
    "IMAGE_PROVIDER",
    "TTS_PROVIDER",
    "IMAGE_API_BASE",
    "IMAGE_API_KEY",
    "IMAGE_MODEL",
    "TTS_API_BASE",
    "TTS_API_KEY",
    "TTS_MODEL",
    "PIPER_VOICE",
    "REDIS_URL",
    "QUEUE_MAX_PENDING",
    "WORKER_CONCURRENCY",
    "IMAGE_TIMEOUT_SECONDS",
    "TTS_TIMEOUT_SECONDS",
    "RENDER_TIMEOUT_SECONDS",
    "SENTRY_DSN",
    "METRICS_TOKEN",
    "FFMPEG_PATH",
    "FFPROBE_PATH",
    "ESPEAK_PATH",
    "PIPER_PATH",
    "WORKER_LEASE_SECONDS",
    "WEB_DIST_DIR",
    "METRICS_BIND",
];

/// Raw key/value source: the process environment over an optional `.env`.
struct Source {
    values: HashMap<String, String>,
    /// Keys the parser asked for (checked against `KEYS` in tests).
    asked: std::cell::RefCell<std::collections::BTreeSet<&'static str>>,
}

impl Source {
    fn get(&self, key: &'static str) -> Option<&str> {
        self.asked.borrow_mut().insert(key);
        self.values.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn string(&self, key: &'static str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    fn parsed<T: FromStr>(&self, key: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| bad(key, format!("expected {what}, got {raw:?}"))),
        }
    }

    fn positive(&self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        let value: u64 = self.parsed(key, default, "a whole number")?;
        if value == 0 {
            return Err(bad(key, "must be at least 1"));
        }
        Ok(value)
    }

    fn boolean(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(bad(key, format!("expected true or false, got {other:?}"))),
        }
    }

    fn secret(&self, key: &'static str) -> Option<Secret> {
        self.get(key).map(Secret::new)
    }

    fn url(&self, key: &'static str) -> Result<Option<Url>, ConfigError> {
        self.get(key).map(|raw| Url::parse(raw).map_err(|e| bad(key, format!("not a URL ({e})")))).transpose()
    }

    fn path(&self, key: &'static str, default: PathBuf) -> PathBuf {
        self.get(key).map(PathBuf::from).unwrap_or(default)
    }
}

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
        Self::parse(&Source { values: map, asked: Default::default() })
    }

    fn parse(src: &Source) -> Result<Config, ConfigError> {
        let app_env = match src.get("APP_ENV").map(str::to_ascii_lowercase).as_deref() {
            None | Some("development" | "dev" | "test") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => return Err(bad("APP_ENV", format!("expected development or production, got {other:?}"))),
        };

        let data_dir = src.path("DATA_DIR", PathBuf::from("data"));
        let public_url = match src.url("PUBLIC_URL")? {
            Some(url) => url,
            None => Url::parse("http://localhost:8080").map_err(|e| bad("PUBLIC_URL", e.to_string()))?,
        };
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host_str().is_none() {
            return Err(bad("PUBLIC_URL", "must be an http:// or https:// URL with a host"));
        }
        let bind = src.parsed("BIND", SocketAddr::from(([127, 0, 0, 1], 8080)), "an address like 127.0.0.1:8080")?;
        let database_url = parse_database_url(src.get("DATABASE_URL"), &data_dir)?;
        let storage_url = src.string("STORAGE_URL", &format!("file://{}", absolute(&data_dir.join("media")).display()));
        if !["file://", "s3://", "memory://"].iter().any(|p| storage_url.starts_with(p)) {
            return Err(bad("STORAGE_URL", "expected file://, s3:// or memory://"));
        }

        let jwt_secret = src.secret("JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|secret| secret.expose().len() < 32) {
            return Err(bad("JWT_SECRET", "must be at least 32 bytes"));
        }
        let secure_cookies = src.boolean("SECURE_COOKIES", true)?;
        if app_env == AppEnv::Production {
            if jwt_secret.is_none() {
                return Err(bad("JWT_SECRET", "required when APP_ENV=production (at least 32 bytes)"));
            }
            if !secure_cookies {
                return Err(bad("SECURE_COOKIES", "false is refused when APP_ENV=production"));
            }
        }

        let smtp_url = src.secret("SMTP_URL");
        if let Some(url) = &smtp_url {
            let parsed = Url::parse(url.expose()).map_err(|_| bad("SMTP_URL", "not a URL"))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(bad("SMTP_URL", "expected smtp:// or smtps://"));
            }
        }

        let trusted_proxies = match src.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_cidr)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("TRUSTED_PROXIES", e))?,
        };

        let stripe_api_base = match src.url("STRIPE_API_BASE")? {
            Some(url) => url,
            None => Url::parse("https://api.stripe.com").map_err(|e| bad("STRIPE_API_BASE", e.to_string()))?,
        };

        let tenant_default_plan = match src.get("TENANT_DEFAULT_PLAN") {
            None => Plan::Free,
            Some(raw) => raw.parse().map_err(|e: String| bad("TENANT_DEFAULT_PLAN", e))?,
        };

        let image_provider = src.string("IMAGE_PROVIDER", "procedural").to_ascii_lowercase();
        if !matches!(image_provider.as_str(), "procedural" | "openai") {
            return Err(bad("IMAGE_PROVIDER", "expected procedural or openai"));
        }
        let tts_provider = src.string("TTS_PROVIDER", "espeak").to_ascii_lowercase();
        if !matches!(tts_provider.as_str(), "espeak" | "piper" | "openai") {
            return Err(bad("TTS_PROVIDER", "expected espeak, piper or openai"));
        }

        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let backups_cron = src.string("BACKUPS_CRON", "0 3 * * *");
        if let Err(problem) = crate::account::cron::Schedule::parse(&backups_cron) {
            return Err(bad("BACKUPS_CRON", format!("{problem} (expected five cron fields, like \"0 3 * * *\")")));
        }

        let config = Config {
            usage_log_dir: src.path("USAGE_LOG_DIR", data_dir.join("usage")),
            backup_dir: src.path("BACKUP_DIR", data_dir.join("backups")),
            public_url,
            bind,
            database_url,
            storage_url,
            app_env,
            jwt_secret,
            jwt_expire_hours: src.positive("JWT_EXPIRE_HOURS", 24)?,
            magic_link_ttl_minutes: src.positive("MAGIC_LINK_TTL_MINUTES", 15)?,
            magic_link_from: src.string("MAGIC_LINK_FROM", "Reelforge <no-reply@localhost>"),
            smtp_url,
            secure_cookies,
            rate_limit_email_per_15m: src.parsed("RATE_LIMIT_EMAIL_PER_15M", 5, "a whole number")?,
            rate_limit_ip_per_15m: src.parsed("RATE_LIMIT_IP_PER_15M", 20, "a whole number")?,
            trusted_proxies,
            stripe_api_key: src.secret("STRIPE_API_KEY"),
            stripe_webhook_secret: src.secret("STRIPE_WEBHOOK_SECRET"),
            stripe_price_pro: src.get("STRIPE_PRICE_PRO").map(String::from),
            stripe_price_enterprise: src.get("STRIPE_PRICE_ENTERPRISE").map(String::from),
            stripe_api_base,
            quota_images_count: src.parsed("QUOTA_IMAGES_COUNT", 500, "a whole number")?,
            quota_tts_seconds: src.parsed("QUOTA_TTS_SECONDS", 60_000, "a whole number")?,
            quota_render_minutes: src.parsed("QUOTA_RENDER_MINUTES", 500, "a whole number")?,
            quota_storage_mb: src.parsed("QUOTA_STORAGE_MB", 100_000, "a whole number")?,
            backups_cron,
            backups_retention_days: src.parsed("BACKUPS_RETENTION_DAYS", 14, "a whole number of days")?,
            tenant_default_plan,
            image_provider,
            tts_provider,
            image_api_base: src.url("IMAGE_API_BASE")?,
            image_api_key: src.secret("IMAGE_API_KEY"),
            image_model: src.get("IMAGE_MODEL").map(String::from),
            tts_api_base: src.url("TTS_API_BASE")?,
            tts_api_key: src.secret("TTS_API_KEY"),
            tts_model: src.get("TTS_MODEL").map(String::from),
            piper_voice: src.get("PIPER_VOICE").map(String::from),
            redis_url: src.secret("REDIS_URL"),
            queue_max_pending: src.positive("QUEUE_MAX_PENDING", 1000)?,
            worker_concurrency: src.parsed("WORKER_CONCURRENCY", cores, "a whole number")?,
            worker_lease_seconds: src.positive("WORKER_LEASE_SECONDS", 30)?,
            image_timeout_seconds: src.positive("IMAGE_TIMEOUT_SECONDS", 60)?,
            tts_timeout_seconds: src.positive("TTS_TIMEOUT_SECONDS", 60)?,
            render_timeout_seconds: src.positive("RENDER_TIMEOUT_SECONDS", 600)?,
            sentry_dsn: match src.secret("SENTRY_DSN") {
                Some(dsn) if dsn.expose().parse::<sentry::types::Dsn>().is_err() => {
                    return Err(bad("SENTRY_DSN", "not a Sentry DSN (https://PUBLIC_KEY@HOST/PROJECT_ID)"));
                }
                dsn => dsn,
            },
            metrics_token: src.secret("METRICS_TOKEN"),
            storage_options: src
                .values
                .iter()
                .filter(|(key, value)| key.starts_with("AWS_") && !value.trim().is_empty())
                .map(|(key, value)| (key.to_ascii_lowercase(), Secret::new(value.trim())))
                .collect(),
            ffmpeg_path: src.string("FFMPEG_PATH", "ffmpeg"),
            ffprobe_path: src.string("FFPROBE_PATH", "ffprobe"),
            espeak_path: src.string("ESPEAK_PATH", "espeak-ng"),
            piper_path: src.string("PIPER_PATH", "piper"),
            web_dist_dir: PathBuf::from(src.string("WEB_DIST_DIR", "web/dist")),
            metrics_bind: match src.get("METRICS_BIND") {
                Some(value) => {
                    Some(value.parse().map_err(|_| bad("METRICS_BIND", "expected host:port, e.g. 127.0.0.1:9464"))?)
                }
                None => None,
            },
            data_dir,
        };
        Ok(config)
    }

    /// The origin (`scheme://host[:port]`) of `PUBLIC_URL`, for the cookie origin check.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// Directory where outgoing mail is written when `SMTP_URL` is unset.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    }
}

fn parse_database_url(raw: Option<&str>, data_dir: &Path) -> Result<DatabaseUrl, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DatabaseUrl::Sqlite(data_dir.join("reelforge.db")));
    };
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        Url::parse(raw).map_err(|_| bad("DATABASE_URL", "not a valid postgres:// URL"))?;
        return Ok(DatabaseUrl::Postgres(Secret::new(raw)));
    }
    if let Some(rest) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(bad("DATABASE_URL", "sqlite:// needs a file path"));
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    Err(bad("DATABASE_URL", "expected sqlite://PATH or postgres://..."))
}

fn parse_cidr(raw: &str) -> Result<IpNet, String> {
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(net);
    }
    raw.parse::<std::net::IpAddr>().map(IpNet::from).map_err(|_| format!("{raw:?} is not a CIDR or IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_derive_from_data_dir() {
        let config = Config::from_map(map(&[("DATA_DIR", "/srv/rf")])).expect("valid");
        assert_eq!(config.database_url, DatabaseUrl::Sqlite(PathBuf::from("/srv/rf/reelforge.db")));
        assert_eq!(config.storage_url, "file:///srv/rf/media");
        assert_eq!(config.usage_log_dir, PathBuf::from("/srv/rf/usage"));
        assert_eq!(config.backup_dir, PathBuf::from("/srv/rf/backups"));
        assert_eq!(config.outbox_dir(), PathBuf::from("/srv/rf/outbox"));
        assert_eq!(config.rate_limit_email_per_15m, 5);
        assert_eq!(config.rate_limit_ip_per_15m, 20);
        assert_eq!(config.jwt_expire_hours, 24);
        assert_eq!(config.tenant_default_plan, Plan::Free);
        assert_eq!(config.public_origin(), "http://localhost:8080");
        assert!(config.secure_cookies);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Config::from_map(map(&[("RATE_LIMIT_IP_PER_15M", "lots")])).unwrap_err();
        assert_eq!(err.key, "RATE_LIMIT_IP_PER_15M");
        assert!(err.to_string().contains("RATE_LIMIT_IP_PER_15M"));
        let err = Config::from_map(map(&[("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")])).unwrap_err();
        assert_eq!(err.key, "TRUSTED_PROXIES");
        let err = Config::from_map(map(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(err.key, "DATABASE_URL");
        let err = Config::from_map(map(&[("TENANT_DEFAULT_PLAN", "gold")])).unwrap_err();
        assert_eq!(err.key, "TENANT_DEFAULT_PLAN");
    }

    #[test]
    fn production_requires_a_long_secret_and_secure_cookies() {
        let err = Config::from_map(map(&[("APP_ENV", "production")])).unwrap_err();
        assert_eq!(err.key, "JWT_SECRET");
        let err = Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", "short")])).unwrap_err();
        assert_eq!(err.key, "JWT_SECRET");
        let long = "x".repeat(32);
        let err =
            Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", &long), ("SECURE_COOKIES", "false")]))
                .unwrap_err();
        assert_eq!(err.key, "SECURE_COOKIES");
        let ok = Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", &long)])).expect("valid");
        assert_eq!(ok.app_env, AppEnv::Production);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let long = "s3cr3t-value-that-must-not-leak-anywhere";
        let config = Config::from_map(map(&[
            ("JWT_SECRET", long),
            ("STRIPE_API_KEY", "sk_test_leak"),
            ("SMTP_URL", "smtp://user:hunter2@mail:587"),
            ("DATABASE_URL", "postgres://u:pw@db/x"),
        ]))
        .expect("valid");
        let printed = format!("{config:?}");
        for leaked in [long, "sk_test_leak", "hunter2", "u:pw"] {
            assert!(!printed.contains(leaked), "{leaked} leaked");
        }
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn every_key_is_read_and_documented() {
        let src = Source { values: HashMap::new(), asked: Default::default() };
        Config::parse(&src).expect("defaults are valid");
        let asked: Vec<&str> = src.asked.borrow().iter().copied().collect();
        let mut keys: Vec<&str> = KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(asked, keys, "KEYS lists exactly the keys the parser reads");

        let example = include_str!("../.env.example");
        let mut values = HashMap::new();
        for key in KEYS {
            let documented = example.lines().any(|line| {
                let line = line.trim_start_matches('#').trim();
                line.strip_prefix(key).is_some_and(|rest| rest.starts_with('='))
            });
            assert!(documented, ".env.example does not document {key}");
        }
        for line in example.lines().filter(|l| !l.starts_with('#') && l.contains('=')) {
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.to_string(), value.to_string());
            }
        }
        Config::from_map(values).expect(".env.example's values are valid");
    }

    #[test]
    fn trusted_proxies_accept_cidrs_and_addresses() {
        let config = Config::from_map(map(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")])).expect("valid");
        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(config.trusted_proxies[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().expect("ip")));
    }

    #[test]
    fn loading_config_writes_no_file() {
        let dir = tempfile::tempdir().expect("dir");
        let data_dir = dir.path().join("data");
        let config =
            Config::from_map(map(&[("DATA_DIR", &data_dir.display().to_string())])).expect("development defaults");
        assert!(config.jwt_secret.is_none(), "no secret is made up while reading");
        assert!(!data_dir.exists(), "reading the configuration created {}", data_dir.display());
    }
}
