//! The SQL of webhook endpoints and deliveries, as plain functions.

use super::EventType;
use crate::db::{Db, Tx};
use crate::domain::{ProjectId, TenantId};
use crate::{on_db, on_tx};

/// A delivery waiting for its next attempt.
pub const PENDING: &str = "pending";
/// A delivery the endpoint accepted (2xx).
pub const SUCCEEDED: &str = "succeeded";
/// A delivery given up after the last attempt, or stopped with its endpoint.
pub const FAILED: &str = "failed";

/// An endpoint as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: String,
    /// Space-separated event types; empty is every event.
    pub events: String,
    pub secret_salt: String,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EndpointRow {
    /// The event filter; empty is every event.
    pub fn event_list(&self) -> Vec<EventType> {
        self.events.split_whitespace().filter_map(|e| e.parse().ok()).collect()
    }
}

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, description, events, secret_salt, disabled_at, disabled_reason, \
                                failing_since, created_at, updated_at";

/// Creates an endpoint, unless the tenant has `max` already (false then).
/// The count and the insert share the tenant's lock.
pub async fn insert_endpoint(tx: &mut Tx, row: &EndpointRow, max: i64) -> Result<bool, sqlx::Error> {
    tx.lock_tenant(row.tenant_id.as_str()).await?;
    on_tx!(tx, conn => {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1")
            .bind(&row.tenant_id)
            .fetch_one(&mut **conn)
            .await?;
        if count >= max {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, secret_salt, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&row.id)
        .bind(&row.tenant_id)
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.events)
        .bind(&row.secret_salt)
        .bind(row.created_at)
        .execute(&mut **conn)
        .await?;
    });
    Ok(true)
}

/// The tenant's endpoints, oldest first.
pub async fn endpoints(db: &Db, tenant_id: &TenantId) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).fetch_all(pool).await)
}

/// One of the tenant's endpoints.
pub async fn endpoint(db: &Db, tenant_id: &TenantId, id: &str) -> Result<Option<EndpointRow>, sqlx::Error> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(pool).await)
}

/// Saves an endpoint's editable fields (url, description, events, enabled).
pub async fn update_endpoint(db: &Db, row: &EndpointRow, now: i64) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, pool => {
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, description = $2, events = $3, disabled_at = $4, \
             disabled_reason = $5, failing_since = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9",
        )
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.events)
        .bind(row.disabled_at)
        .bind(&row.disabled_reason)
        .bind(row.failing_since)
        .bind(now)
        .bind(&row.tenant_id)
        .bind(&row.id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// Deletes an endpoint and its deliveries.
pub async fn delete_endpoint(db: &Db, tenant_id: &TenantId, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let deleted = on_tx!(&mut tx, conn => {
        sqlx::query("DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut **conn)
            .await?;
        sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(deleted == 1)
}

/// The enabled endpoints of the tenant that want `event`.
pub async fn interested(tx: &mut Tx, tenant_id: &TenantId, event: EventType) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String, String)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL")
            .bind(tenant_id)
            .fetch_all(&mut **conn)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter(|(_, events)| events.trim().is_empty() || events.split_whitespace().any(|e| e == event.as_str()))
        .map(|(id, _)| id)
        .collect())
}

/// A delivery to queue.
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub tenant_id: &'a TenantId,
    pub endpoint_id: &'a str,
    pub message_id: &'a str,
    pub event: EventType,
    pub payload: &'a str,
    pub now: i64,
}

/// Queues a delivery, due at once.
pub async fn insert_delivery(tx: &mut Tx, d: &NewDelivery<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, message_id, event, payload, status, attempt, \
             next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8, $8)",
        )
        .bind(d.id)
        .bind(d.tenant_id)
        .bind(d.endpoint_id)
        .bind(d.message_id)
        .bind(d.event)
        .bind(d.payload)
        .bind(PENDING)
        .bind(d.now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// A delivery as its log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub message_id: String,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempt: i64,
    pub next_attempt_at: Option<i64>,
    pub status_code: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, message_id, event, payload, status, attempt, next_attempt_at, \
                                status_code, duration_ms, error, created_at, updated_at";

/// An endpoint's deliveries, newest first, before `before` (an id) when given.
pub async fn deliveries(
    db: &Db,
    tenant_id: &TenantId,
    endpoint_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 \
         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(endpoint_id)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
    })
}

/// One delivery of one of the tenant's endpoints.
pub async fn delivery(
    db: &Db,
    tenant_id: &TenantId,
    endpoint_id: &str,
    id: &str,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3"
    );
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(endpoint_id).bind(id).fetch_optional(pool).await
    })
}

