//! Stripe: present as a whole or not at all.

use url::Url;

use super::source::{ConfigError, Secret, Source, bad};

/// Stripe settings. Billing is on exactly when `STRIPE_API_KEY` is set, so
/// holding a `StripeConfig` means the client can be built.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_key: Secret,
    /// Without it the webhook answers 503 (nothing unverified is ever applied).
    pub webhook_secret: Option<Secret>,
    /// Without a price, checkout for that plan answers 503.
    pub price_pro: Option<String>,
    pub price_enterprise: Option<String>,
    /// `STRIPE_API_BASE`: the API host (tests point it at a local stand-in).
    pub api_base: Url,
    /// The metered overage prices Checkout adds to a subscription
    /// (`STRIPE_PRICE_OVERAGE_*`); unset ones are left out.
    pub overage_prices: OveragePrices,
    /// Billing Meter event names (`STRIPE_METER_*`).
    pub meters: MeterNames,
}

/// `STRIPE_PRICE_OVERAGE_IMAGES`, `..._TTS_SECONDS`, `..._RENDER_MINUTES`.
#[derive(Debug, Clone, Default)]
pub struct OveragePrices {
    pub images: Option<String>,
    pub tts_seconds: Option<String>,
    pub render_minutes: Option<String>,
}

impl OveragePrices {
    /// The configured prices, in metric order.
    pub fn all(&self) -> Vec<&str> {
        [&self.images, &self.tts_seconds, &self.render_minutes].into_iter().flatten().map(String::as_str).collect()
    }
}

/// The `event_name` of each overage meter.
#[derive(Debug, Clone)]
pub struct MeterNames {
    /// `STRIPE_METER_IMAGES` (`reelforge_images`): images, a count.
    pub images: String,
    /// `STRIPE_METER_TTS_SECONDS` (`reelforge_tts_ms`): speech, in milliseconds.
    pub tts_seconds: String,
    /// `STRIPE_METER_RENDER_MINUTES` (`reelforge_render_ms`): video, in milliseconds.
    pub render_minutes: String,
}

fn meter_name(src: &Source, key: &'static str, default: &str) -> Result<String, ConfigError> {
    let name = src.string(key, default);
    if name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(bad(key, "expected at most 100 letters, digits, '_', '-' or '.'"));
    }
    Ok(name)
}

impl StripeConfig {
    /// `None` when `STRIPE_API_KEY` is unset. The other keys are still read and
    /// checked, so a typo in them fails at start even while billing is off.
    pub(super) fn parse(src: &Source) -> Result<Option<StripeConfig>, ConfigError> {
        let api_base = src.url_or("STRIPE_API_BASE", "https://api.stripe.com")?;
        let webhook_secret = src.secret("STRIPE_WEBHOOK_SECRET");
        let price_pro = src.optional("STRIPE_PRICE_PRO");
        let price_enterprise = src.optional("STRIPE_PRICE_ENTERPRISE");
        let overage_prices = OveragePrices {
            images: src.optional("STRIPE_PRICE_OVERAGE_IMAGES"),
            tts_seconds: src.optional("STRIPE_PRICE_OVERAGE_TTS_SECONDS"),
            render_minutes: src.optional("STRIPE_PRICE_OVERAGE_RENDER_MINUTES"),
        };
        let meters = MeterNames {
            images: meter_name(src, "STRIPE_METER_IMAGES", "reelforge_images")?,
            tts_seconds: meter_name(src, "STRIPE_METER_TTS_SECONDS", "reelforge_tts_ms")?,
            render_minutes: meter_name(src, "STRIPE_METER_RENDER_MINUTES", "reelforge_render_ms")?,
        };
        Ok(src.secret("STRIPE_API_KEY").map(|api_key| StripeConfig {
            api_key,
            webhook_secret,
            price_pro,
            price_enterprise,
            api_base,
            overage_prices,
            meters,
        }))
    }
}
