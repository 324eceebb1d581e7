//! One integration binary: every behavioural test runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod account;
mod api_keys;
mod auth;
mod batches;
mod billing;
mod brand;
mod captions;
mod connections;
mod downloads;
mod errors;
mod failures;
mod idempotency;
mod live;
mod media;
mod messages;
mod narration;
mod ops;
mod overage;
mod process;
mod projects;
mod queue;
mod s3;
mod scenes;
mod schema;
mod scripts;
mod smtp;
mod sound;
mod stock;
mod storage;
mod teams;
mod templates;
mod tenancy;
mod usage;
mod voices;
mod web;
mod webhooks;
mod worked_example;
