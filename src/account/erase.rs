//! Account erasure (GDPR Art. 17). The request revokes everything at once in
//! one transaction (tenant marked deleted, users removed so the address is free,
//! refresh tokens and API keys revoked, unfinished work cancelled); a purge job
//! then deletes every row, media file, export and usage log of the tenant,
//! cancels its Stripe subscription, and leaves one anonymised audit record.
//! The purge is resumable: a tenant left `deleted` by a crash is purged by the
//! next maintenance pass.

use crate::account::store;
use crate::db::{Db, now_ms};
use crate::domain::{Email, TenantId, UserId};
use crate::error::{AppError, AppResult};
use crate::on_db;
use crate::state::AppState;

/// Marks the tenant deleted and revokes every credential, if `confirm` is the
/// caller's own e-mail address; then starts the purge in the background.
pub async fn request(state: &AppState, tenant_id: &TenantId, user_id: &UserId, confirm: &str) -> AppResult<()> {
    let email: Option<String> = on_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(user_id.as_str())
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    let email = email.ok_or(AppError::Unauthorized)?;
    let matches = Email::parse(confirm).is_ok_and(|c| c.as_str() == email);
    if !matches {
        return Err(AppError::invalid("confirm", "type your account's e-mail address to confirm"));
    }
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    store::revoke_access(&mut tx, tenant_id, &email, now).await?;
    store::stop_work(&mut tx, tenant_id, now).await?;
    tx.commit().await?;
    state.tenant_changed(tenant_id.as_str());
    tracing::info!(tenant = %tenant_id, "account erasure requested");
    let (state, tenant_id) = (state.clone(), tenant_id.clone());
    tokio::spawn(async move {
        if let Err(err) = purge(&state, &tenant_id).await {
            tracing::error!(tenant = %tenant_id, error = %format!("{err:#}"), "purging an erased tenant failed; maintenance will retry");
        }
    });
    Ok(())
}

/// Deletes everything of a tenant marked `deleted`. Safe to run again.
pub async fn purge(state: &AppState, tenant_id: &TenantId) -> anyhow::Result<()> {
    // Stripe first: while the billing row exists we know what to cancel.
    let subscription: Option<(Option<String>, Option<String>)> = on_db!(&state.db, pool => {
        sqlx::query_as("SELECT subscription_id, status FROM billing_accounts WHERE tenant_id = $1")
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    if let Some((Some(subscription_id), status)) = subscription
        && !matches!(status.as_deref(), Some("canceled" | "incomplete_expired"))
        && let Some(stripe) = crate::billing::stripe::Stripe::from_config(&state.config, &state.http)
    {
        stripe.cancel_subscription(&subscription_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let freed =
        state.storage.delete_prefix(&format!("tenants/{tenant_id}/")).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let log_dir = state.config.usage.usage_log_dir.join(tenant_id.as_str());
    if tokio::fs::try_exists(&log_dir).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(&log_dir).await?;
    }
    let mut tx = state.db.begin_write().await?;
    let projects = store::delete_rows(&mut tx, tenant_id, now_ms()).await?;
    tx.commit().await?;
    state.usage_changed(tenant_id.as_str());
    tracing::info!(tenant = %tenant_id, projects, bytes = freed, "erased tenant purged");
    Ok(())
}

/// Purges every tenant still marked `deleted` (a purge that crashed or failed).
pub async fn purge_pending(state: &AppState) {
    let pending: Result<Vec<TenantId>, sqlx::Error> = async {
        Ok(on_db!(&state.db, pool => {
            sqlx::query_scalar("SELECT id FROM tenants WHERE status = 'deleted'").fetch_all(pool).await?
        }))
    }
    .await;
    for tenant in pending.unwrap_or_default() {
        if let Err(err) = purge(state, &tenant).await {
            tracing::warn!(%tenant, error = %format!("{err:#}"), "purging an erased tenant failed; will retry");
        }
    }
}

/// Whether a tenant is gone (no row left).
pub async fn is_purged(db: &Db, tenant_id: &TenantId) -> Result<bool, sqlx::Error> {
    let found: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1").bind(tenant_id.as_str()).fetch_optional(pool).await?
    });
    Ok(found.is_none())
}
