//! The tenant's media library: pictures and clips uploaded once
//! (`POST /api/v1/media`) and used by scenes. Every file goes through one
//! intake (`intake.rs`: size cap while streaming, type by content, ffprobe
//! with a forced demuxer, limits, normalising); `store.rs` holds the SQL,
//! `service.rs` the rules (quota, in use), `routes.rs` the HTTP answers.
//!
//! For the render pipeline and scene validation: `store::find` gives a
//! tenant's `MediaItem` (its `render_key` is the file to read), and
//! `reelforge_media::intake::demuxer_for(content_type)` the demuxer to force
//! when opening it (`-protocol_whitelist file -f <demuxer> -i ...`).

pub mod intake;
pub mod routes;
pub mod service;
pub mod store;
pub mod types;

pub use types::{MediaItem, MediaKind};

/// `tenants/{tenant_id}/media/{media_id}/`: every file of one item.
pub fn media_prefix(tenant_id: &crate::domain::TenantId, media_id: &str) -> String {
    format!("tenants/{tenant_id}/media/{media_id}/")
}
