//! `/api/v1/batches`: create (JSON, or a CSV upload), list, read, and the
//! ZIP of the finished videos.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, json};
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::batches::service::{
    self, BatchCreated, BatchError, BatchPage, BatchRowView, BatchSummary, BatchView, CreateBatch, RowError,
    TemplateScript,
};
use crate::batches::{RowCounts, archive, rows};
use crate::domain::BatchId;
use crate::error::{AppError, AppResult, default_title};
use crate::http::extract::{Json, Query, parse_json};
use crate::projects::routes::ListQuery;
use crate::state::AppState;

/// The route that creates a batch (honours `Idempotency-Key`).
pub const ROUTE: &str = "/api/v1/batches";
/// The ZIP's route (a download: no request time limit).
pub const ZIP_ROUTE: &str = "/api/v1/batches/{id}/videos.zip";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(ROUTE, post(create_batch).get(list_batches))
        .route("/api/v1/batches/{id}", get(get_batch))
        .route(ZIP_ROUTE, get(videos_zip))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(create_batch, list_batches, get_batch, videos_zip),
    components(schemas(CreateBatch, TemplateScript, BatchCreated, BatchView, BatchRowView, BatchSummary, BatchPage,
                        RowCounts, RowError, BatchUpload)),
    tags((name = "batches", description = "One template script rendered once per row of data"))
)]
pub struct BatchesApi;

/// The CSV upload (for the API description): the rows as a CSV file, the
/// rest of the batch as JSON.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct BatchUpload {
    /// The rows: a CSV file (UTF-8, a header row naming the fields, one row
    /// per video; `,`, or `;` or tab when the header has no comma).
    #[schema(value_type = String, format = Binary)]
    pub rows: Vec<u8>,
    /// The batch as JSON (`CreateBatch` without `rows`).
    #[schema(value_type = String)]
    pub batch: String,
}

/// The HTTP answer to a batch's error.
fn answer(state: &AppState, rows: usize) -> impl Fn(BatchError) -> AppError + '_ {
    move |err| match err {
        BatchError::Invalid { errors, total } => invalid(errors, total),
        BatchError::Project(err) => match crate::projects::routes::answer(state)(err) {
            AppError::PaymentRequired { detail, mut extensions } => {
                // The whole batch is refused: say how many videos asked for it.
                extensions.insert("rows".into(), json!(rows));
                AppError::PaymentRequired { detail: format!("{detail} (a batch of {rows} videos)"), extensions }
            }
            other => other,
        },
    }
}

/// The 422 of a batch: every problem, each with its row when it is one row's.
fn invalid(errors: Vec<RowError>, total: usize) -> AppError {
    let rows: std::collections::BTreeSet<usize> = errors.iter().filter_map(|e| e.row).collect();
    let detail = match (rows.len(), errors.len() < total) {
        (0, _) => format!("the batch has {total} problem(s); see errors"),
        (rows, false) => format!("the batch has {total} problem(s) in {rows} row(s); see errors"),
        (rows, true) => format!("the batch has {total} problem(s), in {rows} row(s) among those listed; see errors"),
    };
    let mut extensions = Map::new();
    extensions.insert("errors".into(), json!(errors));
    extensions.insert("errors_total".into(), json!(total));
    AppError::Problem {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: default_title(StatusCode::UNPROCESSABLE_ENTITY).into(),
        detail,
        extensions,
    }
}

fn rows_invalid(errors: Vec<rows::RowsError>) -> AppError {
    let total = errors.len();
    invalid(errors.into_iter().take(service::MAX_LISTED_ERRORS).map(RowError::from).collect(), total)
}

