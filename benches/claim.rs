//! `make bench`: queue claim throughput on PostgreSQL with several worker
//! processes taking no-op steps, and a check that no step is claimed twice.
//!
//! The parent seeds `STEPS` ready steps, starts `PROCESSES` copies of itself
//! as workers (each with `LOOPS` concurrent claim loops, like
//! `WORKER_CONCURRENCY`), releases them together and times until the queue is
//! empty. Each worker claims through `queue::claim` (the production claim:
//! `FOR UPDATE SKIP LOCKED`, lease, attempt count, project status) and
//! finishes the step with one guarded `UPDATE`, which is what a step with no
//! work costs.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use reelforge::config::DatabaseUrl;
use reelforge::db::Db;
use reelforge::pipeline::queue;

const STEPS: usize = 20_000;
const PROJECTS: usize = 200;
const PROCESSES: usize = 4;
const LOOPS: usize = 2;
const WORKER_ENV: &str = "RF_CLAIM_BENCH_WORKER";

/// A worker process: connect, say ready, wait for "go", claim until empty,
/// print every claimed id.
async fn worker(url: String) -> anyhow::Result<()> {
    let db = Db::connect(&DatabaseUrl::Postgres(reelforge::config::Secret::new(url))).await?;
    println!("ready");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let mut loops = Vec::new();
    for n in 0..LOOPS {
        let db = db.clone();
        loops.push(tokio::spawn(async move {
            let owner = format!("bench-{}-{n}", std::process::id());
            let mut claimed = Vec::new();
            loop {
                let steps = queue::claim(&db, &owner, 30_000, 1).await?;
                let Some(step) = steps.into_iter().next() else {
                    let left: i64 = match &db {
                        Db::Postgres(pool) => {
                            sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE status = 'pending'")
                                .fetch_one(pool)
                                .await?
                        }
                        Db::Sqlite(_) => 0,
                    };
                    if left == 0 {
                        break;
                    }
                    continue;
                };
                if let Db::Postgres(pool) = &db {
                    sqlx::query(
                        "UPDATE steps SET status = 'done', finished_at = $1 WHERE id = $2 AND lease_owner = $3",
                    )
                    .bind(reelforge::db::now_ms())
                    .bind(&step.id)
                    .bind(&owner)
                    .execute(pool)
                    .await?;
                }
                claimed.push(step.id);
            }
            Ok::<_, anyhow::Error>(claimed)
        }));
    }
    let mut out = std::io::stdout().lock();
    for handle in loops {
        for id in handle.await?? {
            writeln!(out, "{id}")?;
        }
    }
    Ok(())
}

async fn seed(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let now = reelforge::db::now_ms();
    sqlx::query(
        "INSERT INTO tenants (id, name, plan, status, created_at) VALUES ('bench', 'bench', 'free', 'active', 0)",
    )
    .execute(pool)
    .await?;
    for p in 0..PROJECTS {
        sqlx::query(
            "INSERT INTO projects (id, tenant_id, title, template_id, language, plan, width, height, fps, watermark, status, created_at, updated_at) \
             VALUES ($1, 'bench', 'bench', 'explainer', 'en', 'free', 1280, 720, 30, 1, 'queued', $2, $2)",
        )
        .bind(format!("p{p:04}"))
        .bind(now)
        .execute(pool)
        .await?;
    }
    // One multi-row insert per project keeps seeding quick. The kind must be
    // a real StepKind: the claim decodes it (the worker here runs nothing).
    for p in 0..PROJECTS {
        let per = STEPS / PROJECTS;
        let mut sql = String::from(
            "INSERT INTO steps (id, project_id, tenant_id, kind, scene_index, status, created_at, updated_at) VALUES ",
        );
        for s in 0..per {
            if s > 0 {
                sql.push(',');
            }
            // A real kind (claimed steps are typed); the workers here only mark them done.
            sql.push_str(&format!("('s{p:04}-{s:04}', 'p{p:04}', 'bench', 'image', {s}, 'pending', {now}, {now})"));
        }
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    }
    Ok(())
}

async fn run(url: &str) -> anyhow::Result<()> {
    let db = Db::connect(&DatabaseUrl::Postgres(reelforge::config::Secret::new(url.to_string()))).await?;
    db.migrate().await?;
    let Db::Postgres(pool) = &db else { anyhow::bail!("expected PostgreSQL") };
    seed(pool).await?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        let mut child = Command::new(&exe)
            .env(WORKER_ENV, url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "worker said {line:?}");
        children.push((child, stdout));
    }
    let started = Instant::now();
    for (child, _) in &mut children {
        if let Some(stdin) = child.stdin.as_mut() {
            writeln!(stdin, "go")?;
        }
    }
    let mut claimed = Vec::new();
    for (mut child, stdout) in children {
        for line in stdout.lines() {
            claimed.push(line?);
        }
        anyhow::ensure!(child.wait()?.success(), "a worker failed");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let unique: HashSet<&String> = claimed.iter().collect();
    let double_claims = claimed.len() - unique.len();
    let (done, max_attempts): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(attempts), 0)::BIGINT FROM steps WHERE status = 'done'")
            .fetch_one(pool)
            .await?;
    println!(
        "queue claim (PostgreSQL, {PROCESSES} worker processes x {LOOPS} loops, {STEPS} no-op steps): {:.0} steps/s \
         ({elapsed:.2} s); claimed {} ({} distinct), double claims {double_claims}, done {done}, max attempts {max_attempts}",
        STEPS as f64 / elapsed,
        claimed.len(),
        unique.len()
    );
    anyhow::ensure!(double_claims == 0 && unique.len() == STEPS && done as usize == STEPS && max_attempts == 1);
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(url) = std::env::var(WORKER_ENV) {
        return worker(url).await;
    }
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let pool = sqlx::PgPool::connect(&format!("{admin}/postgres")).await?;
    let name = format!("rf_claim_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
    let result = run(&format!("{admin}/{name}")).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&pool).await?;
    result
}
