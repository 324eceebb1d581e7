//! The `reelforge` command: parses the command line, loads the configuration,
//! and hands over to the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reelforge::config::{AppEnv, Config};

#[derive(Parser)]
#[command(name = "reelforge", version, about = "Turn a script into a narrated video, as a multi-tenant service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and web app (with in-process workers).
    Serve,
    /// Run workers only (scale-out).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Take a backup now (database snapshot + media) into BACKUP_DIR.
    Backup,
    /// Restore a backup archive (verifies its checksum; refuses while a server runs).
    Restore {
        /// The archive (`reelforge-backup-*.zip`, with its `.sha256` beside it).
        file: std::path::PathBuf,
        /// Really replace the current database and media.
        #[arg(long)]
        yes: bool,
    },
    /// Print the OpenAPI description (as served at /api/openapi.json) and exit.
    Openapi,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Render a script to an MP4 with no server and no account.
    Render {
        /// The script (paragraphs become scenes).
        #[arg(required_unless_present = "scenes", conflicts_with = "scenes")]
        script: Option<std::path::PathBuf>,
        /// A JSON file of scenes instead of a script: `[{"text", "title"?, "visual"?, "voice"?}]`
        /// (or `{"scenes": [...]}`); a visual `{"kind": "upload", "file": "picture.png"}` takes a
        /// local picture or clip, relative to the JSON file.
        #[arg(long)]
        scenes: Option<std::path::PathBuf>,
        /// Where to write the video.
        #[arg(short, long)]
        out: std::path::PathBuf,
        /// Template id (see GET /api/v1/templates).
        #[arg(long, default_value = "explainer")]
        template: String,
        /// Language code, e.g. en, de, zh.
        #[arg(long)]
        language: Option<String>,
        /// Voice id, e.g. espeak:en-us.
        #[arg(long)]
        voice: Option<String>,
        /// Caption style: line, karaoke or pop (default: the template's).
        #[arg(long)]
        captions: Option<String>,
        /// free renders 720p with a watermark; pro and enterprise the template's full size.
        #[arg(long, default_value = "pro")]
        plan: String,
        /// Keep the work folder (database and media) here.
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
        /// A bundled music bed under the narration (see GET /api/v1/music), e.g. calm-pad.
        #[arg(long)]
        music: Option<String>,
        /// The bed's volume, 0 to 1.
        #[arg(long, default_value_t = 0.3)]
        music_volume: f64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// The JSONL usage log.
    UsageLog {
        /// Rewrite the whole log from the database's ledger.
        #[arg(long)]
        rebuild: bool,
    },
    /// Set a tenant's plan (TENANT is its id or its owner's e-mail).
    SetPlan { tenant: String, plan: String },
    /// List tenants: id, plan, status, owner, name.
    Tenants,
    /// Re-read every customer's subscription from Stripe and fix drift, and
    /// send again every overage report Stripe has not acknowledged.
    BillingSync,
    /// Queue a project's failed, cancelled and fallback steps again (as its owner's retry).
    Retry { project: String },
    /// Cancel an unfinished project (as its owner's cancel).
    Cancel { project: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Needs no configuration (and so writes nothing under DATA_DIR).
    if let Command::Openapi = cli.command {
        return match reelforge::openapi::document().to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("reelforge: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    // The render command draws a progress bar; only problems are logged there.
    let quiet = matches!(
        cli.command,
        Command::Render { .. } | Command::Admin { .. } | Command::Backup | Command::Restore { .. }
    );
    let _sentry_guard = reelforge::reporting::init(&config);
    let _log_guard = init_tracing(&config, if quiet { "warn" } else { "info,sqlx=warn,tower_http=warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                let shutdown = reelforge::shutdown_signal();
                let app = reelforge::build_app(config).await?;
                app.run(shutdown).await
            }
            Command::Worker => reelforge::run_worker(config, reelforge::shutdown_signal()).await,
            Command::Render {
                script,
                scenes,
                out,
                template,
                language,
                voice,
                captions,
                plan,
                keep,
                music,
                music_volume,
            } => {
                let plan = plan.parse().map_err(|e: String| anyhow::anyhow!("--plan: {e}"))?;
                let input = match (script, scenes) {
                    (Some(script), _) => reelforge::cli::RenderInput::Script(script),
                    (None, Some(scenes)) => reelforge::cli::RenderInput::Scenes(scenes),
                    (None, None) => anyhow::bail!("give a script file or --scenes"),
                };
                let music = music.map(|bundled| (bundled, music_volume));
                let args =
                    reelforge::cli::RenderArgs { input, out, template, language, voice, captions, plan, keep, music };
                reelforge::cli::render(config, args).await
            }
            Command::Backup => {
                let state = reelforge::build_state(config).await?;
                let report = reelforge::account::backup::run(&state).await?;
                println!("{} ({} bytes, sha256 {})", report.file.display(), report.size, report.sha256);
                for removed in report.removed {
                    println!("removed past retention: {}", removed.display());
                }
                state.db.close().await;
                Ok(())
            }
            Command::Restore { file, yes } => {
                reelforge::account::backup::restore(&config, &file, yes).await?;
                println!("restored {}", file.display());
                Ok(())
            }
            Command::Admin { command } => match command {
                AdminCommand::UsageLog { rebuild: true } => reelforge::cli::rebuild_usage_log(config).await,
                AdminCommand::UsageLog { rebuild: false } => {
                    anyhow::bail!("nothing to do: use `reelforge admin usage-log --rebuild`")
                }
                AdminCommand::SetPlan { tenant, plan } => {
                    let plan = plan.parse().map_err(|e: String| anyhow::anyhow!("PLAN: {e}"))?;
                    reelforge::cli::set_plan(config, &tenant, plan).await
                }
                AdminCommand::Tenants => reelforge::cli::list_tenants(config).await,
                AdminCommand::Retry { project } => {
                    reelforge::cli::project_action(config, &project, reelforge::cli::ProjectAction::Retry).await
                }
                AdminCommand::Cancel { project } => {
                    reelforge::cli::project_action(config, &project, reelforge::cli::ProjectAction::Cancel).await
                }
                AdminCommand::BillingSync => {
                    let state = reelforge::build_state(config).await?;
                    let changed = reelforge::billing::service::sync_all(&state).await?;
                    let (resent, left) = reelforge::billing::overage::report::resend_unacknowledged(&state).await?;
                    println!(
                        "billing sync done: {changed} plan(s) changed; {resent} overage report(s) sent again, {left} still unacknowledged"
                    );
                    state.db.close().await;
                    Ok(())
                }
            },
            Command::Openapi => Ok(()), // answered before the configuration is read
            Command::Migrate => {
                let state = reelforge::build_state(config).await?;
                tracing::info!(database = state.db.backend(), "migrations applied");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "reelforge failed");
            eprintln!("reelforge: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr and to `$DATA_DIR/reelforge.log`; JSON in production.
fn init_tracing(config: &Config, default_filter: &str) -> Option<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, fmt};

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = config.app_env == AppEnv::Production;
    let file = std::fs::create_dir_all(&config.data_dir)
        .ok()
        .and_then(|()| {
            std::fs::OpenOptions::new().create(true).append(true).open(config.data_dir.join("reelforge.log")).ok()
        })
        .map(std::sync::Mutex::new);
    let stderr_layer = if json {
        fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed()
    };
    let file_layer = file.map(|file| fmt::layer().json().with_ansi(false).with_writer(file).boxed());
    let sentry_layer = config.ops.sentry_dsn.is_some().then(reelforge::reporting::tracing_layer);
    tracing_subscriber::registry().with(filter).with(stderr_layer).with(file_layer).with(sentry_layer).try_init().ok()
}
