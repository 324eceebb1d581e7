//! `/api/v1/*`: templates, voices and projects.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{self, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::domain::ProjectId;
use crate::error::{AppError, AppResult};
#[cfg(test)]
use crate::http::download::parse_range;
use crate::http::download::{self, Download};
use crate::http::extract::{Json, Query};
use crate::projects::events::{self, StreamsFull};
use crate::projects::music::{self, BedView};
use crate::projects::service::{self, ProjectError};
use crate::projects::types::{
    CreateProject, Created, Creator, EstimateProject, ProjectEstimate, ProjectFile, ProjectPage, ProjectPatch,
    ProjectView, WordView,
};
use crate::projects::voices::{self, VoiceView};
use crate::state::AppState;

/// The HTTP answer to a projects-domain error.
pub(crate) fn answer(state: &AppState) -> impl Fn(ProjectError) -> AppError + '_ {
    move |err| match err {
        ProjectError::NotFound => AppError::NotFound,
        ProjectError::AccountGone => AppError::Unauthorized,
        ProjectError::Invalid(errors) => AppError::Validation(errors),
        ProjectError::NeedsPaidPlan { feature, plan } => {
            match crate::billing::require_paid_subscription(&state.config, plan, &feature) {
                Err(err) => err,
                Ok(()) => AppError::Internal(anyhow::anyhow!("{feature} refused on a paid plan")),
            }
        }
        ProjectError::QuotaExceeded(exceeded) => crate::usage::quota_exceeded(&state.config, &exceeded),
        ProjectError::QueueFull { eta_seconds } => {
            let mut extensions = serde_json::Map::new();
            extensions.insert("eta_seconds".into(), json!(eta_seconds));
            AppError::RateLimitedProblem {
                retry_after_seconds: eta_seconds,
                detail: format!("the render queue is full; try again in about {eta_seconds} seconds"),
                extensions,
            }
        }
        ProjectError::TenantQueueFull { plan, limit, eta_seconds } => {
            let mut extensions = serde_json::Map::new();
            extensions.insert("limit".into(), json!("unfinished_projects"));
            extensions.insert("max_unfinished".into(), json!(limit));
            extensions.insert("plan".into(), json!(plan.as_str()));
            extensions.insert("eta_seconds".into(), json!(eta_seconds));
            AppError::RateLimitedProblem {
                retry_after_seconds: eta_seconds,
                detail: format!(
                    "the {} plan allows {limit} unfinished (queued or running) projects at a time; \
                     try again in about {eta_seconds} seconds, when one has finished",
                    plan.as_str()
                ),
                extensions,
            }
        }
        ProjectError::StorageFull => AppError::InsufficientStorage {
            detail: "the media storage is full; nothing was saved. Delete old projects or try again later".into(),
        },
        ProjectError::NothingToRetry => {
            AppError::Conflict("nothing to retry: no step of this project failed or fell back".into())
        }
        ProjectError::AlreadyFinished => AppError::Conflict("the project has already finished".into()),
        ProjectError::RenderRunning => AppError::Conflict(
            "a render of this project is running: wait for it to finish (or cancel it) before changing it".into(),
        ),
        ProjectError::UpToDate => {
            AppError::Conflict("nothing changed since the last render: the video is up to date".into())
        }
        ProjectError::Database(err) => err.into(),
        ProjectError::Storage(detail) => AppError::Internal(anyhow::anyhow!(detail)),
    }
}

