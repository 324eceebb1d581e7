//! A short-lived cache of who a credential belongs to, so that authenticated
//! reads do not pay a database round trip each.
//!
//! Every change that can revoke a credential or alter what it sees (erasure,
//! key rotation, plan change) calls `invalidate_tenant` in the process that made
//! it, which takes effect at once there. Other API processes see the change
//! within `AUTH_CACHE_TTL` (documented in docs/architecture.md).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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
}

struct Entry {
    fetched: Instant,
    principal: Arc<Principal>,
}

/// Credential key (a JWT's user and tenant, or an API key's hash) -> principal.
#[derive(Default)]
pub struct AuthCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl AuthCache {
    /// A fresh entry, if any.
    pub fn get(&self, key: &str) -> Option<Arc<Principal>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|e| e.fetched.elapsed() < AUTH_CACHE_TTL).map(|e| e.principal.clone())
    }

    /// Remembers a principal.
    pub fn put(&self, key: String, principal: Arc<Principal>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.fetched.elapsed() < AUTH_CACHE_TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { fetched: Instant::now(), principal });
    }

    /// Forgets everything about one tenant (call after revoking or changing it).
    pub fn invalidate_tenant(&self, tenant_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.principal.tenant.id != tenant_id);
    }

    /// Drops expired entries (called periodically).
    pub fn sweep(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.fetched.elapsed() < AUTH_CACHE_TTL);
    }
}
