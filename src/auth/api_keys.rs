//! API keys: several named keys per tenant, each with its scopes, shown once
//! and stored as a hash (`crate::crypto::hash_token`).
//!
//! `POST /api/account/rotate-api-key` (kept for compatibility) replaces only
//! the tenant's *legacy* key (`legacy = 1`: the key rotation made, named
//! "Default key", with every scope); named keys made through
//! `/api/account/api-keys` are never touched by a rotation, so rotating the
//! old integration key does not break the others.

use crate::auth::cache::AuthCache;
use crate::auth::scopes::Scopes;
use crate::auth::service::TenantView;
use crate::auth::tokens;
use crate::billing::Plan;
use crate::db::{Db, Tx, now_ms, rfc3339};
use crate::domain::{TenantId, UserId};
use crate::{on_db, on_tx};

/// At most this many keys of a tenant are active at once.
pub const MAX_ACTIVE_KEYS: i64 = 25;
/// The longest name of a key, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The name of the key `rotate` makes.
pub const DEFAULT_KEY_NAME: &str = "Default key";
/// `last_used_at` is written at most once in this many milliseconds per key.
pub const LAST_USED_EVERY_MS: i64 = 60_000;

/// The key a request presented, as resolved.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    /// The key's id.
    pub id: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was last recorded as used (ms), as of the lookup.
    pub last_used_at: Option<i64>,
}

/// A key as its tenant sees it: never the key, only its first characters.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    /// The key's id (for revocation).
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// What it may do.
    #[schema(value_type = Vec<crate::auth::scopes::Scope>)]
    pub scopes: Vec<crate::auth::scopes::Scope>,
    /// `rf_` and the next 6 characters: enough to tell keys apart.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; at most a minute behind the last use; null when never used.
    pub last_used_at: Option<String>,
}

type KeyRow = (String, String, String, String, i64, Option<i64>);

fn view((id, name, scopes, prefix, created_at, last_used_at): KeyRow) -> ApiKeyView {
    ApiKeyView {
        id,
        name,
        scopes: Scopes::from_column(&scopes).list(),
        prefix,
        created_at: rfc3339(created_at),
        last_used_at: last_used_at.map(rfc3339),
    }
}

/// The active tenant and the unrevoked key whose hash this is, if any.
pub async fn resolve(db: &Db, key_hash: &str) -> Result<Option<(TenantView, KeyGrant)>, sqlx::Error> {
    let sql = "SELECT t.id, t.name, t.plan, k.id, k.scopes, k.last_used_at FROM api_keys k \
               JOIN tenants t ON t.id = k.tenant_id \
               WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.status = 'active'";
    let row: Option<(TenantId, String, String, String, String, Option<i64>)> =
        on_db!(db, pool => sqlx::query_as(sql).bind(key_hash).fetch_optional(pool).await?);
    Ok(row.map(|(id, name, plan, key_id, scopes, last_used_at)| {
        let tenant = TenantView { id, name, plan: plan.parse().unwrap_or(Plan::Free) };
        (tenant, KeyGrant { id: key_id, scopes: Scopes::from_column(&scopes), last_used_at })
    }))
}

/// Records that a key was used at `now`, unless that was already recorded
/// within the last minute (by this or another process): at most one write a
/// minute per key.
pub async fn touch(db: &Db, key_id: &str, now: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)";
    on_db!(db, pool => {
        sqlx::query(sql).bind(now).bind(key_id).bind(now - LAST_USED_EVERY_MS).execute(pool).await?;
    });
    Ok(())
}

/// The tenant's active keys, oldest first.
pub async fn list(db: &Db, tenant_id: &TenantId) -> Result<Vec<ApiKeyView>, sqlx::Error> {
    let sql = "SELECT id, name, scopes, prefix, created_at, last_used_at FROM api_keys \
               WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id";
    let rows: Vec<KeyRow> = on_db!(db, pool => sqlx::query_as(sql).bind(tenant_id.as_str()).fetch_all(pool).await?);
    Ok(rows.into_iter().map(view).collect())
}

/// Why a key was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The tenant already has `MAX_ACTIVE_KEYS` active keys.
    #[error("too many active keys")]
    TooMany,
    /// The tenant is gone (erased while the request ran).
    #[error("the account is gone")]
    AccountGone,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A new key with its plain value (shown once).
