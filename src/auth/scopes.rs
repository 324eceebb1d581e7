//! What an API key may do: its scopes, and the one table that says which
//! scope each route needs.
//!
//! A signed-in person (a session cookie or an access token) has every scope.
//! An API key has the scopes it was made with, and never reaches billing,
//! erasure or key management (`Access::SessionOnly`). The `AuthContext`
//! extractor looks the request's route up in [`ROUTE_ACCESS`] by method and
//! route template (axum's `MatchedPath`): a route that is not in the table is
//! refused to every key (it fails closed), and a unit test checks that every
//! operation of the API description is in the table, so a new route cannot
//! ship without a decision.

use std::fmt;

use axum::http::{Method, StatusCode};
use serde_json::{Map, json};

use crate::error::AppError;

/// The problem type of a 403 for a key that lacks the route's scope.
pub const INSUFFICIENT_SCOPE_TYPE: &str = "https://reelforge.dev/problems/insufficient-scope";
/// The problem type of a 403 for a key on a route only a person may use.
pub const SESSION_REQUIRED_TYPE: &str = "https://reelforge.dev/problems/session-required";

/// One permission an API key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema)]
pub enum Scope {
    /// Read projects, scenes, their files and events, media, templates, voices, the brand.
    #[serde(rename = "projects:read")]
    ProjectsRead,
    /// Create, change, render, retry, cancel and delete projects and scenes; estimates, stock search, the brand.
    #[serde(rename = "projects:write")]
    ProjectsWrite,
    /// Upload and delete media library items.
    #[serde(rename = "media:write")]
    MediaWrite,
    /// Manage webhook endpoints (`/api/v1/webhooks`).
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    /// Read usage, the audit log, backups and exports; start an export.
    #[serde(rename = "account:read")]
    AccountRead,
}

impl Scope {
    /// Every scope, in the order they are stored and shown.
    pub const ALL: [Scope; 5] =
        [Scope::ProjectsRead, Scope::ProjectsWrite, Scope::MediaWrite, Scope::WebhooksManage, Scope::AccountRead];

    /// The scope's name on the wire and in the `scopes` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::ProjectsRead => "projects:read",
            Scope::ProjectsWrite => "projects:write",
            Scope::MediaWrite => "media:write",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::AccountRead => "account:read",
        }
    }

    /// The scope of a name, if it is one.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes (at most five: a bit each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope: what a session has, and rotation's default key.
    pub fn all() -> Scopes {
        Scope::ALL.into_iter().collect()
    }

    /// Whether the set holds `scope`.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes held, in `Scope::ALL` order.
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|scope| self.contains(*scope)).collect()
    }

    /// The column text: names separated by single spaces, in `Scope::ALL` order.
    pub fn to_column(self) -> String {
        self.list().iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Reads the column text. Names this build does not know are ignored, so
    /// a key never gains a permission from a value it cannot read.
    pub fn from_column(text: &str) -> Scopes {
        text.split_ascii_whitespace().filter_map(Scope::parse).collect()
    }

    const fn bit(scope: Scope) -> u8 {
        1 << scope as u8
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, scope| bits | Scopes::bit(scope)))
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential is asked for (sign-in, probes, the Stripe webhook).
    Public,
    /// Any valid key (`/api/auth/me`: a key may ask who it acts for).
    AnyKey,
    /// A key holding this scope.
    Scope(Scope),
    /// A signed-in person only: a key gets 403 (billing, erasure, key management).
    SessionOnly,
}

use Access::{AnyKey, Public, SessionOnly};
const PROJECTS_READ: Access = Access::Scope(Scope::ProjectsRead);
const PROJECTS_WRITE: Access = Access::Scope(Scope::ProjectsWrite);
const MEDIA_WRITE: Access = Access::Scope(Scope::MediaWrite);
const ACCOUNT_READ: Access = Access::Scope(Scope::AccountRead);
const WEBHOOKS_MANAGE: Access = Access::Scope(Scope::WebhooksManage);

