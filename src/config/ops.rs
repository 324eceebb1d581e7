//! Operations: error reporting, metrics, backups.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::source::{ConfigError, Secret, Source, bad};

/// Sentry, metrics and backups.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    pub sentry_dsn: Option<Secret>,
    /// When set, `/metrics` needs `Authorization: Bearer` it.
    pub metrics_token: Option<Secret>,
    /// Where `reelforge worker` serves `/healthz`, `/readyz` and `/metrics` (unset: nowhere).
    pub metrics_bind: Option<SocketAddr>,
    pub backup_dir: PathBuf,
    /// Five cron fields, checked at start (`account::cron::Schedule`).
    pub backups_cron: String,
    pub backups_retention_days: u32,
    /// Audit rows of no tenant (failed sign-ins, refused webhooks) are deleted after this many days.
    pub audit_retention_days: u32,
}

impl OpsConfig {
    pub(super) fn parse(src: &Source, data_dir: &Path) -> Result<OpsConfig, ConfigError> {
        let sentry_dsn = src.secret("SENTRY_DSN");
        if sentry_dsn.as_ref().is_some_and(|dsn| dsn.expose().parse::<sentry::types::Dsn>().is_err()) {
            return Err(bad("SENTRY_DSN", "not a Sentry DSN (https://PUBLIC_KEY@HOST/PROJECT_ID)"));
        }
        let metrics_bind = match src.get("METRICS_BIND") {
            Some(value) => {
                Some(value.parse().map_err(|_| bad("METRICS_BIND", "expected host:port, e.g. 127.0.0.1:9464"))?)
            }
            None => None,
        };
        let backups_cron = src.string("BACKUPS_CRON", "0 3 * * *");
        if let Err(problem) = crate::account::cron::Schedule::parse(&backups_cron) {
            return Err(bad("BACKUPS_CRON", format!("{problem} (expected five cron fields, like \"0 3 * * *\")")));
        }
        Ok(OpsConfig {
            sentry_dsn,
            metrics_token: src.secret("METRICS_TOKEN"),
            metrics_bind,
            backup_dir: src.path("BACKUP_DIR", data_dir.join("backups")),
            backups_cron,
            backups_retention_days: src.parsed("BACKUPS_RETENTION_DAYS", 14, "a whole number of days")?,
            audit_retention_days: u32::try_from(src.positive("AUDIT_RETENTION_DAYS", 90)?)
                .map_err(|_| bad("AUDIT_RETENTION_DAYS", "too large"))?,
        })
    }
}
