//! The day-long cache of stock answers (`stock_searches`), shared by tenants
//! and by every process of a deployment.

use crate::db::Db;
use crate::on_db;

/// How long an answer is reused: a day (Pexels and Pixabay both ask that
/// results be cached and the same request not repeated).
pub const CACHE_MS: i64 = 24 * 3600 * 1000;

/// The cached answer under `key` fetched after `since` (ms), as stored.
pub async fn cached(db: &Db, key: &str, since: i64) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_scalar("SELECT results FROM stock_searches WHERE key = $1 AND fetched_at > $2")
            .bind(key)
            .bind(since)
            .fetch_optional(pool)
            .await
    })
}

/// Keeps an answer (replacing an older one under the same key).
pub async fn remember(db: &Db, key: &str, provider: &str, results: &str, now: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO stock_searches (key, provider, results, fetched_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET provider = $2, results = $3, fetched_at = $4",
        )
        .bind(key)
        .bind(provider)
        .bind(results)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Deletes answers fetched before `before` (ms); how many.
pub async fn prune(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM stock_searches WHERE fetched_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
}
