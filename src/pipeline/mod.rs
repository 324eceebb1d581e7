//! The orchestrator: a job per project, a step per unit of work, on the
//! application database (no queue crate), and the media steps themselves.

pub mod collect;
pub mod graph;
pub mod plan;
pub mod providers;
pub mod queue;
pub mod recipe;
pub mod steps;
pub mod store;
pub mod worker;
