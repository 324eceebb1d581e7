//! A short-lived, tenant-tagged cache. Values are trusted for `ttl`; every
//! change that alters what a tenant's values would be calls
//! `invalidate_tenant` in the process that made it, which takes effect at
//! once there (and drops a read that raced with it); other processes see the
//! change within `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

struct Entry<V> {
    tenant_id: String,
    fetched: Instant,
    value: Arc<V>,
}

/// Key -> value, each value tagged with the tenant it belongs to.
pub struct TenantCache<V> {
    ttl: Duration,
    max_entries: usize,
    entries: RwLock<HashMap<String, Entry<V>>>,
    /// When each tenant was last invalidated (kept for one `ttl`).
    invalidated: RwLock<HashMap<String, Instant>>,
}

impl<V> TenantCache<V> {
    /// An empty cache.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        TenantCache { ttl, max_entries, entries: RwLock::new(HashMap::new()), invalidated: RwLock::new(HashMap::new()) }
    }

    /// A fresh value, if any.
    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|e| e.fetched.elapsed() < self.ttl).map(|e| e.value.clone())
    }

    /// Remembers a value whose read started at `fetched`; a value whose read
    /// began before the tenant's latest invalidation is dropped (it may be stale).
    pub fn put(&self, key: String, tenant_id: &str, fetched: Instant, value: Arc<V>) {
        {
            let invalidated = self.invalidated.read().unwrap_or_else(|p| p.into_inner());
            if invalidated.get(tenant_id).is_some_and(|at| *at >= fetched) {
                return;
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries {
            let ttl = self.ttl;
            entries.retain(|_, e| e.fetched.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, Entry { tenant_id: tenant_id.to_string(), fetched, value });
    }

    /// Forgets everything about one tenant.
    pub fn invalidate_tenant(&self, tenant_id: &str) {
        self.invalidated.write().unwrap_or_else(|p| p.into_inner()).insert(tenant_id.to_string(), Instant::now());
        self.entries.write().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.tenant_id != tenant_id);
    }

    /// Drops expired entries (called periodically).
    pub fn sweep(&self) {
        let ttl = self.ttl;
        self.entries.write().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.fetched.elapsed() < ttl);
        self.invalidated.write().unwrap_or_else(|p| p.into_inner()).retain(|_, at| at.elapsed() < ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_invalidation_wins_races() {
        let cache: TenantCache<u32> = TenantCache::new(Duration::from_millis(200), 10);
        cache.put("a".into(), "t1", Instant::now(), Arc::new(1));
        cache.put("b".into(), "t2", Instant::now(), Arc::new(2));
        assert_eq!(cache.get("a").as_deref(), Some(&1));
        // A read that began before an invalidation is not cached.
        let read_started = Instant::now();
        cache.invalidate_tenant("t1");
        assert!(cache.get("a").is_none());
        assert_eq!(cache.get("b").as_deref(), Some(&2), "other tenants untouched");
        cache.put("a".into(), "t1", read_started, Arc::new(3));
        assert!(cache.get("a").is_none());
        cache.put("a".into(), "t1", Instant::now(), Arc::new(4));
        assert_eq!(cache.get("a").as_deref(), Some(&4));
        std::thread::sleep(Duration::from_millis(250));
        assert!(cache.get("a").is_none(), "expired");
        for i in 0..20 {
            cache.put(format!("k{i}"), "t3", Instant::now(), Arc::new(i));
        }
        assert!(cache.entries.read().map(|e| e.len()).unwrap_or(0) <= 10, "bounded");
    }
}
