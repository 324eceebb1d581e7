//! Metrics, units, plan quotas and the admission arithmetic.

use serde::Serialize;

use crate::billing::Plan;
use crate::config::Config;

/// A metered quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Images made (count).
    ImagesGenerated,
    /// Speech produced (stored in milliseconds, shown in seconds).
    TtsSeconds,
    /// Video rendered (stored in milliseconds, shown in minutes).
    RenderMinutes,
    /// Bytes stored now (shown in MB); not monthly.
    StorageMb,
    /// Scripts written from a topic by the language model (count).
    ScriptsGenerated,
}

/// Every metric, in display order.
pub const METRICS: [Metric; 5] =
    [Metric::ImagesGenerated, Metric::TtsSeconds, Metric::RenderMinutes, Metric::StorageMb, Metric::ScriptsGenerated];

/// The monthly metrics (counted from the ledger), in display order: every
/// metric but storage, which is what is stored now.
pub const MONTHLY_METRICS: [Metric; 4] =
    [Metric::ImagesGenerated, Metric::TtsSeconds, Metric::RenderMinutes, Metric::ScriptsGenerated];

impl Metric {
    /// The name used in the API, the ledger and the JSONL log.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ImagesGenerated => "images_generated",
            Metric::TtsSeconds => "tts_seconds",
            Metric::RenderMinutes => "render_minutes",
            Metric::StorageMb => "storage_mb",
            Metric::ScriptsGenerated => "scripts_generated",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Metric> {
        METRICS.into_iter().find(|m| m.as_str() == name)
    }

    /// Base units (as stored) in one display unit.
    pub fn base_per_unit(self) -> f64 {
        match self {
            Metric::ImagesGenerated | Metric::ScriptsGenerated => 1.0,
            Metric::TtsSeconds => 1000.0,
            Metric::RenderMinutes => 60_000.0,
            Metric::StorageMb => 1_000_000.0,
        }
    }

    /// Base units shown in display units, two decimals.
    pub fn display(self, base: i64) -> f64 {
        (base as f64 / self.base_per_unit() * 100.0).round() / 100.0
    }

    /// The configured base quota in display units.
    fn base_quota(self, config: &Config) -> u64 {
        match self {
            Metric::ImagesGenerated => config.usage.quota_images_count,
            Metric::TtsSeconds => config.usage.quota_tts_seconds,
            Metric::RenderMinutes => config.usage.quota_render_minutes,
            Metric::StorageMb => config.usage.quota_storage_mb,
            Metric::ScriptsGenerated => config.usage.quota_scripts_count,
        }
    }

    /// The plan's quota in base units; `None` is unlimited.
    pub fn quota(self, config: &Config, plan: Plan) -> Option<i64> {
        let multiplier = plan.quota_multiplier()?;
        let units = self.base_quota(config).saturating_mul(multiplier);
        Some((units as f64 * self.base_per_unit()).min(i64::MAX as f64 / 2.0) as i64)
    }
}

/// Amounts per metric in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub images: i64,
    pub tts_ms: i64,
    pub render_ms: i64,
    pub storage_bytes: i64,
    pub scripts: i64,
}

impl Amounts {
    /// The amount of one metric.
    pub fn get(&self, metric: Metric) -> i64 {
        match metric {
            Metric::ImagesGenerated => self.images,
            Metric::TtsSeconds => self.tts_ms,
            Metric::RenderMinutes => self.render_ms,
            Metric::StorageMb => self.storage_bytes,
            Metric::ScriptsGenerated => self.scripts,
        }
    }

    /// Both amounts together (what two pieces of work admitted as one need).
    pub fn plus(&self, other: &Amounts) -> Amounts {
        Amounts {
            images: self.images.saturating_add(other.images),
            tts_ms: self.tts_ms.saturating_add(other.tts_ms),
            render_ms: self.render_ms.saturating_add(other.render_ms),
            storage_bytes: self.storage_bytes.saturating_add(other.storage_bytes),
            scripts: self.scripts.saturating_add(other.scripts),
        }
    }
}

/// Speech speed assumed by estimates (espeak-ng speaks ~165 words a minute).
const WORDS_PER_SECOND: f64 = 2.5;