/// A project id from a path: one that is not an id names no project.
pub(super) fn project_id(raw: &str) -> AppResult<ProjectId> {
    ProjectId::parse(raw).map_err(|_| AppError::NotFound)
}

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/voices", get(list_voices))
        .route("/api/v1/voices/{id}/preview", get(voice_preview))
        .route("/api/v1/caption-styles", get(list_caption_styles))
        .route("/api/v1/caption-styles/{id}/preview.png", get(caption_style_preview))
        .route("/api/v1/projects", post(create_project).get(list_projects))
        .route("/api/v1/projects/create", post(create_project))
        .route("/api/v1/projects/estimate", post(estimate_project))
        .route("/api/v1/music", get(list_music))
        .route("/api/v1/music/{id}/preview", get(music_preview))
        .route("/api/v1/projects/{id}", get(get_project).patch(patch_project).delete(delete_project))
        .route("/api/v1/projects/{id}/events", get(project_events))
        .route("/api/v1/projects/{id}/retry", post(retry_project))
        .route("/api/v1/projects/{id}/cancel", post(cancel_project))
        .route("/api/v1/projects/{id}/video", get(video))
        .route("/api/v1/projects/{id}/thumbnail", get(thumbnail))
        .route("/api/v1/projects/{id}/captions.vtt", get(captions_vtt))
        .route("/api/v1/projects/{id}/captions.srt", get(captions_srt))
        .route("/api/v1/projects/{id}/credits.txt", get(credits_txt))
        .route("/api/v1/projects/{id}/words.json", get(words_json))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list_voices, voice_preview, list_caption_styles, caption_style_preview, list_music,
          music_preview, create_project, estimate_project, list_projects, get_project, patch_project, delete_project,
          project_events, retry_project, cancel_project, video, thumbnail, captions_vtt, captions_srt, credits_txt,
          words_json),
    tags((name = "projects", description = "Templates, voices, projects and their videos"))
)]
pub struct ProjectsApi;

/// Filter of the voice list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct VoiceQuery {
    /// Only voices of this language (prefix match, e.g. `en` matches `en-us`).
    pub language: Option<String>,
}

/// Voices the configured speech providers offer.
#[utoipa::path(get, path = "/api/v1/voices", tag = "projects", params(VoiceQuery), responses(
    (status = 200, body = [VoiceView], description = "the voices, filtered by language when asked")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_voices(
    State(state): State<AppState>,
    _auth: AuthContext,
    Query(query): Query<VoiceQuery>,
) -> AppResult<axum::Json<Vec<VoiceView>>> {
    Ok(axum::Json(voices::list(&state, query.language.as_deref()).await))
}

/// A short spoken sample of a voice (WAV), cached after the first request.
#[utoipa::path(get, path = "/api/v1/voices/{id}/preview", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "audio/wav", description = "a WAV sample"),
    (status = 404, description = "not a voice /api/v1/voices lists"),
    (status = 429, description = "too many remote voice previews this hour (VOICE_PREVIEWS_PER_HOUR); Retry-After says when"),
    (status = 502, description = "the provider failed")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn voice_preview(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let bytes = voices::preview(&state, &auth.tenant_id, &id).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    Ok(response)
}

/// A caption style on offer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaptionStyleView {
    /// `line`, `karaoke` or `pop`: a project's `caption_style`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// A still of the style over a frame.
    pub preview_url: String,
}

/// The caption styles.
#[utoipa::path(get, path = "/api/v1/caption-styles", tag = "projects", responses(
    (status = 200, body = [CaptionStyleView], description = "every caption style, with a still preview")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_caption_styles(_auth: AuthContext) -> axum::Json<Vec<CaptionStyleView>> {
    use reelforge_media::overlay::CaptionStyle;
    let view = |style: CaptionStyle| {
        let (name, description) = match style {
            CaptionStyle::Line => ("Sentence", "The sentence being spoken, at the bottom."),
            CaptionStyle::Karaoke => ("Karaoke", "The sentence at the bottom, the spoken word highlighted."),
            CaptionStyle::Pop => ("Pop", "One to three large words at a time, the short-form look."),
        };
        CaptionStyleView {
            id: style.as_str().into(),
            name: name.into(),
            description: description.into(),
            preview_url: format!("/api/v1/caption-styles/{}/preview.png", style.as_str()),
        }
    };
    axum::Json(CaptionStyle::ALL.into_iter().map(view).collect())
}

