//! Where data lives: the database and the media store.

use std::path::{Path, PathBuf};

use url::Url;

use super::source::{ConfigError, Secret, Source, bad};

/// Which database the service runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (kept secret: it may hold a password).
    Postgres(Secret),
}

/// The database and the media store (`DATABASE_URL`, `STORAGE_URL`, `AWS_*`).
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub database_url: DatabaseUrl,
    /// `file://`, `s3://bucket/prefix` or `memory://`.
    pub storage_url: String,
    /// The standard `AWS_*` variables (lower-cased names), for `s3://` storage.
    pub storage_options: Vec<(String, Secret)>,
}

impl StorageConfig {
    pub(super) fn parse(src: &Source, data_dir: &Path) -> Result<StorageConfig, ConfigError> {
        let database_url = parse_database_url(src.get("DATABASE_URL"), data_dir)?;
        let storage_url = src.string("STORAGE_URL", &format!("file://{}", absolute(&data_dir.join("media")).display()));
        if !["file://", "s3://", "memory://"].iter().any(|p| storage_url.starts_with(p)) {
            return Err(bad("STORAGE_URL", "expected file://, s3:// or memory://"));
        }
        // object_store knows many AWS_* keys; passing all of them on beats listing them here.
        let storage_options = src
            .values
            .iter()
            .filter(|(key, value)| key.starts_with("AWS_") && !value.trim().is_empty())
            .map(|(key, value)| (key.to_ascii_lowercase(), Secret::new(value.trim())))
            .collect();
        Ok(StorageConfig { database_url, storage_url, storage_options })
    }
}

/// `path` against the working directory, so a `file://` URL built from it is absolute.
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    }
}

fn parse_database_url(raw: Option<&str>, data_dir: &Path) -> Result<DatabaseUrl, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DatabaseUrl::Sqlite(data_dir.join("reelforge.db")));
    };
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        Url::parse(raw).map_err(|_| bad("DATABASE_URL", "not a valid postgres:// URL"))?;
        return Ok(DatabaseUrl::Postgres(Secret::new(raw)));
    }
    if let Some(rest) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(bad("DATABASE_URL", "sqlite:// needs a file path"));
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    Err(bad("DATABASE_URL", "expected sqlite://PATH or postgres://..."))
}
