//! `/api/v1/stock`: the storyboard's stock picker. Searches go through the
//! same cache and rate-limit rules as the render's; preview pictures are
//! served through Reelforge (the page's CSP allows images from this origin
//! only, and the browser never talks to a provider).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::types::{Credit, Found, Orientation, Search, StockMedia, StockProvider};
use super::{DownloadError, StockClient, StockError};
use crate::auth::AuthContext;
use crate::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// The window of the per-tenant search limit.
pub const SEARCH_WINDOW: Duration = Duration::from_secs(60);
/// The last page the picker may ask for.
const MAX_PAGE: u32 = 50;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stock/search", get(stock_search))
        .route("/api/v1/stock/thumbnail", get(stock_thumbnail))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(stock_search, stock_thumbnail),
    components(schemas(StockResults, StockResult, StockProvider, StockMedia, Orientation, Credit)),
    tags((name = "stock", description = "Stock photos and footage (Pexels, Pixabay) for scenes"))
)]
pub struct StockApiDoc;

/// A stock search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// What to look for (1-100 characters).
    pub q: String,
    /// `photo` (default) or `video`.
    pub media: Option<StockMedia>,
    /// `landscape` (default), `portrait` or `square`: the template's shape.
    pub orientation: Option<Orientation>,
    /// From 1 (default) to 50.
    pub page: Option<u32>,
    /// One provider only; default: the first configured one that has results.
    pub provider: Option<StockProvider>,
}

/// One result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockResult {
    pub provider: StockProvider,
    /// The provider's id: a scene's `visual.pick`.
    pub id: String,
    pub media: StockMedia,
    /// A preview picture, served through Reelforge.
    pub thumbnail_url: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Clips only.
    pub duration_seconds: Option<f64>,
    pub author: String,
    pub author_url: Option<String>,
    /// The page to credit.
    pub page_url: String,
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockResults {
    pub query: String,
    pub media: StockMedia,
    pub orientation: Orientation,
    pub page: u32,
    /// The provider that answered (`null` when none had results).
    pub provider: Option<StockProvider>,
    pub results: Vec<StockResult>,
}

fn thumbnail_url(found: &Found) -> Option<String> {
    let source = found.thumbnail.as_deref()?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("provider", found.provider.as_str())
        .append_pair("src", source)
        .finish();
    Some(format!("/api/v1/stock/thumbnail?{query}"))
}

impl From<&Found> for StockResult {
    fn from(found: &Found) -> Self {
        StockResult {
            provider: found.provider,
            id: found.id.clone(),
            media: found.media,
            thumbnail_url: thumbnail_url(found),
            width: found.width,
            height: found.height,
            duration_seconds: found.duration_seconds,
            author: found.author.clone(),
            author_url: found.author_url.clone(),
            page_url: found.page_url.clone(),
        }
    }
}

/// The answer to a provider failure. A 503 says which kind in `reason`:
/// `not_configured` (no stock key: nothing to retry) or `provider_busy`
/// (the providers ask us to wait; `retry_after_seconds`).
fn answer(err: StockError) -> AppError {
    let unavailable = |detail: String, reason: &str, wait: Option<u64>| {
        let mut extensions = serde_json::Map::new();
        extensions.insert("reason".into(), reason.into());
        if let Some(wait) = wait {
            extensions.insert("retry_after_seconds".into(), wait.into());
        }
        AppError::Problem {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            title: "Service Unavailable".into(),
            detail,
            extensions,
        }
    };
    match err {
        StockError::NotConfigured => unavailable(
            "no stock provider is set up on this server (PEXELS_API_KEY or PIXABAY_API_KEY)".into(),
            "not_configured",
            None,
        ),
        StockError::Busy { provider, wait } => {
            let seconds = wait.as_secs().max(1);
            unavailable(
                format!("{} is limiting our searches; try again in {seconds} s", provider.name()),
                "provider_busy",
                Some(seconds),
            )
        }
        StockError::Failed { provider, reason } => {
            AppError::BadGateway { detail: format!("{} {reason}; try again later", provider.name()) }
        }
        StockError::Database(err) => err.into(),
    }
}

