//! `/api/v1/brand`: the tenant's logo and where it goes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use utoipa::OpenApi;

use super::{BrandError, BrandView};
use crate::auth::AuthContext;
use crate::billing::Plan;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::download::{self, Download};
use crate::http::extract::Json;
use crate::state::AppState;
use reelforge_media::logo::MAX_LOGO_BYTES;
use reelforge_media::overlay::Corner;

#[derive(OpenApi)]
#[openapi(paths(get_brand, patch_brand, put_logo, get_logo, delete_logo), components(schemas(BrandView, BrandPatch)))]
pub struct BrandApi;

/// The brand routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/brand", get(get_brand).patch(patch_brand)).route(
        "/api/v1/brand/logo",
        // A little over the largest logo, so an oversized one gets our 413, not a cut body.
        put(put_logo).layer(DefaultBodyLimit::max(MAX_LOGO_BYTES + 1024)).get(get_logo).delete(delete_logo),
    )
}

/// Body of a placement change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandPatch {
    /// `top_left`, `top_right`, `bottom_left` or `bottom_right`.
    pub corner: Option<String>,
    /// 0 (invisible) to 1 (opaque).
    pub opacity: Option<f64>,
}

/// The tenant's plan as stored now (a plan change applies at once).
async fn plan_of(state: &AppState, auth: &AuthContext) -> AppResult<Plan> {
    let plan = crate::projects::store::active_tenant_plan(&state.db, &auth.tenant_id).await?;
    plan.and_then(|p| p.parse().ok()).ok_or(AppError::Unauthorized)
}

async fn paid(state: &AppState, auth: &AuthContext) -> AppResult<()> {
    crate::billing::require_paid_subscription(&state.config, plan_of(state, auth).await?, "a brand logo")
}

fn answer(err: BrandError) -> AppError {
    match err {
        BrandError::BadLogo(reason) => AppError::Validation(vec![FieldError::new("file", reason)]),
        BrandError::StorageFull => {
            AppError::InsufficientStorage { detail: "the storage is full; try again later".into() }
        }
        BrandError::Db(err) => err.into(),
        BrandError::Other(err) => AppError::Internal(err),
    }
}

/// The tenant's brand.
#[utoipa::path(get, path = "/api/v1/brand", tag = "brand", responses(
    (status = 200, body = BrandView, description = "the logo (if any), its corner and opacity, and whether the plan places it")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_brand(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<BrandView>> {
    let brand = super::get(&state.db, &auth.tenant_id).await?;
    Ok(axum::Json(brand.view(plan_of(&state, &auth).await? != Plan::Free)))
}

/// Where the logo goes and how opaque it is (Pro and Enterprise).
#[utoipa::path(patch, path = "/api/v1/brand", tag = "brand", request_body = BrandPatch, responses(
    (status = 200, body = BrandView, description = "the brand"),
    (status = 402, description = "the Free plan has the Reelforge watermark instead"),
    (status = 422, description = "a bad corner or opacity")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn patch_brand(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(body): Json<BrandPatch>,
) -> AppResult<axum::Json<BrandView>> {
    paid(&state, &auth).await?;
    let mut errors = Vec::new();
    let corner = match body.corner.as_deref() {
        None => None,
        Some(name) => {
            let corner = Corner::parse(name.trim());
            if corner.is_none() {
                errors.push(FieldError::new("corner", "must be top_left, top_right, bottom_left or bottom_right"));
            }
            corner
        }
    };
    if body.opacity.is_some_and(|o| !(0.1..=1.0).contains(&o)) {
        errors.push(FieldError::new("opacity", "must be a number from 0.1 to 1"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let brand = super::set_placement(&state.db, &auth.tenant_id, corner, body.opacity).await.map_err(answer)?;
    Ok(axum::Json(brand.view(true)))
}

/// Uploads the logo: the request body is the PNG or SVG file itself (its
/// type is read from its content), at most 2 MB.
#[utoipa::path(put, path = "/api/v1/brand/logo", tag = "brand",
    request_body(content = Vec<u8>, content_type = "image/png", description = "a PNG or SVG file"),
    responses(
    (status = 200, body = BrandView, description = "the brand with its new logo"),
    (status = 402, description = "the Free plan has the Reelforge watermark instead"),
    (status = 413, description = "larger than 2 MB"),
    (status = 422, description = "not a PNG or SVG, damaged, too large in pixels, or empty"),
    (status = 507, description = "the storage is full")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn put_logo(State(state): State<AppState>, auth: AuthContext, body: Bytes) -> AppResult<axum::Json<BrandView>> {
    paid(&state, &auth).await?;
    if body.len() > MAX_LOGO_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    if body.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new("file", "send the logo file as the request body")]));
    }
    let brand = super::set_logo(&state, &auth.tenant_id, body).await.map_err(answer)?;
    Ok(axum::Json(brand.view(true)))
}

/// The logo, as the PNG placed over videos.
#[utoipa::path(get, path = "/api/v1/brand/logo", tag = "brand", responses(
    (status = 200, content_type = "image/png", description = "the logo"),
    (status = 404, description = "no logo")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_logo(State(state): State<AppState>, auth: AuthContext, headers: HeaderMap) -> AppResult<Response> {
    let brand = super::get(&state.db, &auth.tenant_id).await?;
    let (Some(key), Some(hash)) = (brand.logo_key, brand.logo_hash) else { return Err(AppError::NotFound) };
    let etag = format!("\"{}\"", &hash[..20.min(hash.len())]);
    let download = Download {
        key: &key,
        content_type: "image/png",
        cache_control: "private, no-cache",
        etag: Some(etag),
        attachment: None,
    };
    download::serve(&state.storage, download, &headers).await
}

/// Removes the logo.
#[utoipa::path(delete, path = "/api/v1/brand/logo", tag = "brand", responses(
    (status = 204, description = "no logo any more")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_logo(State(state): State<AppState>, auth: AuthContext) -> AppResult<Response> {
    super::remove_logo(&state, &auth.tenant_id).await.map_err(answer)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
