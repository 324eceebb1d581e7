//! Who may use each route: the scope an API key needs, and the role a person
//! needs, in one table.
//!
//! A signed-in person (a session cookie or an access token) has every scope
//! and the role of their membership (`teams::Role`): `member` (projects,
//! media), `admin` (also members, keys, webhooks, templates, the brand, audit
//! and exports) or `owner` (also billing and erasure). An API key has the
//! scopes it was made with, and never reaches billing, erasure, members or key
//! management (`Access::SessionOnly`). The `AuthContext` extractor looks the
//! request's route up in [`ROUTE_ACCESS`] by method and route template (axum's
//! `MatchedPath`): a route that is not in the table is refused to every key
//! and every person (it fails closed), and a unit test checks that every
//! operation of the API description is in the table, so a new route cannot
//! ship without a decision.

use std::fmt;

use axum::http::{Method, StatusCode};
use serde_json::{Map, json};

use crate::error::AppError;
use crate::teams::Role;

/// The problem type of a 403 for a key that lacks the route's scope.
pub const INSUFFICIENT_SCOPE_TYPE: &str = "https://reelforge.dev/problems/insufficient-scope";
/// The problem type of a 403 for a key on a route only a person may use.
pub const SESSION_REQUIRED_TYPE: &str = "https://reelforge.dev/problems/session-required";
/// The problem type of a 403 for a person whose role is below the route's.
pub const ROLE_REQUIRED_TYPE: &str = "https://reelforge.dev/problems/role-required";

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
const MEMBER: Role = Role::Member;
const ADMIN: Role = Role::Admin;
const OWNER: Role = Role::Owner;

