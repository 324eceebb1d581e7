//! Stripe: present as a whole or not at all.

use url::Url;

use super::source::{ConfigError, Secret, Source};

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
}

impl StripeConfig {
    /// `None` when `STRIPE_API_KEY` is unset. The other keys are still read and
    /// checked, so a typo in them fails at start even while billing is off.
    pub(super) fn parse(src: &Source) -> Result<Option<StripeConfig>, ConfigError> {
        let api_base = src.url_or("STRIPE_API_BASE", "https://api.stripe.com")?;
        let webhook_secret = src.secret("STRIPE_WEBHOOK_SECRET");
        let price_pro = src.optional("STRIPE_PRICE_PRO");
        let price_enterprise = src.optional("STRIPE_PRICE_ENTERPRISE");
        Ok(src.secret("STRIPE_API_KEY").map(|api_key| StripeConfig {
            api_key,
            webhook_secret,
            price_pro,
            price_enterprise,
            api_base,
        }))
    }
}
