//! A small Stripe client over reqwest: form-encoded requests, bearer auth, an
//! `Idempotency-Key` derived from our own ids on every POST, `STRIPE_API_BASE`
//! to point it elsewhere in tests.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Config;

/// How far a webhook's timestamp may be from now.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

/// A failed Stripe call; the message is safe to log (no keys).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StripeError(pub String);

/// The client; built only when `STRIPE_API_KEY` is set.
#[derive(Clone)]
pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// A subscription as Stripe reports it (the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub status: String,
    pub customer: String,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
    pub items: SubscriptionItems,
}

/// The items of a subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItems {
    pub data: Vec<SubscriptionItem>,
}

/// One item.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    pub price: Price,
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

/// A price.
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub id: String,
}

impl Subscription {
    /// The price of the first item.
    pub fn price_id(&self) -> Option<&str> {
        self.items.data.first().map(|i| i.price.id.as_str())
    }

    /// End of the current period (newer API versions keep it on the item).
    pub fn period_end(&self) -> Option<i64> {
        self.current_period_end.or_else(|| self.items.data.first().and_then(|i| i.current_period_end))
    }
}

/// One Billing Meter event.
pub struct MeterEvent<'a> {
    pub event_name: &'a str,
    pub customer: &'a str,
    /// Whole base units (Stripe meters take integers).
    pub value: i64,
    /// Seconds since the epoch (Stripe takes events up to 35 days old).
    pub timestamp: i64,
    pub identifier: &'a str,
}

/// Stripe acknowledged a meter event.
#[derive(Debug, PartialEq, Eq)]
pub enum MeterOutcome {
    /// Counted now.
    Accepted,
    /// Stripe had this identifier already (counted before).
    Duplicate,
}

/// A meter event Stripe did not acknowledge; messages are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    /// No answer, 5xx, 429: try again later.
    #[error("{0}")]
    Retry(String),
    /// Any other 4xx: sending it again as it is will not help.
    #[error("{0}")]
    Refused(String),
}

#[derive(Deserialize)]
struct Created {
    id: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct SubscriptionList {
    data: Vec<Subscription>,
}

impl Stripe {
    /// The client, or `None` when billing is not configured.
    pub fn from_config(config: &Config, http: &reqwest::Client) -> Option<Stripe> {
        let stripe = config.stripe()?;
        Some(Stripe {
            http: http.clone(),
            base: stripe.api_base.as_str().trim_end_matches('/').to_string(),
            key: stripe.api_key.expose().to_string(),
        })
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, StripeError> {
        let response = request
            .bearer_auth(&self.key)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .map_err(|e| StripeError(format!("Stripe could not be reached ({what}): {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(StripeError(format!("Stripe refused {what}: {status} {message}")));
        }
        response.json().await.map_err(|_| StripeError(format!("Stripe sent an unreadable answer to {what}")))
    }

    fn post(&self, path: &str, idempotency_key: &str, form: &[(&str, String)]) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).header("Idempotency-Key", idempotency_key).form(form)
    }

    /// Creates the tenant's customer (the key makes a repeat return the same one).
    pub async fn create_customer(&self, tenant_id: &str, email: &str) -> Result<String, StripeError> {
        let form = [("email", email.to_string()), ("metadata[tenant_id]", tenant_id.to_string())];
        let created: Created = self
            .send(self.post("/v1/customers", &format!("customer-{tenant_id}"), &form), "creating a customer")
            .await?;
        Ok(created.id)
    }

    /// A Checkout Session in subscription mode; returns `(session id, url)`.
    /// `metered` prices (the overage prices) are added without a quantity:
    /// Stripe bills them from their meters.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_checkout_session(
        &self,
        idempotency_key: &str,
        customer: &str,
        price: &str,
        metered: &[&str],
        tenant_id: &str,
        success_url: &str,
        cancel_url: &str,
    ) -> Result<(String, String), StripeError> {
        let mut form = vec![
            ("mode", "subscription".to_string()),
            ("customer", customer.to_string()),
            ("line_items[0][price]", price.to_string()),
            ("line_items[0][quantity]", "1".to_string()),
            ("client_reference_id", tenant_id.to_string()),
            ("metadata[tenant_id]", tenant_id.to_string()),
            ("subscription_data[metadata][tenant_id]", tenant_id.to_string()),
            ("success_url", success_url.to_string()),
            ("cancel_url", cancel_url.to_string()),
        ];
        let keys: Vec<String> = (1..=metered.len()).map(|i| format!("line_items[{i}][price]")).collect();
        for (key, price) in keys.iter().zip(metered) {
            form.push((key.as_str(), price.to_string()));
        }
        let created: Created = self
            .send(self.post("/v1/checkout/sessions", idempotency_key, &form), "creating a checkout session")
            .await?;
        let url = created.url.ok_or_else(|| StripeError("Stripe sent a checkout session without a URL".into()))?;
        Ok((created.id, url))
    }

