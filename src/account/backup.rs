//! Backups that restore: a consistent database snapshot (SQLite `VACUUM INTO`,
//! PostgreSQL `pg_dump -Fc`) plus the media tree of file storage, in one ZIP
//! in `BACKUP_DIR` with a manifest (size and SHA-256 per file) and a checksum
//! file beside it. `reelforge restore FILE --yes` verifies both and brings the
//! database and media back, refusing while a server holds the data.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{Config, DatabaseUrl};
use crate::crypto::to_hex;
use crate::db::{Db, now_ms, rfc3339};
use crate::on_db;
use crate::state::AppState;

const PREFIX: &str = "reelforge-backup-";

/// What a backup produced.
#[derive(Debug)]
pub struct BackupReport {
    pub file: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub removed: Vec<PathBuf>,
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(to_hex(&hasher.finalize()))
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Takes a backup now, records it, and prunes archives past retention.
pub async fn run(state: &AppState) -> anyhow::Result<BackupReport> {
    let id = uuid::Uuid::now_v7().to_string();
    let started = now_ms();
    on_db!(&state.db, pool => {
        sqlx::query("INSERT INTO backup_runs (id, status, started_at) VALUES ($1, 'running', $2)").bind(&id).bind(started).execute(pool).await?;
    });
    let result = take(state, &id).await;
    let (status, file, size, error) = match &result {
        Ok(report) => ("ok", Some(report.file.display().to_string()), Some(report.size as i64), None),
        Err(err) => ("failed", None, None, Some(format!("{err:#}"))),
    };
    on_db!(&state.db, pool => {
        sqlx::query("UPDATE backup_runs SET status = $1, file = $2, size_bytes = $3, error = $4, finished_at = $5 WHERE id = $6")
            .bind(status)
            .bind(&file)
            .bind(size)
            .bind(&error)
            .bind(now_ms())
            .bind(&id)
            .execute(pool)
            .await?;
    });
    result
}

async fn take(state: &AppState, id: &str) -> anyhow::Result<BackupReport> {
    let dir = state.config.ops.backup_dir.clone();
    tokio::fs::create_dir_all(&dir).await.with_context(|| format!("creating {}", dir.display()))?;
    let work = dir.join(format!(".work-{id}"));
    tokio::fs::create_dir_all(&work).await?;
    let result = async {
        let (db_name, db_file) = match &state.db {
            Db::Sqlite(pool) => {
                let path = work.join("database.sqlite");
                let quoted = path.display().to_string().replace('\'', "''");
                sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{quoted}'"))).execute(pool).await?;
                ("database.sqlite", path)
            }
            Db::Postgres(_) => {
                let DatabaseUrl::Postgres(url) = &state.config.storage.database_url else {
                    bail!("database URL mismatch")
                };
                let path = work.join("database.pgdump");
                let out = path.display().to_string();
                let (args, env) = pg_tool_invocation(url.expose(), &["-Fc", "--no-owner", "-f", &out])?;
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                reelforge_media::process::run_with_env("pg_dump", &args, &env, Duration::from_secs(3600), None)
                    .await
                    .map_err(|e| anyhow::anyhow!("pg_dump failed: {e}"))?;
                ("database.pgdump", path)
            }
        };
        let media_root = state.storage.local_root().map(Path::to_path_buf);
        let created = now_ms();
        let stamp = time::OffsetDateTime::now_utc();
        let name = format!(
            "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}.zip",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second(),
            &id[id.len() - 8..]
        );
        let archive = dir.join(&name);
        let backend = state.db.backend();
        let archive_for_task = archive.clone();
        let db_file_for_task = db_file.clone();
        tokio::task::spawn_blocking(move || {
            write_archive(&archive_for_task, db_name, &db_file_for_task, media_root.as_deref(), backend, created)
        })
        .await??;
        let sha256 = sha256_file(&archive)?;
        std::fs::write(dir.join(format!("{name}.sha256")), format!("{sha256}  {name}\n"))?;
        let size = std::fs::metadata(&archive)?.len();
        let removed = prune(&dir, state.config.ops.backups_retention_days, std::time::SystemTime::now())?;
        anyhow::Ok(BackupReport { file: archive, size, sha256, removed })
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    result
}

fn write_archive(
    archive: &Path,
    db_name: &str,
    db_file: &Path,
    media_root: Option<&Path>,
    backend: &str,
    created: i64,
) -> anyhow::Result<()> {
    let mut entries: Vec<(String, PathBuf)> = vec![(db_name.to_string(), db_file.to_path_buf())];
    if let Some(root) = media_root {
        for file in walk(root) {
            if let Ok(relative) = file.strip_prefix(root) {
                entries.push((format!("media/{}", relative.display()), file.clone()));
            }
        }
    }
    let mut manifest_files = Vec::new();
    for (name, path) in &entries {
        manifest_files
            .push(json!({"name": name, "size": std::fs::metadata(path)?.len(), "sha256": sha256_file(path)?}));
    }
    let manifest = json!({"format": 1, "created_at": rfc3339(created), "backend": backend, "files": manifest_files});
    let temp = archive.with_extension("zip.part");
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&temp)?));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    zip.start_file("manifest.json", stored)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
    for (name, path) in &entries {
        zip.start_file(name.as_str(), stored)?;
        std::io::copy(&mut std::fs::File::open(path)?, &mut zip)?;
    }
    zip.finish()?.flush()?;
    std::fs::rename(&temp, archive)?;
    Ok(())
}