/// A delivery taken for an attempt, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub tenant_id: TenantId,
    pub endpoint_id: String,
    pub url: String,
    pub secret_salt: String,
    pub message_id: String,
    pub event: String,
    pub payload: String,
    /// The attempt this is (1 for the first).
    pub attempt: i64,
    /// When it was queued.
    pub created_at: i64,
}

/// Takes up to `limit` due deliveries of enabled endpoints for `owner` until
/// `lease_until`. Each row is taken by a conditional update, so two
/// processes never take the same one.
pub async fn claim(db: &Db, owner: &str, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let due: Vec<Claimed> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT d.id, d.tenant_id, d.endpoint_id, e.url, e.secret_salt, d.message_id, d.event, d.payload, \
             d.attempt + 1 AS attempt, d.created_at \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.status = $1 AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until < $2) \
             AND e.disabled_at IS NULL ORDER BY d.next_attempt_at, d.id LIMIT $3",
        )
        .bind(PENDING)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    let mut claimed = Vec::with_capacity(due.len());
    for delivery in due {
        let taken = on_db!(db, pool => {
            sqlx::query(
                "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempt = attempt + 1, updated_at = $3 \
                 WHERE id = $4 AND status = $5 AND attempt = $6 AND (lease_until IS NULL OR lease_until < $3)",
            )
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(&delivery.id)
            .bind(PENDING)
            .bind(delivery.attempt - 1)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if taken == 1 {
            claimed.push(delivery);
        }
    }
    Ok(claimed)
}

/// What one attempt came to.
pub struct Attempt<'a> {
    pub status: &'a str,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    pub next_attempt_at: Option<i64>,
}

/// Records an attempt of a delivery `owner` holds, and the endpoint's health:
/// a success clears its failure clock, a failure starts it. Returns when the
/// endpoint began failing (None after a success), or `None` when the lease
/// was lost.
pub async fn record_attempt(
    db: &Db,
    claimed: &Claimed,
    owner: &str,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<Option<Option<i64>>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let failing_since = on_tx!(&mut tx, conn => {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, status_code = $2, duration_ms = $3, error = $4, \
             next_attempt_at = $5, lease_owner = NULL, lease_until = NULL, updated_at = $6 \
             WHERE id = $7 AND lease_owner = $8 AND attempt = $9",
        )
        .bind(attempt.status)
        .bind(attempt.status_code)
        .bind(attempt.duration_ms)
        .bind(attempt.error)
        .bind(attempt.next_attempt_at)
        .bind(now)
        .bind(&claimed.id)
        .bind(owner)
        .bind(claimed.attempt)
        .execute(&mut **conn)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(None);
        }
        if attempt.status == SUCCEEDED {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(&claimed.endpoint_id)
                .execute(&mut **conn)
                .await?;
            None
        } else {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
                .bind(now)
                .bind(&claimed.endpoint_id)
                .execute(&mut **conn)
                .await?;
            sqlx::query_scalar::<_, Option<i64>>("SELECT failing_since FROM webhook_endpoints WHERE id = $1")
                .bind(&claimed.endpoint_id)
                .fetch_optional(&mut **conn)
                .await?
                .flatten()
        }
    });
    tx.commit().await?;
    Ok(Some(failing_since))
}

/// Turns an endpoint off (its pending deliveries wait until it is turned on
/// again). False when it was already off.
pub async fn disable(db: &Db, endpoint_id: &str, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = on_db!(db, pool => {
        sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2, updated_at = $1 \
             WHERE id = $3 AND disabled_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(endpoint_id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// Turns off every endpoint of a tenant being erased (in erasure's transaction).
pub async fn disable_all(tx: &mut Tx, tenant_id: &TenantId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = 'account erased' \
             WHERE tenant_id = $2 AND disabled_at IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Records the first `usage.near_limit` of a tenant, month and metric; false when it was sent already.
pub async fn first_notice(
    tx: &mut Tx,
    tenant_id: &TenantId,
    period: &str,
    metric: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO usage_notices (tenant_id, period, metric, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(period)
        .bind(metric)
        .bind(now)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// What a project event says about its project.
#[derive(Debug, sqlx::FromRow)]
pub struct ProjectSummary {
    pub tenant_id: TenantId,
    pub title: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// The project's title, length and error, read in the transaction that ends it.
pub async fn project_summary(tx: &mut Tx, project_id: &ProjectId) -> Result<Option<ProjectSummary>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as("SELECT tenant_id, title, duration_ms, error FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&mut **conn)
            .await
    })
}

/// Deletes finished deliveries (succeeded or failed) last touched before `before`.
pub async fn prune_deliveries(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM webhook_deliveries WHERE status <> $1 AND updated_at < $2")
            .bind(PENDING)
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}
