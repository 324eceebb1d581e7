//! HS256 access tokens.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::domain::{TenantId, UserId};

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The session (refresh-token family) the token was issued for: signing
    /// out or a detected refresh-token theft revokes the family, and with it
    /// every access token of the session (checked at each request through the
    /// auth cache), instead of leaving them valid until `exp`.
    pub sid: String,
}

/// Signing and verifying keys plus the token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime_seconds: i64,
}

impl JwtKeys {
    /// Keys from the configured secret.
    pub fn new(secret: &Secret, lifetime_hours: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            lifetime_seconds: i64::try_from(lifetime_hours.saturating_mul(3600)).unwrap_or(i64::MAX / 2),
        }
    }

    /// Lifetime of an access token in seconds.
    pub fn lifetime_seconds(&self) -> i64 {
        self.lifetime_seconds
    }

    /// Signs a new access token for a user of a tenant, bound to session `sid`.
    pub fn issue(&self, user_id: &UserId, tenant_id: &TenantId, sid: &str) -> anyhow::Result<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            tid: tenant_id.to_string(),
            iat: now,
            exp: now + self.lifetime_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: sid.to_string(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Verifies signature, algorithm (HS256 only) and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new("0123456789abcdef0123456789abcdef"), 1)
    }

    #[test]
    fn round_trip() {
        let (user, tenant) = (UserId::generate(), TenantId::generate());
        let token = keys().issue(&user, &tenant, "family-1").expect("signs");
        let claims = keys().verify(&token).expect("valid");
        assert_eq!(claims.sid, "family-1");
        assert_eq!(claims.sub, user.as_str());
        assert_eq!(claims.tid, tenant.as_str());
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn refuses_forgeries() {
        let tenant = TenantId::generate();
        let token = keys().issue(&UserId::generate(), &tenant, "family-1").expect("signs");
        let other = JwtKeys::new(&Secret::new("another-secret-another-secret-xx"), 1);
        assert!(other.verify(&token).is_none(), "wrong key");

        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
        let altered = URL_SAFE_NO_PAD.encode(payload.replace(tenant.as_str(), TenantId::generate().as_str()));
        let tampered = format!("{}.{}.{}", parts[0], altered, parts[2]);
        assert!(keys().verify(&tampered).is_none(), "altered payload");

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys().verify(&format!("{none_header}.{}.", parts[1])).is_none(), "alg none");

        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expired = Claims {
            sub: "u1".into(),
            tid: "t1".into(),
            iat: now - 7200,
            exp: now - 10,
            jti: "x".into(),
            sid: "s".into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &expired, &keys().encoding).expect("signs");
        assert!(keys().verify(&token).is_none(), "expired");
    }

    #[test]
    fn refuses_tokens_without_a_session() {
        // A token that names no session could not be revoked by signing out.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = serde_json::json!({"sub": "u1", "tid": "t1", "iat": now, "exp": now + 60, "jti": "x"});
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys().encoding).expect("signs");
        assert!(keys().verify(&token).is_none());
    }
}
