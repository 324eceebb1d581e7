//! GDPR export (Art. 15/20): a ZIP with the tenant's rows as JSON and every
//! media file, built on local disk entry by entry (media is copied in chunks,
//! never held whole in memory), uploaded to storage in chunks, mailed to the
//! owner, downloadable by its own tenant for seven days.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::account::store;
use crate::billing::Plan;
use crate::db::{Db, now_ms, rfc3339};
use crate::domain::TenantId;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::state::AppState;
use crate::storage::StorageError;
use crate::usage::quota::{self, Amounts, Exceeded};
use crate::usage::store as usage_store;
use crate::{on_db, on_tx, text_enum};

/// How long an export can be downloaded.
pub const EXPORT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The only shape an export file name can have.
pub fn valid_filename(name: &str) -> bool {
    let Some(id) = name.strip_prefix("reelforge-export-").and_then(|rest| rest.strip_suffix(".zip")) else {
        return false;
    };
    id.len() == 36
        && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && id.chars().filter(|c| *c == '-').count() == 4
}

fn storage_key(tenant_id: &TenantId, filename: &str) -> String {
    format!("tenants/{tenant_id}/exports/{filename}")
}

text_enum!(
    /// Where an export is: `queued -> running -> ready | failed`, then `expired`.
    pub enum ExportStatus {
        Queued => "queued",
        Running => "running",
        Ready => "ready",
        Failed => "failed",
        Expired => "expired",
    }
);

/// An export as the API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportView {
    pub export_id: String,
    /// `queued`, `running`, `ready`, `failed` or `expired`.
    #[schema(value_type = String)]
    pub status: ExportStatus,
    pub download_url: Option<String>,
    pub size_bytes: i64,
    pub expires_at: Option<String>,
    pub error: Option<String>,
}

/// Why an export did not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Another export of the tenant is queued or running (named, so a client can follow it).
    #[error("an export is already running")]
    AlreadyRunning { export_id: String },
    /// The archive would take the tenant's storage past its quota.
    #[error("this would pass the storage quota")]
    QuotaExceeded(Exceeded),
    /// The tenant is gone (erased while the request ran).
    #[error("the account no longer exists")]
    AccountGone,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts an export: refused while another of the tenant's exports is queued
/// or running, and when the archive (about the size of the tenant's stored
/// media) would take its storage past the quota.
pub async fn start(state: &AppState, tenant_id: &TenantId) -> Result<ExportView, ExportError> {
    let id = uuid::Uuid::now_v7().to_string();
    let filename = format!("reelforge-export-{id}.zip");
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    // The tenant's lock makes check-then-insert one step: on PostgreSQL's
    // READ COMMITTED two simultaneous requests would otherwise both see no
    // running export and both insert one.
    let plan = tx.lock_tenant(tenant_id.as_str()).await?.ok_or(ExportError::AccountGone)?;
    if let Some(export_id) = store::unfinished_export(&mut tx, tenant_id).await? {
        return Err(ExportError::AlreadyRunning { export_id });
    }
    let plan: Plan = plan.parse().unwrap_or(Plan::Free);
    let (used, reserved) = usage_store::usage_in(&mut tx, tenant_id, &quota::period_of(now)).await?.amounts();
    // The archive stores the media as it is (plus a little JSON), so its size
    // is about the bytes the tenant's projects hold.
    let needed = Amounts { storage_bytes: store::media_bytes(&mut tx, tenant_id).await?, ..Amounts::default() };
    quota::check(&state.config, plan, &used, &reserved, &needed).map_err(ExportError::QuotaExceeded)?;
    store::insert_export(&mut tx, &id, tenant_id, &filename, now).await?;
    tx.commit().await?;
    let (task_state, task_tenant, task_id) = (state.clone(), tenant_id.clone(), id.clone());
    tokio::spawn(async move {
        run(&task_state, &task_tenant, &task_id).await;
    });
    Ok(ExportView {
        export_id: id,
        status: ExportStatus::Queued,
        download_url: None,
        size_bytes: 0,
        expires_at: None,
        error: None,
    })
}