pub struct NewKey {
    /// What the list shows of it.
    pub view: ApiKeyView,
    /// `rf_` and 43 URL-safe characters.
    pub key: String,
}

/// Makes a named key, under the tenant's lock so that two requests cannot
/// pass the cap together.
pub async fn create(
    db: &Db,
    tenant_id: &TenantId,
    created_by: Option<&UserId>,
    name: &str,
    scopes: Scopes,
) -> Result<NewKey, CreateError> {
    let key = tokens::new_api_key();
    let now = now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    let prefix = tokens::api_key_display_prefix(&key);
    let mut tx = db.begin_write().await?;
    if tx.lock_tenant(tenant_id.as_str()).await?.is_none() {
        return Err(CreateError::AccountGone);
    }
    let active: i64 = on_tx!(&mut tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL")
            .bind(tenant_id.as_str())
            .fetch_one(&mut **conn)
            .await?
    });
    if active >= MAX_ACTIVE_KEYS {
        return Err(CreateError::TooMany);
    }
    let row = KeyRowIn { id: &id, tenant_id, key: &key, created_by, now, name, scopes, legacy: false };
    insert(&mut tx, row).await?;
    tx.commit().await?;
    let view = ApiKeyView {
        id,
        name: name.to_string(),
        scopes: scopes.list(),
        prefix,
        created_at: rfc3339(now),
        last_used_at: None,
    };
    Ok(NewKey { view, key })
}

/// A key's row: what it is (`name`, `scopes`, `legacy`) and its hash.
struct KeyRowIn<'a> {
    id: &'a str,
    tenant_id: &'a TenantId,
    key: &'a str,
    created_by: Option<&'a UserId>,
    now: i64,
    name: &'a str,
    scopes: Scopes,
    legacy: bool,
}

async fn insert(tx: &mut Tx, row: KeyRowIn<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_by, created_at, name, scopes, legacy) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(row.id)
        .bind(row.tenant_id.as_str())
        .bind(tokens::api_key_display_prefix(row.key))
        .bind(crate::crypto::hash_token(row.key))
        .bind(row.created_by.map(|u| u.as_str().to_string()))
        .bind(row.now)
        .bind(row.name)
        .bind(row.scopes.to_column())
        .bind(i64::from(row.legacy))
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Revokes one of the tenant's active keys; it fails from this moment in this
/// process (the auth cache is invalidated) and within `AUTH_CACHE_TTL` in the
/// others. `None` when the tenant has no such active key (another tenant's
/// id included).
pub async fn revoke(
    db: &Db,
    cache: &AuthCache,
    tenant_id: &TenantId,
    id: &str,
) -> Result<Option<ApiKeyView>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row: Option<KeyRow> = on_tx!(&mut tx, conn => {
        sqlx::query_as(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL \
             RETURNING id, name, scopes, prefix, created_at, last_used_at",
        )
        .bind(now_ms())
        .bind(id)
        .bind(tenant_id.as_str())
        .fetch_optional(&mut **conn)
        .await?
    });
    tx.commit().await?;
    if row.is_some() {
        cache.invalidate_tenant(tenant_id.as_str());
    }
    Ok(row.map(view))
}

/// Revokes the tenant's legacy key (the one rotation made, "Default key")
/// and makes a new one with every scope, in one transaction, so the old key
/// fails from the moment the new one exists. Named keys stay as they are.
/// Returns the new key.
pub async fn rotate(
    db: &Db,
    cache: &AuthCache,
    tenant_id: &TenantId,
    created_by: Option<&UserId>,
) -> Result<String, sqlx::Error> {
    let key = tokens::new_api_key();
    let now = now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    on_tx!(&mut tx, conn => {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND legacy = 1 AND revoked_at IS NULL")
            .bind(now)
            .bind(tenant_id.as_str())
            .execute(&mut **conn)
            .await?;
    });
    let name = DEFAULT_KEY_NAME;
    let row = KeyRowIn { id: &id, tenant_id, key: &key, created_by, now, name, scopes: Scopes::all(), legacy: true };
    insert(&mut tx, row).await?;
    tx.commit().await?;
    cache.invalidate_tenant(tenant_id.as_str());
    Ok(key)
}
