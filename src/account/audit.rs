//! The audit log: who did what to which tenant, from where.

use std::net::IpAddr;

use serde_json::Value;

use crate::db::{Db, Tx, now_ms};
use crate::domain::{TenantId, UserId};
use crate::{on_db, on_tx};

/// One event to record.
pub struct AuditEvent<'a> {
    /// Action name, e.g. `auth.sign_in`.
    pub action: &'a str,
    /// Tenant concerned, when known.
    pub tenant_id: Option<&'a TenantId>,
    /// User concerned, when known.
    pub user_id: Option<&'a UserId>,
    /// Who acted: `user`, `api_key`, `system` or `anonymous`.
    pub actor: &'a str,
    /// Client IP.
    pub ip: Option<IpAddr>,
    /// Extra, non-secret facts.
    pub detail: Value,
}

const INSERT_EVENT: &str = "INSERT INTO audit_log (id, tenant_id, user_id, actor, action, ip, detail, created_at) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Binds an event to `INSERT_EVENT` on whichever connection runs it.
macro_rules! insert_event {
    ($event:expr) => {
        sqlx::query(INSERT_EVENT)
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($event.tenant_id.map(|t| t.as_str().to_string()))
            .bind($event.user_id.map(|u| u.as_str().to_string()))
            .bind($event.actor)
            .bind($event.action)
            // Canonical, so one client reads as one address whichever way the socket saw it.
            .bind($event.ip.map(|ip| ip.to_canonical().to_string()))
            .bind($event.detail.to_string())
            .bind(now_ms())
    };
}

/// Writes an event. Failing to audit is logged, never fatal to the request.
pub async fn record(db: &Db, event: AuditEvent<'_>) {
    let result = on_db!(db, pool => { insert_event!(event).execute(pool).await.map(|_| ()) });
    if let Err(err) = result {
        tracing::error!(error = %err, action = event.action, "could not write the audit log");
    }
}

/// Writes an event inside `tx`: the change and its record commit together
/// (membership changes, where the record is part of the change).
pub async fn record_tx(tx: &mut Tx, event: AuditEvent<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => { insert_event!(event).execute(&mut **conn).await?; });
    Ok(())
}

/// Rows deleted by one `prune_anonymous` call at most: a backlog is worked
/// off a batch a minute, so no one statement holds SQLite's write lock long.
const PRUNE_BATCH: i64 = 10_000;

/// Deletes audit rows of no tenant (failed sign-ins, refused webhooks: written
/// by anonymous requests) older than `retention_days`, a batch at a time.
/// Rows of a tenant stay (the tenant's own history; erasure removes them).
pub async fn prune_anonymous(db: &Db, retention_days: u32) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms() - i64::from(retention_days) * 24 * 3600 * 1000;
    let sql = "DELETE FROM audit_log WHERE id IN \
               (SELECT id FROM audit_log WHERE tenant_id IS NULL AND created_at < $1 LIMIT $2)";
    let deleted = on_db!(db, pool => {
        sqlx::query(sql).bind(cutoff).bind(PRUNE_BATCH).execute(pool).await?.rows_affected()
    });
    Ok(deleted)
}

/// One audit event as the tenant sees it.
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub action: String,
    pub actor: String,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    #[sqlx(skip)]
    pub detail: Value,
    #[serde(skip)]
    #[sqlx(rename = "detail")]
    pub detail_text: String,
    #[serde(skip)]
    pub created_at_ms: i64,
    /// RFC 3339.
    #[sqlx(skip)]
    pub created_at: String,
}

/// A page of the tenant's own events, newest first; `before` is the last id of
/// the previous page.
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let sql = "SELECT id, action, actor, user_id, ip, detail, created_at AS created_at_ms FROM audit_log \
               WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
    let mut rows: Vec<AuditEntry> = on_db!(db, pool => {
        sqlx::query_as(sql).bind(tenant_id.as_str()).bind(before).bind(limit).fetch_all(pool).await?
    });
    for row in &mut rows {
        row.detail = serde_json::from_str(&row.detail_text).unwrap_or(Value::Null);
        row.created_at = crate::db::rfc3339(row.created_at_ms);
    }
    Ok(rows)
}
