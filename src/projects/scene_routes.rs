//! `/api/v1/projects/{id}/scenes` and `/render`: the storyboard API (SPEC 4.7).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::pipeline::graph::StepKind;
use crate::projects::routes::{answer, project_id, serve_content_key};
use crate::projects::scene::ScenePatch;
use crate::projects::service::{self, SceneEdit};
use crate::projects::types::{Created, InsertScene, ReorderScenes, SceneDetail};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects/{id}/scenes", get(list_scenes).post(insert_scene))
        .route("/api/v1/projects/{id}/scenes/reorder", post(reorder_scenes))
        .route("/api/v1/projects/{id}/scenes/{index}", get(get_scene).patch(patch_scene).delete(delete_scene))
        .route("/api/v1/projects/{id}/scenes/{index}/image", get(scene_image))
        .route("/api/v1/projects/{id}/scenes/{index}/audio", get(scene_audio))
        .route("/api/v1/projects/{id}/render", post(render_project))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list_scenes, get_scene, patch_scene, insert_scene, delete_scene, reorder_scenes, scene_image, scene_audio,
          render_project),
    components(schemas(crate::projects::scene::Visual, crate::projects::scene::SceneInput)),
    tags((name = "scenes", description = "A project's scenes: the storyboard, edits and renders of what changed"))
)]
pub struct ScenesApi;

/// A scene index from a path: one that is not a number names no scene.
fn scene_index(raw: &str) -> AppResult<usize> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// The project's scenes, with their pictures, narration and status.
#[utoipa::path(get, path = "/api/v1/projects/{id}/scenes", tag = "scenes", params(("id" = String, Path)), responses(
    (status = 200, body = [SceneDetail], description = "the scenes in order"),
    (status = 404, description = "no such project of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_scenes(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<Vec<SceneDetail>>> {
    let scenes = service::scenes(&state.db, &auth.tenant_id, &project_id(&id)?).await.map_err(answer(&state))?;
    Ok(axum::Json(scenes))
}

/// One scene.
#[utoipa::path(get, path = "/api/v1/projects/{id}/scenes/{index}", tag = "scenes",
    params(("id" = String, Path), ("index" = usize, Path)), responses(
    (status = 200, body = SceneDetail, description = "the scene"),
    (status = 404, description = "no such project of this tenant, or no such scene")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_scene(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, index)): Path<(String, String)>,
) -> AppResult<axum::Json<SceneDetail>> {
    let scene = service::scene(&state.db, &auth.tenant_id, &project_id(&id)?, scene_index(&index)?)
        .await
        .map_err(answer(&state))?;
    Ok(axum::Json(scene))
}

async fn edit(state: &AppState, auth: &AuthContext, id: &str, edit: SceneEdit) -> AppResult<Vec<SceneDetail>> {
    service::edit_scenes(state, &auth.tenant_id, &project_id(id)?, edit).await.map_err(answer(state))
}

/// Changes a scene's text, title, visual or voice; the steps that read what
/// changed become stale (the next render makes them again).
#[utoipa::path(patch, path = "/api/v1/projects/{id}/scenes/{index}", tag = "scenes",
    params(("id" = String, Path), ("index" = usize, Path)), request_body = ScenePatch, responses(
    (status = 200, body = SceneDetail, description = "the scene after the edit"),
    (status = 404, description = "no such project of this tenant, or no such scene"),
    (status = 409, description = "a render is running"),
    (status = 422, description = "invalid fields (listed)")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn patch_scene(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, index)): Path<(String, String)>,
    Json(patch): Json<ScenePatch>,
) -> AppResult<axum::Json<SceneDetail>> {
    let index = scene_index(&index)?;
    let scenes = edit(&state, &auth, &id, SceneEdit::Patch { index, patch }).await?;
    scenes.into_iter().nth(index).map(axum::Json).ok_or(AppError::NotFound)
}

