//! How a SQLite connection waits for the write lock.
//!
//! SQLite has one writer at a time. Its stock busy handler (what
//! `busy_timeout` installs) retries after sleeping 1, 2, 5, 10, 15, 20, 25,
//! 25, 25, 50, 50 and then 100 ms at a time, so a writer that arrives while
//! another holds the lock often sleeps on for tens of milliseconds after the
//! lock is free. Under a burst of sign-ins (each a short write transaction)
//! that stretched single requests to 100-350 ms although the writes
//! themselves take a few milliseconds. This handler retries after short,
//! bounded pauses instead, keeping the same overall limit.
//!
//! Each sqlx SQLite connection runs on its own thread, so the pause blocks
//! only that connection's thread, never the async runtime.

use std::ffi::{c_int, c_void};
use std::time::Duration;

/// How long a connection keeps trying before SQLite answers `SQLITE_BUSY`.
pub const LIMIT: Duration = Duration::from_secs(10);

/// The pause before retry number `count` (0-based), or `None` once the
/// pauses so far add up to `LIMIT`: 100 µs for the first tries, so a lock
/// held for a moment costs little, then 1 ms.
pub fn pause(count: u32) -> Option<Duration> {
    const QUICK_TRIES: u32 = 20;
    const QUICK: Duration = Duration::from_micros(100);
    const STEADY: Duration = Duration::from_millis(1);
    let quick_total = QUICK * QUICK_TRIES;
    let waited = if count < QUICK_TRIES { QUICK * count } else { quick_total + STEADY * (count - QUICK_TRIES) };
    if waited >= LIMIT {
        None
    } else if count < QUICK_TRIES {
        Some(QUICK)
    } else {
        Some(STEADY)
    }
}

extern "C" fn on_busy(_context: *mut c_void, count: c_int) -> c_int {
    match pause(u32::try_from(count).unwrap_or(u32::MAX)) {
        Some(pause) => {
            std::thread::sleep(pause);
            1
        }
        None => 0,
    }
}

/// Installs the handler on a freshly opened pool connection (it replaces the
/// stock one that `busy_timeout` set).
pub async fn install(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, held locked for the
    // duration of the call so no statement runs on it concurrently; the
    // callback is a plain function that touches no SQLite state and takes
    // no context pointer.
    let rc = unsafe { libsqlite3_sys::sqlite3_busy_handler(db, Some(on_busy), std::ptr::null_mut()) };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!("sqlite3_busy_handler failed with code {rc}")))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{LIMIT, pause};
    use crate::config::DatabaseUrl;
    use crate::db::{Db, Tx};

    /// A writer that finds the lock taken gets it within a few milliseconds
    /// of its release. SQLite's stock handler is by then sleeping in 100 ms
    /// steps: after holds of 1,030 and 1,060 ms it retries only at ~1,128 ms,
    /// 60-100 ms late, so this fails without the handler.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_writer_gets_the_lock_soon_after_it_is_freed() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::connect(&DatabaseUrl::Sqlite(dir.path().join("busy.db"))).await.expect("connect");
        let Db::Sqlite(pool) = db.clone() else { unreachable!("a SQLite URL gives a SQLite pool") };
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await.expect("create");
        let mut lateness = Vec::new();
        for hold in [1_030u64, 1_060] {
            let Tx::Sqlite(mut holder) = db.begin_write().await.expect("begin") else { unreachable!("SQLite") };
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *holder).await.expect("insert");
            let waiter_pool = pool.clone();
            let waiter = tokio::spawn(async move {
                sqlx::query("INSERT INTO t VALUES (2)").execute(&waiter_pool).await.map(|_| Instant::now())
            });
            tokio::time::sleep(Duration::from_millis(hold)).await;
            assert!(!waiter.is_finished(), "the waiter waited for the lock");
            holder.commit().await.expect("commit");
            let released = Instant::now();
            let done = waiter.await.expect("join").expect("the waiting insert succeeds");
            lateness.push(done.saturating_duration_since(released));
        }
        let best = lateness.iter().min().copied().unwrap_or_default();
        assert!(best < Duration::from_millis(30), "the waiter got the lock late: {lateness:?}");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&pool).await.expect("count");
        assert_eq!(rows, 4);
    }

    #[test]
    fn pauses_are_short_and_add_up_to_the_limit() {
        let mut total = std::time::Duration::ZERO;
        let mut tries = 0u32;
        while let Some(p) = pause(tries) {
            assert!(p <= std::time::Duration::from_millis(1), "try {tries} pauses {p:?}");
            total += p;
            tries += 1;
        }
        assert!(total >= LIMIT && total <= LIMIT + std::time::Duration::from_millis(1), "{total:?}");
        assert_eq!(pause(u32::MAX), None);
    }
}
