//! The tenant's account: API keys, audit log (export, erasure and backups follow).

pub mod audit;
pub mod routes;
