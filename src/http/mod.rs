//! Shared HTTP plumbing: extractors, middleware and operational endpoints.
//! Nothing here knows a domain rule.

pub mod docs;
pub mod download;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod serve;
pub mod spa;
