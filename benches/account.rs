//! `make bench`: export, backup and restore of a tenant with 20 projects and
//! about 200 MB of media (incompressible, like video), with peak memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reelforge::config::Config;
use reelforge::domain::TenantId;
use reelforge::on_db;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut map = HashMap::new();
    map.insert("DATA_DIR".to_string(), dir.path().display().to_string());
    let config = Config::from_map(map)?;
    let state = reelforge::build_state(config.clone()).await?;
    let tenant = TenantId::generate();
    on_db!(&state.db, pool => {
        sqlx::query("INSERT INTO tenants (id, name, plan, status, created_at) VALUES ($1, 'bench', 'pro', 'active', 0)")
            .bind(tenant.as_str())
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO users (id, tenant_id, email, role, created_at) VALUES ($1, $2, 'bench@example.com', 'owner', 0)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(tenant.as_str())
            .execute(pool)
            .await?;
    });
    let root = dir.path().join("media");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut total = 0u64;
    for p in 0..20 {
        let project = uuid::Uuid::now_v7().to_string();
        on_db!(&state.db, pool => {
            sqlx::query("INSERT INTO projects (id, tenant_id, title, template_id, language, plan, width, height, fps, watermark, status, created_at, updated_at) VALUES ($1, $2, $3, 'explainer', 'en', 'pro', 1920, 1080, 25, 0, 'completed', 0, 0)")
                .bind(&project)
                .bind(tenant.as_str())
                .bind(format!("project {p}"))
                .execute(pool)
                .await?;
        });
        let folder = root.join("tenants").join(tenant.as_str()).join("projects").join(&project).join("output");
        std::fs::create_dir_all(&folder)?;
        let mut bytes = vec![0u8; 10 * 1024 * 1024];
        for chunk in bytes.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(folder.join("video.mp4"), &bytes)?;
        total += bytes.len() as u64;
    }
    let before = peak_rss_mb();
    let started = Instant::now();
    let export = reelforge::account::export::start(&state, &tenant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    loop {
        let view = reelforge::account::export::get(&state.db, &tenant, &export.export_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if view.status == reelforge::account::export::ExportStatus::Ready {
            println!(
                "export: 20 projects, {} MB of media -> {} MB zip in {:.1} s; peak RSS {:.0} MB (before {:.0} MB)",
                total / 1_000_000,
                view.size_bytes / 1_000_000,
                started.elapsed().as_secs_f64(),
                peak_rss_mb(),
                before
            );
            break;
        }
        anyhow::ensure!(view.status != reelforge::account::export::ExportStatus::Failed, "the export failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let report = reelforge::account::backup::run(&state).await?;
    println!("backup: {} MB archive in {:.1} s", report.size / 1_000_000, started.elapsed().as_secs_f64());
    state.db.close().await;
    let started = Instant::now();
    reelforge::account::backup::restore(&config, &report.file, true).await?;
    println!(
        "restore: {:.1} s (checksum, manifest, database and media); peak RSS {:.0} MB",
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    Ok(())
}