/// Removes archives (and their checksum files) older than `retention_days`.
pub fn prune(dir: &Path, retention_days: u32, now: std::time::SystemTime) -> std::io::Result<Vec<PathBuf>> {
    let limit = Duration::from_secs(u64::from(retention_days) * 86_400);
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with(PREFIX) && name.ends_with(".zip")) {
            continue;
        }
        let age = entry.metadata()?.modified().ok().and_then(|m| now.duration_since(m).ok()).unwrap_or_default();
        if age > limit {
            std::fs::remove_file(&path)?;
            let _ = std::fs::remove_file(dir.join(format!("{name}.sha256")));
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Checks the archive against its checksum file and every entry against the
/// manifest; returns the manifest.
pub fn verify(archive: &Path) -> anyhow::Result<Value> {
    let name = archive.file_name().and_then(|n| n.to_str()).context("not a file name")?;
    let sidecar = archive.with_file_name(format!("{name}.sha256"));
    let expected = std::fs::read_to_string(&sidecar)
        .with_context(|| format!("the checksum file {} is missing", sidecar.display()))?;
    let expected = expected.split_whitespace().next().unwrap_or_default().to_string();
    if sha256_file(archive)? != expected {
        bail!("the archive does not match its checksum: it is damaged or was changed");
    }
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?).context("not a readable archive")?;
    let mut manifest = String::new();
    zip.by_name("manifest.json").context("the archive has no manifest")?.read_to_string(&mut manifest)?;
    let manifest: Value = serde_json::from_str(&manifest).context("the manifest is not JSON")?;
    for file in manifest["files"].as_array().context("the manifest lists no files")? {
        let entry_name = file["name"].as_str().context("a manifest entry has no name")?;
        let mut entry = zip.by_name(entry_name).with_context(|| format!("{entry_name} is missing from the archive"))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let read = entry.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        if Some(to_hex(&hasher.finalize()).as_str()) != file["sha256"].as_str() {
            bail!("{entry_name} does not match the manifest");
        }
    }
    Ok(manifest)
}

/// Holds `$DATA_DIR/reelforge.lock` for as long as the process runs: a server
/// or worker owns the data, and `restore` refuses to touch it then.
pub fn lock_data_dir(config: &Config) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(&config.data_dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.data_dir.join("reelforge.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(_) => bail!("another reelforge process is using {}", config.data_dir.display()),
    }
}

