//! The audit log: who did what to which tenant, from where.

use std::net::IpAddr;

use serde_json::Value;

use crate::db::{Db, now_ms};
use crate::domain::{TenantId, UserId};
use crate::on_db;

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

/// Writes an event. Failing to audit is logged, never fatal to the request.
pub async fn record(db: &Db, event: AuditEvent<'_>) {
    let sql = "INSERT INTO audit_log (id, tenant_id, user_id, actor, action, ip, detail, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let result = on_db!(db, pool => {
        sqlx::query(sql)
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(event.tenant_id.map(|t| t.as_str().to_string()))
            .bind(event.user_id.map(|u| u.as_str().to_string()))
            .bind(event.actor)
            .bind(event.action)
            .bind(event.ip.map(|ip| ip.to_string()))
            .bind(event.detail.to_string())
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|_| ())
    });
    if let Err(err) = result {
        tracing::error!(error = %err, action = event.action, "could not write the audit log");
    }
}
