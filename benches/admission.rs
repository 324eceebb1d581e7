//! `make bench`: what the quota check and reservation add to a project create
//! (one transaction: lock the tenant, sum used and reserved, check, reserve),
//! within the quota, and past it with overages on (the cap arithmetic on the
//! reported overage, and the note that work was admitted past the quota).

use std::collections::HashMap;
use std::time::Instant;

use reelforge::config::Config;
use reelforge::domain::{ProjectId, TenantId};
use reelforge::on_db;
use reelforge::usage::meter;
use reelforge::usage::quota::Amounts;

const ROUNDS: usize = 2000;

async fn run(label: &str, database_url: Option<String>, overage: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut map = HashMap::new();
    map.insert("DATA_DIR".to_string(), dir.path().display().to_string());
    if overage {
        // Pro with 5 images a month: the 300 images of history are 295 past it.
        // Stripe is configured (overages need billing) but never called here.
        map.insert("QUOTA_IMAGES_COUNT".to_string(), "1".to_string());
        map.insert("STRIPE_API_KEY".to_string(), "sk_test_bench".to_string());
        map.insert("STRIPE_API_BASE".to_string(), "http://127.0.0.1:9".to_string());
    }
    if let Some(url) = database_url {
        map.insert("DATABASE_URL".to_string(), url);
    }
    let config = Config::from_map(map)?;
    let state = reelforge::build_state(config.clone()).await?;
    let tenant = TenantId::generate();
    on_db!(&state.db, pool => {
        sqlx::query("INSERT INTO tenants (id, name, plan, status, created_at) VALUES ($1, 'bench', $2, 'active', 0)")
            .bind(tenant.as_str())
            .bind(if overage { "pro" } else { "free" })
            .execute(pool)
            .await?;
        if overage {
            sqlx::query("INSERT INTO overage_settings (tenant_id, enabled, cap_cents, updated_at) VALUES ($1, 1, 100000000, 0)")
                .bind(tenant.as_str())
                .execute(pool)
                .await?;
        }
        // A month of history: 300 ledger rows for this tenant.
        for i in 0..300i64 {
            sqlx::query("INSERT INTO usage_ledger (id, tenant_id, metric, amount, idempotency_key, period, created_at) VALUES ($1, $2, 'images_generated', 1, $1, $3, $4)")
                .bind(format!("seed-{}-{i}", tenant.as_str()))
                .bind(tenant.as_str())
                .bind(reelforge::usage::quota::period_of(reelforge::db::now_ms()))
                .bind(reelforge::db::now_ms())
                .execute(pool)
                .await?;
            if overage && i >= 5 {
                sqlx::query("INSERT INTO overage_reports (id, tenant_id, ledger_id, identifier, metric, value, period, event_at, status, attempt, next_attempt_at, created_at) VALUES ($1, $2, $1, $1, 'images_generated', 1, $3, 0, 'sent', 1, 0, 0)")
                    .bind(format!("seed-{}-{i}", tenant.as_str()))
                    .bind(tenant.as_str())
                    .bind(reelforge::usage::quota::period_of(reelforge::db::now_ms()))
                    .execute(pool)
                    .await?;
            }
        }
    });
    let needed = Amounts { images: 1, tts_ms: 5000, render_ms: 6000, storage_bytes: 1_000_000, scripts: 0 };
    let mut times = Vec::with_capacity(ROUNDS);
    let projects: Vec<ProjectId> = (0..ROUNDS).map(|_| ProjectId::generate()).collect();
    for (round, project) in projects.iter().enumerate() {
        let started = Instant::now();
        let admitted = meter::admit_now(&state.db, &config, &tenant, project, needed).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(admitted.is_ok(), "the benchmark tenant ran out of quota");
        // Keep a steady state of about 20 unfinished projects.
        if round >= 20 {
            on_db!(&state.db, pool => {
                sqlx::query("DELETE FROM usage_reservations WHERE project_id = $1").bind(&projects[round - 20]).execute(pool).await?;
            });
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let label = if overage { format!("{label}, past the quota with overages on") } else { label.to_string() };
    println!(
        "admission ({label}, {ROUNDS} rounds): p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
    state.db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run("SQLite", None, false).await?;
    run("SQLite", None, true).await?;
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    if let Ok(pool) = sqlx::PgPool::connect(&format!("{admin}/postgres")).await {
        let name = format!("rf_bench_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
        let mut result = run("PostgreSQL", Some(format!("{admin}/{name}")), false).await;
        if result.is_ok() {
            result = run("PostgreSQL", Some(format!("{admin}/{name}")), true).await;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&pool).await?;
        result?;
    }
    Ok(())
}
