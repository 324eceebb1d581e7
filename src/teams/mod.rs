//! Teams: the people of a tenant and their roles, invitations by e-mail, seats.
//!
//! A person (`users`, one row per e-mail address) belongs to one or more
//! tenants through `memberships`, each with a [`Role`]. An invitation is
//! accepted through a magic link (`magic_links.invite_id`), so it follows the
//! sign-in link's rules: hashed at rest, single use, expiring. What each role
//! may do is decided per route in `auth::scopes::ROUTE_ACCESS`; the rules of
//! membership itself (one owner, handover, seats) live in [`service`].

pub mod routes;
pub mod service;
pub mod store;

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a member may do in a tenant. Ordered: each role may do what the
/// roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Projects, scenes, media, batches, usage.
    Member,
    /// A member's rights, and members, API keys, webhooks, templates, the brand, audit and exports.
    Admin,
    /// An admin's rights, and billing, erasure and handing ownership over. One per tenant.
    Owner,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Member, Role::Admin, Role::Owner];

    /// The name on the wire and in the `role` columns.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The role of a name, if it is one.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Reads a `role` column. Text this build does not know gives the least
    /// role, so a member never gains a right from a value it cannot read.
    pub fn from_column(text: &str) -> Role {
        Role::parse(text).unwrap_or(Role::Member)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_and_read_back() {
        assert!(Role::Member < Role::Admin && Role::Admin < Role::Owner);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).ok(), Some(serde_json::json!(role.as_str())));
        }
        assert_eq!(Role::from_column("superuser"), Role::Member);
        assert_eq!(Role::parse("Owner"), None);
    }
}