/// Status of one of the tenant's exports (404 for anyone else's).
pub async fn get(db: &Db, tenant_id: &TenantId, id: &str) -> AppResult<ExportView> {
    type Row = (ExportStatus, String, i64, Option<String>, Option<i64>);
    let row: Option<Row> = on_db!(db, pool => {
        sqlx::query_as("SELECT status, filename, size_bytes, error, expires_at FROM exports WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id.as_str())
            .fetch_optional(pool)
            .await?
    });
    let (status, filename, size_bytes, error, expires_at) = row.ok_or(AppError::NotFound)?;
    Ok(ExportView {
        export_id: id.to_string(),
        download_url: (status == ExportStatus::Ready).then(|| format!("/api/account/download-export/{filename}")),
        status,
        size_bytes,
        expires_at: expires_at.map(rfc3339),
        error,
    })
}

/// The storage key of a ready, unexpired export of this tenant, or 404. The
/// name is checked against the strict pattern and looked up by tenant: it is
/// never joined onto a path.
pub async fn download_key(db: &Db, tenant_id: &TenantId, filename: &str) -> AppResult<String> {
    if !valid_filename(filename) {
        return Err(AppError::NotFound);
    }
    let found: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT filename FROM exports WHERE tenant_id = $1 AND filename = $2 AND status = $4 AND expires_at > $3")
            .bind(tenant_id.as_str())
            .bind(filename)
            .bind(now_ms())
            .bind(ExportStatus::Ready)
            .fetch_optional(pool)
            .await?
    });
    found.map(|name| storage_key(tenant_id, &name)).ok_or(AppError::NotFound)
}

/// Ends a running export as `status`; false when it is no longer running
/// (erasure stopped it, or its row is gone). A ready export queues the
/// `export.ready` webhook in the same transaction.
async fn set_status(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
    status: ExportStatus,
    size: i64,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let expires_at = (status == ExportStatus::Ready).then_some(now + EXPORT_TTL_MS);
    let mut tx = db.begin_write().await?;
    let updated = on_tx!(&mut tx, conn => {
        sqlx::query(
            "UPDATE exports SET status = $1, size_bytes = $2, error = $3, finished_at = $4, expires_at = $5 \
             WHERE id = $6 AND status = $7",
        )
        .bind(status)
        .bind(size)
        .bind(error)
        .bind(now)
        .bind(expires_at)
        .bind(id)
        .bind(ExportStatus::Running)
        .execute(&mut **conn)
        .await?
        .rows_affected()
    });
    if updated == 1 && status == ExportStatus::Ready {
        let data = json!({
            "export_id": id,
            "size_bytes": size,
            "expires_at": expires_at.map(rfc3339),
        });
        crate::webhooks::emit(&mut tx, tenant_id, crate::webhooks::EventType::ExportReady, data).await?;
    }
    tx.commit().await?;
    Ok(updated == 1)
}

async fn run(state: &AppState, tenant_id: &TenantId, id: &str) {
    let started = on_db!(&state.db, pool => {
        sqlx::query("UPDATE exports SET status = $2 WHERE id = $1 AND status = $3")
            .bind(id)
            .bind(ExportStatus::Running)
            .bind(ExportStatus::Queued)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
    });
    match started {
        Ok(true) => {}
        // Stopped by an erasure before it began.
        Ok(false) => return,
        Err(err) => {
            tracing::error!(export = %id, error = %err, "starting an export failed");
            return;
        }
    }
    let work = state.config.data_dir.join("work").join(format!("export-{id}"));
    let result = build(state, tenant_id, id, &work).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    match result {
        Ok(size) => {
            match set_status(&state.db, tenant_id, id, ExportStatus::Ready, size as i64, None).await {
                Ok(true) => {}
                Ok(false) => {
                    // The account was erased while the archive was built: its
                    // purge may already have run, so the archive is ours to delete.
                    let key = storage_key(tenant_id, &format!("reelforge-export-{id}.zip"));
                    if let Err(err) = state.storage.delete(&key).await {
                        tracing::error!(export = %id, error = %err, "deleting the archive of an erased account failed");
                    }
                    return;
                }
                Err(err) => {
                    tracing::error!(error = %err, "recording a finished export failed");
                    return;
                }
            }
            // Only the newest archive is kept: an older one holds the same
            // data, older, and would count toward storage a second time.
            if let Err(err) = retire_older(state, tenant_id, id).await {
                tracing::warn!(error = %err, "deleting older exports failed; they expire on their own");
            }
            state.usage_changed(tenant_id.as_str());
            mail_ready(state, tenant_id, id).await;
        }
        Err(err) => {
            tracing::error!(export = %id, error = %format!("{err:#}"), "export failed");
            let _ = set_status(
                &state.db,
                tenant_id,
                id,
                ExportStatus::Failed,
                0,
                Some("the export could not be built; please try again"),
            )
            .await;
        }
    }
}

