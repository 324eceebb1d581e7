//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as sent, e.g. `email`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The body of every error response (RFC 9457), for the API description.
/// Some errors add members: `errors` on a 422, `retry_after_seconds` on a 429,
/// `required_scope` on an API key's 403.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Unprocessable Content", "status": 422,
    "detail": "invalid field(s): limit", "errors": [{"field": "limit", "message": "must be between 1 and 100"}]}))]
pub struct Problem {
    /// `about:blank`, or a URI naming the problem (`.../insufficient-scope`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's standard phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person; a 5xx says nothing internal.
    pub detail: String,
    /// On a 422: each invalid field, body member or query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// On a 429: seconds until a retry can succeed (also in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// On a 403 of type `.../insufficient-scope`: the scope the API key lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
}

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    RateLimited { retry_after_seconds: u64, detail: String },
    #[error("{detail}")]
    ServiceUnavailable { detail: String },
    /// A 429 with extension members (e.g. `eta_seconds`) and `Retry-After`.
    #[error("{detail}")]
    RateLimitedProblem { retry_after_seconds: u64, detail: String, extensions: Map<String, Value> },
    /// A 402: a quota would be passed or the plan lacks a feature; the
    /// extensions say which and where to upgrade.
    #[error("{detail}")]
    PaymentRequired { detail: String, extensions: Map<String, Value> },
    /// A 507: the media storage is full and nothing was saved.
    #[error("{detail}")]
    InsufficientStorage { detail: String },
    /// A 502: a service we depend on (Stripe, a speech provider) failed.
    #[error("{detail}")]
    BadGateway { detail: String },
    /// Any other status with a title, detail and extension members.
    #[error("{title}")]
    Problem { status: StatusCode, title: String, detail: String, extensions: Map<String, Value> },
    /// Something went wrong inside; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 422 with one field.
    pub fn invalid(field: &str, message: &str) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } | AppError::RateLimitedProblem { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            AppError::InsufficientStorage { .. } => StatusCode::INSUFFICIENT_STORAGE,
            AppError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            AppError::Problem { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(err.into())
    }
}

/// Builds a problem+json response; `extensions` are merged at the top level.
/// A `type` extension names the problem type (a URI; `about:blank` otherwise),
/// e.g. the 403 of an API key without the route's scope.
pub fn problem_response(status: StatusCode, title: &str, detail: &str, extensions: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert("type".into(), json!("about:blank"));
    body.insert("title".into(), json!(title));
    body.insert("status".into(), json!(status.as_u16()));
    body.insert("detail".into(), json!(detail));
    for (key, value) in extensions {
        if key == "type" && value.is_string() {
            body.insert(key, value);
        } else {
            body.entry(key).or_insert(value);
        }
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The standard title for a status (used for errors raised outside our handlers).
pub fn default_title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            AppError::BadRequest(detail) => problem_response(status, "Bad Request", &detail, Map::new()),
            AppError::Unauthorized => {
                problem_response(status, "Unauthorized", "sign in, or send a valid access token or API key", Map::new())
            }
            AppError::Forbidden(detail) => problem_response(status, "Forbidden", &detail, Map::new()),
            AppError::NotFound => problem_response(status, "Not Found", "no such resource", Map::new()),
            AppError::Conflict(detail) => problem_response(status, "Conflict", &detail, Map::new()),
            AppError::PayloadTooLarge => {
                problem_response(status, "Payload Too Large", "the request body is larger than 1 MiB", Map::new())
            }
            AppError::Validation(errors) => {
                let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let detail = format!("invalid field(s): {}", names.join(", "));
                let mut ext = Map::new();
                ext.insert("errors".into(), json!(errors));
                problem_response(status, "Unprocessable Content", &detail, ext)
            }
            AppError::RateLimited { retry_after_seconds, detail } => {
                Self::RateLimitedProblem { retry_after_seconds, detail, extensions: Map::new() }.into_response()
            }
            AppError::RateLimitedProblem { retry_after_seconds, detail, mut extensions } => {
                extensions.insert("retry_after_seconds".into(), json!(retry_after_seconds));
                let mut response = problem_response(status, "Too Many Requests", &detail, extensions);
                if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            AppError::ServiceUnavailable { detail } => {
                problem_response(status, "Service Unavailable", &detail, Map::new())
            }
            AppError::PaymentRequired { detail, extensions } => {
                problem_response(status, "Payment Required", &detail, extensions)
            }
            AppError::InsufficientStorage { detail } => {
                problem_response(status, "Insufficient Storage", &detail, Map::new())
            }
            AppError::BadGateway { detail } => problem_response(status, "Bad Gateway", &detail, Map::new()),
            AppError::Problem { status, title, detail, extensions } => {
                problem_response(status, &title, &detail, extensions)
            }
            AppError::Internal(cause) => {
                // The span around the request carries its request id, so this line is findable.
                tracing::error!(error = %format!("{cause:#}"), "internal error");
                problem_response(
                    status,
                    "Internal Server Error",
                    "something went wrong on our side; it has been logged",
                    Map::new(),
                )
            }
        }
    }
}

/// Result alias for handlers and services.
pub type AppResult<T> = Result<T, AppError>;
