//! `/api/v1/media`: the tenant's media library.

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, json};
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::download::{self, Download};
use crate::http::extract::Query;
use crate::http::middleware::{MEDIA_UPLOAD_ROUTE, upload_too_large};
use crate::library::intake::{self, IntakeError, MAX_CLIP_SECONDS, MAX_PIXELS, Received};
use crate::library::service::{self, LibraryError};
use crate::library::types::{MediaItem, MediaPage, MediaView, ProjectRef, UploadForm};
use crate::state::AppState;

/// A 422 naming the `file` field, with the reason as its detail.
fn unprocessable(message: String) -> AppError {
    let mut extensions = Map::new();
    extensions.insert("errors".into(), json!([FieldError::new("file", message.clone())]));
    AppError::Problem {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Unprocessable Content".into(),
        detail: message,
        extensions,
    }
}

/// The 415 for anything that is not an accepted type.
fn unsupported() -> AppError {
    let mut extensions = Map::new();
    extensions.insert(
        "accepted".into(),
        json!([
            "image/png",
            "image/jpeg",
            "image/webp",
            "video/mp4",
            "video/quicktime",
            "video/webm",
            "video/x-matroska",
            "audio/mpeg",
            "audio/aac",
            "audio/mp4",
            "audio/wav",
            "audio/ogg",
            "audio/flac",
            "font/ttf",
            "font/otf"
        ]),
    );
    AppError::Problem {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        title: "Unsupported Media Type".into(),
        detail: format!(
            "the file is not an accepted type (read from its content, not its name); accepted: {}",
            reelforge_media::intake::ACCEPTED
        ),
        extensions,
    }
}

/// The HTTP answer to a library error.
fn answer(state: &AppState) -> impl Fn(LibraryError) -> AppError + '_ {
    move |err| match err {
        LibraryError::NotFound => AppError::NotFound,
        LibraryError::AccountGone => AppError::Unauthorized,
        LibraryError::Intake(err) => intake_answer(err),
        LibraryError::QuotaExceeded(exceeded) => crate::usage::quota_exceeded(&state.config, &exceeded),
        LibraryError::StorageFull => AppError::InsufficientStorage {
            detail: "the media storage is full; nothing was saved. Delete old media or projects, or try again later"
                .into(),
        },
        LibraryError::InUse { projects, templates } => {
            let mut users = Vec::new();
            if !projects.is_empty() {
                let names: Vec<String> = projects.iter().map(|p| format!("\"{}\"", p.title)).collect();
                users.push(format!(
                    "scenes or music of {} {}",
                    if projects.len() == 1 { "the project" } else { "the projects" },
                    names.join(", ")
                ));
            }
            if !templates.is_empty() {
                let names: Vec<String> = templates.iter().map(|t| format!("\"{}\"", t.name)).collect();
                users.push(format!(
                    "{} {}",
                    if templates.len() == 1 { "the template" } else { "the templates" },
                    names.join(", ")
                ));
            }
            let mut extensions = Map::new();
            extensions.insert("projects".into(), json!(projects));
            extensions.insert("templates".into(), json!(templates));
            AppError::Problem {
                status: StatusCode::CONFLICT,
                title: "Conflict".into(),
                detail: format!("this media is used by {}; change those first", users.join(" and ")),
                extensions,
            }
        }
        LibraryError::Database(err) => err.into(),
        LibraryError::Storage(detail) => AppError::Internal(anyhow::anyhow!(detail)),
    }
}

