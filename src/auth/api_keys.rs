//! API keys: one active key per tenant, shown once, stored as a hash.

use crate::auth::cache::AuthCache;
use crate::auth::service::TenantView;
use crate::auth::tokens;
use crate::billing::Plan;
use crate::db::{Db, now_ms};
use crate::domain::{TenantId, UserId};
use crate::{on_db, on_tx};

/// The active tenant whose unrevoked key has this hash, if any.
pub async fn tenant_for_key_hash(db: &Db, key_hash: &str) -> Result<Option<TenantView>, sqlx::Error> {
    let sql = "SELECT t.id, t.name, t.plan FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
               WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.status = 'active'";
    let row: Option<(TenantId, String, String)> =
        on_db!(db, pool => sqlx::query_as(sql).bind(key_hash).fetch_optional(pool).await?);
    Ok(row.map(|(id, name, plan)| TenantView { id, name, plan: plan.parse().unwrap_or(Plan::Free) }))
}

/// Revokes every key of the tenant and creates a new one, in one transaction,
/// so the old key fails from the moment the new one exists. Returns the new key.
pub async fn rotate(
    db: &Db,
    cache: &AuthCache,
    tenant_id: &TenantId,
    created_by: Option<&UserId>,
) -> Result<String, sqlx::Error> {
    let key = tokens::new_api_key();
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    on_tx!(&mut tx, conn => {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(tenant_id.as_str())
            .execute(&mut **conn)
            .await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.as_str())
        .bind(tokens::api_key_display_prefix(&key))
        .bind(crate::crypto::hash_token(&key))
        .bind(created_by.map(|u| u.as_str().to_string()))
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    tx.commit().await?;
    cache.invalidate_tenant(tenant_id.as_str());
    Ok(key)
}