/// What a project is expected to use: one image per scene, speech from the
/// word count, video from the speech plus each scene's tail and minimum.
pub fn estimate(scenes: &[String]) -> Amounts {
    let texts: Vec<&str> = scenes.iter().map(String::as_str).collect();
    estimate_work(scenes.len(), &texts, Some(&texts))
}

/// What a piece of work is expected to use: `images` pictures made, the
/// narration of `spoken` scene texts, and (when the video is made) the video
/// of the scenes `video` (all of them: the whole video is joined again).
pub fn estimate_work(images: usize, spoken: &[&str], video: Option<&[&str]>) -> Amounts {
    let speech_seconds = |text: &str| crate::projects::script::word_count(text) as f64 / WORDS_PER_SECOND;
    let tts_ms: i64 = spoken.iter().map(|text| (speech_seconds(text) * 1000.0).ceil() as i64).sum();
    let render_ms: i64 = video
        .unwrap_or_default()
        .iter()
        .map(|text| ((speech_seconds(text) + 0.6).max(2.0) * 1000.0).ceil() as i64)
        .sum();
    let made = images.max(spoken.len()) as i64;
    Amounts {
        images: images as i64,
        tts_ms,
        render_ms,
        // ~150 kB per second of video at 1080p plus ~600 kB of images and speech per scene.
        storage_bytes: render_ms * 150 + made * 600_000,
        scripts: 0,
    }
}

/// The metric that would pass its quota, with the figures for the 402 answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceeded {
    pub metric: Metric,
    pub used: i64,
    pub reserved: i64,
    pub quota: i64,
    pub needed: i64,
    /// Set when overages are on and the spending cap is what refuses.
    pub cap: Option<CapReached>,
}

/// The figures of a refusal at the overage cap (dollars).
#[derive(Debug, Clone, PartialEq)]
pub struct CapReached {
    pub cap_usd: f64,
    /// Overage reported this month so far.
    pub spent_usd: f64,
    /// What admitting would have committed: spent, plus the overage of the
    /// reservations held and of the request.
    pub projected_usd: f64,
}

/// The metrics that may go past their quota when overages are on (and are
/// reported to Stripe): storage and scripts never do.
pub const OVERAGE_METRICS: [Metric; 3] = [Metric::ImagesGenerated, Metric::TtsSeconds, Metric::RenderMinutes];

impl Metric {
    /// Whether usage past this metric's quota can be billed as overage.
    pub fn has_overage(self) -> bool {
        OVERAGE_METRICS.contains(&self)
    }

    /// `OVERAGE_UNIT_PRICES`' price of one display unit, in micro-dollars.
    pub fn overage_price_micros(self, config: &Config) -> u64 {
        let prices = &config.usage.overage_prices;
        match self {
            Metric::ImagesGenerated => prices.images_generated,
            Metric::TtsSeconds => prices.tts_seconds,
            Metric::RenderMinutes => prices.render_minutes,
            Metric::StorageMb | Metric::ScriptsGenerated => 0,
        }
    }

    /// What `base` units past the quota cost, in dollars (unrounded).
    pub fn overage_cost_usd(self, config: &Config, base: i64) -> f64 {
        base.max(0) as f64 / self.base_per_unit() * self.overage_price_micros(config) as f64 / 1_000_000.0
    }
}

/// What overages allow a tenant now: present only when they are on and may
/// be used (a paid plan, billing configured, no failed payment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverageAllowance {
    /// The monthly spending cap, in dollars.
    pub cap_usd: f64,
    /// Overage reported this month so far, in dollars.
    pub spent_usd: f64,
}

/// Checks `used + reserved + needed <= quota` for every metric.
pub fn check(
    config: &Config,
    plan: Plan,
    used: &Amounts,
    reserved: &Amounts,
    needed: &Amounts,
) -> Result<(), Exceeded> {
    check_with_overage(config, plan, used, reserved, needed, None).map(|_| ())
}