fn intake_answer(err: IntakeError) -> AppError {
    match err {
        IntakeError::TooLarge { max_mb } => upload_too_large(max_mb),
        IntakeError::Unsupported => unsupported(),
        IntakeError::Unreadable(cause) => {
            // The cause (a program's stderr) is for the log, not the caller.
            tracing::info!(cause = %cause, "an upload could not be read");
            unprocessable("the file could not be read: it is damaged, truncated or has no picture".into())
        }
        IntakeError::TooManyPixels { width, height } => unprocessable(format!(
            "the picture is {width} x {height} pixels; at most {} megapixels ({MAX_PIXELS} pixels) are accepted",
            MAX_PIXELS / 1_000_000
        )),
        IntakeError::TooLong { seconds } => unprocessable(format!(
            "the clip is {seconds:.0} seconds long; at most {} minutes are accepted",
            MAX_CLIP_SECONDS / 60.0
        )),
        IntakeError::Body(cause) => {
            tracing::info!(cause = %cause, "an upload's body could not be read");
            AppError::BadRequest("the upload could not be read".into())
        }
        IntakeError::FontFormat(reason) => match unsupported() {
            AppError::Problem { status, title, extensions, .. } => {
                AppError::Problem { status, title, detail: reason.into(), extensions }
            }
            other => other,
        },
        IntakeError::BadFont(reason) => unprocessable(format!("the font cannot be used: {reason}")),
        IntakeError::FontTooLarge { max_mb } => AppError::Problem {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "Payload Too Large".into(),
            detail: format!("a font may be at most {max_mb} MB"),
            extensions: Map::new(),
        },
        IntakeError::DiskFull => AppError::InsufficientStorage {
            detail: "the server's disk is full; nothing was saved. Try again later".into(),
        },
        IntakeError::Internal(cause) => AppError::Internal(anyhow::anyhow!(cause)),
    }
}

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        // The upload's size is held by `limit_body` (MEDIA_MAX_MB, streamed)
        // and by intake; axum's default 1 MiB limit must not cut it.
        .route(MEDIA_UPLOAD_ROUTE, post(upload_media).layer(DefaultBodyLimit::disable()).get(list_media))
        .route("/api/v1/media/{id}", get(get_media).delete(delete_media))
        .route("/api/v1/media/{id}/file", get(media_file))
        .route("/api/v1/media/{id}/thumbnail", get(media_thumbnail))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(upload_media, list_media, get_media, delete_media, media_file, media_thumbnail),
    components(schemas(MediaView, MediaPage, ProjectRef, UploadForm)),
    tags((name = "media", description = "The media library: pictures and clips for scenes"))
)]
pub struct LibraryApi;

/// Uploads a picture or clip into the library.
///
/// The type is read from the file's content; the name is kept as a label
/// only. Pictures are stored upright (EXIF orientation applied) as PNG with
/// the longest side at most 3840 px; clips as uploaded. The stored bytes
/// count toward `storage_mb` at once.
#[utoipa::path(post, path = "/api/v1/media", tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = MediaView, description = "stored in the library"),
        (status = 400, description = "the multipart body is malformed (cut short, no boundary)"),
        (status = 402, description = "storing it would pass the storage quota (metric storage_mb)"),
        (status = 413, description = "the file is larger than MEDIA_MAX_MB"),
        (status = 415, description = "not multipart/form-data, or the file is not a PNG, JPEG, WebP, MP4, MOV, WebM or Matroska file by its content (playlists and concat lists are refused)"),
        (status = 422, description = "no part named file; a picture over 50 megapixels; a clip over 10 minutes; a file that cannot be read (damaged, truncated, no picture)"),
        (status = 507, description = "storage full; nothing was saved"),
    ),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn upload_media(
    State(state): State<AppState>,
    auth: AuthContext,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let mut multipart = multipart.map_err(|_| AppError::Problem {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        title: "Unsupported Media Type".into(),
        detail: "send the file as multipart/form-data, in a part named file".into(),
        extensions: Map::new(),
    })?;
    let work_root = state.config.data_dir.join("work");
    tokio::fs::create_dir_all(&work_root).await.map_err(|e| AppError::Internal(e.into()))?;
    // Removed with everything in it when the request ends, whatever the outcome.
    let work =
        tempfile::Builder::new().prefix("upload-").tempdir_in(&work_root).map_err(|e| AppError::Internal(e.into()))?;
    let max_mb = state.config.media.media_max_mb;
    let max_bytes = state.config.media.media_max_bytes();
    let mut received: Option<Received> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(multipart_error(&err)),
        };
        if field.name() != Some("file") || received.is_some() {
            // Other parts are read past (the body limit bounds them).
            drain(field).await;
            continue;
        }
        let filename = intake::display_name(field.file_name());
        let path = work.path().join("original");
        let mut field = field;
        match intake::receive(&mut field, &path, max_bytes, max_mb).await {
            Ok((bytes, head)) => received = Some(Received { path, bytes, head, filename }),
            Err(err) => {
                // Read the rest (bounded by the body limit and its drain)
                // so that the client, still sending, reads the answer.
                drain(field).await;
                return Err(intake_answer(err));
            }
        }
    }
    let Some(received) = received else {
        return Err(unprocessable("send the file in a multipart part named file".into()));
    };
    let view = service::add(&state, &auth.tenant_id, &received, work.path()).await.map_err(answer(&state))?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Reads a multipart part to its end (or the first error) and drops it.
async fn drain(mut field: axum::extract::multipart::Field<'_>) {
    while let Ok(Some(_)) = field.chunk().await {}
}