/// Restores an archive into the configured database and media storage.
pub async fn restore(config: &Config, archive: &Path, yes: bool) -> anyhow::Result<()> {
    let manifest = verify(archive)?;
    if !yes {
        bail!("restore replaces the database and all media with the archive's; run again with --yes to do it");
    }
    let _lock = lock_data_dir(config).context("refusing to restore while a server or worker is running")?;
    let backend = manifest["backend"].as_str().unwrap_or_default();
    let work = tempfile::tempdir_in(config.ops.backup_dir.parent().unwrap_or(Path::new(".")))
        .or_else(|_| tempfile::tempdir())?;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?)?;
    let extract = |zip: &mut zip::ZipArchive<std::fs::File>, name: &str, to: &Path| -> anyhow::Result<()> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut entry = zip.by_name(name)?;
        std::io::copy(&mut entry, &mut std::fs::File::create(to)?)?;
        Ok(())
    };
    match (&config.storage.database_url, backend) {
        (DatabaseUrl::Sqlite(path), "sqlite") => {
            let staged = work.path().join("database.sqlite");
            extract(&mut zip, "database.sqlite", &staged)?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&staged, path)?;
        }
        (DatabaseUrl::Postgres(url), "postgres") => {
            let pool = sqlx::PgPool::connect(url.expose()).await?;
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(&pool)
            .await?;
            pool.close().await;
            if others > 0 {
                bail!(
                    "refusing to restore: {others} other connection(s) use the database (stop every server and worker)"
                );
            }
            let staged = work.path().join("database.pgdump");
            extract(&mut zip, "database.pgdump", &staged)?;
            let staged_arg = staged.display().to_string();
            let (args, env) = pg_tool_invocation(
                url.expose(),
                &["--clean", "--if-exists", "--no-owner", "--single-transaction", &staged_arg],
            )?;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            reelforge_media::process::run_with_env("pg_restore", &args, &env, Duration::from_secs(3600), None)
                .await
                .map_err(|e| anyhow::anyhow!("pg_restore failed: {e}"))?;
        }
        (_, other) => bail!("the archive holds a {other} database but DATABASE_URL names another backend"),
    }
    if let Some(root) = config.storage.storage_url.strip_prefix("file://").map(PathBuf::from) {
        let names: Vec<String> =
            zip.file_names().filter_map(|n| n.ok()).filter(|n| n.starts_with("media/")).map(String::from).collect();
        let staged_root = work.path().join("media");
        std::fs::create_dir_all(&staged_root)?;
        for name in &names {
            let relative = &name["media/".len()..];
            // Entries come from our own verified manifest, but never leave the root.
            if relative.split('/').any(|part| part == ".." || part.is_empty()) {
                bail!("the archive holds an unsafe path {name}");
            }
            extract(&mut zip, name, &staged_root.join(relative))?;
        }
        if root.exists() {
            let aside = root.with_extension(format!("replaced-{}", now_ms()));
            std::fs::rename(&root, &aside)?;
            std::fs::rename(&staged_root, &root).or_else(|_| copy_tree(&staged_root, &root))?;
            let _ = std::fs::remove_dir_all(&aside);
        } else {
            std::fs::rename(&staged_root, &root).or_else(|_| copy_tree(&staged_root, &root))?;
        }
    }
    Ok(())
}

/// A PostgreSQL tool's arguments, and what to add to its environment.
type PgInvocation = (Vec<String>, Vec<(&'static str, String)>);

/// The arguments and extra environment of `pg_dump`/`pg_restore` for the
/// database at `database_url`, followed by `rest`. The password (of the URL's
/// user part or its `password` parameter) goes to `PGPASSWORD` in the child's
/// environment, never into its arguments: those are readable by every local
/// user (`ps`, `/proc/<pid>/cmdline`) and end up in process accounting.
fn pg_tool_invocation(database_url: &str, rest: &[&str]) -> anyhow::Result<PgInvocation> {
    let mut url = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    let mut password = url.password().map(percent_decode);
    if password.is_some() {
        url.set_password(None).map_err(|()| anyhow::anyhow!("DATABASE_URL: cannot take the password out"))?;
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if let Some((_, value)) = pairs.iter().find(|(key, _)| key == "password") {
        password = Some(value.clone());
        let kept: Vec<&(String, String)> = pairs.iter().filter(|(key, _)| key != "password").collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
    }
    let mut args = vec!["-d".to_string(), url.to_string()];
    args.extend(rest.iter().map(|a| a.to_string()));
    Ok((args, password.map(|p| ("PGPASSWORD", p)).into_iter().collect()))
}

/// Undoes `%XX` escapes (a URL's user part is percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for file in walk(from) {
        if let Ok(relative) = file.strip_prefix(from) {
            let target = to.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&file, target)?;
        }
    }
    Ok(())
}

