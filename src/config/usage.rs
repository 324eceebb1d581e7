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
    /// `OVERAGE_UNIT_PRICES`: what a unit past the quota costs, for display
    /// and the spending cap (Stripe's prices are what is invoiced).
    pub overage_prices: OverageUnitPrices,
    /// `SEATS_FREE` (1): members a Free tenant may have, pending invitations included.
    pub seats_free: u64,
    /// `SEATS_PRO` (5): members a Pro tenant may have. Enterprise has no limit.
    pub seats_pro: u64,
}

/// Micro-dollars per display unit (an image, a second of speech, a minute of video).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverageUnitPrices {
    pub images_generated: u64,
    pub tts_seconds: u64,
    pub render_minutes: u64,
}

impl Default for OverageUnitPrices {
    /// `images_generated=0.04,tts_seconds=0.002,render_minutes=0.10`.
    fn default() -> Self {
        OverageUnitPrices { images_generated: 40_000, tts_seconds: 2_000, render_minutes: 100_000 }
    }
}

impl OverageUnitPrices {
    /// Reads `metric=usd,metric=usd` (metrics left out keep their default).
    fn parse(raw: &str) -> Result<OverageUnitPrices, String> {
        let mut prices = OverageUnitPrices::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (metric, usd) = part.split_once('=').ok_or_else(|| format!("expected metric=usd, got {part:?}"))?;
            let usd: f64 = usd.trim().parse().map_err(|_| format!("expected a price in dollars, got {usd:?}"))?;
            if !usd.is_finite() || !(0.0..=1000.0).contains(&usd) {
                return Err(format!("the price of {} must be between 0 and 1000 dollars", metric.trim()));
            }
            let micros = (usd * 1_000_000.0).round() as u64;
            match metric.trim() {
                "images_generated" => prices.images_generated = micros,
                "tts_seconds" => prices.tts_seconds = micros,
                "render_minutes" => prices.render_minutes = micros,
                other => {
                    return Err(format!(
                        "unknown metric {other:?} (expected images_generated, tts_seconds or render_minutes)"
                    ));
                }
            }
        }
        Ok(prices)
    }
}

impl UsageConfig {
    /// How many members (pending invitations included) a tenant on `plan` may
    /// have; `None` is unlimited (Enterprise).
    pub fn seats(&self, plan: Plan) -> Option<u64> {
        match plan {
            Plan::Free => Some(self.seats_free),
            Plan::Pro => Some(self.seats_pro),
            Plan::Enterprise => None,
        }
    }

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
            overage_prices: match src.get("OVERAGE_UNIT_PRICES") {
                None => OverageUnitPrices::default(),
                Some(raw) => OverageUnitPrices::parse(raw).map_err(|e| bad("OVERAGE_UNIT_PRICES", e))?,
            },
            seats_free: src.positive("SEATS_FREE", 1)?,
            seats_pro: src.positive("SEATS_PRO", 5)?,
        })
    }
}
