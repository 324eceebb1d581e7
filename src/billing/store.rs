//! The billing domain's writes, as plain functions on a `Tx`: the webhook
//! inbox, the subscription mirror, the tenant's plan, and one-time notices.

use crate::billing::stripe::Subscription;
use crate::db::Tx;
use crate::domain::TenantId;
use crate::on_tx;

/// Records a webhook event id; false when it was recorded before.
pub async fn record_event(tx: &mut Tx, event_id: &str, kind: &str, now: i64) -> Result<bool, sqlx::Error> {
    let inserted = on_tx!(tx, conn => {
        sqlx::query("INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(event_id)
            .bind(kind)
            .bind(now)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    Ok(inserted == 1)
}

/// The stored state of the tenant's subscription: id, status, period end,
/// cancel at period end (what `subscription.updated` reports a change of).
pub async fn subscription_state(
    tx: &mut Tx,
    tenant_id: &TenantId,
) -> Result<Option<(Option<String>, Option<String>, Option<i64>, i64)>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT subscription_id, status, current_period_end, cancel_at_period_end FROM billing_accounts \
             WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&mut **conn)
        .await
    })
}

/// Writes a subscription's state as the tenant's billing account (the
/// customer id, once known, is kept).
pub async fn upsert_account(
    tx: &mut Tx,
    tenant_id: &TenantId,
    subscription: &Subscription,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO billing_accounts (tenant_id, stripe_customer_id, subscription_id, price_id, status, current_period_end, \
             cancel_at_period_end, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id) DO UPDATE SET stripe_customer_id = COALESCE(billing_accounts.stripe_customer_id, $2), \
             subscription_id = $3, price_id = $4, status = $5, current_period_end = $6, cancel_at_period_end = $7, updated_at = $8",
        )
        .bind(tenant_id)
        .bind(&subscription.customer)
        .bind(&subscription.id)
        .bind(subscription.price_id())
        .bind(&subscription.status)
        .bind(subscription.period_end())
        .bind(i64::from(subscription.cancel_at_period_end))
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// The tenant's plan text.
pub async fn plan_of(tx: &mut Tx, tenant_id: &TenantId) -> Result<Option<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1").bind(tenant_id).fetch_optional(&mut **conn).await
    })
}

/// Sets the tenant's plan text.
pub async fn set_plan(tx: &mut Tx, tenant_id: &TenantId, plan: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE tenants SET plan = $1 WHERE id = $2").bind(plan).bind(tenant_id).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Records that a notice (e.g. one e-mail per failed invoice attempt) is due;
/// false when it was recorded before, so it goes out once.
pub async fn record_notice(tx: &mut Tx, notice_key: &str, tenant_id: &TenantId, now: i64) -> Result<bool, sqlx::Error> {
    let inserted = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO billing_notices (notice_key, tenant_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (notice_key) DO NOTHING",
        )
        .bind(notice_key)
        .bind(tenant_id)
        .bind(now)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}
