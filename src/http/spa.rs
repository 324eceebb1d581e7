//! The web app: files from `WEB_DIST_DIR` with an `index.html` fallback for
//! the app's own routes. `/api/*` never falls back to HTML.
//!
//! When the app has not been built (`cargo run` without `make build`), the
//! binary still offers minimal sign-in pages so the product stays usable.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::error::AppError;
use crate::http::middleware::APP_CSP;
use crate::state::AppState;

/// Hashed bundle files: their name changes with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The router's fallback: static files, the app shell, or a problem+json 404.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path == "/api" || path.starts_with("/api/") {
        return AppError::NotFound.into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return AppError::NotFound.into_response();
    }
    let dist = &state.config.http.web_dist_dir;
    let index = dist.join("index.html");
    if !index.is_file() {
        return builtin_page(&path).unwrap_or_else(|| AppError::NotFound.into_response());
    }
    if let Some(file) = safe_relative(&path).map(|relative| dist.join(relative)).filter(|f| f.is_file()) {
        let mut response = serve(file, request).await;
        let cache = if path.starts_with("/assets/") { IMMUTABLE } else { "no-cache" };
        if response.status().is_success() {
            response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        }
        return response;
    }
    // A missing asset or other file is a 404, not the app shell: a stale
    // bundle must fail loudly rather than parse HTML as JavaScript.
    let looks_like_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    if path.starts_with("/assets/") || looks_like_file {
        return AppError::NotFound.into_response();
    }
    let mut response = serve(index, request).await;
    shell_headers(&mut response);
    response
}

async fn serve(file: std::path::PathBuf, request: Request) -> Response {
    match ServeFile::new(file).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(err) => AppError::Internal(anyhow::anyhow!("serving a web file: {err}")).into_response(),
    }
}

/// `/a/b.js` → `a/b.js`, refusing anything that could leave the directory.
fn safe_relative(path: &str) -> Option<std::path::PathBuf> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let mut relative = std::path::PathBuf::new();
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') || part.contains('\0') {
            return None;
        }
        relative.push(part);
    }
    Some(relative)
}

/// The HTML shell is never cached (it names the current bundle) and never
/// sends the sign-in token in its URL to another site as a referrer. Not
/// `no-referrer`: under it browsers send `Origin: null` on the page's own
/// POSTs, which the cookie origin check must refuse.
fn shell_headers(response: &mut Response) {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert("referrer-policy", HeaderValue::from_static("same-origin"));
}

/// Minimal pages used when the web app is not built.
fn builtin_page(path: &str) -> Option<Response> {
    static VERIFY: LazyLock<(&str, String)> = LazyLock::new(|| page(include_str!("../../assets/pages/verify.html")));
    static LOGIN: LazyLock<(&str, String)> = LazyLock::new(|| page(include_str!("../../assets/pages/login.html")));
    let (html, csp) = match path {
        // The page the e-mailed link opens. It POSTs the token: a GET never
        // consumes it, so mail scanners that prefetch links cannot burn them.
        "/auth/verify" => &*VERIFY,
        "/" | "/login" => &*LOGIN,
        _ => return None,
    };
    let mut response = (StatusCode::OK, Html(*html)).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(csp) = HeaderValue::from_str(csp) {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
    }
    shell_headers(&mut response);
    Some(response)
}

/// A built-in page and its CSP: the app's policy, with the page's own inline
/// `<script>` and `<style>` allowed by their SHA-256 (these pages are one file
/// each, so they carry their code inline), and nothing else inline.
fn page(html: &'static str) -> (&'static str, String) {
    let hashes = |tag: &str| -> String {
        inline_blocks(html, tag)
            .into_iter()
            .map(|code| format!(" 'sha256-{}'", BASE64.encode(Sha256::digest(code))))
            .collect()
    };
    let csp = APP_CSP
        .replace("script-src 'self'", &format!("script-src 'self'{}", hashes("script")))
        .replace("style-src 'self'", &format!("style-src 'self'{}", hashes("style")));
    (html, csp)
}

/// The text of each `<tag>...</tag>` without attributes (how our pages write them).
fn inline_blocks<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    html.split(open.as_str()).skip(1).filter_map(|rest| rest.split_once(close.as_str()).map(|(code, _)| code)).collect()
}

#[cfg(test)]
mod tests {
    use super::{inline_blocks, page, safe_relative};

    #[test]
    fn built_in_pages_allow_exactly_their_inline_code() {
        let html = "<style>a{}</style><p><script>x()</script><script>y()</script>";
        assert_eq!(inline_blocks(html, "script"), ["x()", "y()"]);
        let (_, csp) = page(include_str!("../../assets/pages/verify.html"));
        assert_eq!(csp.matches("'sha256-").count(), 2, "one script, one style: {csp}");
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    }

    #[test]
    fn paths_never_leave_the_app_directory() {
        assert_eq!(safe_relative("/assets/app-1.js"), Some("assets/app-1.js".into()));
        for path in ["/", "/../etc/passwd", "/assets/../../x", "/a//b", "/./x", "/a\\..\\b", "/a\0b"] {
            assert_eq!(safe_relative(path), None, "{path}");
        }
    }
}
