//! The work queue: admission and workers.

use super::source::{ConfigError, Source};
use crate::billing::Plan;

/// Admission and worker settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Unfinished projects (service-wide) before new ones get 429.
    pub queue_max_pending: u64,
    /// Unfinished projects one Free tenant may have before its new ones (and
    /// retries) get 429; plans multiply it as they do the quotas (see
    /// `max_pending_for`).
    pub queue_max_pending_per_tenant: u64,
    /// Step workers per process (0 in `serve`: none).
    pub worker_concurrency: usize,
    /// How long a claimed step stays leased without a heartbeat (heartbeats every third of it).
    pub worker_lease_seconds: u64,
}

impl QueueConfig {
    pub(super) fn parse(src: &Source) -> Result<QueueConfig, ConfigError> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(QueueConfig {
            queue_max_pending: src.positive("QUEUE_MAX_PENDING", 1000)?,
            queue_max_pending_per_tenant: src.positive("QUEUE_MAX_PENDING_PER_TENANT", 5)?,
            worker_concurrency: src.parsed("WORKER_CONCURRENCY", cores, "a whole number")?,
            worker_lease_seconds: src.positive("WORKER_LEASE_SECONDS", 30)?,
        })
    }
}

impl QueueConfig {
    /// How many unfinished (queued or running) projects a tenant on `plan`
    /// may have; `None` is no limit. `QUEUE_MAX_PENDING_PER_TENANT` is the
    /// Free plan's number and the plan multiplies it as it multiplies the
    /// quotas (Pro five times, Enterprise unlimited), so one key sets all three
    /// and they move together.
    pub fn max_pending_for(&self, plan: Plan) -> Option<u64> {
        plan.quota_multiplier().map(|times| self.queue_max_pending_per_tenant.saturating_mul(times))
    }
}
