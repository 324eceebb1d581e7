//! Request-wide middleware: the cookie origin check, the body limit, problem+json for every
//! error, per-request observation (metrics, Sentry scope), and the security
//! headers of every response.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, PROBLEM_JSON, default_title, problem_response};
use crate::state::AppState;

/// Names of the cookies that authenticate a browser.
pub const AUTH_COOKIES: [&str; 2] = ["rf_access", "rf_refresh"];

/// Refuses an unsafe request that carries an auth cookie unless its `Origin`
/// (or, lacking that, its `Referer`) is `PUBLIC_URL`'s origin: a cross-site
/// form or script cannot act with the user's cookies.
pub async fn cookie_origin_check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && carries_auth_cookie(&request) {
        let expected = state.config.public_origin();
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| url::Url::parse(r).ok())
                .map(|u| u.origin().ascii_serialization())
        });
        if origin.as_deref() != Some(expected.as_str()) {
            return AppError::Forbidden("cross-origin request refused: the Origin does not match this site".into())
                .into_response();
        }
    }
    next.run(request).await
}

fn carries_auth_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim()))
        .any(|name| AUTH_COOKIES.contains(&name))
}

/// How much of a body past the limit is read and dropped before the 413, so
/// the client (still sending) reads the answer instead of a connection reset.
/// Past this the answer goes out at once and the connection closes.
const DRAIN_BYTES: u64 = 8 * 1024 * 1024;

/// The media library's upload route: its body may be up to `MEDIA_MAX_MB`.
pub const MEDIA_UPLOAD_ROUTE: &str = "/api/v1/media";

/// Room for the multipart framing around an upload's file (boundaries, part
/// headers, a short extra part).
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The 413 of an upload past `MEDIA_MAX_MB`.
pub fn upload_too_large(max_mb: u64) -> AppError {
    let mut extensions = serde_json::Map::new();
    extensions.insert("max_mb".into(), serde_json::json!(max_mb));
    AppError::Problem {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: default_title(StatusCode::PAYLOAD_TOO_LARGE).into(),
        detail: format!("the file is larger than {max_mb} MB, the most an upload may be (MEDIA_MAX_MB)"),
        extensions,
    }
}

/// Holds every request body to `MAX_BODY_BYTES`, and `POST /api/v1/media`'s
/// to `MEDIA_MAX_MB` (plus the multipart framing). A body declared larger
/// (`Content-Length`) is refused before any handler runs. Otherwise a
/// chunked JSON body is read here, up to the limit, so a handler only ever
/// sees a body within it; an upload is never buffered: it streams through a
/// counting wrapper (`CappedBody`) that ends it with an error past the limit,
/// and the answer is then this 413, whatever the handler made of the error.
/// Either way the rest of an oversized body is drained (up to `DRAIN_BYTES`)
/// before the 413, because closing a socket with unread bytes in it resets the
/// connection and destroys the answer on its way to a slow-reading client.
pub async fn limit_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let upload = request.method() == Method::POST
        && request.extensions().get::<MatchedPath>().is_some_and(|p| p.as_str() == MEDIA_UPLOAD_ROUTE);
    let max_mb = state.config.media.media_max_mb;
    let limit = if upload {
        state.config.media.media_max_bytes().saturating_add(MULTIPART_OVERHEAD)
    } else {
        crate::MAX_BODY_BYTES as u64
    };
    let too_large =
        || if upload { upload_too_large(max_mb).into_response() } else { AppError::PayloadTooLarge.into_response() };
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => {
            if length <= DRAIN_BYTES {
                drain(request.into_body(), DRAIN_BYTES).await;
            }
            return too_large();
        }
        // hyper delivers exactly the declared length.
        Some(_) if !upload => return next.run(request).await,
        None if request.body().is_end_stream() => return next.run(request).await,
        _ => {}
    }
    if upload {
        let overflowed = Arc::new(AtomicBool::new(false));
        let flag = overflowed.clone();
        let request = request
            .map(|inner| Body::new(CappedBody { inner, limit, read: 0, drained: 0, overflowed: flag, ended: false }));
        let response = next.run(request).await;
        return if overflowed.load(Ordering::Acquire) { too_large() } else { response };
    }
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut buffered = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        let Ok(chunk) = chunk else {
            return AppError::BadRequest("could not read the request body".into()).into_response();
        };
        buffered.extend_from_slice(&chunk);
        if buffered.len() as u64 > limit {
            drain(Body::from_stream(stream), DRAIN_BYTES - limit).await;
            return too_large();
        }
    }
    next.run(Request::from_parts(parts, Body::from(buffered))).await
}

