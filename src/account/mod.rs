//! The tenant's account: API keys, audit log, export, erasure, backups.

pub mod audit;
pub mod backup;
pub mod cron;
pub mod erase;
pub mod export;
pub mod routes;
