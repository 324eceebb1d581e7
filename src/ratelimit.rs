//! Sliding-window rate limits: in this process, or shared by every API
//! process through Redis when `REDIS_URL` is set.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Counts events per key over a fixed sliding window.
pub struct RateLimiter {
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
    shared: Option<SharedWindows>,
}

/// One limit to check: a key and how many events it may have in the window (0 = unlimited).
pub struct Limit<'a> {
    /// The counted key, e.g. `ip:1.2.3.4`.
    pub key: &'a str,
    /// Events allowed per window.
    pub max: u32,
}

/// The key under which a client IP is counted. An IPv6 client usually holds
/// a whole /64 (SLAAC, privacy addresses, a /64 per customer), so counting
/// single IPv6 addresses would give one client 2^64 budgets: IPv6 addresses
/// share a key per /64. IPv4-mapped addresses count as the IPv4 address.
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|net| net.trunc()).unwrap_or_else(|_| v6.into());
            format!("ip:{net}")
        }
    }
}

/// `90` → `2 minutes`, `5` → `5 seconds`: for the detail of a 429.
pub fn human_wait(seconds: u64) -> String {
    if seconds >= 60 {
        let minutes = seconds.div_ceil(60);
        format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
    } else {
        format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
    }
}

/// How long one Redis round trip may take before the in-process limits answer.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// Admits one event under every limit atomically, or none. Redis's own clock
/// times the events, so API processes with skewed clocks agree. Returns 0, or
/// the wait in milliseconds until the event would be admitted.
const ADMIT_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[2 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= max then
    local oldest = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return 0
"#;

/// Admits one event under one limit and says where the key stands: returns
/// `{admitted (1/0), events in the window, ms until the oldest counted event
/// leaves it}` (when refused, that last value is the wait).
const ADMIT_COUNTED_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], count - max, count - max, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], window)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {1, count + 1, tonumber(first[2]) + window - now}
"#;

/// Where a key stands in its window once a request was admitted (for the
/// `RateLimit` response header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Events the key may still have in the window.
    pub remaining: u32,
    /// Whole seconds until the oldest counted event leaves the window (and
    /// `remaining` grows again).
    pub reset_seconds: u64,
}

/// Windows kept in Redis. Keys are an HMAC of the limit key under the
/// deployment's secret: processes of one deployment share them, other
/// deployments on the same Redis do not, and no address or IP is stored in
/// the clear.
struct SharedWindows {
    connection: redis::aio::ConnectionManager,
    script: redis::Script,
    counted: redis::Script,
    /// Keyed once with the deployment's secret; cloned for each key.
    keyed: Hmac<Sha256>,
}

impl SharedWindows {
    fn redis_key(&self, key: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(key.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("reelforge:rl:{}", crate::crypto::to_hex(&digest[..16]))
    }

    async fn admit(&self, limits: &[Limit<'_>], window: Duration) -> redis::RedisResult<Result<(), u64>> {
        let limits: Vec<&Limit<'_>> = limits.iter().filter(|l| l.max > 0).collect();
        if limits.is_empty() {
            return Ok(Ok(()));
        }
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(window.as_millis() as u64).arg(uuid::Uuid::new_v4().to_string());
        for limit in &limits {
            invocation.key(self.redis_key(limit.key)).arg(limit.max);
        }
        let mut connection = self.connection.clone();
        let wait_ms: u64 = invocation.invoke_async(&mut connection).await?;
        Ok(if wait_ms == 0 { Ok(()) } else { Err(wait_ms.div_ceil(1000).max(1)) })
    }

    async fn admit_counted(&self, limit: &Limit<'_>, window: Duration) -> redis::RedisResult<Result<Standing, u64>> {
        let mut invocation = self.counted.prepare_invoke();
        invocation.arg(window.as_millis() as u64).arg(uuid::Uuid::new_v4().to_string()).arg(limit.max);
        invocation.key(self.redis_key(limit.key));
        let mut connection = self.connection.clone();
        let (admitted, count, ms): (i64, i64, i64) = invocation.invoke_async(&mut connection).await?;
        let seconds = u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000);
        Ok(if admitted == 1 {
            let remaining = i64::from(limit.max).saturating_sub(count).max(0);
            Ok(Standing { remaining: u32::try_from(remaining).unwrap_or(0), reset_seconds: seconds })
        } else {
            Err(seconds.max(1))
        })
    }
}

impl RateLimiter {
    /// An in-process limiter with the given window.
    pub fn new(window: Duration) -> Self {
        Self { window, events: Mutex::new(HashMap::new()), shared: None }
    }

    /// A limiter shared through Redis at `redis_url`, namespaced by
    /// `key_secret` (the deployment's JWT secret). Fails when Redis cannot be
    /// reached at start, so a misconfigured fleet does not silently run
    /// per-process limits.
    pub async fn shared(window: Duration, redis_url: &str, key_secret: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(redis_url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2);
        let connection = tokio::time::timeout(REDIS_TIMEOUT * 4, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| anyhow::anyhow!("REDIS_URL: Redis did not answer in time"))?
            .map_err(|e| anyhow::anyhow!("REDIS_URL: cannot connect to Redis: {e}"))?;
        let keyed = Hmac::<Sha256>::new_from_slice(key_secret.as_bytes())
            .map_err(|_| anyhow::anyhow!("JWT_SECRET cannot key the shared rate limits"))?;
        let shared = SharedWindows {
            connection,
            script: redis::Script::new(ADMIT_LUA),
            counted: redis::Script::new(ADMIT_COUNTED_LUA),
            keyed,
        };
        Ok(Self { window, events: Mutex::new(HashMap::new()), shared: Some(shared) })
    }