/// A still of a caption style (PNG, 640 x 360), drawn by the renderer itself.
#[utoipa::path(get, path = "/api/v1/caption-styles/{id}/preview.png", tag = "projects", params(("id" = String, Path)),
    responses(
    (status = 200, content_type = "image/png", description = "the still"),
    (status = 404, description = "no such style")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn caption_style_preview(_auth: AuthContext, Path(id): Path<String>) -> AppResult<Response> {
    use reelforge_media::overlay::CaptionStyle;
    static DRAWN: std::sync::Mutex<Vec<(CaptionStyle, bytes::Bytes)>> = std::sync::Mutex::new(Vec::new());
    let style = CaptionStyle::parse(&id).ok_or(AppError::NotFound)?;
    let cached = DRAWN.lock().ok().and_then(|drawn| drawn.iter().find(|(s, _)| *s == style).map(|(_, b)| b.clone()));
    let png = match cached {
        Some(png) => png,
        None => {
            let png = tokio::task::spawn_blocking(move || -> anyhow::Result<bytes::Bytes> {
                let work = tempfile::tempdir()?;
                let out = work.path().join("preview.png");
                reelforge_media::overlay::style_preview(style, 640, 360, work.path(), &out)?;
                Ok(bytes::Bytes::from(std::fs::read(&out)?))
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing a caption preview stopped: {e}")))??;
            if let Ok(mut drawn) = DRAWN.lock() {
                drawn.push((style, png.clone()));
            }
            png
        }
    };
    let mut response = (StatusCode::OK, png).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    Ok(response)
}

/// The bundled music beds (made by the project itself, CC0), each with a
/// preview. A tenant's own music is an audio file of its media library
/// (`GET /api/v1/media`, `kind` `audio`).
#[utoipa::path(get, path = "/api/v1/music", tag = "projects", responses(
    (status = 200, body = [BedView], description = "every bundled bed")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_music(_auth: AuthContext) -> axum::Json<Vec<BedView>> {
    axum::Json(music::beds())
}

/// A bundled bed's whole loop (WAV, 48 kHz stereo), made at its first use.
#[utoipa::path(get, path = "/api/v1/music/{id}/preview", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "audio/wav", description = "the loop as WAV"),
    (status = 404, description = "no such bed")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn music_preview(
    State(state): State<AppState>,
    _auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = music::ensure_bed(&state.storage, &id).await.map_err(|err| AppError::Internal(err.into()))?;
    let key = key.ok_or(AppError::NotFound)?;
    let download = Download {
        key: &key,
        content_type: "audio/wav",
        cache_control: "private, max-age=86400",
        etag: Some(format!("\"{}\"", reelforge_media::music::VERSION)),
        attachment: None,
    };
    download::serve(&state.storage, download, &headers).await
}

/// Creates a project from a script and queues its video.
#[utoipa::path(post, path = "/api/v1/projects/create", tag = "projects", request_body = CreateProject,
    params(("Idempotency-Key" = Option<String>, Header, description = crate::idempotency::HEADER_DOC)), responses(
    (status = 202, body = Created, description = "queued (or, with an Idempotency-Key seen before with this body, the first answer again, marked Idempotent-Replayed: true)"),
    (status = 400, description = "an Idempotency-Key that is not 1 to 255 visible ASCII characters"),
    (status = 402, description = "quota exceeded or premium template on the Free plan"),
    (status = 409, description = "a request with this Idempotency-Key is still running"),
    (status = 422, description = "invalid fields (listed), or an Idempotency-Key used with another body"),
    (status = 429, description = "queue full, or the plan's limit of unfinished projects reached (limit, max_unfinished); Retry-After and eta_seconds say when to retry"),
    (status = 507, description = "storage full"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn create_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(body): Json<CreateProject>,
) -> AppResult<impl IntoResponse> {
    let new = service::validate_offered(&state, &auth.tenant_id, body).await.map_err(answer(&state))?;
    let created = service::create(&state, &auth.tenant_id, &Creator::of(&auth), new).await.map_err(answer(&state))?;
    Ok((StatusCode::ACCEPTED, axum::Json(created)))
}

/// The scenes, words and usage a project would reserve, without creating it
/// (the create form's live estimate). Validates as creation does; quota and
/// plan are not checked.
#[utoipa::path(post, path = "/api/v1/projects/estimate", tag = "projects", request_body = EstimateProject, responses(
    (status = 200, body = ProjectEstimate, description = "the numbers admission would reserve"),
    (status = 422, description = "invalid fields (listed), as on creation"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn estimate_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(body): Json<EstimateProject>,
) -> AppResult<axum::Json<ProjectEstimate>> {
    Ok(axum::Json(service::estimate(&state, &auth.tenant_id, body).await.map_err(answer(&state))?))
}

/// Paging of the project list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1-100, default 20.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's projects, newest first.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListQuery), responses(
    (status = 200, body = ProjectPage, description = "a page of projects")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_projects(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<ListQuery>,
) -> AppResult<axum::Json<ProjectPage>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 100"));
    }
    // A cursor that is not an id cannot name a page.
    let cursor = match query.cursor.as_deref().map(ProjectId::parse) {
        None => None,
        Some(Ok(cursor)) => Some(cursor),
        Some(Err(_)) => return Err(AppError::invalid("cursor", "must be the next_cursor of a previous page")),
    };
    let page = service::list(&state.db, &auth.tenant_id, cursor.as_ref(), limit).await.map_err(answer(&state))?;
    Ok(axum::Json(page))
}

/// A project with scenes, progress, warnings and file URLs.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, body = ProjectView, description = "the project"),
    (status = 404, description = "no such project of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_project(State(state): State<AppState>, auth: AuthContext, Path(id): Path<String>) -> AppResult<Response> {
    let view = service::get_cached(&state, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok(axum::Json(view.as_ref()).into_response())
}

/// Changes a project's settings: `music` (`null` removes it). Checked as on
/// creation; the next `render` makes only what changed (for music, the sound and the join).
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path)),
    request_body = ProjectPatch, responses(
    (status = 200, body = ProjectView, description = "the project, changed"),
    (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "a render of the project is running"),
    (status = 422, description = "invalid fields (listed)")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn patch_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<ProjectPatch>,
) -> AppResult<axum::Json<ProjectView>> {
    let view = service::patch(&state, &auth.tenant_id, &project_id(&id)?, body).await.map_err(answer(&state))?;
    Ok(axum::Json(view))
}

/// Deletes a project and its media.
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path)), responses(
    (status = 204, description = "deleted with its media"),
    (status = 404, description = "no such project of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    service::delete(&state, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues failed and fallback steps again.
#[utoipa::path(post, path = "/api/v1/projects/{id}/retry", tag = "projects", params(("id" = String, Path)), responses(
    (status = 202, description = "the failed steps are queued again"),
    (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "nothing failed"),
    (status = 429, description = "queue full, or the plan's limit of unfinished projects reached (limit, max_unfinished); Retry-After and eta_seconds say when to retry")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn retry_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<impl IntoResponse> {
    service::retry(&state, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"project_id": id, "status": "queued"}))))
}

