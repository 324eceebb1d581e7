//! One integration binary: every behavioural test runs on SQLite and PostgreSQL.

mod helpers;

mod auth;
mod errors;
mod process;
mod smtp;
mod tenancy;
