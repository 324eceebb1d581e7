//! The tenant's account: API keys, audit log, erasure (export and backups follow).

pub mod audit;
pub mod erase;
pub mod export;
pub mod routes;
