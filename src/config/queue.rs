//! The work queue: admission and workers.

use super::source::{ConfigError, Source};

/// Admission and worker settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Unfinished projects (service-wide) before new ones get 429.
    pub queue_max_pending: u64,
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
            worker_concurrency: src.parsed("WORKER_CONCURRENCY", cores, "a whole number")?,
            worker_lease_seconds: src.positive("WORKER_LEASE_SECONDS", 30)?,
        })
    }
}