/// Every route of the API description: method, route template, what a key
/// needs, what role a person needs. `docs/architecture.md` shows the same table; `tests::every_route_of_the_description_has_an_access_rule`
/// fails when a route is missing here (or listed here but gone).
pub const ROUTE_ACCESS: &[(&str, &str, Access, Role)] = &[
    // Operations
    ("GET", "/healthz", Public, MEMBER),
    ("GET", "/readyz", Public, MEMBER),
    ("GET", "/metrics", Public, MEMBER),
    // Auth
    ("POST", "/api/auth/magic-link/request", Public, MEMBER),
    ("POST", "/api/auth/magic-link/verify", Public, MEMBER),
    ("POST", "/api/auth/refresh", Public, MEMBER),
    ("POST", "/api/auth/logout", Public, MEMBER),
    ("GET", "/api/auth/me", AnyKey, MEMBER),
    ("POST", "/api/auth/switch-tenant", SessionOnly, MEMBER),
    // Account
    ("GET", "/api/account/api-keys", SessionOnly, ADMIN),
    ("POST", "/api/account/api-keys", SessionOnly, ADMIN),
    ("DELETE", "/api/account/api-keys/{id}", SessionOnly, ADMIN),
    ("POST", "/api/account/rotate-api-key", SessionOnly, ADMIN),
    ("POST", "/api/account/delete", SessionOnly, OWNER),
    ("GET", "/api/account/members", SessionOnly, ADMIN),
    ("POST", "/api/account/members", SessionOnly, ADMIN),
    ("PATCH", "/api/account/members/{user_id}", SessionOnly, ADMIN),
    ("DELETE", "/api/account/members/{user_id}", SessionOnly, ADMIN),
    ("DELETE", "/api/account/invites/{id}", SessionOnly, ADMIN),
    ("POST", "/api/account/invites/{id}/resend", SessionOnly, ADMIN),
    // An admin reads the audit log and exports (a key with account:read, which an admin may make, can too)
    ("GET", "/api/account/audit", ACCOUNT_READ, ADMIN),
    ("GET", "/api/account/backup-status", ACCOUNT_READ, ADMIN),
    ("POST", "/api/account/export", ACCOUNT_READ, ADMIN),
    ("GET", "/api/account/exports/{id}", ACCOUNT_READ, ADMIN),
    ("GET", "/api/account/download-export/{filename}", ACCOUNT_READ, ADMIN),
    // Billing
    ("POST", "/api/billing/checkout", SessionOnly, OWNER),
    ("POST", "/api/billing/portal", SessionOnly, OWNER),
    ("GET", "/api/billing/subscription", SessionOnly, OWNER),
    ("PATCH", "/api/billing/overage", SessionOnly, OWNER),
    ("POST", "/api/billing/webhook", Public, MEMBER),
    // Usage
    ("GET", "/api/usage", ACCOUNT_READ, MEMBER),
    ("GET", "/api/usage/history", ACCOUNT_READ, MEMBER),
    // Catalogue: what a project can be made of
    ("GET", "/api/v1/templates", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/templates/{id}", PROJECTS_READ, MEMBER),
    // A brand template changes the videos made with it, like the brand: admins manage both.
    ("POST", "/api/v1/templates", PROJECTS_WRITE, ADMIN),
    ("PATCH", "/api/v1/templates/{id}", PROJECTS_WRITE, ADMIN),
    ("DELETE", "/api/v1/templates/{id}", PROJECTS_WRITE, ADMIN),
    ("POST", "/api/v1/templates/preview", PROJECTS_WRITE, ADMIN),
    ("GET", "/api/v1/voices", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/voices/{id}/preview", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/caption-styles", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/caption-styles/{id}/preview.png", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/music", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/music/{id}/preview", PROJECTS_READ, MEMBER),
    // Projects
    ("GET", "/api/v1/projects", PROJECTS_READ, MEMBER),
    ("POST", "/api/v1/projects", PROJECTS_WRITE, MEMBER),
    ("POST", "/api/v1/projects/create", PROJECTS_WRITE, MEMBER),
    ("POST", "/api/v1/projects/estimate", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/projects/{id}", PROJECTS_READ, MEMBER),
    ("PATCH", "/api/v1/projects/{id}", PROJECTS_WRITE, MEMBER),
    ("DELETE", "/api/v1/projects/{id}", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/projects/{id}/events", PROJECTS_READ, MEMBER),
    ("POST", "/api/v1/projects/{id}/retry", PROJECTS_WRITE, MEMBER),
    ("POST", "/api/v1/projects/{id}/cancel", PROJECTS_WRITE, MEMBER),
    ("POST", "/api/v1/projects/{id}/render", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/projects/{id}/video", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/thumbnail", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/captions.vtt", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/captions.srt", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/credits.txt", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/words.json", PROJECTS_READ, MEMBER),
    // Scenes
    ("GET", "/api/v1/projects/{id}/scenes", PROJECTS_READ, MEMBER),
    ("POST", "/api/v1/projects/{id}/scenes", PROJECTS_WRITE, MEMBER),
    ("POST", "/api/v1/projects/{id}/scenes/reorder", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_READ, MEMBER),
    ("PATCH", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_WRITE, MEMBER),
    ("DELETE", "/api/v1/projects/{id}/scenes/{index}", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/projects/{id}/scenes/{index}/image", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/projects/{id}/scenes/{index}/audio", PROJECTS_READ, MEMBER),
    // Media library: reading it is reading what projects use
    ("GET", "/api/v1/media", PROJECTS_READ, MEMBER),
    ("POST", "/api/v1/media", MEDIA_WRITE, MEMBER),
    ("GET", "/api/v1/media/{id}", PROJECTS_READ, MEMBER),
    ("DELETE", "/api/v1/media/{id}", MEDIA_WRITE, MEMBER),
    ("GET", "/api/v1/media/{id}/file", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/media/{id}/thumbnail", PROJECTS_READ, MEMBER),
    // Stock: searching is choosing a scene's picture
    ("GET", "/api/v1/stock/search", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/stock/thumbnail", PROJECTS_WRITE, MEMBER),
    // Brand: the tenant's logo over its videos
    ("GET", "/api/v1/brand", PROJECTS_READ, MEMBER),
    ("PATCH", "/api/v1/brand", PROJECTS_WRITE, ADMIN),
    ("GET", "/api/v1/brand/logo", PROJECTS_READ, MEMBER),
    ("PUT", "/api/v1/brand/logo", PROJECTS_WRITE, ADMIN),
    ("DELETE", "/api/v1/brand/logo", PROJECTS_WRITE, ADMIN),
    // Scripts: writing one is the first step of making a project
    ("POST", "/api/v1/scripts", PROJECTS_WRITE, MEMBER),
    // Batches: a project per row of data
    ("GET", "/api/v1/batches", PROJECTS_READ, MEMBER),
    ("POST", "/api/v1/batches", PROJECTS_WRITE, MEMBER),
    ("GET", "/api/v1/batches/{id}", PROJECTS_READ, MEMBER),
    ("GET", "/api/v1/batches/{id}/videos.zip", PROJECTS_READ, MEMBER),
    // Webhooks: endpoints, their log, send again, a test event
    ("GET", "/api/v1/webhooks", WEBHOOKS_MANAGE, ADMIN),
    ("POST", "/api/v1/webhooks", WEBHOOKS_MANAGE, ADMIN),
    ("GET", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE, ADMIN),
    ("PATCH", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE, ADMIN),
    ("DELETE", "/api/v1/webhooks/{id}", WEBHOOKS_MANAGE, ADMIN),
    ("GET", "/api/v1/webhooks/{id}/deliveries", WEBHOOKS_MANAGE, ADMIN),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", WEBHOOKS_MANAGE, ADMIN),
    ("POST", "/api/v1/webhooks/{id}/test", WEBHOOKS_MANAGE, ADMIN),
];

/// Routes served and in `ROUTE_ACCESS` that the API description leaves out
/// (aliases): the coverage test does not expect them in the description.
pub const UNDESCRIBED_ROUTES: &[(&str, &str)] = &[("POST", "/api/v1/projects")];

/// The rule of a route for keys and for persons, by method and route
/// template (HEAD is GET's).
pub fn rule_for(method: &Method, route: &str) -> Option<(Access, Role)> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    ROUTE_ACCESS
        .iter()
        .find(|(m, path, _, _)| *m == method && *path == route)
        .map(|(_, _, access, role)| (*access, *role))
}

/// What a key needs on a route.
pub fn access_for(method: &Method, route: &str) -> Option<Access> {
    rule_for(method, route).map(|(access, _)| access)
}

/// The role a person needs on a route.
pub fn role_for(method: &Method, route: &str) -> Option<Role> {
    rule_for(method, route).map(|(_, role)| role)
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

/// The 403 for a person whose role is below `role`.
pub fn role_required(role: Role) -> AppError {
    let mut extensions = Map::new();
    extensions.insert("type".into(), json!(ROLE_REQUIRED_TYPE));
    extensions.insert("required_role".into(), json!(role.as_str()));
    let who = match role {
        Role::Owner => "the team's owner",
        Role::Admin => "an admin or the owner",
        Role::Member => "a member",
    };
    AppError::Problem {
        status: StatusCode::FORBIDDEN,
        title: "Forbidden".into(),
        detail: format!("only {who} can do this; ask them, or to be given the role"),
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
            ROUTE_ACCESS.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
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
        assert_eq!(role_for(&Method::POST, "/api/account/delete"), Some(OWNER));
        assert_eq!(role_for(&Method::POST, "/api/account/members"), Some(ADMIN));
        assert_eq!(role_for(&Method::GET, "/api/v1/projects"), Some(MEMBER));
    }

    /// The roles of SPEC 4.9, checked against the table: billing and erasure
    /// are the owner's; members, keys, webhooks and template changes need an
    /// admin; every project and media route is a member's.
    #[test]
    fn the_table_gives_each_role_its_rights() {
        for (method, route, access, role) in ROUTE_ACCESS {
            let expected = if *access == Public {
                MEMBER
            } else if route.starts_with("/api/billing/") || *route == "/api/account/delete" {
                OWNER
            } else if route.starts_with("/api/account/")
                || route.starts_with("/api/v1/webhooks")
                || (*method != "GET" && (route.starts_with("/api/v1/templates") || route.starts_with("/api/v1/brand")))
            {
                ADMIN
            } else {
                MEMBER
            };
            assert_eq!(*role, expected, "{method} {route}");
        }
    }
}
