//! The OpenAPI document, merged from every domain's description, with the
//! error responses every operation shares added in one place
//! ([`add_problem_responses`]) rather than on each annotation.

use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::auth::scopes::Access;
use crate::error::PROBLEM_JSON;
use crate::teams::Role;

#[derive(OpenApi)]
#[openapi(
    info(title = "Reelforge API", description = "Turn a script into a narrated video. Errors are RFC 9457 problem+json."),
    paths(crate::http::ops::healthz, crate::http::ops::readyz, crate::http::ops::metrics),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags((name = "operations", description = "Probes and metrics"))
)]
struct BaseApi;

/// The whole API description served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = BaseApi::openapi();
    doc.merge(crate::auth::routes::AuthApi::openapi());
    doc.merge(crate::account::routes::AccountApi::openapi());
    doc.merge(crate::teams::routes::TeamApi::openapi());
    doc.merge(crate::projects::routes::ProjectsApi::openapi());
    doc.merge(crate::projects::scene_routes::ScenesApi::openapi());
    doc.merge(crate::library::routes::LibraryApi::openapi());
    doc.merge(crate::stock::routes::StockApiDoc::openapi());
    doc.merge(crate::scripts::routes::ScriptsApi::openapi());
    doc.merge(crate::batches::routes::BatchesApi::openapi());
    doc.merge(crate::brand::routes::BrandApi::openapi());
    doc.merge(crate::usage::routes::UsageApi::openapi());
    doc.merge(crate::billing::routes::BillingApi::openapi());
    doc.merge(crate::webhooks::routes::WebhooksApi::openapi());
    doc.merge(crate::templates::routes::TemplatesApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    components.add_security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("rf_access"))));
    add_problem_responses(&mut doc);
    doc
}

const MALFORMED_JSON: &str = "malformed JSON";
const TOO_LARGE: &str = "the request body is larger than 1 MiB";
const TOO_LARGE_UPLOAD: &str = "the request body is larger than its limit (1 MiB; a media upload: MEDIA_MAX_MB)";
const NOT_JSON: &str = "the body is not sent as Content-Type: application/json";
const INVALID_BODY: &str = "a body member is missing, of the wrong type or invalid (each is named in `errors`)";
const UNAUTHORIZED: &str = "no valid credentials: sign in, or send a valid access token or API key";
const CROSS_ORIGIN: &str =
    "the request carries an auth cookie but its Origin (or Referer) is not this site (cookie origin check)";
const INVALID_QUERY: &str = "a query parameter does not parse or is out of range (each is named in `errors`)";
const INVALID_PATH: &str = "a path parameter is not valid percent-encoded UTF-8";
const SESSION_ONLY: &str = "an API key cannot do this: sign in as a person";