/// The error a `CappedBody` ends with past its limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than the limit")]
pub struct BodyTooLarge;

/// A streamed request body held to `limit` bytes: past it, the rest is read
/// and dropped (up to `DRAIN_BYTES`, so the client reads the 413), the flag
/// is raised, and the body ends with `BodyTooLarge`.
struct CappedBody {
    inner: Body,
    limit: u64,
    read: u64,
    drained: u64,
    overflowed: Arc<AtomicBool>,
    ended: bool,
}

impl HttpBody for CappedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if !this.overflowed.load(Ordering::Acquire) {
            let polled = Pin::new(&mut this.inner).poll_frame(cx);
            let Poll::Ready(Some(Ok(frame))) = polled else { return polled };
            this.read += frame.data_ref().map_or(0, |data| data.len() as u64);
            if this.read <= this.limit {
                return Poll::Ready(Some(Ok(frame)));
            }
            this.overflowed.store(true, Ordering::Release);
        }
        // Past the limit: drain, then end with the error.
        while this.drained <= DRAIN_BYTES {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    this.drained += frame.data_ref().map_or(0, |data| data.len() as u64);
                }
                Poll::Ready(_) => break,
            }
        }
        this.ended = true;
        Poll::Ready(Some(Err(axum::Error::new(BodyTooLarge))))
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Reads and drops up to `at_most` bytes of `body`.
async fn drain(body: Body, at_most: u64) {
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while read <= at_most {
        match futures_util::StreamExt::next(&mut stream).await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
}

/// Turns any error response that is not already problem+json (axum's own 405,
/// a body-limit 413, a panic's 500) into one, so every error has our shape.
pub async fn problem_json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this route does not accept that method",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than 1 MiB",
        StatusCode::NOT_FOUND => "no such resource",
        s if s.is_server_error() => "something went wrong on our side; it has been logged",
        _ => "the request could not be handled",
    };
    let (mut parts, _body) = response.into_parts();
    let mut fresh = problem_response(status, default_title(status), detail, Default::default());
    // Keep headers such as Allow; replace only the body and its type.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(PROBLEM_JSON));
    let body = std::mem::replace(fresh.body_mut(), Body::empty());
    Response::from_parts(parts, body)
}

/// Counts the request by route template, method and status, records its
/// latency, and gives it a Sentry scope tagged with its request id (the auth
/// extractor adds the tenant), so an error reported while serving it says
/// which request and tenant it concerned.
pub async fn observe(request: Request, next: Next) -> Response {
    // Route templates, never raw paths: label values stay few.
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let route = route.unwrap_or_else(|| "other".to_string());
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = std::time::Instant::now();
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let response = match crate::reporting::request_hub(request_id, &route) {
        Some(hub) => sentry::SentryFutureExt::bind_hub(next.run(request), hub).await,
        None => next.run(request).await,
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!(crate::metrics::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(crate::metrics::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The Content-Security-Policy of the web app's HTML: scripts, styles and
/// fetches from this origin only (the Vite build emits no inline script or
/// style), pictures and video also from `blob:`/`data:` (thumbnails, the
/// favicon), and no framing (clickjacking). Pages that need another policy
/// (the built-in sign-in pages' hashed inline code, the API docs) set their
/// own header, which `security_headers` keeps.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Says `Connection: close` on a refusal of a request that came with a body:
/// the handler may not have read it (a 401, 403 or 413 is decided from the
/// headers), and then the server closes the connection once it has answered.
/// Without the header a client's pool would send its next request on that
/// connection and lose it (`IncompleteMessage` in hyper, a reset in curl).
pub async fn close_after_refused_body(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|length| length > 0);
    let mut response = next.run(request).await;
    if has_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

/// Adds the security headers to every response (API, pages, files, errors):
/// `nosniff` so a browser never runs an upload or a JSON answer as script,
/// `Referrer-Policy: same-origin` unless the handler chose one (`same-origin`,
/// not `no-referrer`: under that browsers send `Origin: null` on a page's own
/// POSTs, which the cookie origin check refuses), and on HTML the CSP above
/// plus `X-Frame-Options: DENY` for browsers without `frame-ancestors`.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    }
    let is_html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(APP_CSP));
        }
        headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    }
    response
}

