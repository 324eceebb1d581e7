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
use crate::on_db;

/// The e-mail address of the tenant's owner (its first user), if any.
pub async fn owner_email(db: &Db, tenant_id: &TenantId) -> Result<Option<Email>, sqlx::Error> {
    let email: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT email FROM users WHERE tenant_id = $1 ORDER BY created_at LIMIT 1")
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    Ok(email.and_then(|e| Email::parse(&e).ok()))
}