/// The admission rule, overages included. Without an allowance every quota
/// holds (`check`). With one, the overage metrics may pass their quotas as
/// long as the month's projected overage cost stays within the cap: what was
/// reported so far, plus what the reservations held and `needed` would add
/// past each quota, at `OVERAGE_UNIT_PRICES`. Storage and scripts still stop
/// at their quota. `Ok(true)`: admitted past a quota (billable overage).
pub fn check_with_overage(
    config: &Config,
    plan: Plan,
    used: &Amounts,
    reserved: &Amounts,
    needed: &Amounts,
    overage: Option<&OverageAllowance>,
) -> Result<bool, Exceeded> {
    let mut past_quota: Option<Exceeded> = None;
    let mut added_usd = 0.0;
    for metric in METRICS {
        let Some(quota) = metric.quota(config, plan) else { continue };
        let (u, r, n) = (used.get(metric), reserved.get(metric), needed.get(metric));
        let total = u.saturating_add(r).saturating_add(n);
        if n > 0 && total > quota {
            let exceeded = Exceeded { metric, used: u, reserved: r, quota, needed: n, cap: None };
            if overage.is_none() || !metric.has_overage() {
                return Err(exceeded);
            }
            past_quota.get_or_insert(exceeded);
        }
        if metric.has_overage() {
            // Only what lies past the quota beyond today's usage is new: the
            // usage already past it is in `spent` as far as it was billed.
            let beyond = (total - quota).max(0) - (u - quota).max(0);
            added_usd += metric.overage_cost_usd(config, beyond);
        }
    }
    let (Some(exceeded), Some(overage)) = (past_quota, overage) else { return Ok(false) };
    let projected_usd = overage.spent_usd + added_usd;
    // A thousandth of a cent of slack: float sums of exact cent prices.
    if projected_usd > overage.cap_usd + 1e-5 {
        let cap = CapReached { cap_usd: overage.cap_usd, spent_usd: overage.spent_usd, projected_usd };
        return Err(Exceeded { cap: Some(cap), ..exceeded });
    }
    Ok(true)
}

/// The part of a ledger row of `amount` past `quota`, when the metric's
/// period total is `total_after` with the row: what the row adds to the
/// overage. Summed over a month's rows it is exactly `max(0, total - quota)`.
pub fn overage_part(amount: i64, total_after: i64, quota: i64) -> i64 {
    amount.min((total_after - quota).max(0)).max(0)
}

/// Whether `used` is near its `quota` (90% or more; base units): shown as
/// `near_limit` by `GET /api/usage` and sent once a month as `usage.near_limit`.
pub fn near_limit(used: i64, quota: Option<i64>) -> bool {
    quota.is_some_and(|q| q > 0 && used as f64 >= 0.9 * q as f64)
}

