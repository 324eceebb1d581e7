//! Account erasure (GDPR Art. 17). The request revokes everything at once in
//! one transaction (tenant marked deleted, every membership and invitation
//! removed, people left in no tenant deleted so their address is free,
//! refresh tokens and API keys revoked, unfinished work cancelled); a purge job
//! then deletes every row, media file, export and usage log of the tenant,
//! cancels its Stripe subscription, and leaves one anonymised audit record.
//! The purge is resumable: a tenant left `deleted` by a crash is purged by the
//! next maintenance pass. Work that was running at the erasure cannot leave
//! files behind: the purge runs again after the last step's lease has ended,
//! and an export stopped by the erasure deletes its own archive.

use crate::account::store;
use crate::db::{Db, now_ms};
use crate::domain::{Email, TenantId, UserId};
use crate::error::{AppError, AppResult};
use crate::on_db;
use crate::state::AppState;

/// Marks the tenant deleted and revokes every credential, if the caller is the
/// owner and `confirm` is their own e-mail address; then starts the purge in
/// the background. Every member loses access to this tenant; their other
/// tenants are not touched.
pub async fn request(state: &AppState, tenant_id: &TenantId, user_id: &UserId, confirm: &str) -> AppResult<()> {
    let email: Option<String> = on_db!(&state.db, pool => {
        sqlx::query_scalar(
            "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.user_id = $1 AND m.tenant_id = $2 AND m.role = 'owner'",
        )
            .bind(user_id.as_str())
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    let email = email.ok_or_else(|| crate::auth::scopes::role_required(crate::teams::Role::Owner))?;
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
        loop {
            match purge(&state, &tenant_id).await {
                Ok(Purge::Done) => return,
                Ok(Purge::WorkRunsUntil(until)) => {
                    // A step that was running may still write until its
                    // lease ends; purge again just after that.
                    let wait = (until - now_ms()).max(0) as u64 + PURGE_MARGIN_MS;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
                Err(err) => {
                    tracing::error!(tenant = %tenant_id, error = %format!("{err:#}"), "purging an erased tenant failed; maintenance will retry");
                    return;
                }
            }
        }
    });
    Ok(())
}

/// How long after the last lease of an erased tenant's work the purge runs
/// again: a worker that lost its lease stops at its next heartbeat, well
/// before the lease ends, and a write it had started lands within this.
const PURGE_MARGIN_MS: u64 = 1000;

/// What a purge pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge {
    /// Nothing of the tenant is left but the anonymised audit record.
    Done,
    /// Media was deleted, but a step that was running at the erasure holds a
    /// lease until this time (ms) and may still write: the rows are kept (the
    /// tenant stays `deleted`) and the purge must run again after it.
    WorkRunsUntil(i64),
}

/// Deletes everything of a tenant marked `deleted`. Safe to run again; runs
/// to the end only once no lease of the tenant's work is left (see `Purge`).
pub async fn purge(state: &AppState, tenant_id: &TenantId) -> anyhow::Result<Purge> {
    // Stripe first: while the billing row exists we know what to cancel.
    // The purge started by the request and the maintenance pass can run at
    // once: the cancellation is claimed in the database first, so only one
    // of them asks Stripe; a failed call gives the claim back for a retry.
    if let Some(stripe) = crate::billing::stripe::Stripe::from_config(&state.config, &state.http)
        && let Some((subscription_id, status)) = store::claim_cancellation(&state.db, tenant_id).await?
    {
        if let Err(err) = stripe.cancel_subscription(&subscription_id).await {
            store::give_back_cancellation(&state.db, tenant_id, status.as_deref()).await?;
            return Err(anyhow::anyhow!("{err}"));
        }
        store::cancelled(&state.db, tenant_id).await?;
    }
    let freed =
        state.storage.delete_prefix(&format!("tenants/{tenant_id}/")).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let log_dir = state.config.usage.usage_log_dir.join(tenant_id.as_str());
    if tokio::fs::try_exists(&log_dir).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(&log_dir).await?;
    }
    // The steps keep their lease's end when erasure cancels them; until the
    // last one has passed, their workers may still store an output.
    let now = now_ms();
    if let Some(until) = store::work_leased_until(&state.db, tenant_id).await?.filter(|until| *until > now) {
        tracing::info!(tenant = %tenant_id, bytes = freed, wait_ms = until - now, "erased tenant's media deleted; purging again when its last step's lease ends");
        return Ok(Purge::WorkRunsUntil(until));
    }
    let mut tx = state.db.begin_write().await?;
    let projects = store::delete_rows(&mut tx, tenant_id, now).await?;
    tx.commit().await?;
    state.usage_changed(tenant_id.as_str());
    tracing::info!(tenant = %tenant_id, projects, bytes = freed, "erased tenant purged");
    Ok(Purge::Done)
}

/// Purges every tenant still marked `deleted` (a purge that crashed or failed).
pub async fn purge_pending(state: &AppState) {
    let pending: Result<Vec<TenantId>, sqlx::Error> = async {
        Ok(on_db!(&state.db, pool => {
            sqlx::query_scalar("SELECT id FROM tenants WHERE status = 'deleted'").fetch_all(pool).await?
        }))
    }
    .await;
    // A tenant whose work still holds a lease stays `deleted`: the next pass
    // (a minute later) purges it.
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
