//! One transaction type over both backends. Domain `store.rs` modules are
//! plain `async fn(&mut Tx, ...)` functions, one per statement or small group
//! of statements, composed by the service that owns the transaction (the
//! shape of zero2prod's `insert_subscriber(&mut Transaction, ...)`).

use sqlx::{Postgres, Sqlite, Transaction};

use super::Db;

/// An open transaction on either backend.
#[derive(Debug)]
pub enum Tx {
    /// On the embedded SQLite database (holds the write lock: `BEGIN IMMEDIATE`).
    Sqlite(Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same code on whichever transaction `$tx` (a `&mut Tx`) holds;
/// `$conn` names the backend's `&mut Transaction` in `$body`, so a query
/// runs on `&mut **$conn`. Only dispatch: it adds no `?` and no `return`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite($conn) => $body,
            $crate::db::Tx::Postgres($conn) => $body,
        }
    };
}

impl Db {
    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout
    /// instead of failing with SQLITE_BUSY when a read transaction tries to
    /// upgrade.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    /// Makes every change of the transaction permanent.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    /// Undoes every change (dropping a `Tx` does the same, later).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }

    /// Locks a row of `tenants`, `projects` or `batches` for the rest of the transaction.
    /// On PostgreSQL that is `SELECT ... FOR UPDATE`; SQLite's write
    /// transaction already excludes every other writer, so a plain read does.
    /// Returns the selected column (`None` when the row does not exist).
    async fn lock_row(&mut self, sql: LockSql, id: &str) -> Result<Option<String>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => sqlx::query_scalar(sql.plain).bind(id).fetch_optional(&mut **tx).await,
            Tx::Postgres(tx) => sqlx::query_scalar(sql.for_update).bind(id).fetch_optional(&mut **tx).await,
        }
    }

    /// Locks an active tenant for the rest of the transaction and returns its
    /// plan's column text (`None` when no active tenant has that id).
    pub async fn lock_tenant(&mut self, tenant_id: &str) -> Result<Option<String>, sqlx::Error> {
        self.lock_row(
            LockSql {
                plain: "SELECT plan FROM tenants WHERE id = $1 AND status = 'active'",
                for_update: "SELECT plan FROM tenants WHERE id = $1 AND status = 'active' FOR UPDATE",
            },
            tenant_id,
        )
        .await
    }

    /// Locks a project for the rest of the transaction, so that everything
    /// that rewrites several of its steps (completion and the release of the
    /// steps waiting on it, failure, reaping, retry) runs one at a time per
    /// project. Without it two segments of one project finishing together on
    /// PostgreSQL lock the blocked steps in different orders and deadlock.
    /// Returns the project's status text (`None` when it does not exist).
    pub async fn lock_project(&mut self, project_id: &str) -> Result<Option<String>, sqlx::Error> {
        self.lock_row(
            LockSql {
                plain: "SELECT status FROM projects WHERE id = $1",
                for_update: "SELECT status FROM projects WHERE id = $1 FOR UPDATE",
            },
            project_id,
        )
        .await
    }

    /// Locks a batch for the rest of the transaction, so that the rows of a
    /// batch finishing together decide one after the other whether the batch
    /// is complete (on PostgreSQL each would otherwise see the other still
    /// running, and neither would complete it). Returns its id (`None` when
    /// it does not exist).
    pub async fn lock_batch(&mut self, batch_id: &str) -> Result<Option<String>, sqlx::Error> {
        self.lock_row(
            LockSql {
                plain: "SELECT id FROM batches WHERE id = $1",
                for_update: "SELECT id FROM batches WHERE id = $1 FOR UPDATE",
            },
            batch_id,
        )
        .await
    }
}

/// The two forms of one row lock.
struct LockSql {
    plain: &'static str,
    for_update: &'static str,
}
