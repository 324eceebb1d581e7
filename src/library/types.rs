//! The media library's rows and views.

use serde::Serialize;

use crate::text_enum;

text_enum!(
    /// What a library item is.
    pub enum MediaKind {
        /// A still picture (PNG, JPEG, WebP); rendered from its PNG copy.
        Image => "image",
        /// A video clip (MP4, MOV, WebM, Matroska), kept as uploaded.
        Video => "video",
        /// Sound (MP3, AAC, M4A, WAV, Ogg, FLAC), kept as uploaded: a project's music.
        Audio => "audio",
        /// A brand font (TTF, OTF), kept as uploaded; its thumbnail is a specimen.
        Font => "font",
    }
);

/// One item of a tenant's library, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MediaItem {
    pub id: String,
    pub kind: MediaKind,
    /// By content: `image/png`, `image/jpeg`, `image/webp`, `video/mp4`,
    /// `video/quicktime`, `video/webm`, `video/x-matroska`, `audio/mpeg`,
    /// `audio/aac`, `audio/mp4`, `audio/wav`, `audio/ogg`, `audio/flac`, `font/ttf` or `font/otf`.
    pub content_type: String,
    /// A display label only (no path, no control characters).
    pub filename: String,
    /// Everything stored for the item (original, render copy, thumbnail).
    pub bytes: i64,
    /// Of the render copy (an image upright, after its EXIF orientation), or the clip.
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Clips only.
    pub duration_ms: Option<i64>,
    /// The original as uploaded.
    pub file_key: String,
    /// What a render reads: an image's upright PNG (longest side at most
    /// 3840), a clip's original.
    pub render_key: String,
    /// A JPEG 320 px wide.
    pub thumbnail_key: String,
    pub created_at: i64,
}

/// A library item as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub id: String,
    /// `image`, `video`, `audio` (a project's music) or `font` (a brand template's).
    #[schema(value_type = String, example = "image")]
    pub kind: MediaKind,
    /// The type found in the file's content (not its name or declared type).
    pub content_type: String,
    /// Everything stored for it, in bytes (counts toward `storage_mb`).
    pub bytes: i64,
    /// The uploaded file's name, without any path: a label only.
    pub filename: String,
    /// Pixels: an image as it renders (upright), a clip's frame.
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Clips and sound; `null` for images.
    pub duration_seconds: Option<f64>,
    pub thumbnail_url: String,
    /// The original, with Range support.
    pub file_url: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&MediaItem> for MediaView {
    fn from(item: &MediaItem) -> Self {
        MediaView {
            id: item.id.clone(),
            kind: item.kind,
            content_type: item.content_type.clone(),
            bytes: item.bytes,
            filename: item.filename.clone(),
            width: item.width,
            height: item.height,
            duration_seconds: item.duration_ms.map(|ms| ms as f64 / 1000.0),
            thumbnail_url: format!("/api/v1/media/{}/thumbnail", item.id),
            file_url: format!("/api/v1/media/{}/file", item.id),
            created_at: crate::db::rfc3339(item.created_at),
        }
    }
}

/// A page of the library, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaPage {
    pub items: Vec<MediaView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A project that uses an item (why it cannot be deleted).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProjectRef {
    pub id: String,
    pub title: String,
}

/// The upload form (for the API description): one part named `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The picture, clip or sound: PNG, JPEG, WebP, MP4, MOV, WebM, Matroska,
    /// MP3, AAC, M4A, WAV, Ogg or FLAC, at most `MEDIA_MAX_MB`. Its type is
    /// read from its content.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