/// A multipart body that does not parse is a 400; one cut off by the body
/// limit is answered by `limit_body` itself.
fn multipart_error(err: &axum::extract::multipart::MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    AppError::BadRequest(format!("the multipart body could not be read: {}", err.body_text()))
}

/// Paging of the library.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1-100, default 20.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's library, newest first.
#[utoipa::path(get, path = "/api/v1/media", tag = "media", params(ListQuery), responses(
    (status = 200, body = MediaPage, description = "a page of the library")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_media(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<ListQuery>,
) -> AppResult<axum::Json<MediaPage>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 100"));
    }
    // A cursor that is not an id cannot name a page.
    let cursor = match query.cursor.as_deref().map(uuid::Uuid::try_parse) {
        None => None,
        Some(Ok(cursor)) => Some(cursor.hyphenated().to_string()),
        Some(Err(_)) => return Err(AppError::invalid("cursor", "must be the next_cursor of a previous page")),
    };
    let page = service::list(&state.db, &auth.tenant_id, cursor.as_deref(), limit).await.map_err(answer(&state))?;
    Ok(axum::Json(page))
}

/// The tenant's item with this id; anything that is not an id names none.
async fn item(state: &AppState, auth: &AuthContext, id: &str) -> AppResult<MediaItem> {
    let id = uuid::Uuid::try_parse(id).map_err(|_| AppError::NotFound)?.hyphenated().to_string();
    service::get(&state.db, &auth.tenant_id, &id).await.map_err(answer(state))
}

/// One library item.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media", params(("id" = String, Path)), responses(
    (status = 200, body = MediaView, description = "the item"),
    (status = 404, description = "no such media of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_media(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<MediaView>> {
    Ok(axum::Json(MediaView::from(&item(&state, &auth, &id).await?)))
}

/// Deletes an item and its files; its bytes leave `storage_mb` at once.
#[utoipa::path(delete, path = "/api/v1/media/{id}", tag = "media", params(("id" = String, Path)), responses(
    (status = 204, description = "deleted with its files"),
    (status = 404, description = "no such media of this tenant"),
    (status = 409, description = "scenes use it; `projects` lists each project's id and title")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_media(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let found = item(&state, &auth, &id).await?;
    service::delete(&state, &auth.tenant_id, &found.id).await.map_err(answer(&state))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `Content-Type` served for a stored type (only intake's types are stored).
fn served_type(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/webp" => "image/webp",
        "video/mp4" => "video/mp4",
        "video/quicktime" => "video/quicktime",
        "video/webm" => "video/webm",
        "video/x-matroska" => "video/x-matroska",
        "audio/mpeg" => "audio/mpeg",
        "audio/aac" => "audio/aac",
        "audio/mp4" => "audio/mp4",
        "audio/wav" => "audio/wav",
        "audio/ogg" => "audio/ogg",
        "audio/flac" => "audio/flac",
        "font/ttf" => "font/ttf",
        "font/otf" => "font/otf",
        _ => "application/octet-stream",
    }
}

async fn serve(
    state: &AppState,
    key: &str,
    content_type: &'static str,
    version: &str,
    headers: &HeaderMap,
) -> AppResult<Response> {
    // An item never changes (a new upload is a new id): the key names the version.
    let etag = format!("\"{}\"", &crate::crypto::hash_token(&format!("{key}:{version}"))[..20]);
    let download =
        Download { key, content_type, cache_control: "private, no-cache", etag: Some(etag), attachment: None };
    download::serve(&state.storage, download, headers).await
}

/// The original file as uploaded, with HTTP Range support.
#[utoipa::path(get, path = "/api/v1/media/{id}/file", tag = "media", params(("id" = String, Path)), responses(
    (status = 200, description = "the whole file, as its content_type"),
    (status = 206, description = "a byte range"),
    (status = 404, description = "no such media of this tenant"),
    (status = 416, description = "the range is outside the file")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn media_file(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let item = item(&state, &auth, &id).await?;
    serve(&state, &item.file_key, served_type(&item.content_type), &item.id, &headers).await
}

/// The thumbnail (JPEG, 320 px wide).
#[utoipa::path(get, path = "/api/v1/media/{id}/thumbnail", tag = "media", params(("id" = String, Path)), responses(
    (status = 200, content_type = "image/jpeg", description = "the thumbnail"),
    (status = 404, description = "no such media of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn media_thumbnail(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let item = item(&state, &auth, &id).await?;
    serve(&state, &item.thumbnail_key, "image/jpeg", &item.id, &headers).await
}
