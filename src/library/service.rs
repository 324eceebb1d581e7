//! Library rules: adding an item (intake, quota, storage, row), reading,
//! listing and deleting (refused while a scene uses it). Every query takes
//! the caller's `TenantId`; another tenant's item and a missing one are the
//! same `NotFound`. Errors are the domain's own (`LibraryError`); the routes
//! turn them into HTTP answers.
//!
//! A refused upload of any kind leaves nothing behind: the files are stored
//! only after intake passed, the row (which is what counts toward
//! `storage_mb`) is written only after every file is stored and the quota
//! re-checked under the tenant's lock, and any failure after the first file
//! was stored deletes the item's prefix again.

use std::path::Path;

use crate::billing::Plan;
use crate::db::{Db, now_ms};
use crate::domain::TenantId;
use crate::library::intake::{self, IntakeError, Prepared, Received};
use crate::library::media_prefix;
use crate::library::store;
use crate::library::types::{MediaItem, MediaPage, MediaView, ProjectRef};
use crate::state::AppState;
use crate::storage::StorageError;
use crate::usage::quota::{self, Amounts, Exceeded};
use crate::usage::store as usage_store;

/// Why a library operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// No such item of this tenant.
    #[error("no such media")]
    NotFound,
    /// The tenant is gone (erased while the request ran).
    #[error("the account no longer exists")]
    AccountGone,
    /// The file did not pass intake.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Storing it would pass the storage quota.
    #[error("this would pass the storage quota")]
    QuotaExceeded(Exceeded),
    /// The media storage is full; nothing was saved.
    #[error("storage is full")]
    StorageFull,
    /// Scenes or the music of these projects, or these brand templates, use the item.
    #[error("the media is in use")]
    InUse { projects: Vec<ProjectRef>, templates: Vec<crate::templates::TemplateRef> },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("media storage: {0}")]
    Storage(String),
}

impl From<StorageError> for LibraryError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Full => LibraryError::StorageFull,
            other => LibraryError::Storage(other.to_string()),
        }
    }
}

/// Whether `needed` more bytes fit the tenant's storage quota now. Read
/// without the lock: a cheap early answer before the work; the binding
/// check is `admit`'s.
async fn check_room(state: &AppState, tenant_id: &TenantId, needed: i64) -> Result<(), LibraryError> {
    let now = now_ms();
    let usage = usage_store::usage(&state.db, tenant_id, &quota::period_of(now)).await?;
    let plan: Plan = usage.plan.as_deref().and_then(|p| p.parse().ok()).ok_or(LibraryError::AccountGone)?;
    let (used, reserved) = usage.amounts();
    let needed = Amounts { storage_bytes: needed, ..Amounts::default() };
    quota::check(&state.config, plan, &used, &reserved, &needed).map_err(LibraryError::QuotaExceeded)
}

/// Takes a received upload into the tenant's library: intake in `work`
/// (a scratch folder the caller removes), then storage, then the row.
pub async fn add(
    state: &AppState,
    tenant_id: &TenantId,
    received: &Received,
    work: &Path,
) -> Result<MediaView, LibraryError> {
    let upload = intake::sniff_upload(received)?;
    check_room(state, tenant_id, received.bytes as i64).await?;
    let prepared = match upload {
        intake::Upload::Media(sniffed) => {
            intake::prepare(&state.config.media, received, sniffed, work, intake::Thumbnail::Make).await?
        }
        intake::Upload::Font(format) => intake::prepare_font(&state.config.media, received, format, work).await?,
    };
    let media_id = uuid::Uuid::now_v7().to_string();
    let prefix = media_prefix(tenant_id, &media_id);
    let stored = store_and_admit(state, tenant_id, &media_id, &prefix, received, &prepared).await;
    if stored.is_err()
        && let Err(err) = state.storage.delete_prefix(&prefix).await
    {
        tracing::warn!(error = %err, "deleting the files of a refused upload failed");
    }
    let item = stored?;
    state.usage_changed(tenant_id.as_str());
    Ok(MediaView::from(&item))
}

