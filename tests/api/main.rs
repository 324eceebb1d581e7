//! One integration binary: every behavioural test runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod account;
mod auth;
mod billing;
mod errors;
mod failures;
mod ops;
mod process;
mod projects;
mod queue;
mod s3;
mod schema;
mod smtp;
mod tenancy;
mod usage;
mod web;
