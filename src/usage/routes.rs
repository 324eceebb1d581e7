//! `/api/usage` and `/api/usage/history`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::billing::Plan;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::state::AppState;
use crate::usage::quota::{self, METRICS, MONTHLY_METRICS, period_of};
use crate::usage::store;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/usage", get(current)).route("/api/usage/history", get(history))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(current, history), tags((name = "usage", description = "Usage and quotas")))]
pub struct UsageApi;

/// One metric this period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricUsage {
    /// In the metric's unit (count, seconds, minutes, MB), two decimals.
    pub used: f64,
    /// `null` when unlimited.
    pub quota: Option<f64>,
    /// Held for projects still rendering (and scripts being written).
    pub reserved: f64,
}

/// The tenant's usage this month.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageResponse {
    /// `YYYY-MM` (UTC).
    pub period: String,
    pub plan: Plan,
    pub metrics: BTreeMap<&'static str, MetricUsage>,
    /// Metrics at 90% of their quota or more.
    pub near_limit: Vec<&'static str>,
    /// Overages: the owner's settings and the usage past the quota this month.
    pub overage: crate::billing::overage::OverageView,
}

/// Usage and quotas of the current month.
#[utoipa::path(get, path = "/api/usage", tag = "usage", responses(
    (status = 200, body = UsageResponse, description = "usage and quotas per metric"),
    (status = 401, description = "not signed in")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn current(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<UsageResponse>> {
    let period = period_of(now_ms());
    let cache_key = format!("{}:{period}", auth.tenant_id);
    let row = match state.usage_cache.get(&cache_key) {
        Some(row) => row,
        None => {
            let fetched = std::time::Instant::now();
            let row = std::sync::Arc::new(store::usage(&state.db, &auth.tenant_id, &period).await?);
            state.usage_cache.put(cache_key, auth.tenant_id.as_str(), fetched, row.clone());
            row
        }
    };
    let plan: Plan = row.plan.as_deref().and_then(|p| p.parse().ok()).ok_or(AppError::Unauthorized)?;
    let (used, reserved) = row.amounts();
    let mut metrics = BTreeMap::new();
    let mut near_limit = Vec::new();
    for metric in METRICS {
        let quota = metric.quota(&state.config, plan);
        let base = used.get(metric);
        if quota::near_limit(base, quota) {
            near_limit.push(metric.as_str());
        }
        metrics.insert(
            metric.as_str(),
            MetricUsage {
                used: metric.display(base),
                quota: quota.map(|q| metric.display(q)),
                reserved: metric.display(reserved.get(metric)),
            },
        );
    }
    let overage = crate::billing::overage::view(&state.config, plan, &row);
    Ok(axum::Json(UsageResponse { period, plan, metrics, near_limit, overage }))
}

/// Days of history.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// 1-366, default 30.
    pub days: Option<i64>,
}

/// One day of one metric.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayAmount {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub amount: f64,
}

/// Daily series per metric.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    pub days: i64,
    /// Metric name -> one entry per day, oldest first (days without usage are 0).
    pub series: BTreeMap<&'static str, Vec<DayAmount>>,
}

const DAY_MS: i64 = 86_400_000;

fn date_of(ms: i64) -> String {
    let t = crate::db::utc(ms).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Daily usage of the last `days` days, for the chart.
#[utoipa::path(get, path = "/api/usage/history", tag = "usage", params(HistoryQuery), responses(
    (status = 200, body = HistoryResponse, description = "one series per metric"),
    (status = 401, description = "not signed in"),
    (status = 422, description = "days out of range")),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn history(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<HistoryQuery>,
) -> AppResult<axum::Json<HistoryResponse>> {
    let days = query.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(AppError::invalid("days", "must be between 1 and 366"));
    }
    let today_start = now_ms() / DAY_MS * DAY_MS;
    let since = today_start - (days - 1) * DAY_MS;
    let rows = store::daily(&state.db, &auth.tenant_id, since).await?;
    let mut series = BTreeMap::new();
    for metric in MONTHLY_METRICS {
        let mut totals = vec![0i64; days as usize];
        for (at, name, amount) in &rows {
            if name == metric.as_str() {
                let day = ((at - since) / DAY_MS) as usize;
                if let Some(total) = totals.get_mut(day) {
                    *total += amount;
                }
            }
        }
        let points = totals
            .iter()
            .enumerate()
            .map(|(i, total)| DayAmount { date: date_of(since + i as i64 * DAY_MS), amount: metric.display(*total) })
            .collect();
        series.insert(metric.as_str(), points);
    }
    Ok(axum::Json(HistoryResponse { days, series }))
}
