//! Serving a stored object: streamed from storage chunk by chunk (never read
//! whole into memory, so fifty parallel downloads of a large video cost
//! fifty small buffers, not fifty videos), with one HTTP byte range, an ETag
//! and `If-None-Match`.

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, AppResult};
use crate::storage::{Storage, StorageError};

/// What to serve and how to label it.
pub struct Download<'a> {
    /// The storage key.
    pub key: &'a str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
    /// A strong validator (quoted) for `ETag` and `If-None-Match`, when the
    /// key names one version of the content.
    pub etag: Option<String>,
    /// `Content-Disposition` file name, to save rather than show.
    pub attachment: Option<&'a str>,
}

/// The object, or the byte range `headers` ask for (206, or 416 outside it).
pub async fn serve(storage: &Storage, download: Download<'_>, headers: &HeaderMap) -> AppResult<Response> {
    let etag_value = download.etag.as_deref().and_then(|etag| HeaderValue::from_str(etag).ok());
    if let Some(etag) = &download.etag {
        let matches = headers
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*"));
        if matches {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Some(value) = etag_value {
                response.headers_mut().insert(ETAG, value);
            }
            response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(download.cache_control));
            return Ok(response);
        }
    }
    let size = match storage.size(download.key).await {
        Ok(Some(size)) => size,
        Ok(None) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::Internal(anyhow::anyhow!(err))),
    };
    let range = headers.get(RANGE).and_then(|v| v.to_str().ok()).map(|v| parse_range(v, size));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(None) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let stream = match storage.get_range_stream(download.key, start..end).await {
        Ok(stream) => stream,
        Err(StorageError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::Internal(anyhow::anyhow!(err))),
    };
    let mut response = (status, Body::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(download.content_type));
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(download.cache_control));
    if let Some(value) = etag_value {
        headers.insert(ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&(end - start).to_string()) {
        headers.insert(CONTENT_LENGTH, value);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1))
    {
        headers.insert(CONTENT_RANGE, value);
    }
    if let Some(value) =
        download.attachment.and_then(|name| HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).ok())
    {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Parses one `bytes=` range into a half-open `start..end`; `None` when it
/// cannot be satisfied.
pub fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (start, end) = first.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size)
        }
        (start, "") => (start.parse().ok()?, size),
        (start, end) => {
            let end: u64 = end.parse().ok()?;
            (start.parse().ok()?, end.saturating_add(1).min(size))
        }
    };
    (start < end && start < size).then_some((start, end))
}
