//! Standard Webhooks signatures (standardwebhooks.com): an endpoint's secret
//! is `whsec_` and the base64 of 32 bytes; a message is signed as
//! `v1,` + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")).
//!
//! Secrets are not stored. Each is derived from the server's key
//! (`WebhookKey`, itself derived from `JWT_SECRET`) and the endpoint's id and
//! salt, so a copy of the database (a backup, a dump) holds no usable secret.
//! A new salt is a new secret. Changing `JWT_SECRET` changes every endpoint's
//! secret (docs/architecture.md says so).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The server's key for endpoint secrets.
#[derive(Clone)]
pub struct WebhookKey([u8; 32]);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

impl WebhookKey {
    /// Derives the key from the server secret (`JWT_SECRET`).
    pub fn from_server_secret(secret: &str) -> WebhookKey {
        WebhookKey(hmac(secret.as_bytes(), &[b"reelforge webhook endpoint secrets v1"]))
    }

    /// The secret of the endpoint `id` with `salt`, as its owner sees it.
    pub fn endpoint_secret(&self, id: &str, salt: &str) -> EndpointSecret {
        EndpointSecret(hmac(&self.0, &[id.as_bytes(), b":", salt.as_bytes()]))
    }
}

/// One endpoint's signing secret.
#[derive(Clone)]
pub struct EndpointSecret([u8; 32]);

impl EndpointSecret {
    /// `whsec_...`, shown to the owner when the endpoint is created.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0))
    }

    /// The `webhook-signature` header of a message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let signature = hmac(&self.0, &[message_id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
        format!("v1,{}", STANDARD.encode(signature))
    }
}

/// Checks a `webhook-signature` header the way a receiver does (any of its
/// space-separated `v1,` signatures matches). For tests and the docs' example.
pub fn verify(secret: &str, message_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(encoded) = secret.strip_prefix(SECRET_PREFIX) else { return false };
    let Ok(key) = STANDARD.decode(encoded) else { return false };
    let expected = hmac(&key, &[message_id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
    header.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|given| {
        STANDARD.decode(given).is_ok_and(|given| {
            given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification and its reference
    /// libraries (svix): this secret, id, timestamp and body sign to this value.
    #[test]
    fn signs_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        let key = STANDARD.decode(&secret[SECRET_PREFIX.len()..]).unwrap();
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let signature = hmac(&key, &[id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
        assert_eq!(format!("v1,{}", STANDARD.encode(signature)), expected);
        assert!(verify(secret, id, timestamp, body, &format!("v1,bm90IGl0 {expected}")));
        assert!(!verify(secret, id, timestamp + 1, body, expected));
    }

    #[test]
    fn secrets_differ_per_endpoint_and_salt_and_verify_their_signatures() {
        let key = WebhookKey::from_server_secret("a server secret of at least thirty-two bytes");
        let a = key.endpoint_secret("ep_1", "salt");
        assert_eq!(a.reveal(), key.endpoint_secret("ep_1", "salt").reveal());
        assert_ne!(a.reveal(), key.endpoint_secret("ep_2", "salt").reveal());
        assert_ne!(a.reveal(), key.endpoint_secret("ep_1", "pepper").reveal());
        assert!(a.reveal().starts_with("whsec_"));
        let header = a.sign("msg_1", 1_700_000_000, b"{}");
        assert!(verify(&a.reveal(), "msg_1", 1_700_000_000, b"{}", &header));
        assert!(!verify(&a.reveal(), "msg_1", 1_700_000_000, b"{ }", &header));
    }
}
