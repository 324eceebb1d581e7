//! Magic-link sign-in, access and refresh tokens, API keys, and the one
//! extractor that tells every protected route which tenant is asking.

pub mod api_keys;
pub mod cache;
pub mod extract;
pub mod jwt;
pub mod key_limit;
pub mod routes;
pub mod scopes;
pub mod service;
pub mod tokens;

pub use extract::{AuthContext, AuthVia};
pub use scopes::{Scope, Scopes};
