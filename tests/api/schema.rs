//! The two migration folders describe one schema: the same files, and after
//! applying them, the same tables with the same columns on both databases.

use std::collections::BTreeSet;

use reelforge::db::Db;

use crate::helpers::{Backend, spawn_app};

fn migration_files(backend: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    std::fs::read_dir(&dir)
        .expect("migrations folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// `(table, column)` of every table the migrations made.
async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(pool) => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .expect("sqlite schema"),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .expect("postgres schema"),
    };
    rows.into_iter().collect()
}

#[test]
fn both_folders_hold_the_same_migration_files() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_files("postgres"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_databases_get_the_same_tables_and_columns() {
    let Some(postgres) = Backend::postgres().await else { return };
    let sqlite_app = spawn_app(Backend::Sqlite).await;
    let postgres_app = spawn_app(postgres).await;
    let on_sqlite = columns(&sqlite_app.state.db).await;
    let on_postgres = columns(&postgres_app.state.db).await;
    assert!(on_sqlite.iter().any(|(table, _)| table == "steps"), "{on_sqlite:?}");
    let only_sqlite: Vec<_> = on_sqlite.difference(&on_postgres).collect();
    let only_postgres: Vec<_> = on_postgres.difference(&on_sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "SQLite only: {only_sqlite:?}; PostgreSQL only: {only_postgres:?}"
    );
}
