//! The media library's queries. Reads run on the pool; writes are plain
//! functions on a `Tx`, composed by the service that owns it.

use crate::db::{Db, Tx};
use crate::domain::TenantId;
use crate::library::types::{MediaItem, ProjectRef};
use crate::{on_db, on_tx};

const MEDIA_COLUMNS: &str = "id, kind, content_type, filename, bytes, width, height, duration_ms, file_key, \
                             render_key, thumbnail_key, created_at";

/// The tenant's library item, or `None` (another tenant's item is `None`
/// too). Scene validation and the render pipeline call this.
pub async fn find(db: &Db, tenant_id: &TenantId, media_id: &str) -> Result<Option<MediaItem>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1 AND tenant_id = $2")))
            .bind(media_id)
            .bind(tenant_id)
            .fetch_optional(pool)
            .await
    })
}

/// Up to `limit` of the tenant's items older than `cursor`, newest first
/// (ids are UUIDv7: their order is creation order).
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<MediaItem>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MEDIA_COLUMNS} FROM media WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        )))
        .bind(tenant_id)
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Inserts an item of `tenant_id`.
pub async fn insert(tx: &mut Tx, tenant_id: &TenantId, item: &MediaItem) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO media (id, tenant_id, kind, content_type, filename, bytes, width, height, duration_ms, \
             file_key, render_key, thumbnail_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&item.id)
        .bind(tenant_id)
        .bind(item.kind)
        .bind(&item.content_type)
        .bind(&item.filename)
        .bind(item.bytes)
        .bind(item.width)
        .bind(item.height)
        .bind(item.duration_ms)
        .bind(&item.file_key)
        .bind(&item.render_key)
        .bind(&item.thumbnail_key)
        .bind(item.created_at)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// The tenant's projects with a scene that shows the item or music that plays it.
pub async fn projects_using(tx: &mut Tx, tenant_id: &TenantId, media_id: &str) -> Result<Vec<ProjectRef>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT p.id, p.title FROM projects p WHERE p.tenant_id = $2 AND (p.music_media_id = $1 \
             OR EXISTS (SELECT 1 FROM scenes s WHERE s.project_id = p.id AND s.media_id = $1)) ORDER BY p.id",
        )
        .bind(media_id)
        .bind(tenant_id)
        .fetch_all(&mut **conn)
        .await
    })
}

/// Deletes the tenant's item row; false when there was none.
pub async fn delete(tx: &mut Tx, tenant_id: &TenantId, media_id: &str) -> Result<bool, sqlx::Error> {
    let deleted = on_tx!(tx, conn => {
        sqlx::query("DELETE FROM media WHERE id = $1 AND tenant_id = $2")
            .bind(media_id)
            .bind(tenant_id)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    Ok(deleted == 1)
}
