//! `/api/v1/templates`: the built-in templates (read-only) and the tenant's
//! own brand templates (create, change, delete), and the editor's live still.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use utoipa::OpenApi;

use super::store::{self, TemplateRow};
use super::{AssetError, Checked, Known, MAX_TEMPLATES, TemplateInput, TemplateView, check, input_of, is_tenant_id};
use crate::auth::AuthContext;
use crate::db::now_ms;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::extract::Json;
use crate::projects::templates as builtin;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// The window of the per-tenant preview limit.
pub const PREVIEW_WINDOW: Duration = Duration::from_secs(60);
/// Previews a tenant may draw per `PREVIEW_WINDOW` (the editor asks at most
/// about three times a second while someone types).
const PREVIEWS_PER_MINUTE: u32 = 120;
/// The preview's width; its height follows the base's aspect.
const PREVIEW_WIDTH: u32 = 640;

#[derive(OpenApi)]
#[openapi(
    paths(list_templates, create_template, preview_template, get_template, patch_template, delete_template),
    components(schemas(TemplateView, TemplateInput, super::LogoSetting, super::TemplateRef))
)]
pub struct TemplatesApi;

/// The template routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/templates", get(list_templates).post(create_template))
        .route("/api/v1/templates/preview", post(preview_template))
        .route("/api/v1/templates/{id}", get(get_template).patch(patch_template).delete(delete_template))
}

fn read_only() -> AppError {
    AppError::Forbidden("built-in templates are read-only; make your own with POST /api/v1/templates".into())
}

/// Checks `input` against the tenant's library.
async fn checked(state: &AppState, auth: &AuthContext, input: TemplateInput) -> AppResult<Checked> {
    let known = Known::load(&state.db, &auth.tenant_id, &input).await?;
    check(input, &known).map_err(AppError::Validation)
}

fn view(row: &TemplateRow) -> AppResult<TemplateView> {
    TemplateView::tenant(row).ok_or_else(|| AppError::Internal(anyhow::anyhow!("template {} has no base", row.id)))
}