/// Every route of the API description: method, route template, who may use
/// it. `docs/architecture.md` shows the same table; `tests::every_route_of_the_description_has_an_access_rule`
/// fails when a route is missing here (or listed here but gone).
pub const ROUTE_ACCESS: &[(&str, &str, Access)] = &[
    // Operations
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/metrics", Public),
    // Auth
    ("POST", "/api/auth/magic-link/request", Public),
    ("POST", "/api/auth/magic-link/verify", Public),
    ("POST", "/api/auth/refresh", Public),
    ("POST", "/api/auth/logout", Public),
    ("GET", "/api/auth/me", AnyKey),
    // Account
    ("GET", "/api/account/api-keys", SessionOnly),
    ("POST", "/api/account/api-keys", SessionOnly),
    ("DELETE", "/api/account/api-keys/{id}", SessionOnly),
    ("POST", "/api/account/rotate-api-key", SessionOnly),
    ("POST", "/api/account/delete", SessionOnly),
    ("GET", "/api/account/audit", ACCOUNT_READ),
    ("GET", "/api/account/backup-status", ACCOUNT_READ),
    ("POST", "/api/account/export", ACCOUNT_READ),
    ("GET", "/api/account/exports/{id}", ACCOUNT_READ),
    ("GET", "/api/account/download-export/{filename}", ACCOUNT_READ),
    // Billing
    ("POST", "/api/billing/checkout", SessionOnly),
    ("POST", "/api/billing/portal", SessionOnly),
    ("GET", "/api/billing/subscription", SessionOnly),
    ("PATCH", "/api/billing/overage", SessionOnly),
    ("POST", "/api/billing/webhook", Public),
    // Usage
    ("GET", "/api/usage", ACCOUNT_READ),
    ("GET", "/api/usage/history", ACCOUNT_READ),
    // Catalogue: what a project can be made of
    ("GET", "/api/v1/templates", PROJECTS_READ),
    ("GET", "/api/v1/templates/{id}", PROJECTS_READ),
    // A brand template changes the videos made with it, like the brand.
    ("POST", "/api/v1/templates", PROJECTS_WRITE),
    ("PATCH", "/api/v1/templates/{id}", PROJECTS_WRITE),
    ("DELETE", "/api/v1/templates/{id}", PROJECTS_WRITE),
    ("POST", "/api/v1/templates/preview", PROJECTS_WRITE),
    ("GET", "/api/v1/voices", PROJECTS_READ),
    ("GET", "/api/v1/voices/{id}/preview", PROJECTS_READ),
    ("GET", "/api/v1/caption-styles", PROJECTS_READ),
    ("GET", "/api/v1/caption-styles/{id}/preview.png", PROJECTS_READ),
    ("GET", "/api/v1/music", PROJECTS_READ),
    ("GET", "/api/v1/music/{id}/preview", PROJECTS_READ),
    // Projects
    ("GET", "/api/v1/projects", PROJECTS_READ),
    ("POST", "/api/v1/projects", PROJECTS_WRITE),
    ("POST", "/api/v1/projects/create", PROJECTS_WRITE),
    ("POST", "/api/v1/projects/estimate", PROJECTS_WRITE),
    ("GET", "/api/v1/projects/{id}", PROJECTS_READ),
    ("PATCH", "/api/v1/projects/{id}", PROJECTS_WRITE),
    ("DELETE", "/api/v1/projects/{id}", PROJECTS_WRITE),
    ("GET", "/api/v1/projects/{id}/events", PROJECTS_READ),
    ("POST", "/api/v1/projects/{id}/retry", PROJECTS_WRITE),
    ("POST", "/api/v1/projects/{id}/cancel", PROJECTS_WRITE),
    ("POST", "/api/v1/projects/{id}/render", PROJECTS_WRITE),
    ("GET", "/api/v1/projects/{id}/video", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/thumbnail", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/captions.vtt", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/captions.srt", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/credits.txt", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/words.json", PROJECTS_READ),
    // Scenes
    ("GET", "/api/v1/projects/{id}/scenes", PROJECTS_READ),
    ("POST", "/api/v1/projects/{id}/scenes", PROJECTS_WRITE),
    ("POST", "/api/v1/projects/{id}/scenes/reorder", PROJECTS_WRITE),
    ("GET", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_READ),
    ("PATCH", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_WRITE),
    ("DELETE", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_WRITE),
    ("GET", "/api/v1/projects/{id}/scenes/{index}/image", PROJECTS_READ),
    ("GET", "/api/v1/projects/{id}/scenes/{index}/audio", PROJECTS_READ),
    // Media library: reading it is reading what projects use
    ("GET", "/api/v1/media", PROJECTS_READ),
    ("POST", "/api/v1/media", MEDIA_WRITE),
    ("GET", "/api/v1/media/{id}", PROJECTS_READ),
    ("DELETE", "/api/v1/media/{id}", MEDIA_WRITE),
    ("GET", "/api/v1/media/{id}/file", PROJECTS_READ),
    ("GET", "/api/v1/media/{id}/thumbnail", PROJECTS_READ),
    // Stock: searching is choosing a scene's picture
    ("GET", "/api/v1/stock/search", PROJECTS_WRITE),
    ("GET", "/api/v1/stock/thumbnail", PROJECTS_WRITE),
    // Brand: the tenant's logo over its videos
    ("GET", "/api/v1/brand", PROJECTS_READ),
    ("PATCH", "/api/v1/brand", PROJECTS_WRITE),
    ("GET", "/api/v1/brand/logo", PROJECTS_READ),
    ("PUT", "/api/v1/brand/logo", PROJECTS_WRITE),
    ("DELETE", "/api/v1/brand/logo", PROJECTS_WRITE),
    // Scripts: writing one is the first step of making a project
    ("POST", "/api/v1/scripts", PROJECTS_WRITE),
    // Batches: a project per row of data
    ("GET", "/api/v1/batches", PROJECTS_READ),
    ("POST", "/api/v1/batches", PROJECTS_WRITE),
    ("GET", "/api/v1/batches/{id}", PROJECTS_READ),
    ("GET", "/api/v1/batches/{id}/videos.zip", PROJECTS_READ),
    // Webhooks: endpoints, their log, send again, a test event
    ("GET", "/api/v1/webhooks", WEBHOOKS_MANAGE),
    ("POST", "/api/v1/webhooks", WEBHOOKS_MANAGE),
    ("GET", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE),
    ("PATCH", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE),
    ("DELETE", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE),
    ("GET", "/api/v1/webhooks/{id}/deliveries", WEBHOOKS_MANAGE),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", WEBHOOKS_MANAGE),
    ("POST", "/api/v1/webhooks/{id}/test", WEBHOOKS_MANAGE),
];

/// Routes served and in `ROUTE_ACCESS` that the API description leaves out
/// (aliases): the coverage test does not expect them in the description.
pub const UNDESCRIBED_ROUTES: &[(&str, &str)] = &[("POST", "/api/v1/projects")];

/// The rule of a route, by method and route template (HEAD is GET's).
pub fn access_for(method: &Method, route: &str) -> Option<Access> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    ROUTE_ACCESS.iter().find(|(m, path, _)| *m == method && *path == route).map(|(_, _, access)| *access)
}