/// The calendar month (UTC) of a millisecond timestamp, as `YYYY-MM`.
pub fn period_of(ms: i64) -> String {
    let time = crate::db::utc(ms).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", time.year(), u8::from(time.month()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config() -> Config {
        Config::from_map(HashMap::new()).expect("defaults")
    }

    #[test]
    fn plans_multiply_the_base_quota() {
        let config = config();
        assert_eq!(Metric::ImagesGenerated.quota(&config, Plan::Free), Some(500));
        assert_eq!(Metric::ImagesGenerated.quota(&config, Plan::Pro), Some(2500));
        assert_eq!(Metric::ImagesGenerated.quota(&config, Plan::Enterprise), None);
        assert_eq!(Metric::TtsSeconds.quota(&config, Plan::Free), Some(60_000_000));
        assert_eq!(Metric::RenderMinutes.quota(&config, Plan::Pro), Some(500 * 5 * 60_000));
        assert_eq!(Metric::RenderMinutes.display(90_000), 1.5);
        assert_eq!(Metric::StorageMb.display(1_234_567), 1.23);
        assert_eq!(Metric::ScriptsGenerated.quota(&config, Plan::Free), Some(50));
        assert_eq!(Metric::ScriptsGenerated.quota(&config, Plan::Pro), Some(250));
        assert_eq!(Metric::ScriptsGenerated.quota(&config, Plan::Enterprise), None);
        assert_eq!(Metric::parse("scripts_generated"), Some(Metric::ScriptsGenerated));
    }

    #[test]
    fn check_names_the_first_metric_over_quota() {
        let config = config();
        let used = Amounts { images: 499, ..Default::default() };
        let needed = Amounts { images: 1, tts_ms: 1000, render_ms: 2000, storage_bytes: 10, scripts: 0 };
        assert!(check(&config, Plan::Free, &used, &Amounts::default(), &needed).is_ok());
        let reserved = Amounts { images: 1, ..Default::default() };
        let err = check(&config, Plan::Free, &used, &reserved, &needed).unwrap_err();
        assert_eq!(err.metric, Metric::ImagesGenerated);
        assert_eq!((err.used, err.reserved, err.quota, err.needed), (499, 1, 500, 1));
        assert!(check(&config, Plan::Enterprise, &used, &reserved, &needed).is_ok());
        // Scripts used up stop scripts, not projects (which need none).
        let used = Amounts { scripts: 50, ..Default::default() };
        assert!(check(&config, Plan::Free, &used, &Amounts::default(), &needed).is_ok());
        let one_script = Amounts { scripts: 1, ..Default::default() };
        let err = check(&config, Plan::Free, &used, &Amounts::default(), &one_script).unwrap_err();
        assert_eq!((err.metric, err.quota, err.needed), (Metric::ScriptsGenerated, 50, 1));
    }

    #[test]
    fn overages_admit_past_the_quota_up_to_the_cap() {
        let config = config();
        // Pro: 2500 images; 2490 used and 5 reserved.
        let used = Amounts { images: 2490, ..Default::default() };
        let reserved = Amounts { images: 5, ..Default::default() };
        let ten = Amounts { images: 10, ..Default::default() };
        assert!(check(&config, Plan::Pro, &used, &reserved, &ten).is_err(), "off: the quota holds");
        // 5 images past the quota at $0.04 = $0.20.
        let allowance = OverageAllowance { cap_usd: 0.20, spent_usd: 0.0 };
        assert_eq!(check_with_overage(&config, Plan::Pro, &used, &reserved, &ten, Some(&allowance)), Ok(true));
        let eleven = Amounts { images: 11, ..Default::default() };
        let err = check_with_overage(&config, Plan::Pro, &used, &reserved, &eleven, Some(&allowance)).unwrap_err();
        let cap = err.cap.expect("the cap refuses");
        assert_eq!(err.metric, Metric::ImagesGenerated);
        assert!((cap.projected_usd - 0.24).abs() < 1e-9 && cap.cap_usd == 0.20, "{cap:?}");
        // What was reported already counts toward the cap.
        let spent = OverageAllowance { cap_usd: 0.20, spent_usd: 0.01 };
        assert!(check_with_overage(&config, Plan::Pro, &used, &reserved, &ten, Some(&spent)).is_err());
        // Within the quota nothing is overage, whatever the cap.
        let one = Amounts { images: 1, ..Default::default() };
        let none = OverageAllowance { cap_usd: 0.0, spent_usd: 0.0 };
        assert_eq!(check_with_overage(&config, Plan::Pro, &used, &reserved, &one, Some(&none)), Ok(false));
        // Storage never goes past its quota.
        let full = Amounts { storage_bytes: 500_000 * 1_000_000, ..Default::default() };
        let bytes = Amounts { storage_bytes: 1, ..Default::default() };
        let err = check_with_overage(&config, Plan::Pro, &full, &reserved, &bytes, Some(&allowance)).unwrap_err();
        assert_eq!((err.metric, err.cap), (Metric::StorageMb, None));
        // Seconds and minutes are priced per display unit from milliseconds.
        assert!((Metric::TtsSeconds.overage_cost_usd(&config, 1500) - 0.003).abs() < 1e-12);
        assert!((Metric::RenderMinutes.overage_cost_usd(&config, 90_000) - 0.15).abs() < 1e-12);
    }

    #[test]
    fn overage_parts_add_up_to_the_overage_exactly() {
        let quota = 10_000;
        let mut total = 0;
        let mut parts = 0;
        for amount in [3_333, 4_444, 1_111, 2_222, 5_555, 7] {
            total += amount;
            parts += overage_part(amount, total, quota);
        }
        assert_eq!(parts, total - quota);
        assert_eq!(overage_part(5, 8, 10), 0);
        assert_eq!(overage_part(5, 12, 10), 2);
        assert_eq!(overage_part(5, 30, 10), 5);
    }

    #[test]
    fn estimates_and_periods() {
        let estimate = estimate(&["one two three four five".to_string(), "six".to_string()]);
        assert_eq!(estimate.images, 2);
        assert_eq!(estimate.tts_ms, 2000 + 400);
        assert_eq!(estimate.render_ms, 2600 + 2000);
        assert_eq!(period_of(0), "1970-01");
        // 2026-11-30T23:59:59.999Z and one millisecond later.
        assert_eq!(period_of(1_796_083_199_999), "2026-11");
        assert_eq!(period_of(1_796_083_200_000), "2026-12");
    }
}
