//! Signing in: the token key and lifetimes, sign-in mail, sign-in limits.

use url::Url;

use super::source::{ConfigError, Secret, Source, bad};

/// Tokens, magic-link mail and the rate limits of anonymous requests.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `JWT_SECRET` as given. `None` only in development: start-up then keeps a
    /// generated key in `$DATA_DIR/secret.key` (`crate::secrets::jwt_secret`).
    pub jwt_secret: Option<Secret>,
    pub jwt_expire_hours: u64,
    pub magic_link_ttl_minutes: u64,
    /// `INVITE_TTL_HOURS` (72): how long a team invitation's link works.
    pub invite_ttl_hours: u64,
    pub magic_link_from: String,
    /// Unset: mail is written to `$DATA_DIR/outbox` (`Config::outbox_dir`).
    pub smtp_url: Option<Secret>,
    /// Magic-link requests per address in 15 minutes (0 = unlimited).
    pub rate_limit_email_per_15m: u32,
    /// Magic-link requests per client IP in 15 minutes (0 = unlimited).
    pub rate_limit_ip_per_15m: u32,
    /// Failed magic-link verifies per client IP in 15 minutes before 429 (0 = unlimited).
    pub rate_limit_verify_failures_per_15m: u32,
    /// Stripe webhooks with a bad signature per client IP in 15 minutes before 429 (0 = unlimited).
    pub rate_limit_webhook_failures_per_15m: u32,
    /// Shares the sign-in and API-key limits across API processes when set.
    pub redis_url: Option<Secret>,
    /// Requests each API key may make in any sliding minute before 429 (0 = unlimited).
    pub api_key_rate_limit_per_minute: u32,
}

impl AuthConfig {
    pub(super) fn parse(src: &Source) -> Result<AuthConfig, ConfigError> {
        let jwt_secret = src.secret("JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|secret| secret.expose().len() < 32) {
            return Err(bad("JWT_SECRET", "must be at least 32 bytes"));
        }
        let smtp_url = src.secret("SMTP_URL");
        if let Some(url) = &smtp_url {
            // The parse error would echo the URL, password and all; say only what is wrong.
            let parsed = Url::parse(url.expose()).map_err(|_| bad("SMTP_URL", "not a URL"))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(bad("SMTP_URL", "expected smtp:// or smtps://"));
            }
        }
        Ok(AuthConfig {
            jwt_secret,
            jwt_expire_hours: src.positive("JWT_EXPIRE_HOURS", 24)?,
            magic_link_ttl_minutes: src.positive("MAGIC_LINK_TTL_MINUTES", 15)?,
            invite_ttl_hours: src.positive("INVITE_TTL_HOURS", 72)?,
            magic_link_from: src.string("MAGIC_LINK_FROM", "Reelforge <no-reply@localhost>"),
            smtp_url,
            rate_limit_email_per_15m: src.parsed("RATE_LIMIT_EMAIL_PER_15M", 5, "a whole number")?,
            rate_limit_ip_per_15m: src.parsed("RATE_LIMIT_IP_PER_15M", 20, "a whole number")?,
            rate_limit_verify_failures_per_15m: src.parsed(
                "RATE_LIMIT_VERIFY_FAILURES_PER_15M",
                20,
                "a whole number",
            )?,
            rate_limit_webhook_failures_per_15m: src.parsed(
                "RATE_LIMIT_WEBHOOK_FAILURES_PER_15M",
                30,
                "a whole number",
            )?,
            redis_url: src.secret("REDIS_URL"),
            api_key_rate_limit_per_minute: src.parsed("API_KEY_RATE_LIMIT_PER_MINUTE", 600, "a whole number")?,
        })
    }
}