/// Cancels an unfinished project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/cancel", tag = "projects", params(("id" = String, Path)), responses(
    (status = 202, description = "cancelled"), (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "already finished")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn cancel_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<impl IntoResponse> {
    service::cancel(&state, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"project_id": id, "status": "cancelled"}))))
}

/// Server-Sent Events: one `step` event per step change, then `done`.
#[utoipa::path(get, path = "/api/v1/projects/{id}/events", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "text/event-stream", description = "`step` events, then `done`"),
    (status = 404, description = "no such project of this tenant"),
    (status = 429, description = "too many streams open (LIVE_STREAMS_PER_TENANT, LIVE_STREAMS_MAX); Retry-After says when to try again")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn project_events(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = project_id(&id)?;
    service::record(&state.db, &auth.tenant_id, &id).await.map_err(answer(&state))?;
    let permit = events::admit(&state, &auth.tenant_id).map_err(|full| AppError::RateLimited {
        retry_after_seconds: 10,
        detail: match full {
            StreamsFull::Tenant => "too many live-progress streams are open for this account; close another \
                                    progress page, or poll the project instead"
                .to_string(),
            StreamsFull::Server => {
                "too many live-progress streams are open on this server; try again shortly, or poll the project"
                    .to_string()
            }
        },
    })?;
    let stream = events::stream(state, auth.tenant_id, id, permit);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

pub(super) async fn serve_file(
    state: &AppState,
    auth: &AuthContext,
    id: &str,
    file: ProjectFile,
    content_type: &'static str,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let key = service::file_key(&state.db, &auth.tenant_id, &project_id(id)?, file).await.map_err(answer(state))?;
    serve_content_key(state, &key, content_type, headers).await
}

/// Serves a project's stored output. Keys are content keys: a re-render gets
/// a new key, so the key names the version. Browsers revalidate (no-cache)
/// and get a 304 while it holds.
pub(super) async fn serve_content_key(
    state: &AppState,
    key: &str,
    content_type: &'static str,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let etag = format!("\"{}\"", &crate::crypto::hash_token(key)[..20]);
    let download =
        Download { key, content_type, cache_control: "private, no-cache", etag: Some(etag), attachment: None };
    download::serve(&state.storage, download, headers).await
}

/// The video (MP4), with HTTP Range support.
#[utoipa::path(get, path = "/api/v1/projects/{id}/video", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "video/mp4", description = "the whole video"),
    (status = 206, description = "a byte range"),
    (status = 404, description = "no such project, or no video yet"),
    (status = 416, description = "the range is outside the file")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn video(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve_file(&state, &auth, &id, ProjectFile::Video, "video/mp4", &headers).await
}

/// The thumbnail (JPEG).
#[utoipa::path(get, path = "/api/v1/projects/{id}/thumbnail", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "image/jpeg", description = "the thumbnail"),
    (status = 404, description = "no such project, or no thumbnail yet")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn thumbnail(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve_file(&state, &auth, &id, ProjectFile::Thumbnail, "image/jpeg", &headers).await
}

/// Captions (WebVTT).
#[utoipa::path(get, path = "/api/v1/projects/{id}/captions.vtt", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "text/vtt", description = "WebVTT captions"),
    (status = 404, description = "no such project, or no captions yet")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn captions_vtt(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve_file(&state, &auth, &id, ProjectFile::CaptionsVtt, "text/vtt; charset=utf-8", &headers).await
}

/// Captions (SRT).
#[utoipa::path(get, path = "/api/v1/projects/{id}/captions.srt", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "application/x-subrip", description = "SRT captions"),
    (status = 404, description = "no such project, or no captions yet")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn captions_srt(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve_file(&state, &auth, &id, ProjectFile::CaptionsSrt, "application/x-subrip; charset=utf-8", &headers).await
}

/// The credits of the project's stock photos and clips, as text to paste
/// under a published video (Pexels and Pixabay ask for attribution).
#[utoipa::path(get, path = "/api/v1/projects/{id}/credits.txt", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, content_type = "text/plain", description = "one entry per scene showing stock: the credit line, the page, the author's page"),
    (status = 404, description = "no such project of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn credits_txt(State(state): State<AppState>, auth: AuthContext, Path(id): Path<String>) -> AppResult<Response> {
    let text = service::credits_text(&state.db, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"credits.txt\""),
        ],
        text,
    )
        .into_response())
}

/// Every narrated word with its time on the finished video (what
/// word-by-word captions show), in order.
#[utoipa::path(get, path = "/api/v1/projects/{id}/words.json", tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, body = [WordView], description = "the words of every narrated scene, in seconds from the video's start; \
        `measured` from the voice's alignment or `estimated` from syllables within the sentence"),
    (status = 404, description = "no such project of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn words_json(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<Vec<WordView>>> {
    let words = service::words(&state.db, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok(axum::Json(words))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=-0", 1000), None);
    }
}