    /// Sends one Billing Meter event (`POST /v1/billing/meter_events`). The
    /// `identifier` is also the Idempotency-Key: Stripe counts an identifier
    /// once, and answers a repeat as a duplicate, which is an acknowledgement.
    pub async fn create_meter_event(&self, event: &MeterEvent<'_>) -> Result<MeterOutcome, MeterError> {
        let form = [
            ("event_name", event.event_name.to_string()),
            ("payload[stripe_customer_id]", event.customer.to_string()),
            ("payload[value]", event.value.to_string()),
            ("timestamp", event.timestamp.to_string()),
            ("identifier", event.identifier.to_string()),
        ];
        let response = self
            .post("/v1/billing/meter_events", event.identifier, &form)
            .bearer_auth(&self.key)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| MeterError::Retry(format!("Stripe could not be reached: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(MeterOutcome::Accepted);
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let code = body["error"]["code"].as_str().unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        if status.as_u16() == 400 && (code == "resource_already_exists" || message.contains("already exists")) {
            return Ok(MeterOutcome::Duplicate);
        }
        let text = format!("Stripe answered {status}: {}", message.chars().take(300).collect::<String>());
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 409 {
            Err(MeterError::Retry(text))
        } else {
            Err(MeterError::Refused(text))
        }
    }

    /// A customer-portal session URL.
    pub async fn create_portal_session(
        &self,
        idempotency_key: &str,
        customer: &str,
        return_url: &str,
    ) -> Result<String, StripeError> {
        let form = [("customer", customer.to_string()), ("return_url", return_url.to_string())];
        let created: Created = self
            .send(self.post("/v1/billing_portal/sessions", idempotency_key, &form), "creating a portal session")
            .await?;
        created.url.ok_or_else(|| StripeError("Stripe sent a portal session without a URL".into()))
    }

    /// The subscription as it is now.
    pub async fn get_subscription(&self, id: &str) -> Result<Subscription, StripeError> {
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StripeError("not a subscription id".into()));
        }
        self.send(self.http.get(format!("{}/v1/subscriptions/{id}", self.base)), "reading a subscription").await
    }

    /// Every subscription of a customer (any status), newest first.
    pub async fn list_subscriptions(&self, customer: &str) -> Result<Vec<Subscription>, StripeError> {
        let mut url = url::Url::parse(&format!("{}/v1/subscriptions", self.base))
            .map_err(|_| StripeError("STRIPE_API_BASE is not a URL".into()))?;
        url.query_pairs_mut().append_pair("customer", customer).append_pair("status", "all");
        let request = self.http.get(url);
        let list: SubscriptionList = self.send(request, "listing subscriptions").await?;
        Ok(list.data)
    }

    /// Cancels a subscription now (account erasure).
    pub async fn cancel_subscription(&self, id: &str) -> Result<(), StripeError> {
        let request = self
            .http
            .delete(format!("{}/v1/subscriptions/{id}", self.base))
            .header("Idempotency-Key", format!("cancel-{id}"));
        let _: serde_json::Value = self.send(request, "cancelling a subscription").await?;
        Ok(())
    }
}

/// Verifies a `Stripe-Signature` header over the raw body: HMAC-SHA256 of
/// `{t}.{payload}` with the endpoint secret, compared in constant time with
/// every `v1` signature (several during a secret rotation), and `t` within
/// `SIGNATURE_TOLERANCE_SECONDS` of `now`.
pub fn verify_signature(header: &str, payload: &[u8], secret: &str, now: i64) -> Result<(), &'static str> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = value.parse().ok(),
            "v1" => {
                if let Some(bytes) = decode_hex(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    if signatures.is_empty() {
        return Err("no v1 signature");
    }
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err("timestamp outside the tolerance");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| "unusable secret")?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    let matched =
        signatures.iter().fold(subtle::Choice::from(0u8), |any, candidate| any | expected.as_slice().ct_eq(candidate));
    if bool::from(matched) { Ok(()) } else { Err("signature mismatch") }
}

/// The header Stripe would send for `payload` at `timestamp` (for tests and tools).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut signature = String::new();
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        signature = crate::crypto::to_hex(&mac.finalize().into_bytes());
    }
    format!("t={timestamp},v1={signature}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn signature_cases() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        let good = sign(body, SECRET, now);
        assert_eq!(verify_signature(&good, body, SECRET, now), Ok(()));
        assert_eq!(verify_signature(&good, body, SECRET, now + 299), Ok(()));
        assert!(verify_signature("", body, SECRET, now).is_err(), "none");
        assert!(verify_signature(&sign(body, "whsec_other", now), body, SECRET, now).is_err(), "wrong secret");
        assert!(verify_signature(&sign(body, SECRET, now - 301), body, SECRET, now).is_err(), "old");
        assert!(verify_signature(&sign(body, SECRET, now + 301), body, SECRET, now).is_err(), "future");
        let v0_only = good.replace("v1=", "v0=");
        assert!(verify_signature(&v0_only, body, SECRET, now).is_err(), "v0 only");
        assert!(verify_signature(&good, br#"{"id":"evt_2"}"#, SECRET, now).is_err(), "body changed");
        // During a secret rotation Stripe sends one v1 per secret.
        let old_secret = sign(body, "whsec_old", now);
        let rotated = format!("{},{}", old_secret, good.split(',').nth(1).unwrap_or_default());
        assert_eq!(verify_signature(&rotated, body, SECRET, now), Ok(()));
        assert!(verify_signature("t=abc,v1=zz", body, SECRET, now).is_err());
    }
}
