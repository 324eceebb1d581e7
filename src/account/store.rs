//! The account domain's writes for erasure and exports, as plain functions on a `Tx`.

use crate::account::export::ExportStatus;
use crate::db::{Db, Tx};
use crate::domain::TenantId;
use crate::pipeline::graph::StepStatus;
use crate::projects::types::ProjectStatus;
use crate::{on_db, on_tx};

/// Marks the tenant deleted and ends every way into it at once: API keys
/// revoked, memberships, invitations and refresh tokens deleted, people left
/// in no tenant deleted (the address can sign up again at once), unused
/// sign-in links of `email` deleted.
pub async fn revoke_access(tx: &mut Tx, tenant_id: &TenantId, email: &str, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE tenants SET status = 'deleted', deleted_at = $1 WHERE id = $2")
            .bind(now)
            .bind(tenant_id)
            .execute(&mut **conn)
            .await?;
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(tenant_id)
            .execute(&mut **conn)
            .await?;
        sqlx::query("DELETE FROM magic_links WHERE email = $1 AND invite_id IS NULL")
            .bind(email)
            .execute(&mut **conn)
            .await?;
    });
    crate::teams::store::remove_everyone(tx, tenant_id).await
}

/// Cancels every unfinished step, project and export of the tenant. Running
/// steps' workers see it at their next heartbeat; their `lease_expires_at`
/// stays, so the purge knows until when they may still write. A running
/// export sees it when it finishes and deletes its own archive.
pub async fn stop_work(tx: &mut Tx, tenant_id: &TenantId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE exports SET status = $1, error = $2, finished_at = $3 WHERE tenant_id = $4 AND status IN ($5, $6)")
            .bind(ExportStatus::Failed)
            .bind("the account was erased")
            .bind(now)
            .bind(tenant_id)
            .bind(ExportStatus::Queued)
            .bind(ExportStatus::Running)
            .execute(&mut **conn)
            .await?;
    });
    for status in [StepStatus::Pending, StepStatus::Blocked, StepStatus::Running] {
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE steps SET status = $1, lease_owner = NULL, updated_at = $2 WHERE tenant_id = $3 AND status = $4",
            )
            .bind(StepStatus::Cancelled)
            .bind(now)
            .bind(tenant_id)
            .bind(status)
            .execute(&mut **conn)
            .await?;
        });
    }
    for status in ProjectStatus::UNFINISHED {
        on_tx!(tx, conn => {
            sqlx::query("UPDATE projects SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND status = $4")
                .bind(ProjectStatus::Cancelled)
                .bind(now)
                .bind(tenant_id)
                .bind(status)
                .execute(&mut **conn)
                .await?;
        });
    }
    // Nothing more leaves for the tenant's endpoints.
    crate::webhooks::store::disable_all(tx, tenant_id, now).await
}

/// When the last lease of the tenant's steps ends (ms), if any step holds or
/// held one that was not ended by its worker (erasure and cancellation keep it).
pub async fn work_leased_until(db: &Db, tenant_id: &TenantId) -> Result<Option<i64>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_scalar("SELECT MAX(lease_expires_at) FROM steps WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(pool)
            .await
    })
}