/// Routes exempt from the request timeout. Their answers are long by nature
/// (a live-progress stream, media and export downloads that may be large or
/// read from slow storage); the timeout only bounds the time to the response
/// head anyway, so a slow download's body is never cut by it.
const UNTIMED_ROUTES: &[&str] = &[
    "/api/v1/projects/{id}/events",
    "/api/v1/media/{id}/file",
    "/api/v1/media/{id}/thumbnail",
    "/api/v1/projects/{id}/video",
    "/api/v1/projects/{id}/thumbnail",
    "/api/v1/projects/{id}/captions.vtt",
    "/api/v1/projects/{id}/captions.srt",
    "/api/account/download-export/{filename}",
    crate::batches::routes::ZIP_ROUTE,
];

/// How long an upload to the media library may take (when longer than
/// `REQUEST_TIMEOUT_SECONDS`): the body of up to `MEDIA_MAX_MB`, its probe
/// and its copies.
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Answers a request that is not answered within `REQUEST_TIMEOUT_SECONDS`
/// (`POST /api/v1/media`: `UPLOAD_TIMEOUT`; `POST /api/v1/scripts`: twice
/// `LLM_TIMEOUT_SECONDS` and 10 s, when longer):
/// 408 when its body was still arriving (a client trickling its upload holds
/// a worker; that is the client's doing), 503 when the body was in and we were
/// the slow ones. Dropping the handler's future rolls back its transaction.
pub async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    if route.as_deref().is_some_and(|route| UNTIMED_ROUTES.contains(&route)) {
        return next.run(request).await;
    }
    let mut limit = state.config.http.request_timeout;
    // An upload of up to MEDIA_MAX_MB needs time to arrive and be checked.
    if request.method() == Method::POST && route.as_deref() == Some(MEDIA_UPLOAD_ROUTE) {
        limit = limit.max(UPLOAD_TIMEOUT);
    }
    // A script waits on the language model, asked up to twice (LLM_TIMEOUT_SECONDS each).
    if request.method() == Method::POST && route.as_deref() == Some(crate::scripts::routes::ROUTE) {
        limit = crate::scripts::routes::request_limit(&state);
    }
    let arrived = Arc::new(AtomicBool::new(request.body().is_end_stream()));
    let tracked = arrived.clone();
    let request = request.map(|inner| Body::new(TrackedBody { inner, arrived: tracked }));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if !arrived.load(Ordering::Acquire) => AppError::Problem {
            status: StatusCode::REQUEST_TIMEOUT,
            title: default_title(StatusCode::REQUEST_TIMEOUT).into(),
            detail: format!("the request body did not arrive within {} seconds", limit.as_secs()),
            extensions: Default::default(),
        }
        .into_response(),
        Err(_) => {
            tracing::warn!(route = route.as_deref().unwrap_or("other"), "request timed out");
            AppError::ServiceUnavailable {
                detail: format!("the request was not answered within {} seconds; try again", limit.as_secs()),
            }
            .into_response()
        }
    }
}

/// A request body that notes when it has been read to its end.
struct TrackedBody {
    inner: Body,
    arrived: Arc<AtomicBool>,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.arrived.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