/// Adds the problem+json responses the server's shared machinery can answer
/// with, according to each operation's shape, and gives every error response
/// the shared `Problem` body:
///
/// - a JSON request body (the `Json` extractor): 400, 413, 415, 422; any other
///   body: 413 (the body limit);
/// - `security` (the `AuthContext` extractor): 401;
/// - an unsafe method (the cookie origin check runs on every one): 403;
/// - a route an API key needs a scope for (`auth::scopes::ROUTE_ACCESS`): 403
///   naming the scope; a route only a person may use: 403, and `api_key` is
///   taken out of its `security`; a route that needs an admin or the owner: 403;
/// - query parameters (the `Query` extractor and the handlers' range checks): 422;
/// - path parameters (axum's `Path`): 400.
///
/// A status an operation already documents keeps its description, and the
/// shared cause is appended to it.
pub fn add_problem_responses(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, unsafe_method, operation) in operations_mut(item) {
            let mut common: Vec<(&str, String)> = Vec::new();
            match crate::auth::scopes::access_for(&method, path) {
                Some(Access::SessionOnly) => {
                    // Keys never reach these routes: the description does not offer them.
                    if let Some(security) = operation.security.as_mut() {
                        security.retain(|requirement: &SecurityRequirement| {
                            serde_json::to_value(requirement).map_or(true, |value| value.get("api_key").is_none())
                        });
                    }
                    common.push(("403", SESSION_ONLY.to_string()));
                }
                Some(Access::Scope(scope)) => common.push(("403", format!("an API key without the scope `{scope}`"))),
                Some(Access::Public | Access::AnyKey) | None => {}
            }
            match crate::auth::scopes::role_for(&method, path) {
                Some(Role::Owner) => common.push(("403", "a person who is not the team's owner".to_string())),
                Some(Role::Admin) => {
                    common.push(("403", "a person whose role is member (admins and the owner can)".to_string()))
                }
                Some(Role::Member) | None => {}
            }
            if let Some(RefOr::T(body)) = &operation.request_body {
                if body.content.keys().any(|media| is_json(media)) {
                    common.extend([
                        ("400", MALFORMED_JSON.to_string()),
                        ("413", TOO_LARGE.to_string()),
                        ("415", NOT_JSON.to_string()),
                        ("422", INVALID_BODY.to_string()),
                    ]);
                } else {
                    common.push(("413", TOO_LARGE_UPLOAD.to_string()));
                }
            }
            if operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty()) {
                common.push(("401", UNAUTHORIZED.to_string()));
            }
            if unsafe_method {
                common.push(("403", CROSS_ORIGIN.to_string()));
            }
            let params = operation.parameters.iter().flatten().filter_map(|p| match p {
                RefOr::T(p) => Some(&p.parameter_in),
                RefOr::Ref(_) => None,
            });
            let (mut query, mut path) = (false, false);
            for place in params {
                query |= matches!(place, ParameterIn::Query);
                path |= matches!(place, ParameterIn::Path);
            }
            if query {
                common.push(("422", INVALID_QUERY.to_string()));
            }
            if path {
                common.push(("400", INVALID_PATH.to_string()));
            }
            for (status, description) in common {
                let description = description.as_str();
                match operation.responses.responses.get_mut(status) {
                    Some(RefOr::T(response)) => {
                        if !response.description.contains(description) {
                            response.description = if response.description.is_empty() {
                                description.to_string()
                            } else {
                                format!("{}; or {description}", response.description)
                            };
                        }
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        operation.responses.responses.insert(
                            status.to_string(),
                            RefOr::T(ResponseBuilder::new().description(description).build()),
                        );
                    }
                }
            }
            for (status, response) in &mut operation.responses.responses {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let (true, RefOr::T(response)) = (is_error, response)
                    && response.content.is_empty()
                {
                    let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                    response.content.insert(PROBLEM_JSON.to_string(), RefOr::T(problem));
                }
            }
        }
    }
}

fn is_json(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or_default().trim();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Each operation of a path, with its method and whether the method is unsafe
/// (not GET, HEAD, OPTIONS or TRACE).
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (Method, bool, &mut Operation)> {
    [
        (Method::GET, false, &mut item.get),
        (Method::HEAD, false, &mut item.head),
        (Method::OPTIONS, false, &mut item.options),
        (Method::TRACE, false, &mut item.trace),
        (Method::POST, true, &mut item.post),
        (Method::PUT, true, &mut item.put),
        (Method::PATCH, true, &mut item.patch),
        (Method::DELETE, true, &mut item.delete),
    ]
    .into_iter()
    .filter_map(|(method, unsafe_method, operation)| {
        operation.as_mut().map(|operation| (method, unsafe_method, operation))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operation ids name the handlers; two domains' handlers of one name
    /// (`thumbnail`) would give a description the validator refuses.
    #[test]
    fn operation_ids_are_unique() {
        let mut doc = document();
        let mut seen = std::collections::BTreeMap::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            for (_, _, operation) in operations_mut(item) {
                if let Some(id) = &operation.operation_id
                    && let Some(first) = seen.insert(id.clone(), path.clone())
                {
                    panic!("operation id {id} is used by {first} and {path}");
                }
            }
        }
        assert!(seen.contains_key("upload_media"));
    }

    /// OpenAPI 3.1 requires a description on every response; utoipa leaves it
    /// out when an annotation gives none (scripts/check-openapi.sh runs the
    /// full validator).
    #[test]
    fn every_response_has_a_description() {
        let mut doc = document();
        let mut missing = Vec::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            for (_, _, operation) in operations_mut(item) {
                for (status, response) in &operation.responses.responses {
                    if let RefOr::T(response) = response
                        && response.description.trim().is_empty()
                    {
                        missing.push(format!("{path} {:?} {status}", operation.operation_id));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "responses without a description: {missing:#?}");
    }
}