/// The status the account page shows.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BackupStatus {
    pub last_backup_at: Option<String>,
    pub next_backup_at: Option<String>,
    pub retention_days: u32,
    /// `ok`, `failed`, `running` or `never`.
    pub last_status: String,
}

/// Last run and next scheduled run.
pub async fn status(state: &AppState) -> Result<BackupStatus, sqlx::Error> {
    let last: Option<(String, i64, Option<i64>)> = on_db!(&state.db, pool => {
        sqlx::query_as("SELECT status, started_at, finished_at FROM backup_runs ORDER BY started_at DESC LIMIT 1").fetch_optional(pool).await?
    });
    let next =
        crate::account::cron::Schedule::parse(&state.config.ops.backups_cron).ok().and_then(|s| s.next_after(now_ms()));
    Ok(BackupStatus {
        last_backup_at: last.as_ref().map(|(_, started, finished)| rfc3339(finished.unwrap_or(*started))),
        next_backup_at: next.map(rfc3339),
        retention_days: state.config.ops.backups_retention_days,
        last_status: last.map(|(status, _, _)| status).unwrap_or_else(|| "never".into()),
    })
}

/// Runs backups on `BACKUPS_CRON` until the task is dropped.
pub async fn schedule(state: AppState) {
    let Ok(schedule) = crate::account::cron::Schedule::parse(&state.config.ops.backups_cron) else {
        tracing::error!("BACKUPS_CRON is not a valid schedule; automatic backups are off");
        return;
    };
    loop {
        let Some(next) = schedule.next_after(now_ms()) else { return };
        tokio::time::sleep(Duration::from_millis((next - now_ms()).max(0) as u64)).await;
        match run(&state).await {
            Ok(report) => {
                tracing::info!(file = %report.file.display(), bytes = report.size, removed = report.removed.len(), "backup written")
            }
            Err(err) => tracing::error!(error = %format!("{err:#}"), "backup failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_tools_get_the_password_in_their_environment() {
        let url = "postgres://backup:s3cr%3Ft%40x@db.example:5433/reelforge?sslmode=require";
        let (args, env) = pg_tool_invocation(url, &["-Fc", "-f", "out.pgdump"]).expect("parses");
        assert_eq!(
            args,
            ["-d", "postgres://backup@db.example:5433/reelforge?sslmode=require", "-Fc", "-f", "out.pgdump"]
        );
        assert_eq!(env, [("PGPASSWORD", "s3cr?t@x".to_string())]);

        let url = "postgres://backup@db.example/reelforge?password=hunter2&sslmode=require";
        let (args, env) = pg_tool_invocation(url, &[]).expect("parses");
        assert_eq!(args, ["-d", "postgres://backup@db.example/reelforge?sslmode=require"]);
        assert_eq!(env, [("PGPASSWORD", "hunter2".to_string())]);

        let (args, env) = pg_tool_invocation("postgres://postgres@127.0.0.1:5432/rf", &["x"]).expect("parses");
        assert_eq!(args, ["-d", "postgres://postgres@127.0.0.1:5432/rf", "x"]);
        assert!(env.is_empty(), "no password, no PGPASSWORD");
    }

    /// A stand-in `pg_dump` (a shell) started the way backups start the real
    /// one: its command line, as any local user reads it, holds no password.
    #[tokio::test]
    async fn the_childs_command_line_holds_no_password() {
        let url = "postgres://backup:hunter2@db.example:5433/reelforge";
        let (args, env) = pg_tool_invocation(url, &["-Fc", "--no-owner", "-f", "out.pgdump"]).expect("parses");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut argv =
            vec!["-c".to_string(), "cat /proc/$$/cmdline; printf '\\n%s' \"$PGPASSWORD\"".into(), "pg_dump".into()];
        argv.extend(args);
        let done = reelforge_media::process::run_with_env("sh", &argv, &env, Duration::from_secs(5), None)
            .await
            .expect("runs");
        let out = String::from_utf8_lossy(&done.stdout);
        let (cmdline, password) = out.rsplit_once('\n').expect("two parts");
        assert!(cmdline.contains("db.example:5433/reelforge"), "{cmdline}");
        assert!(!cmdline.contains("hunter2"), "{cmdline}");
        assert_eq!(password, "hunter2");
    }
}
