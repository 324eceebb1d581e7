//! Projects: templates, scene splitting, voices, the API, live progress.

pub mod events;
pub mod music;
pub mod routes;
pub mod scene;
pub mod scene_routes;
pub mod script;
pub mod service;
pub mod store;
pub mod templates;
pub mod types;
pub mod voices;
