//! Opaque secrets: magic-link tokens, refresh tokens and API keys.
//! Only their SHA-256 is ever stored (`crate::crypto::hash_token`); the plain
//! value leaves the server once.

use crate::crypto::random_token;

/// The prefix that marks an API key.
pub const API_KEY_PREFIX: &str = "rf_";

/// A new API key: `rf_` followed by 43 URL-safe characters.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token())
}

/// True when `raw` has the exact shape of one of our API keys (cheap pre-check
/// so that mangled keys never reach the database).
pub fn looks_like_api_key(raw: &str) -> bool {
    raw.strip_prefix(API_KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 43 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// True when `raw` has the shape of a token we issued (43 URL-safe characters).
pub fn looks_like_token(raw: &str) -> bool {
    raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The short, non-secret part of a key shown in listings (`rf_` + 6 characters).
pub fn api_key_display_prefix(key: &str) -> String {
    key.chars().take(API_KEY_PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_url_safe() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a));
        let key = new_api_key();
        assert!(looks_like_api_key(&key));
        assert!(!looks_like_api_key(&key[..key.len() - 1]));
        assert!(!looks_like_api_key(&format!("{key}x")));
        assert!(!looks_like_api_key(&key.replace("rf_", "rx_")));
        assert_eq!(api_key_display_prefix(&key).len(), 9);
    }
}