/// Stores the item's files, then inserts its row under the tenant's lock
/// once the quota still holds with every byte stored.
async fn store_and_admit(
    state: &AppState,
    tenant_id: &TenantId,
    media_id: &str,
    prefix: &str,
    received: &Received,
    prepared: &Prepared,
) -> Result<MediaItem, LibraryError> {
    let file_key = format!("{prefix}original.{}", prepared.extension);
    let thumbnail_key = format!("{prefix}thumbnail.jpg");
    let mut bytes = state.storage.put_file(&file_key, &prepared.original).await?;
    let thumbnail =
        prepared.thumbnail.as_deref().ok_or_else(|| LibraryError::Storage("no thumbnail was made".into()))?;
    bytes += state.storage.put_file(&thumbnail_key, thumbnail).await?;
    let render_key = match &prepared.render {
        Some(render) => {
            let key = format!("{prefix}render.png");
            bytes += state.storage.put_file(&key, render).await?;
            key
        }
        None => file_key.clone(),
    };
    let item = MediaItem {
        id: media_id.to_string(),
        kind: prepared.kind,
        content_type: prepared.content_type.to_string(),
        filename: received.filename.clone(),
        bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        // Sound has no pixels.
        width: (prepared.width > 0).then(|| i64::from(prepared.width)),
        height: (prepared.height > 0).then(|| i64::from(prepared.height)),
        duration_ms: prepared.duration_ms,
        file_key,
        render_key,
        thumbnail_key,
        created_at: now_ms(),
    };
    let mut tx = state.db.begin_write().await?;
    // The tenant's lock: concurrent uploads (and project admissions) see
    // each other's bytes, so together they cannot pass the quota.
    let plan = tx.lock_tenant(tenant_id.as_str()).await?.ok_or(LibraryError::AccountGone)?;
    let plan: Plan = plan.parse().unwrap_or(Plan::Free);
    let (used, reserved) =
        usage_store::usage_in(&mut tx, tenant_id, &quota::period_of(item.created_at)).await?.amounts();
    let needed = Amounts { storage_bytes: item.bytes, ..Amounts::default() };
    quota::check(&state.config, plan, &used, &reserved, &needed).map_err(LibraryError::QuotaExceeded)?;
    store::insert(&mut tx, tenant_id, &item).await?;
    tx.commit().await?;
    Ok(item)
}

/// The tenant's item, or `NotFound`.
pub async fn get(db: &Db, tenant_id: &TenantId, media_id: &str) -> Result<MediaItem, LibraryError> {
    store::find(db, tenant_id, media_id).await?.ok_or(LibraryError::NotFound)
}

/// A page of the tenant's library, newest first.
pub async fn list(db: &Db, tenant_id: &TenantId, cursor: Option<&str>, limit: i64) -> Result<MediaPage, LibraryError> {
    let rows = store::list(db, tenant_id, cursor, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<MediaView> = rows.iter().take(limit as usize).map(MediaView::from).collect();
    let next_cursor = if more { items.last().map(|item| item.id.clone()) } else { None };
    Ok(MediaPage { items, next_cursor })
}

/// Deletes an item and its files, unless a scene of any of the tenant's
/// projects, or a brand template (a font, its logo, its music), uses it
/// (`InUse` names them). The check and the row's deletion
/// are one transaction under the tenant's lock; the files go after commit
/// (storage usage is the rows', so it falls at once).
pub async fn delete(state: &AppState, tenant_id: &TenantId, media_id: &str) -> Result<(), LibraryError> {
    get(&state.db, tenant_id, media_id).await?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_tenant(tenant_id.as_str()).await?.ok_or(LibraryError::AccountGone)?;
    let users = store::projects_using(&mut tx, tenant_id, media_id).await?;
    let templates = crate::templates::using_media(&mut tx, tenant_id, media_id).await?;
    if !users.is_empty() || !templates.is_empty() {
        return Err(LibraryError::InUse { projects: users, templates });
    }
    if !store::delete(&mut tx, tenant_id, media_id).await? {
        return Err(LibraryError::NotFound);
    }
    tx.commit().await?;
    state.usage_changed(tenant_id.as_str());
    if let Err(err) = state.storage.delete_prefix(&media_prefix(tenant_id, media_id)).await {
        // The row is gone (usage no longer counts it); erasure deletes the
        // tenant's whole prefix in any case.
        tracing::warn!(error = %err, media = %media_id, "deleting a media item's files failed");
    }
    Ok(())
}
