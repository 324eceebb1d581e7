//! A paid tenant's brand: a logo placed over its videos in a chosen corner
//! with an opacity (Pro and Enterprise; Free videos carry the Reelforge
//! watermark instead). The logo is uploaded as PNG or SVG, checked and turned
//! into one PNG by `reelforge_media::logo`, and kept at
//! `tenants/{id}/brand/{hash}.png`; the segment step reads it at render time.

pub mod routes;

use bytes::Bytes;
use reelforge_media::overlay::Corner;
use serde::Serialize;

use crate::db::{Db, now_ms};
use crate::domain::TenantId;
use crate::storage::StorageError;
use crate::{on_db, on_tx};

/// Opacity of a logo until the tenant changes it.
pub const DEFAULT_OPACITY: f64 = 0.85;

/// A tenant's brand as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Brand {
    /// Storage key of the normalised logo PNG.
    pub logo_key: Option<String>,
    /// Hash of the logo's bytes (names its version).
    pub logo_hash: Option<String>,
    /// Where it goes.
    pub corner: Corner,
    /// 0-1.
    pub opacity: f64,
}

impl Default for Brand {
    fn default() -> Self {
        Brand { logo_key: None, logo_hash: None, corner: Corner::default(), opacity: DEFAULT_OPACITY }
    }
}

/// The API view of a brand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BrandView {
    /// Where the logo is served; None when there is none.
    pub logo_url: Option<String>,
    /// `top_left`, `top_right`, `bottom_left` or `bottom_right`.
    pub corner: String,
    /// 0 (invisible) to 1 (opaque).
    pub opacity: f64,
    /// Whether the tenant's plan places the logo (Pro and Enterprise).
    pub available: bool,
}

impl Brand {
    /// Its view, for a tenant whose plan does (`available`) or does not place it.
    pub fn view(&self, available: bool) -> BrandView {
        BrandView {
            logo_url: self
                .logo_hash
                .as_ref()
                .map(|hash| format!("/api/v1/brand/logo?v={}", &hash[..12.min(hash.len())])),
            corner: self.corner.as_str().to_string(),
            opacity: self.opacity,
            available,
        }
    }
}

#[derive(sqlx::FromRow)]
struct BrandRow {
    logo_key: Option<String>,
    logo_hash: Option<String>,
    corner: String,
    opacity: f64,
}

/// The tenant's brand (the default when it never set one).
pub async fn get(db: &Db, tenant_id: &TenantId) -> Result<Brand, sqlx::Error> {
    let row: Option<BrandRow> = on_db!(db, pool => {
        sqlx::query_as("SELECT logo_key, logo_hash, corner, opacity FROM brands WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map_or_else(Brand::default, |row| Brand {
        logo_key: row.logo_key,
        logo_hash: row.logo_hash,
        corner: Corner::parse(&row.corner).unwrap_or_default(),
        opacity: row.opacity.clamp(0.0, 1.0),
    }))
}

/// Writes the tenant's brand.
async fn put(db: &Db, tenant_id: &TenantId, brand: &Brand) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    on_tx!(&mut tx, conn => {
        sqlx::query(
            "INSERT INTO brands (tenant_id, logo_key, logo_hash, corner, opacity, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO UPDATE SET logo_key = $2, \
             logo_hash = $3, corner = $4, opacity = $5, updated_at = $6",
        )
        .bind(tenant_id)
        .bind(&brand.logo_key)
        .bind(&brand.logo_hash)
        .bind(brand.corner.as_str())
        .bind(brand.opacity)
        .bind(now_ms())
        .execute(&mut **conn)
        .await?;
    });
    tx.commit().await
}

/// Why a brand change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BrandError {
    /// The file is not a usable logo (the reason is for the person).
    #[error("{0}")]
    BadLogo(String),
    /// The storage is full.
    #[error("the storage is full")]
    StorageFull,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<StorageError> for BrandError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Full => BrandError::StorageFull,
            other => BrandError::Other(anyhow::anyhow!(other)),
        }
    }
}

/// Checks `bytes` as a logo (PNG or SVG), stores its normalised PNG and makes
/// it the tenant's logo (the previous one is deleted).
pub async fn set_logo(state: &crate::state::AppState, tenant_id: &TenantId, bytes: Bytes) -> Result<Brand, BrandError> {
    let work = tempfile::tempdir().map_err(|e| BrandError::Other(e.into()))?;
    let out = work.path().join("logo.png");
    let normalised = out.clone();
    let checked = tokio::task::spawn_blocking(move || reelforge_media::logo::normalise(&bytes, &normalised))
        .await
        .map_err(|e| BrandError::Other(anyhow::anyhow!("checking the logo stopped: {e}")))?;
    match checked {
        Ok(_) => {}
        Err(reelforge_media::MediaError::Invalid(reason)) => return Err(BrandError::BadLogo(reason)),
        Err(other) => return Err(BrandError::Other(anyhow::anyhow!(other))),
    }
    let png = tokio::fs::read(&out).await.map_err(|e| BrandError::Other(e.into()))?;
    let hash = crate::crypto::hash_token(&crate::crypto::to_hex(&png));
    let key = format!("tenants/{tenant_id}/brand/{}.png", &hash[..24]);
    state.storage.put_bytes(&key, Bytes::from(png)).await?;
    let mut brand = get(&state.db, tenant_id).await?;
    let previous = brand.logo_key.replace(key.clone());
    brand.logo_hash = Some(hash);
    put(&state.db, tenant_id, &brand).await?;
    if let Some(previous) = previous.filter(|p| *p != key) {
        // A render that read the old logo has its own copy in its work folder.
        if let Err(err) = state.storage.delete(&previous).await {
            tracing::warn!(error = %err, "deleting a replaced logo failed");
        }
    }
    Ok(brand)
}

/// Changes where the logo goes and how opaque it is.
pub async fn set_placement(
    db: &Db,
    tenant_id: &TenantId,
    corner: Option<Corner>,
    opacity: Option<f64>,
) -> Result<Brand, BrandError> {
    let mut brand = get(db, tenant_id).await?;
    if let Some(corner) = corner {
        brand.corner = corner;
    }
    if let Some(opacity) = opacity {
        brand.opacity = opacity;
    }
    put(db, tenant_id, &brand).await?;
    Ok(brand)
}

/// Removes the tenant's logo (its placement is kept for the next one).
pub async fn remove_logo(state: &crate::state::AppState, tenant_id: &TenantId) -> Result<(), BrandError> {
    let mut brand = get(&state.db, tenant_id).await?;
    let Some(key) = brand.logo_key.take() else { return Ok(()) };
    brand.logo_hash = None;
    put(&state.db, tenant_id, &brand).await?;
    state.storage.delete(&key).await?;
    Ok(())
}