/// Searches stock photos or clips.
///
/// Answers are cached for a day and shared by every tenant; a provider that
/// is down or limiting us is skipped for the next one. Limited per tenant
/// (`STOCK_SEARCHES_PER_MINUTE`).
#[utoipa::path(get, path = "/api/v1/stock/search", tag = "stock", params(SearchQuery), responses(
        (status = 200, body = StockResults, description = "a page of results (possibly empty)"),
        (status = 429, description = "too many searches by this tenant this minute (Retry-After)"),
        (status = 502, description = "the stock provider failed"),
        (status = 503, description = "`reason`: `not_configured` (no stock provider is set up) or `provider_busy` (the providers ask us to wait; `retry_after_seconds`)"),
    ),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn stock_search(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<SearchQuery>,
) -> AppResult<axum::Json<StockResults>> {
    let q = query.q.trim().to_string();
    if q.is_empty() || q.chars().count() > super::types::MAX_QUERY_CHARS || q.chars().any(char::is_control) {
        return Err(AppError::invalid("q", "must be 1 to 100 characters of words"));
    }
    let page = query.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(AppError::invalid("page", "must be between 1 and 50"));
    }
    let config = &state.config.stock;
    let providers = match query.provider {
        Some(provider) => StockClient::providers(config, Some(provider)).into_iter().take(1).collect::<Vec<_>>(),
        None => StockClient::providers(config, None),
    };
    if providers.is_empty() || query.provider.is_some_and(|p| providers.first() != Some(&p)) {
        return Err(answer(StockError::NotConfigured));
    }
    let key = format!("stock:{}", auth.tenant_id);
    let max = config.searches_per_minute;
    state.stock_limiter.admit(&[Limit { key: &key, max }]).await.map_err(|wait| AppError::RateLimited {
        retry_after_seconds: wait,
        detail: format!("too many stock searches; try again in {wait} s"),
    })?;
    let media = query.media.unwrap_or(StockMedia::Photo);
    let orientation = query.orientation.unwrap_or(Orientation::Landscape);
    let wanted = Search { query: q.clone(), media, orientation, page };
    let timeout = super::search_timeout(&state.config);
    let first = super::first_with_results(&providers, |provider| {
        state.stock.search(&state.db, config, provider, &wanted, timeout)
    })
    .await
    .map_err(answer)?;
    let (provider, results) = match first {
        Some((provider, found)) => (Some(provider), found.iter().map(StockResult::from).collect()),
        None => (None, Vec::new()),
    };
    Ok(axum::Json(StockResults { query: q, media, orientation, page, provider, results }))
}

/// A preview picture.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ThumbnailQuery {
    pub provider: StockProvider,
    /// The provider's preview URL, as a search result's `thumbnail_url` names it.
    pub src: String,
}

/// A search result's preview picture, fetched from the provider's file host.
#[utoipa::path(get, path = "/api/v1/stock/thumbnail", tag = "stock", params(ThumbnailQuery), responses(
        (status = 200, content_type = "image/jpeg", description = "the picture (JPEG, PNG or WebP)"),
        (status = 404, description = "not an address of that provider's file hosts, or not a picture"),
        (status = 502, description = "the provider's file host failed"),
        (status = 503, description = "that provider is not set up"),
    ),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn stock_thumbnail(
    State(state): State<AppState>,
    _auth: AuthContext,
    Query(query): Query<ThumbnailQuery>,
) -> AppResult<Response> {
    let config = &state.config.stock;
    if StockClient::providers(config, Some(query.provider)).first() != Some(&query.provider) {
        return Err(answer(StockError::NotConfigured));
    }
    let timeout = super::search_timeout(&state.config);
    match state.stock.thumbnail(query.provider, &query.src, timeout).await {
        Ok((body, content_type)) => {
            Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, max-age=86400")], body)
                .into_response())
        }
        Err(DownloadError::Refused | DownloadError::Intake(_)) => Err(AppError::NotFound),
        Err(DownloadError::Failed(reason)) => {
            Err(AppError::BadGateway { detail: format!("{} {reason}", query.provider.name()) })
        }
    }
}