/// Inserts a scene at `at`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/scenes", tag = "scenes", params(("id" = String, Path)),
    request_body = InsertScene, responses(
    (status = 200, body = [SceneDetail], description = "the scenes after the insert"),
    (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "a render is running"),
    (status = 422, description = "invalid fields, or already 60 scenes")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn insert_scene(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<InsertScene>,
) -> AppResult<axum::Json<Vec<SceneDetail>>> {
    let scene = crate::projects::scene::SceneInput {
        text: body.text,
        title: body.title,
        visual: body.visual,
        voice: body.voice,
        prompt: None,
    };
    Ok(axum::Json(edit(&state, &auth, &id, SceneEdit::Insert { at: body.at, scene }).await?))
}

/// Deletes a scene; the ones after it move up.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/scenes/{index}", tag = "scenes",
    params(("id" = String, Path), ("index" = usize, Path)), responses(
    (status = 200, body = [SceneDetail], description = "the scenes after the delete"),
    (status = 404, description = "no such project of this tenant, or no such scene"),
    (status = 409, description = "a render is running"),
    (status = 422, description = "the last scene cannot be deleted")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_scene(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, index)): Path<(String, String)>,
) -> AppResult<axum::Json<Vec<SceneDetail>>> {
    let index = scene_index(&index)?;
    Ok(axum::Json(edit(&state, &auth, &id, SceneEdit::Delete { index }).await?))
}

/// Puts the scenes in a new order: `order` lists every current index once.
#[utoipa::path(post, path = "/api/v1/projects/{id}/scenes/reorder", tag = "scenes", params(("id" = String, Path)),
    request_body = ReorderScenes, responses(
    (status = 200, body = [SceneDetail], description = "the scenes in their new order"),
    (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "a render is running"),
    (status = 422, description = "`order` is not every index once")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn reorder_scenes(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<ReorderScenes>,
) -> AppResult<axum::Json<Vec<SceneDetail>>> {
    Ok(axum::Json(edit(&state, &auth, &id, SceneEdit::Reorder { order: body.order }).await?))
}

async fn scene_file(
    state: &AppState,
    auth: &AuthContext,
    (id, index): (String, String),
    kind: StepKind,
    content_type: &'static str,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let key = service::scene_file_key(&state.db, &auth.tenant_id, &project_id(&id)?, scene_index(&index)?, kind)
        .await
        .map_err(answer(state))?;
    serve_content_key(state, &key, content_type, headers).await
}

/// The scene's current picture (PNG), once made.
#[utoipa::path(get, path = "/api/v1/projects/{id}/scenes/{index}/image", tag = "scenes",
    params(("id" = String, Path), ("index" = usize, Path)), responses(
    (status = 200, content_type = "image/png", description = "the picture"),
    (status = 404, description = "not made yet (or stale), or no such scene or project")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn scene_image(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    scene_file(&state, &auth, path, StepKind::Image, "image/png", &headers).await
}

/// The scene's current narration (WAV), once made.
#[utoipa::path(get, path = "/api/v1/projects/{id}/scenes/{index}/audio", tag = "scenes",
    params(("id" = String, Path), ("index" = usize, Path)), responses(
    (status = 200, content_type = "audio/wav", description = "the narration"),
    (status = 404, description = "not made yet (or stale), or no such scene or project")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn scene_audio(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    scene_file(&state, &auth, path, StepKind::Speech, "audio/wav", &headers).await
}

/// Renders the scenes as they are now: only the steps whose inputs changed
/// (or that failed) run, and only they are billed; the previous video stays
/// downloadable until the new one is ready.
#[utoipa::path(post, path = "/api/v1/projects/{id}/render", tag = "scenes", params(("id" = String, Path)), responses(
    (status = 202, body = Created, description = "queued"),
    (status = 402, description = "the work would pass a quota"),
    (status = 404, description = "no such project of this tenant"),
    (status = 409, description = "a render is running, or nothing changed since the last one"),
    (status = 429, description = "queue full, or the plan's limit of unfinished projects reached; Retry-After says when"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn render_project(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<impl IntoResponse> {
    let project_id = project_id(&id)?;
    service::render(&state, &auth.tenant_id, &project_id).await.map_err(answer(&state))?;
    let eta_seconds = service::eta_seconds(&state, 0).await?;
    let status = crate::projects::types::ProjectStatus::Queued;
    Ok((StatusCode::ACCEPTED, axum::Json(Created { project_id, status, eta_seconds })))
}