/// Every template the caller can use: the built-ins, then the tenant's own (oldest first).
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", responses(
    (status = 200, body = [TemplateView], description = "the built-in templates (`builtin: true`), then your own")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_templates(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<Vec<TemplateView>>> {
    let mut views: Vec<TemplateView> = builtin::all().iter().map(TemplateView::builtin).collect();
    for row in store::list(&state.db, &auth.tenant_id).await? {
        views.extend(TemplateView::tenant(&row));
    }
    Ok(axum::Json(views))
}

/// One template: a built-in or one of your own.
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = String, Path)), responses(
    (status = 200, body = TemplateView, description = "the template"),
    (status = 404, description = "no such template (another tenant's is none)")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_template(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<TemplateView>> {
    if let Some(template) = builtin::find(&id) {
        return Ok(axum::Json(TemplateView::builtin(template)));
    }
    let row = store::find(&state.db, &auth.tenant_id, &id).await?.ok_or(AppError::NotFound)?;
    Ok(axum::Json(view(&row)?))
}

/// Makes a brand template on a built-in one.
#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = TemplateInput,
    params(("Idempotency-Key" = Option<String>, Header, description = crate::idempotency::HEADER_DOC)),
    responses(
        (status = 201, body = TemplateView, description = "the template"),
        (status = 400, description = "a malformed Idempotency-Key"),
        (status = 409, description = "the same Idempotency-Key is still being processed"),
        (status = 422, description = "invalid fields, each named (a base that is not built-in, a colour, a font that is not one of your fonts, ...), or already 50 templates")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn create_template(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(input): Json<TemplateInput>,
) -> AppResult<Response> {
    let Checked { base, name, description, settings } = checked(&state, &auth, input).await?;
    let now = now_ms();
    let row = TemplateRow {
        id: format!("{}{}", super::ID_PREFIX, uuid::Uuid::now_v7().simple()),
        tenant_id: auth.tenant_id.clone(),
        base_id: base.id.clone(),
        name,
        description,
        settings: serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.into()))?,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin_write().await?;
    // The tenant's lock: two creates cannot both pass the cap.
    tx.lock_tenant(auth.tenant_id.as_str()).await?.ok_or(AppError::Unauthorized)?;
    if store::count(&mut tx, &auth.tenant_id).await? >= MAX_TEMPLATES {
        return Err(AppError::invalid("name", &format!("at most {MAX_TEMPLATES} templates; delete one first")));
    }
    store::insert(&mut tx, &row).await?;
    tx.commit().await?;
    let mut response = (StatusCode::CREATED, axum::Json(view(&row)?)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/templates/{}", row.id)) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// The members a PATCH may carry: a create body's.
const FIELDS: [&str; 13] = [
    "base_id",
    "name",
    "description",
    "palette",
    "text_color",
    "heading_font",
    "body_font",
    "caption_font",
    "caption_style",
    "logo",
    "music",
    "motion",
    "transition_seconds",
];

/// `patch` merged onto `current` (RFC 7396: a member replaces, `null`
/// removes, so the field is the base's again), read as a create body; a
/// member of the wrong shape is a 422 naming it.
fn merged(current: &TemplateInput, patch: Map<String, Value>) -> AppResult<TemplateInput> {
    let mut fields = Vec::new();
    for key in patch.keys() {
        if !FIELDS.contains(&key.as_str()) {
            fields.push(FieldError::new(key.clone(), "unknown field"));
        }
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    let Value::Object(mut body) = serde_json::to_value(current).map_err(|e| AppError::Internal(e.into()))? else {
        return Err(AppError::Internal(anyhow::anyhow!("a template is not an object")));
    };
    for (key, value) in &patch {
        if value.is_null() {
            if key == "base_id" || key == "name" {
                return Err(AppError::invalid(key, "cannot be removed"));
            }
            body.remove(key);
        } else {
            body.insert(key.clone(), value.clone());
        }
    }
    serde_json::from_value(Value::Object(body.clone())).map_err(|_| {
        // Which member is wrong: each patched one alone on the current body.
        let wrong = patch
            .iter()
            .filter(|(key, value)| {
                let mut one = serde_json::to_value(current).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut one {
                    map.insert((*key).clone(), (*value).clone());
                }
                !value.is_null() && serde_json::from_value::<TemplateInput>(one).is_err()
            })
            .map(|(key, _)| FieldError::new(key.clone(), "has the wrong type or shape"))
            .collect::<Vec<_>>();
        if wrong.is_empty() { AppError::invalid("body", "has the wrong shape") } else { AppError::Validation(wrong) }
    })
}

/// Changes some of a brand template's fields (`null` gives a field back to
/// the base). Projects made with it keep the template as it was.
#[utoipa::path(patch, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = String, Path)),
    request_body(content = Object, description = "any members of a create body; `null` removes an override"),
    responses(
        (status = 200, body = TemplateView, description = "the template"),
        (status = 403, description = "a built-in template (read-only)"),
        (status = 404, description = "no such template of this tenant"),
        (status = 422, description = "invalid fields, each named")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn patch_template(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> AppResult<axum::Json<TemplateView>> {
    if builtin::find(&id).is_some() {
        return Err(read_only());
    }
    let row = store::find(&state.db, &auth.tenant_id, &id).await?.ok_or(AppError::NotFound)?;
    let input = merged(&input_of(&row), patch)?;
    let Checked { base, name, description, settings } = checked(&state, &auth, input).await?;
    let row = TemplateRow {
        base_id: base.id.clone(),
        name,
        description,
        settings: serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.into()))?,
        updated_at: now_ms(),
        ..row
    };
    let mut tx = state.db.begin_write().await?;
    if !store::update(&mut tx, &row).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(axum::Json(view(&row)?))
}

/// Deletes a brand template. Projects made with it keep rendering as they were.
#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 403, description = "a built-in template (read-only)"),
    (status = 404, description = "no such template of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn delete_template(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    if builtin::find(&id).is_some() {
        return Err(read_only());
    }
    if !is_tenant_id(&id) || !store::delete(&state.db, &auth.tenant_id, &id).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A still of a template as its videos show it: the title card (palette,
/// text colour, heading font) with a sample caption (caption style and font)
/// and the logo, drawn by the render's own code, 640 px wide. The body is a
/// create body (`name` may be empty); the same checks apply. Limited per
/// tenant (120 a minute).
#[utoipa::path(post, path = "/api/v1/templates/preview", tag = "templates", request_body = TemplateInput,
    responses(
        (status = 200, content_type = "image/png", description = "the still"),
        (status = 422, description = "invalid fields, each named"),
        (status = 429, description = "too many previews this minute; see Retry-After")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn preview_template(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(mut input): Json<TemplateInput>,
) -> AppResult<Response> {
    if input.name.trim().is_empty() {
        // A template being made may have no name yet.
        input.name = "Preview".into();
    }
    let Checked { base, name, description, settings } = checked(&state, &auth, input).await?;
    let key = format!("template-preview:{}", auth.tenant_id);
    state.template_preview_limiter.admit(&[Limit { key: &key, max: PREVIEWS_PER_MINUTE }]).await.map_err(|wait| {
        AppError::RateLimited {
            retry_after_seconds: wait,
            detail: format!("too many previews this minute; try again in {wait} s"),
        }
    })?;
    let mut template = super::apply(base, "preview", &name, &description, &settings);
    let assets = super::load_assets(&state, &auth.tenant_id, &settings).await.map_err(asset_answer)?;
    assets.name_fonts(&mut template, &settings);
    // The logo a render would place: the template's own, or the brand's.
    let logo = match (&template.logo, assets.logo) {
        (Some(builtin::TemplateLogo::None), _) => None,
        (_, Some((png, _, corner, opacity))) => Some((png, corner, opacity)),
        (None, None) => {
            let brand = crate::brand::get(&state.db, &auth.tenant_id).await?;
            match brand.logo_key {
                Some(key) => Some((
                    state
                        .storage
                        .get_bytes(&key)
                        .await
                        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the brand logo: {e}")))?,
                    brand.corner,
                    brand.opacity,
                )),
                None => None,
            }
        }
        (Some(builtin::TemplateLogo::Image { .. }), None) => None,
    };
    let fonts = assets.fonts;
    let started = std::time::Instant::now();
    let png = tokio::task::spawn_blocking(move || -> anyhow::Result<bytes::Bytes> {
        for (_, bytes) in &fonts {
            reelforge_media::card::fonts::register(bytes)?;
        }
        let work = tempfile::tempdir()?;
        let logo_path = work.path().join("template-logo.png");
        if let Some((png, _, _)) = &logo {
            std::fs::write(&logo_path, png)?;
        }
        let height =
            ((PREVIEW_WIDTH as f64 * f64::from(template.height) / f64::from(template.width)) / 2.0).round() as u32 * 2;
        let still = reelforge_media::overlay::TemplateStill {
            card: &template.card,
            title: "Your story, your brand",
            caption: "Every scene speaks in your colours and your type.",
            style: template.subtitles.style,
            font_scale: template.subtitles.font_scale,
            caption_font: template.caption_font.as_deref(),
            logo: logo.as_ref().map(|(_, corner, opacity)| reelforge_media::overlay::LogoSpec {
                image: &logo_path,
                corner: *corner,
                opacity: *opacity as f32,
            }),
            width: PREVIEW_WIDTH,
            height,
        };
        let out = work.path().join("preview.png");
        reelforge_media::overlay::template_still(&still, work.path(), &out)?;
        Ok(bytes::Bytes::from(std::fs::read(&out)?))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing a template preview stopped: {e}")))??;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "template preview drawn");
    let mut response = (StatusCode::OK, png).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The answer when a template's files cannot be read.
pub fn asset_answer(err: AssetError) -> AppError {
    match err {
        AssetError::Unusable(field, reason) => AppError::invalid(&field, &reason),
        AssetError::StorageFull => AppError::InsufficientStorage { detail: "the media storage is full".into() },
        AssetError::Database(err) => err.into(),
        AssetError::Other(detail) => AppError::Internal(anyhow::anyhow!(detail)),
    }
}
