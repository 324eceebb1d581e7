//! The OpenAPI document, merged from every domain's description.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Reelforge API", description = "Turn a script into a narrated video. Errors are RFC 9457 problem+json."),
    paths(crate::http::ops::healthz, crate::http::ops::readyz),
    tags((name = "operations", description = "Probes and metrics"))
)]
struct BaseApi;

/// The whole API description served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = BaseApi::openapi();
    doc.merge(crate::auth::routes::AuthApi::openapi());
    doc.merge(crate::account::routes::AccountApi::openapi());
    doc.merge(crate::projects::routes::ProjectsApi::openapi());
    doc.merge(crate::usage::routes::UsageApi::openapi());
    doc.merge(crate::billing::routes::BillingApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    components.add_security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("rf_access"))));
    doc
}
