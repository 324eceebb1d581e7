//! Sliding-window rate limits kept in this process.
//! (Shared limits across API processes arrive with `REDIS_URL`.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key over a fixed sliding window.
pub struct RateLimiter {
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// One limit to check: a key and how many events it may have in the window (0 = unlimited).
pub struct Limit<'a> {
    /// The counted key, e.g. `ip:1.2.3.4`.
    pub key: &'a str,
    /// Events allowed per window.
    pub max: u32,
}

impl RateLimiter {
    /// A limiter with the given window.
    pub fn new(window: Duration) -> Self {
        Self { window, events: Mutex::new(HashMap::new()) }
    }

    /// Admits one event under every limit, or none: when any limit is reached,
    /// nothing is recorded and the error is the wait in whole seconds until the
    /// event would be admitted.
    pub fn admit(&self, limits: &[Limit<'_>]) -> Result<(), u64> {
        self.admit_at(limits, Instant::now())
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