/// The 403 for a key without `scope`.
pub fn insufficient_scope(scope: Scope) -> AppError {
    let mut extensions = Map::new();
    extensions.insert("type".into(), json!(INSUFFICIENT_SCOPE_TYPE));
    extensions.insert("required_scope".into(), json!(scope.as_str()));
    AppError::Problem {
        status: StatusCode::FORBIDDEN,
        title: "Insufficient scope".into(),
        detail: format!("this API key lacks the scope {scope}"),
        extensions,
    }
}

/// The 403 for a key on a route only a signed-in person may use.
pub fn session_required() -> AppError {
    let mut extensions = Map::new();
    extensions.insert("type".into(), json!(SESSION_REQUIRED_TYPE));
    AppError::Problem {
        status: StatusCode::FORBIDDEN,
        title: "Forbidden".into(),
        detail: "an API key cannot do this: sign in as a person".into(),
        extensions,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn scopes_round_trip_through_the_column() {
        let set: Scopes = [Scope::MediaWrite, Scope::ProjectsRead].into_iter().collect();
        assert_eq!(set.to_column(), "projects:read media:write");
        assert_eq!(Scopes::from_column("media:write  projects:read unknown:thing"), set);
        assert!(Scopes::from_column("").is_empty());
        assert_eq!(Scopes::from_column(&Scopes::all().to_column()), Scopes::all());
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            assert_eq!(serde_json::to_value(scope).ok(), Some(json!(scope.as_str())));
        }
    }

    /// The test that fails when a route is added without a decision: every
    /// operation of the API description is in `ROUTE_ACCESS`, and every entry
    /// of the table is an operation of the description.
    #[test]
    fn every_route_of_the_description_has_an_access_rule() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap_or_default();
        let mut described = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    described.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        assert!(described.len() > 40, "the description lists the routes");
        let tabled: BTreeSet<(String, String)> =
            ROUTE_ACCESS.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
        assert_eq!(tabled.len(), ROUTE_ACCESS.len(), "a route is listed twice in ROUTE_ACCESS");
        let missing: Vec<_> = described.difference(&tabled).collect();
        assert!(missing.is_empty(), "routes without an access rule in auth::scopes::ROUTE_ACCESS: {missing:?}");
        let undescribed: BTreeSet<(String, String)> =
            UNDESCRIBED_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        let stale: Vec<_> = tabled.difference(&described).filter(|route| !undescribed.contains(*route)).collect();
        assert!(stale.is_empty(), "ROUTE_ACCESS lists routes the API description does not: {stale:?}");
    }

    #[test]
    fn routes_are_found_by_method_and_template() {
        assert_eq!(access_for(&Method::GET, "/api/v1/projects/{id}"), Some(PROJECTS_READ));
        assert_eq!(access_for(&Method::HEAD, "/api/v1/projects/{id}/video"), Some(PROJECTS_READ));
        assert_eq!(access_for(&Method::DELETE, "/api/v1/projects/{id}"), Some(PROJECTS_WRITE));
        assert_eq!(access_for(&Method::POST, "/api/account/rotate-api-key"), Some(SessionOnly));
        assert_eq!(access_for(&Method::GET, "/api/v1/nothing"), None);
    }
}