/// One table read as JSON text by the database itself, in each backend's
/// dialect, so every column is exported without a Rust type per table.
struct JsonQuery {
    sqlite: &'static str,
    postgres: &'static str,
}

async fn rows(db: &Db, query: JsonQuery, tenant_id: &TenantId) -> anyhow::Result<Vec<Value>> {
    let texts: Vec<String> = match db {
        Db::Sqlite(pool) => sqlx::query_scalar(query.sqlite).bind(tenant_id).fetch_all(pool).await?,
        Db::Postgres(pool) => sqlx::query_scalar(query.postgres).bind(tenant_id).fetch_all(pool).await?,
    };
    Ok(texts.iter().filter_map(|t| serde_json::from_str(t).ok()).collect())
}

async fn build(state: &AppState, tenant_id: &TenantId, id: &str, work: &Path) -> anyhow::Result<u64> {
    tokio::fs::create_dir_all(work).await?;
    let db = &state.db;
    let account = json!({
        "tenant": rows(
            db,
            JsonQuery {
                sqlite: "SELECT json_object('id', id, 'name', name, 'plan', plan, 'status', status, 'created_at', created_at) FROM tenants WHERE id = $1",
                postgres: "SELECT row_to_json(t)::text FROM (SELECT id, name, plan, status, created_at FROM tenants WHERE id = $1) t",
            },
            tenant_id,
        )
        .await?,
        "users": rows(
            db,
            JsonQuery {
                sqlite: "SELECT json_object('id', u.id, 'email', u.email, 'role', m.role, 'created_at', u.created_at, 'joined_at', m.joined_at, 'last_login_at', u.last_login_at) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1",
                postgres: "SELECT row_to_json(x)::text FROM (SELECT u.id, u.email, m.role, u.created_at, m.joined_at, u.last_login_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1) x",
            },
            tenant_id,
        )
        .await?,
        "api_keys": rows(
            db,
            JsonQuery {
                // Metadata only: never the hash.
                sqlite: "SELECT json_object('id', id, 'name', name, 'scopes', scopes, 'prefix', prefix, 'created_at', created_at, \
                         'last_used_at', last_used_at, 'revoked_at', revoked_at) FROM api_keys WHERE tenant_id = $1 ORDER BY id",
                postgres: "SELECT row_to_json(k)::text FROM (SELECT id, name, scopes, prefix, created_at, last_used_at, revoked_at \
                           FROM api_keys WHERE tenant_id = $1 ORDER BY id) k",
            },
            tenant_id,
        )
        .await?,
        "batches": rows(
            db,
            JsonQuery {
                // Each row is a project of projects.json (batch_id, batch_row).
                sqlite: "SELECT json_object('id', id, 'template_id', template_id, 'title', title, 'rows', row_count, \
                         'created_at', created_at, 'completed_at', completed_at) FROM batches WHERE tenant_id = $1 ORDER BY id",
                postgres: "SELECT row_to_json(b)::text FROM (SELECT id, template_id, title, row_count AS rows, created_at, \
                           completed_at FROM batches WHERE tenant_id = $1 ORDER BY id) b",
            },
            tenant_id,
        )
        .await?,
        "webhook_endpoints": rows(
            db,
            JsonQuery {
                // Never the secret's salt.
                sqlite: "SELECT json_object('id', id, 'url', url, 'description', description, 'events', events, \
                         'disabled_at', disabled_at, 'disabled_reason', disabled_reason, 'created_at', created_at) \
                         FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id",
                postgres: "SELECT row_to_json(w)::text FROM (SELECT id, url, description, events, disabled_at, disabled_reason, \
                           created_at FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id) w",
            },
            tenant_id,
        )
        .await?,
        // The brand templates, with their settings (fonts and logos are in media.json and library/).
        "templates": rows(
            db,
            JsonQuery {
                sqlite: "SELECT json_object('id', id, 'base_id', base_id, 'name', name, 'description', description, \
                         'settings', json(settings), 'created_at', created_at, 'updated_at', updated_at) \
                         FROM tenant_templates WHERE tenant_id = $1 ORDER BY id",
                postgres: "SELECT row_to_json(t)::text FROM (SELECT id, base_id, name, description, settings::json AS settings, \
                           created_at, updated_at FROM tenant_templates WHERE tenant_id = $1 ORDER BY id) t",
            },
            tenant_id,
        )
        .await?,
    });
    let mut projects = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('id', id, 'title', title, 'status', status, 'template_id', template_id, 'language', language, 'voice', voice, 'width', width, 'height', height, 'duration_ms', duration_ms, 'created_at', created_at, 'video_key', video_key, 'batch_id', batch_id, 'batch_row', batch_row) FROM projects WHERE tenant_id = $1 ORDER BY id",
            postgres: "SELECT row_to_json(p)::text FROM (SELECT id, title, status, template_id, language, voice, width, height, duration_ms, created_at, video_key, batch_id, batch_row FROM projects WHERE tenant_id = $1 ORDER BY id) p",
        },
        tenant_id,
    )
    .await?;
    let scenes = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('project_id', s.project_id, 'index', s.scene_index, 'text', s.text) FROM scenes s JOIN projects p ON p.id = s.project_id WHERE p.tenant_id = $1 ORDER BY s.project_id, s.scene_index",
            postgres: "SELECT row_to_json(x)::text FROM (SELECT s.project_id, s.scene_index AS index, s.text FROM scenes s JOIN projects p ON p.id = s.project_id WHERE p.tenant_id = $1 ORDER BY s.project_id, s.scene_index) x",
        },
        tenant_id,
    )
    .await?;
    for project in projects.iter_mut() {
        let own: Vec<Value> = scenes.iter().filter(|s| s["project_id"] == project["id"]).cloned().collect();
        project["scenes"] = Value::Array(own);
    }
    let usage = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('metric', metric, 'amount', amount, 'key', idempotency_key, 'period', period, 'created_at', created_at) FROM usage_ledger WHERE tenant_id = $1 ORDER BY created_at",
            postgres: "SELECT row_to_json(l)::text FROM (SELECT metric, amount, idempotency_key AS key, period, created_at FROM usage_ledger WHERE tenant_id = $1 ORDER BY created_at) l",
        },
        tenant_id,
    )
    .await?;
    let billing = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('stripe_customer_id', stripe_customer_id, 'subscription_id', subscription_id, 'status', status, 'current_period_end', current_period_end) FROM billing_accounts WHERE tenant_id = $1",
            postgres: "SELECT row_to_json(b)::text FROM (SELECT stripe_customer_id, subscription_id, status, current_period_end FROM billing_accounts WHERE tenant_id = $1) b",
        },
        tenant_id,
    )
    .await?;
    let audit = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('action', action, 'actor', actor, 'ip', ip, 'detail', detail, 'created_at', created_at) FROM audit_log WHERE tenant_id = $1 ORDER BY id",
            postgres: "SELECT row_to_json(a)::text FROM (SELECT action, actor, ip, detail, created_at FROM audit_log WHERE tenant_id = $1 ORDER BY id) a",
        },
        tenant_id,
    )
    .await?;

    let mut library = rows(
        db,
        JsonQuery {
            sqlite: "SELECT json_object('id', id, 'kind', kind, 'content_type', content_type, 'filename', filename, 'bytes', bytes, 'width', width, 'height', height, 'duration_ms', duration_ms, 'created_at', created_at, 'file_key', file_key) FROM media WHERE tenant_id = $1 ORDER BY id",
            postgres: "SELECT row_to_json(m)::text FROM (SELECT id, kind, content_type, filename, bytes, width, height, duration_ms, created_at, file_key FROM media WHERE tenant_id = $1 ORDER BY id) m",
        },
        tenant_id,
    )
    .await?;
    // Each item names its original's entry in the archive, not a storage key.
    for item in library.iter_mut() {
        let key = item.get("file_key").and_then(Value::as_str).unwrap_or_default();
        let file = key.strip_prefix(&format!("tenants/{tenant_id}/media/")).map(|rest| format!("library/{rest}"));
        if let Some(object) = item.as_object_mut() {
            object.remove("file_key");
            object.insert("file".into(), json!(file));
        }
    }

    let placement = crate::brand::get(db, tenant_id).await?;
    let brand = json!({
        "corner": placement.corner.as_str(),
        "opacity": placement.opacity,
        "logo": placement.logo_key.as_deref().and_then(|key| key.strip_prefix(&format!("tenants/{tenant_id}/"))),
    });

    // Project media under media/, the library under library/, the logo under brand/.
    let mut media = Vec::new();
    for (prefix, folder) in [
        (format!("tenants/{tenant_id}/projects/"), "media"),
        (format!("tenants/{tenant_id}/media/"), "library"),
        (format!("tenants/{tenant_id}/brand/"), "brand"),
    ] {
        // A listing can fail when a folder is removed while it is walked
        // (its project or item was deleted meanwhile): list again.
        let mut attempt = 0;
        let listed = loop {
            attempt += 1;
            match state.storage.list(&prefix).await {
                Ok(listed) => break listed,
                Err(err) if attempt >= 3 => return Err(anyhow::anyhow!("{err}")),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        media.extend(listed.into_iter().map(|(key, _)| {
            let relative = key.strip_prefix(&prefix).unwrap_or(&key).to_string();
            (key, format!("{folder}/{relative}"))
        }));
    }
    let zip_path = work.join("export.zip");
    let documents = vec![
        ("account.json", serde_json::to_vec_pretty(&account)?),
        ("projects.json", serde_json::to_vec_pretty(&projects)?),
        ("usage.json", serde_json::to_vec_pretty(&usage)?),
        ("billing.json", serde_json::to_vec_pretty(&billing.into_iter().next().unwrap_or(Value::Null))?),
        ("audit.json", serde_json::to_vec_pretty(&audit)?),
        ("media.json", serde_json::to_vec_pretty(&library)?),
        ("brand.json", serde_json::to_vec_pretty(&brand)?),
    ];
    // Media files are fetched one at a time into the work folder, then copied
    // into the archive in chunks: memory holds one chunk, not the media.
    let mut local_media = Vec::new();
    for (index, (key, name)) in media.iter().enumerate() {
        let path = match state.storage.local_root() {
            Some(root) => root.join(key),
            None => {
                let path = work.join(format!("media-{index}"));
                match state.storage.fetch_to(key, &path).await {
                    Ok(()) => path,
                    // Deleted with its project since the listing: not exported.
                    Err(StorageError::NotFound) => continue,
                    Err(err) => return Err(anyhow::anyhow!("{err}")),
                }
            }
        };
        local_media.push((name.clone(), path));
    }
    let zip_for_task = zip_path.clone();
    tokio::task::spawn_blocking(move || write_zip(&zip_for_task, &documents, &local_media)).await??;
    let filename = format!("reelforge-export-{id}.zip");
    let size = state
        .storage
        .put_file(&storage_key(tenant_id, &filename), &zip_path)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(size)
}

fn write_zip(path: &Path, documents: &[(&str, Vec<u8>)], media: &[(String, std::path::PathBuf)]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let json = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // Media is already compressed (PNG, MP4, WAV is small): store it as is.
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    for (name, bytes) in documents {
        zip.start_file(*name, json)?;
        zip.write_all(bytes)?;
    }
    for (name, source) in media {
        let mut input = match std::fs::File::open(source) {
            Ok(input) => input,
            // Listed, then deleted with its project while the export ran: a
            // deleted project's media is not exported.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err.into()),
        };
        zip.start_file(name.as_str(), stored)?;
        std::io::copy(&mut input, &mut zip)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

async fn mail_ready(state: &AppState, tenant_id: &TenantId, id: &str) {
    let Ok(Some(email)) = crate::account::owner_email(&state.db, tenant_id).await else { return };
    let mut link = state.config.http.public_url.clone();
    link.set_path("/account");
    link.set_query(Some(&format!("export={id}")));
    let text = format!("Your Reelforge data export is ready. Download it (signed in) within 7 days: {link}\n");
    let html = format!(
        "<p>Your Reelforge data export is ready.</p><p><a href=\"{link}\">Download it</a> within 7 days (you need to be signed in).</p>"
    );
    state.send_mail_later(OutgoingMail {
        to: email,
        subject: "Your Reelforge data export is ready".into(),
        text,
        html,
    });
}

/// Deletes expired exports from storage and marks them expired (storage released).
pub async fn expire(state: &AppState) -> Result<(), sqlx::Error> {
    let expired: Vec<(String, TenantId, String)> = on_db!(&state.db, pool => {
        sqlx::query_as("SELECT id, tenant_id, filename FROM exports WHERE status = $2 AND expires_at <= $1")
            .bind(now_ms())
            .bind(ExportStatus::Ready)
            .fetch_all(pool)
            .await?
    });
    for (id, tenant, filename) in expired {
        retire(state, &id, &tenant, &filename).await?;
    }
    Ok(())
}

/// Retires the tenant's ready exports made before `newest` (UUIDv7 ids sort
/// in creation order).
async fn retire_older(state: &AppState, tenant_id: &TenantId, newest: &str) -> Result<(), sqlx::Error> {
    let older: Vec<(String, String)> = on_db!(&state.db, pool => {
        sqlx::query_as("SELECT id, filename FROM exports WHERE tenant_id = $1 AND status = $2 AND id < $3")
            .bind(tenant_id)
            .bind(ExportStatus::Ready)
            .bind(newest)
            .fetch_all(pool)
            .await?
    });
    for (id, filename) in older {
        retire(state, &id, tenant_id, &filename).await?;
    }
    Ok(())
}

/// Deletes an export's file and marks it expired with no size, which takes
/// it out of the tenant's storage. A file that could not be deleted keeps
/// its row ready (still counted), so the next pass tries again.
async fn retire(state: &AppState, id: &str, tenant_id: &TenantId, filename: &str) -> Result<(), sqlx::Error> {
    if let Err(err) = state.storage.delete(&storage_key(tenant_id, filename)).await {
        tracing::warn!(export = %id, error = %err, "deleting an export's file failed; will retry");
        return Ok(());
    }
    on_db!(&state.db, pool => {
        sqlx::query("UPDATE exports SET status = $2, size_bytes = 0 WHERE id = $1")
            .bind(id)
            .bind(ExportStatus::Expired)
            .execute(pool)
            .await?;
    });
    state.usage_changed(tenant_id.as_str());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{valid_filename, write_zip};

    #[test]
    fn media_deleted_since_the_listing_is_left_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kept = dir.path().join("kept.txt");
        std::fs::write(&kept, b"kept").expect("write");
        let zip_path = dir.path().join("export.zip");
        let media = vec![
            ("media/gone/script.txt".to_string(), dir.path().join("gone.txt")),
            ("media/kept/script.txt".to_string(), kept),
        ];
        write_zip(&zip_path, &[("account.json", b"{}".to_vec())], &media).expect("written");
        let archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open")).expect("zip");
        let names: Vec<String> = archive.file_names().map(|name| name.expect("name").to_string()).collect();
        assert_eq!(names, ["account.json", "media/kept/script.txt"]);
    }

    #[test]
    fn only_our_names_pass() {
        assert!(valid_filename("reelforge-export-0190b5c2-1c1e-7aaa-8bbb-0123456789ab.zip"));
        for bad in [
            "",
            "../reelforge-export-0190b5c2-1c1e-7aaa-8bbb-0123456789ab.zip",
            "reelforge-export-0190b5c2-1c1e-7aaa-8bbb-0123456789ab.zip/..",
            "reelforge-export-..%2f..%2fetc%2fpasswd.zip",
            "reelforge-export-0190b5c2-1c1e-7aaa-8bbb-0123456789a.zip",
            "reelforge-export-0190b5c2x1c1e-7aaa-8bbb-0123456789ab.zip",
            "other.zip",
        ] {
            assert!(!valid_filename(bad), "{bad}");
        }
    }
}
