//! The tenant's account: API keys, audit log, export, erasure, backups.

pub mod audit;
pub mod backup;
pub mod cron;
pub mod erase;
pub mod export;
pub mod routes;
pub mod store;

use crate::db::Db;
use crate::domain::{Email, TenantId};

/// The e-mail address of the tenant's owner, if any.
pub async fn owner_email(db: &Db, tenant_id: &TenantId) -> Result<Option<Email>, sqlx::Error> {
    let email = crate::teams::store::owner_email(db, tenant_id).await?;
    Ok(email.and_then(|e| Email::parse(&e).ok()))
}
