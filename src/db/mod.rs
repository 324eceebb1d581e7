//! The database: one enum over two typed pools, so every query is written once
//! in portable `$1` SQL and compiled for both backends by `on_db!`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::DatabaseUrl;

pub mod column;
pub mod sqlite_busy;
mod tx;

pub use tx::Tx;

/// A connection pool on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// Scale-out.
    Postgres(PgPool),
}

/// Runs the same code on whichever pool `$db` holds; `$pool` names it in `$body`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to the configured database (creating the SQLite file if needed).
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Db> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(sqlite_busy::LIMIT)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(15))
                    .after_connect(|conn, _| Box::pin(sqlite_busy::install(conn)))
                    .connect_with(options)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            DatabaseUrl::Postgres(secret) => {
                let options = PgConnectOptions::from_str(secret.expose())
                    .map_err(|_| anyhow::anyhow!("DATABASE_URL: not a valid PostgreSQL URL"))?;
                let pool = PgPoolOptions::new()
                    .max_connections(20)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// True when a trivial query answers.
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Short backend name for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (used at shutdown).
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// Milliseconds since the Unix epoch: the portable timestamp of every table.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The UTC time of a millisecond timestamp (`None` when out of range).
pub fn utc(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// RFC 3339 text of a millisecond timestamp, for API responses.
pub fn rfc3339(ms: i64) -> String {
    utc(ms).and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}
