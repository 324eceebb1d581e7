//! A one-second cache of each tenant's usage row, so that dashboards polling
//! `/api/usage` do not each cost a database round trip. Every change made in
//! this process (a create, a finished step, a cancel, a delete, a plan change)
//! invalidates the tenant at once; another process's changes show within
//! `USAGE_CACHE_TTL`.

use std::time::Duration;

use crate::usage::meter::UsageRow;

/// How long a cached row is trusted.
pub const USAGE_CACHE_TTL: Duration = Duration::from_secs(1);

/// `{tenant_id}:{period}` -> usage row.
pub type UsageCache = crate::cache::TenantCache<UsageRow>;

/// An empty usage cache.
pub fn new_usage_cache() -> UsageCache {
    crate::cache::TenantCache::new(USAGE_CACHE_TTL, 50_000)
}