/// Deletes every row of a tenant marked deleted and keeps one anonymised
/// audit record that the erasure happened. Returns how many projects it had.
pub async fn delete_rows(tx: &mut Tx, tenant_id: &TenantId, now: i64) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        let projects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut **conn)
            .await?;
        for table in [
            "DELETE FROM exports WHERE tenant_id = $1",
            "DELETE FROM steps WHERE tenant_id = $1",
            "DELETE FROM projects WHERE tenant_id = $1",
            "DELETE FROM batches WHERE tenant_id = $1",
            "DELETE FROM media WHERE tenant_id = $1",
            "DELETE FROM usage_reservations WHERE tenant_id = $1",
            "DELETE FROM usage_ledger WHERE tenant_id = $1",
            "DELETE FROM billing_notices WHERE tenant_id = $1",
            "DELETE FROM billing_accounts WHERE tenant_id = $1",
            "DELETE FROM api_keys WHERE tenant_id = $1",
            "DELETE FROM brands WHERE tenant_id = $1",
            "DELETE FROM tenant_templates WHERE tenant_id = $1",
            "DELETE FROM idempotency_keys WHERE tenant_id = $1",
            "DELETE FROM webhook_deliveries WHERE tenant_id = $1",
            "DELETE FROM webhook_endpoints WHERE tenant_id = $1",
            "DELETE FROM usage_notices WHERE tenant_id = $1",
            "DELETE FROM overage_reports WHERE tenant_id = $1",
            "DELETE FROM overage_settings WHERE tenant_id = $1",
            "DELETE FROM refresh_tokens WHERE tenant_id = $1",
            "DELETE FROM magic_links WHERE invite_id IN (SELECT id FROM invites WHERE tenant_id = $1)",
            "DELETE FROM invites WHERE tenant_id = $1",
            "DELETE FROM memberships WHERE tenant_id = $1",
            "DELETE FROM audit_log WHERE tenant_id = $1",
            "DELETE FROM tenants WHERE id = $1 AND status = 'deleted'",
        ] {
            sqlx::query(table).bind(tenant_id).execute(&mut **conn).await?;
        }
        // The one record kept: that an erasure happened, with nothing personal.
        sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, user_id, actor, action, ip, detail, created_at) \
             VALUES ($1, $2, NULL, 'system', 'account.deleted', NULL, $3, $4)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id)
        .bind(serde_json::json!({"projects": projects}).to_string())
        .bind(now)
        .execute(&mut **conn)
        .await?;
        Ok(projects)
    })
}

/// The id of the tenant's export that is queued or running, if any.
pub async fn unfinished_export(tx: &mut Tx, tenant_id: &TenantId) -> Result<Option<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT id FROM exports WHERE tenant_id = $1 AND status IN ($2, $3) LIMIT 1")
            .bind(tenant_id)
            .bind(ExportStatus::Queued)
            .bind(ExportStatus::Running)
            .fetch_optional(&mut **conn)
            .await
    })
}

/// The bytes the tenant's projects and media library hold in storage (what
/// an export copies).
pub async fn media_bytes(tx: &mut Tx, tenant_id: &TenantId) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE((SELECT SUM(bytes_stored) FROM projects WHERE tenant_id = $1), 0) \
             + COALESCE((SELECT SUM(bytes) FROM media WHERE tenant_id = $1), 0) AS BIGINT)",
        )
            .bind(tenant_id)
            .fetch_one(&mut **conn)
            .await
    })
}

/// Inserts a queued export.
pub async fn insert_export(
    tx: &mut Tx,
    id: &str,
    tenant_id: &TenantId,
    filename: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO exports (id, tenant_id, status, filename, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(tenant_id)
            .bind(ExportStatus::Queued)
            .bind(filename)
            .bind(now)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Status of a subscription whose cancellation an erasure has claimed.
const CANCELLING: &str = "cancelling";

/// Claims the cancellation of an erased tenant's live subscription: its id
/// and former status, or `None` when there is none to cancel (none, already
/// cancelled, or claimed by another purge).
pub async fn claim_cancellation(
    db: &Db,
    tenant_id: &TenantId,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let current: Option<(Option<String>, Option<String>)> = on_db!(db, pool => {
        sqlx::query_as("SELECT subscription_id, status FROM billing_accounts WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
    });
    let Some((Some(subscription_id), status)) = current else { return Ok(None) };
    if matches!(status.as_deref(), Some("canceled" | "incomplete_expired" | CANCELLING)) {
        return Ok(None);
    }
    // Only the purge whose update still sees the status it read wins.
    let claimed = on_db!(db, pool => {
        sqlx::query(
            "UPDATE billing_accounts SET status = $1 WHERE tenant_id = $2 AND subscription_id = $3 \
             AND status IS NOT DISTINCT FROM $4",
        )
        .bind(CANCELLING)
        .bind(tenant_id)
        .bind(&subscription_id)
        .bind(&status)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok((claimed == 1).then_some((subscription_id, status)))
}

/// Gives a claimed cancellation back (Stripe refused it): the next purge tries again.
pub async fn give_back_cancellation(db: &Db, tenant_id: &TenantId, status: Option<&str>) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("UPDATE billing_accounts SET status = $1 WHERE tenant_id = $2 AND status = $3")
            .bind(status)
            .bind(tenant_id)
            .bind(CANCELLING)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Records that Stripe cancelled the erased tenant's subscription.
pub async fn cancelled(db: &Db, tenant_id: &TenantId) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("UPDATE billing_accounts SET status = 'canceled' WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}
