//! Small shared helpers over the OS random source and SHA-256: opaque tokens,
//! their stored hashes, and hex for digests, signatures and content keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is unrecoverable for a security service.
    #[allow(clippy::panic)]
    if let Err(err) = getrandom::fill(&mut bytes) {
        panic!("operating-system random source failed: {err}");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a secret, the form stored at rest and looked up by.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of bytes (digests, signatures, content keys).
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, random_token());
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(to_hex(&[0, 15, 255]), "000fff");
    }
}
