//! A short-lived cache of who a credential belongs to, so that authenticated
//! reads do not pay a database round trip each.
//!
//! Every change that can revoke a credential or alter what it sees (erasure,
//! key rotation, plan change) calls `invalidate_tenant` in the process that made
//! it, which takes effect at once there. Other API processes see the change
//! within `AUTH_CACHE_TTL` (documented in docs/architecture.md).

use std::time::Duration;

use crate::auth::service::{TenantView, UserView};

/// How long an entry is trusted without asking the database again.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 100_000;

/// Who a credential belongs to.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The signed-in person (absent for an API key).
    pub user: Option<UserView>,
    /// The tenant.
    pub tenant: TenantView,
    /// The API key, its id and scopes (absent for a person).
    pub key: Option<crate::auth::api_keys::KeyGrant>,
}

/// Credential key (a JWT's user and tenant, or an API key's hash) -> principal.
pub type AuthCache = crate::cache::TenantCache<Principal>;

/// An empty auth cache.
pub fn new_auth_cache() -> AuthCache {
    crate::cache::TenantCache::new(AUTH_CACHE_TTL, MAX_ENTRIES)
}
