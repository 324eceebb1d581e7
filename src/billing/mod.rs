//! Plans and what they unlock; Stripe subscriptions (Checkout, portal, webhooks).

pub mod overage;
pub mod plan;
pub mod routes;
pub mod service;
pub mod store;
pub mod stripe;
pub mod webhook;

use serde_json::{Map, json};

pub use plan::Plan;

use crate::config::Config;
use crate::error::AppError;

/// Guards paid features: 402 with where to upgrade when the plan is Free.
pub fn require_paid_subscription(config: &Config, plan: Plan, feature: &str) -> Result<(), AppError> {
    if plan != Plan::Free {
        return Ok(());
    }
    let mut extensions = Map::new();
    extensions.insert("required_plan".into(), json!("pro"));
    extensions.insert("upgrade_url".into(), json!(upgrade_url(config)));
    Err(AppError::PaymentRequired {
        detail: format!("{feature} needs a paid plan; upgrade to Pro or Enterprise"),
        extensions,
    })
}

/// Where a person upgrades.
pub fn upgrade_url(config: &Config) -> String {
    let mut url = config.http.public_url.clone();
    url.set_path("/billing");
    url.to_string()
}