/// Renders one template script once per row of data: each row is a project
/// whose title, script or scenes (text, title, stock query, AI prompt) have
/// the row's values in place of the merge fields (`{{name}}`). The rows come
/// as JSON (`rows`) or as a CSV file (multipart: the file in the part `rows`,
/// the rest of the body as JSON in the part `batch`). Every row is checked
/// first and all problems are listed (422); then every row is admitted as one
/// reservation: the quotas must hold the sum of the rows' estimates, or the
/// whole batch gets 402 and nothing is made. The batch takes one place of
/// the plan's unfinished-projects limit and one place per row of the
/// service's queue.
#[utoipa::path(post, path = "/api/v1/batches", tag = "batches",
    request_body(content((CreateBatch = "application/json"), (BatchUpload = "multipart/form-data"))),
    params(("Idempotency-Key" = Option<String>, Header, description = crate::idempotency::HEADER_DOC)), responses(
    (status = 202, body = BatchCreated, description = "every row queued (or, with an Idempotency-Key seen before with this body, the first answer again, marked Idempotent-Replayed: true)"),
    (status = 400, description = "malformed JSON or multipart body; an Idempotency-Key that is not 1 to 255 visible ASCII characters"),
    (status = 402, description = "the batch would pass a monthly quota (metric, used, reserved, quota, needed for the whole batch, upgrade_url, rows), or a premium template on the Free plan; nothing was made"),
    (status = 409, description = "a request with this Idempotency-Key is still running"),
    (status = 415, description = "neither JSON nor multipart/form-data"),
    (status = 422, description = "problems listed in errors (each with row when it is one row's: a merge field missing, a filled-in project that is invalid), errors_total; 0 or more than 500 rows; or an Idempotency-Key used with another body"),
    (status = 429, description = "the render queue has no room for every row, or the plan's limit of unfinished projects is reached; Retry-After and eta_seconds say when to retry"),
    (status = 507, description = "storage full; nothing was made"),
), security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn create_batch(State(state): State<AppState>, auth: AuthContext, request: Request) -> AppResult<Response> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (batch, rows) = if content_type == "multipart/form-data" {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|_| AppError::BadRequest("the multipart body could not be read (no boundary?)".into()))?;
        read_upload(multipart).await?
    } else {
        let Json(mut batch) = Json::<CreateBatch>::from_request(request, &state).await?;
        let Some(given) = batch.rows.take() else {
            return Err(AppError::invalid("rows", "give the rows (or upload them as CSV)"));
        };
        let rows = rows::from_json(given).map_err(rows_invalid)?;
        (batch, rows)
    };
    let count = rows.len();
    let created = service::create(&state, &auth.tenant_id, &crate::projects::types::Creator::of(&auth), batch, rows)
        .await
        .map_err(answer(&state, count))?;
    let mut response = (StatusCode::ACCEPTED, axum::Json(&created)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/batches/{}", created.id)) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// Reads a CSV upload: the part `rows` (the CSV file) and the part `batch`
/// (the rest, as JSON). Other parts are read past.
async fn read_upload(mut multipart: Multipart) -> AppResult<(CreateBatch, Vec<crate::batches::merge::Row>)> {
    let mut csv: Option<Vec<u8>> = None;
    let mut batch: Option<Vec<u8>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(AppError::PayloadTooLarge),
            Err(err) => {
                return Err(AppError::BadRequest(format!("the multipart body could not be read: {}", err.body_text())));
            }
        };
        let name = field.name().map(String::from);
        let bytes = field.bytes().await.map_err(|err| {
            AppError::BadRequest(format!("the multipart body could not be read: {}", err.body_text()))
        })?;
        match name.as_deref() {
            Some("rows") if csv.is_none() => csv = Some(bytes.to_vec()),
            Some("batch") if batch.is_none() => batch = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let (Some(csv), Some(batch)) = (csv, batch) else {
        return Err(AppError::invalid(
            "body",
            "send the CSV file in the part rows and the batch as JSON in the part batch",
        ));
    };
    let batch: CreateBatch = parse_json(&batch).map_err(|err| match err {
        AppError::Validation(errors) => AppError::Validation(
            errors
                .into_iter()
                .map(|e| crate::error::FieldError::new(format!("batch.{}", e.field), e.message))
                .collect(),
        ),
        other => other,
    })?;
    if batch.rows.is_some() {
        return Err(AppError::invalid("batch.rows", "give the rows in the CSV file, not in the JSON as well"));
    }
    let rows = rows::from_csv(&csv).map_err(rows_invalid)?;
    Ok((batch, rows))
}

fn batch_id(raw: &str) -> AppResult<BatchId> {
    BatchId::parse(raw).map_err(|_| AppError::NotFound)
}

/// The tenant's batches, newest first.
#[utoipa::path(get, path = "/api/v1/batches", tag = "batches", params(ListQuery), responses(
    (status = 200, body = BatchPage, description = "a page of batches")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn list_batches(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<ListQuery>,
) -> AppResult<axum::Json<BatchPage>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 100"));
    }
    let cursor = match query.cursor.as_deref().map(BatchId::parse) {
        None => None,
        Some(Ok(cursor)) => Some(cursor),
        Some(Err(_)) => return Err(AppError::invalid("cursor", "must be the next_cursor of a previous page")),
    };
    let page = service::list(&state.db, &auth.tenant_id, cursor.as_ref(), limit)
        .await
        .map_err(crate::projects::routes::answer(&state))?;
    Ok(axum::Json(page))
}

/// A batch: its status, counts and every row with its project's status and video.
#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "batches", params(("id" = String, Path)), responses(
    (status = 200, body = BatchView, description = "the batch"),
    (status = 404, description = "no such batch of this tenant")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn get_batch(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> AppResult<axum::Json<BatchView>> {
    let view = service::get(&state.db, &auth.tenant_id, &batch_id(&id)?)
        .await
        .map_err(crate::projects::routes::answer(&state))?;
    Ok(axum::Json(view))
}

/// The batch's finished videos as one ZIP (`001-<title>.mp4`, ... by row),
/// streamed. Rows still being made, failed or cancelled are left out.
#[utoipa::path(get, path = "/api/v1/batches/{id}/videos.zip", tag = "batches", params(("id" = String, Path)), responses(
    (status = 200, content_type = "application/zip", description = "the ZIP"),
    (status = 404, description = "no such batch of this tenant"),
    (status = 409, description = "no video of the batch is finished yet")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn videos_zip(State(state): State<AppState>, auth: AuthContext, Path(id): Path<String>) -> AppResult<Response> {
    let batch_id = batch_id(&id)?;
    let entries = service::zip_entries(&state.db, &auth.tenant_id, &batch_id)
        .await
        .map_err(crate::projects::routes::answer(&state))?;
    if entries.is_empty() {
        return Err(AppError::Conflict("no video of this batch is finished yet".into()));
    }
    let body = axum::body::Body::from_stream(archive::stream(state.storage.clone(), entries));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"batch-{batch_id}.zip\"")) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
