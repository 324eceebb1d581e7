//! `POST /api/v1/scripts`: a script from a topic.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Map;
use utoipa::OpenApi;

use super::llm::LlmError;
use super::service::{self, Script, ScriptError, ScriptRequest, ScriptScene};
use crate::auth::AuthContext;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// The route (the request timeout and `Idempotency-Key` name it).
pub const ROUTE: &str = "/api/v1/scripts";
/// The window of the per-tenant limit (`SCRIPTS_PER_MINUTE`).
pub const WINDOW: Duration = Duration::from_secs(60);

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route(ROUTE, post(write_script))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(
    paths(write_script),
    components(schemas(ScriptRequest, Script, ScriptScene)),
    tags((name = "scripts", description = "Scripts written from a topic by a language model"))
)]
pub struct ScriptsApi;

/// How long the route may take: two calls to the model and the bookkeeping,
/// or `REQUEST_TIMEOUT_SECONDS` when that is longer.
pub fn request_limit(state: &AppState) -> Duration {
    state.config.http.request_timeout.max(state.config.scripts.timeout * 2 + Duration::from_secs(10))
}

/// A problem with `reason` (and any other members).
fn problem(status: StatusCode, detail: String, reason: &str) -> AppError {
    let mut extensions = Map::new();
    extensions.insert("reason".into(), reason.into());
    AppError::Problem { status, title: crate::error::default_title(status).into(), detail, extensions }
}

/// The answer to a generation that failed.
fn answer(state: &AppState, err: ScriptError) -> AppError {
    match err {
        ScriptError::Quota(exceeded) => crate::usage::quota_exceeded(&state.config, &exceeded),
        ScriptError::Database(err) => err.into(),
        ScriptError::Llm(LlmError::Busy { retry_after_seconds }) => {
            let mut extensions = Map::new();
            extensions.insert("reason".into(), "provider_busy".into());
            AppError::RateLimitedProblem {
                retry_after_seconds,
                detail: format!("the language model is busy; try again in {retry_after_seconds} s"),
                extensions,
            }
        }
        ScriptError::Llm(LlmError::Timeout(seconds)) => problem(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the language model did not answer within {seconds} s; try again, perhaps with a shorter script"),
            "timeout",
        ),
        ScriptError::Llm(LlmError::Refused) => problem(
            StatusCode::BAD_GATEWAY,
            "the language model declined to write about this topic (asked twice); try another wording".into(),
            "refused",
        ),
        ScriptError::Llm(LlmError::Invalid(_)) => problem(
            StatusCode::BAD_GATEWAY,
            "the language model did not write a usable script (asked twice); try again".into(),
            "invalid_answer",
        ),
        ScriptError::Llm(err @ LlmError::Failed(_)) => {
            problem(StatusCode::BAD_GATEWAY, format!("{err}; try again later"), "provider_failed")
        }
    }
}

/// Writes a script from a topic.
///
/// A language model (`LLM_API_BASE`) writes a title and scenes, each with
/// its narration, a stock photo visual with a search query and a picture
/// prompt; the answer's `title`, `language` and `scenes` are a valid body of
/// `POST /api/v1/projects` with a `template_id` added. An unusable answer
/// (not the schema, a refusal, a script far from what was asked) is asked
/// for once more. Metered as `scripts_generated` (counted only when a script
/// is returned); limited per tenant (`SCRIPTS_PER_MINUTE`). Honours
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/scripts", tag = "scripts", request_body = ScriptRequest, responses(
        (status = 200, body = Script, description = "the script, ready for `POST /api/v1/projects`"),
        (status = 402, description = "the monthly `scripts_generated` quota is used up (`metric`, `used`, `reserved`, `quota`, `needed`, `upgrade_url`)"),
        (status = 429, description = "too many scripts by this tenant this minute, or (`reason` `provider_busy`) the language model asks us to wait (Retry-After)"),
        (status = 502, description = "`reason`: `invalid_answer` or `refused` (no usable script after a second try), `provider_failed` (the language model failed or refused our key)"),
        (status = 503, description = "no language model is configured (`reason` `not_configured`)"),
        (status = 504, description = "the language model did not answer within `LLM_TIMEOUT_SECONDS` (`reason` `timeout`)"),
    ),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])))]
async fn write_script(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(body): Json<ScriptRequest>,
) -> AppResult<axum::Json<Script>> {
    let brief = service::check_request(body).map_err(AppError::Validation)?;
    let Some(api) = state.config.scripts.llm.clone() else {
        return Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "no language model is set up on this server (LLM_API_BASE); write the script yourself".into(),
            "not_configured",
        ));
    };
    let key = format!("scripts:{}", auth.tenant_id);
    let max = state.config.scripts.per_minute;
    state.scripts_limiter.admit(&[Limit { key: &key, max }]).await.map_err(|wait| {
        let mut extensions = Map::new();
        extensions.insert("reason".into(), "rate_limited".into());
        AppError::RateLimitedProblem {
            retry_after_seconds: wait,
            detail: format!("too many scripts asked for this minute; try again in {wait} s"),
            extensions,
        }
    })?;
    // Its own task: a client that leaves does not stop the generation half
    // way, so the reservation is always either recorded (and logged) or released.
    let work = {
        let state = state.clone();
        let tenant_id = auth.tenant_id.clone();
        tokio::spawn(async move {
            let generated = service::generate(&state.db, &state.http, &state.config, &api, &tenant_id, &brief).await;
            match &generated {
                Ok((_, written)) => crate::usage::recorded(&state, &tenant_id, written).await,
                // Its reservation was released.
                Err(_) => state.usage_changed(tenant_id.as_str()),
            }
            generated.map(|(script, _)| script)
        })
    };
    let generated =
        work.await.map_err(|err| AppError::Internal(anyhow::anyhow!("script generation stopped: {err}")))?;
    let script = generated.map_err(|err| answer(&state, err))?;
    Ok(axum::Json(script))
}
