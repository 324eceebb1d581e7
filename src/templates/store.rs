//! The `tenant_templates` table's SQL. Every query takes the tenant.

use crate::db::{Db, Tx};
use crate::domain::TenantId;
use crate::{on_db, on_tx};

/// A tenant template as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: String,
    pub tenant_id: TenantId,
    /// The built-in template it is built on.
    pub base_id: String,
    pub name: String,
    pub description: String,
    /// The checked overrides (`templates::Settings` as JSON).
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, base_id, name, description, settings, created_at, updated_at";

/// The tenant's templates, oldest first.
pub async fn list(db: &Db, tenant_id: &TenantId) -> Result<Vec<TemplateRow>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenant_templates WHERE tenant_id = $1 ORDER BY id"
        )))
        .bind(tenant_id)
        .fetch_all(pool)
        .await
    })
}

/// The tenant's template `id`, if any.
pub async fn find(db: &Db, tenant_id: &TenantId, id: &str) -> Result<Option<TemplateRow>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenant_templates WHERE id = $1 AND tenant_id = $2"
        )))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await
    })
}

/// The tenant's templates, inside a transaction (the media-in-use check).
pub async fn list_in(tx: &mut Tx, tenant_id: &TenantId) -> Result<Vec<TemplateRow>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tenant_templates WHERE tenant_id = $1 ORDER BY id"
        )))
        .bind(tenant_id)
        .fetch_all(&mut **conn)
        .await
    })
}

/// How many templates the tenant has.
pub async fn count(tx: &mut Tx, tenant_id: &TenantId) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM tenant_templates WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut **conn)
            .await
    })
}

/// Inserts a new template.
pub async fn insert(tx: &mut Tx, row: &TemplateRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO tenant_templates (id, tenant_id, base_id, name, description, settings, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.tenant_id)
        .bind(&row.base_id)
        .bind(&row.name)
        .bind(&row.description)
        .bind(&row.settings)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Replaces a template's fields; false when the tenant has no such template.
pub async fn update(tx: &mut Tx, row: &TemplateRow) -> Result<bool, sqlx::Error> {
    let changed = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE tenant_templates SET base_id = $3, name = $4, description = $5, settings = $6, updated_at = $7 \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(&row.id)
        .bind(&row.tenant_id)
        .bind(&row.base_id)
        .bind(&row.name)
        .bind(&row.description)
        .bind(&row.settings)
        .bind(row.updated_at)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    Ok(changed > 0)
}

/// Deletes a template; false when the tenant has no such template.
pub async fn delete(db: &Db, tenant_id: &TenantId, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let deleted = on_tx!(&mut tx, conn => {
        sqlx::query("DELETE FROM tenant_templates WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(deleted > 0)
}
