//! Usage: the monthly base quotas, the plan of a new tenant, the usage log.

use std::path::{Path, PathBuf};

use super::source::{ConfigError, Source, bad};
use crate::billing::Plan;

/// Base quotas (display units; each plan multiplies them, see `Plan::quota_multiplier`).
#[derive(Debug, Clone)]
pub struct UsageConfig {
    pub quota_images_count: u64,
    pub quota_tts_seconds: u64,
    pub quota_render_minutes: u64,
    pub quota_storage_mb: u64,
    /// `QUOTA_SCRIPTS_COUNT` (50): scripts written by the language model a month.
    pub quota_scripts_count: u64,
    pub tenant_default_plan: Plan,
    /// Append-only JSONL usage log, one file per tenant per month.
    pub usage_log_dir: PathBuf,
}

impl UsageConfig {
    pub(super) fn parse(src: &Source, data_dir: &Path) -> Result<UsageConfig, ConfigError> {
        let tenant_default_plan = match src.get("TENANT_DEFAULT_PLAN") {
            None => Plan::Free,
            Some(raw) => raw.parse().map_err(|e: String| bad("TENANT_DEFAULT_PLAN", e))?,
        };
        Ok(UsageConfig {
            quota_images_count: src.parsed("QUOTA_IMAGES_COUNT", 500, "a whole number")?,
            quota_tts_seconds: src.parsed("QUOTA_TTS_SECONDS", 60_000, "a whole number")?,
            quota_render_minutes: src.parsed("QUOTA_RENDER_MINUTES", 500, "a whole number")?,
            quota_storage_mb: src.parsed("QUOTA_STORAGE_MB", 100_000, "a whole number")?,
            quota_scripts_count: src.parsed("QUOTA_SCRIPTS_COUNT", 50, "a whole number")?,
            tenant_default_plan,
            usage_log_dir: src.path("USAGE_LOG_DIR", data_dir.join("usage")),
        })
    }
}