    /// Whether limits are shared through Redis.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Admits one event under every limit, or none: when any limit is reached,
    /// nothing is recorded and the error is the wait in whole seconds until the
    /// event would be admitted. When Redis is unreachable the in-process
    /// windows answer (and a warning is logged), so sign-in keeps working with
    /// per-process limits rather than none.
    pub async fn admit(&self, limits: &[Limit<'_>]) -> Result<(), u64> {
        if let Some(shared) = &self.shared {
            match tokio::time::timeout(REDIS_TIMEOUT * 2, shared.admit(limits, self.window)).await {
                Ok(Ok(answer)) => return answer,
                Ok(Err(err)) => tracing::warn!(error = %err, "Redis rate limit failed; using this process's limits"),
                Err(_) => tracing::warn!("Redis rate limit timed out; using this process's limits"),
            }
        }
        self.admit_at(limits, Instant::now())
    }

    /// Admits one event under one limit (`max` above 0) and says where its key
    /// then stands, or refuses it with the wait in whole seconds. Redis
    /// answers when set, falling back to this process's window like `admit`.
    pub async fn admit_counted(&self, limit: &Limit<'_>) -> Result<Standing, u64> {
        if let Some(shared) = &self.shared {
            match tokio::time::timeout(REDIS_TIMEOUT * 2, shared.admit_counted(limit, self.window)).await {
                Ok(Ok(answer)) => return answer,
                Ok(Err(err)) => tracing::warn!(error = %err, "Redis rate limit failed; using this process's limits"),
                Err(_) => tracing::warn!("Redis rate limit timed out; using this process's limits"),
            }
        }
        self.admit_counted_at(limit, Instant::now())
    }

    fn admit_counted_at(&self, limit: &Limit<'_>, now: Instant) -> Result<Standing, u64> {
        let whole_seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        self.admit_at(std::slice::from_ref(limit), now)?;
        let events = self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let queue = events.get(limit.key);
        let count = queue.map_or(0, VecDeque::len);
        let oldest = queue.and_then(|q| q.front()).copied().unwrap_or(now);
        Ok(Standing {
            remaining: u32::try_from((limit.max as usize).saturating_sub(count)).unwrap_or(0),
            reset_seconds: whole_seconds(self.window.saturating_sub(now.duration_since(oldest))),
        })
    }

    fn admit_at(&self, limits: &[Limit<'_>], now: Instant) -> Result<(), u64> {
        let mut events = self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for limit in limits.iter().filter(|l| l.max > 0) {
            if let Some(queue) = events.get_mut(limit.key) {
                while queue.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    queue.pop_front();
                }
                if queue.len() >= limit.max as usize {
                    // The oldest counted event leaves the window first.
                    let oldest = queue[queue.len() - limit.max as usize];
                    wait = wait.max(self.window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0));
        }
        for limit in limits.iter().filter(|l| l.max > 0) {
            events.entry(limit.key.to_string()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Drops keys whose events have all left the window (called periodically).
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        events.retain(|_, queue| queue.back().is_some_and(|t| now.duration_since(*t) < self.window));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let key = |s: &str| ip_key(s.parse().expect("ip"));
        assert_eq!(key("2001:db8:1:2::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.5"), "ip:203.0.113.5");
        assert_eq!(key("203.0.113.5"), "ip:203.0.113.5");
        assert_ne!(key("203.0.113.6"), key("203.0.113.5"), "IPv4 addresses stay apart");
    }

    #[test]
    fn counted_admission_reports_the_remaining_events_and_the_reset() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let start = Instant::now();
        let limit = Limit { key: "key:a", max: 3 };
        assert_eq!(limiter.admit_counted_at(&limit, start), Ok(Standing { remaining: 2, reset_seconds: 60 }));
        let later = start + Duration::from_secs(10);
        assert_eq!(limiter.admit_counted_at(&limit, later), Ok(Standing { remaining: 1, reset_seconds: 50 }));
        assert_eq!(limiter.admit_counted_at(&limit, later), Ok(Standing { remaining: 0, reset_seconds: 50 }));
        assert_eq!(limiter.admit_counted_at(&limit, later), Err(50), "refused until the first leaves");
        let after_first = start + Duration::from_secs(60);
        assert_eq!(limiter.admit_counted_at(&limit, after_first), Ok(Standing { remaining: 0, reset_seconds: 10 }));
    }

    #[test]
    fn limits_each_key_and_reports_the_wait() {
        let limiter = RateLimiter::new(Duration::from_secs(900));
        let start = Instant::now();
        for _ in 0..2 {
            assert!(limiter.admit_at(&[Limit { key: "a", max: 2 }, Limit { key: "ip", max: 10 }], start).is_ok());
        }
        let wait = limiter.admit_at(&[Limit { key: "a", max: 2 }, Limit { key: "ip", max: 10 }], start).unwrap_err();
        assert!((899..=900).contains(&wait), "wait {wait}");
        // A refused event is not counted against the other key.
        assert!(limiter.admit_at(&[Limit { key: "b", max: 2 }, Limit { key: "ip", max: 3 }], start).is_ok());
        assert!(limiter.admit_at(&[Limit { key: "b", max: 2 }, Limit { key: "ip", max: 3 }], start).is_err());
        // After the window the key is free again.
        let later = start + Duration::from_secs(901);
        assert!(limiter.admit_at(&[Limit { key: "a", max: 2 }], later).is_ok());
        // Zero means unlimited.
        for _ in 0..100 {
            assert!(limiter.admit_at(&[Limit { key: "z", max: 0 }], start).is_ok());
        }
    }
}
