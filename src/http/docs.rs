//! The API reference page (`/docs`): utoipa-scalar's page with our template,
//! and the Scalar script it runs, served from the binary. No CDN: a script
//! fetched from a third party at view time could change under us, would not
//! load on hosts without internet access, and the page's CSP allows scripts
//! from this origin only.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_scalar::{Scalar, Servable};

use crate::state::AppState;

/// Scalar's standalone bundle (`@scalar/api-reference`, `dist/browser/standalone.js`,
/// MIT; version in `assets/scalar/README.md`).
const SCALAR: &[u8] = include_bytes!("../../assets/scalar/api-reference.js");

/// Appended to the bundle, because inline script (and an `onload` attribute)
/// is what the CSP refuses: mounts the reference on the description in the
/// page's JSON data block, without Scalar's web fonts and AI agent (both would
/// reach Scalar's servers), and removes the "if it does not appear" note.
const LOADED: &[u8] = br##"
;(() => {
  const description = document.getElementById("openapi-description");
  if (!description || typeof Scalar === "undefined") return;
  Scalar.createApiReference("#reference", {
    content: description.textContent,
    withDefaultFonts: false,
    agent: { disabled: true },
  });
  document.getElementById("offline")?.remove();
})();
"##;

/// The docs page's policy: the app's, except that Scalar injects its own
/// `<style>` elements at run time (so inline styles are allowed here) and
/// its bundle calls `eval` (rendering schema examples; the e2e test saw the
/// violation), so `'unsafe-eval'` is allowed here, and only here. Scripts
/// still come from this origin only and the page holds no user data.
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Where the page loads the script from (also named in `docs.html`).
pub const SCRIPT_PATH: &str = "/docs/scalar.js";

static SCRIPT: LazyLock<Bytes> = LazyLock::new(|| Bytes::from([SCALAR, LOADED].concat()));

/// `/docs` and its script.
pub fn routes() -> Router<AppState> {
    let page: Router<AppState> = Scalar::with_url("/docs", crate::openapi::document())
        .custom_html(include_str!("../../assets/pages/docs.html"))
        .into();
    page.layer(SetResponseHeaderLayer::overriding(CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP)))
        .route(SCRIPT_PATH, get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            // Not hashed in its name: revalidate now and then so an upgrade shows within the hour.
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        SCRIPT.clone(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_loads_only_the_bundled_script() {
        let page = include_str!("../../assets/pages/docs.html");
        assert!(page.contains(&format!("<script src=\"{}\"></script>", super::SCRIPT_PATH)), "{page}");
        assert!(!page.contains("https://"), "no third-party resource: {page}");
        assert!(!page.contains("onload="), "no inline handler (the CSP refuses it): {page}");
    }
}
