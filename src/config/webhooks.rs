//! Outgoing webhooks (SPEC 4.8): where they may go and how long a receiver
//! may take.

use std::time::Duration;

use super::source::{ConfigError, Source};

/// Delivery rules for the tenants' webhook endpoints.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_ALLOW_PRIVATE`: also deliver to loopback, private, link-local
    /// and metadata addresses (tests, private networks). Off by default.
    pub allow_private: bool,
    /// `WEBHOOK_TIMEOUT_SECONDS` (10): the whole attempt, connect to the last
    /// byte of the answer's head; slower counts as a failed attempt.
    pub timeout: Duration,
    /// `https` only (true when `APP_ENV=production`).
    pub https_only: bool,
}

impl WebhookConfig {
    pub(super) fn parse(src: &Source, production: bool) -> Result<WebhookConfig, ConfigError> {
        Ok(WebhookConfig {
            allow_private: src.boolean("WEBHOOK_ALLOW_PRIVATE", false)?,
            timeout: Duration::from_secs(src.positive("WEBHOOK_TIMEOUT_SECONDS", 10)?),
            https_only: production,
        })
    }
}
