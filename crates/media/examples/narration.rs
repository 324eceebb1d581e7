//! Piper narration speed: two scenes speaking at once (the worker's default
//! on two cores), each sentence by sentence through a `PiperPool` of two
//! loaded children, as the speech step does.
//!
//! ```text
//! cargo run --release -p reelforge-media --example narration
//! ```
//!
//! The script is `bench/script-60s.txt` (`NARRATION_SCRIPT` for another),
//! its sentences dealt alternately to the two scenes. The interpreter is
//! `PIPER_PYTHON`, else `.venv-piper/bin/python` (what `make` installs). The
//! first round includes loading the voice into both children; the second,
//! with the children loaded, is the steady state a worker sees. Two more
//! cold rounds use a voice cache (as the server does, in
//! `DATA_DIR/cache/voices`; here a temporary one): the first prepares the
//! voice into it, the second is what every later start costs. Printed:
//! seconds narrated, wall seconds, times realtime, and CPU seconds (this
//! process and the children) per narrated second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reelforge_media::piper::{self, PiperPool};
use reelforge_media::sentences;
use reelforge_media::tts::Narration;

/// CPU seconds (user + system) of `pid` so far, from /proc.
fn process_cpu(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let Some((_, rest)) = stat.rsplit_once(") ") else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    // SAFETY: sysconf has no side effects.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn own_cpu() -> f64 {
    process_cpu(std::process::id())
}

async fn speak_scene(pool: &PiperPool, model: &Path, sentences: &[String], work: &Path) -> f64 {
    let mut narration = Narration::default();
    for (i, sentence) in sentences.iter().enumerate() {
        let out = work.join(format!("sentence-{i}.wav"));
        let spoken = pool.speak(model, sentence, &out, Duration::from_secs(60)).await.expect("speaks");
        let spans = spoken.word_spans();
        narration.push_aligned(sentence, &spoken.pcm, spans.as_deref()).expect("push");
    }
    narration.duration_seconds()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python =
        std::env::var("PIPER_PYTHON").map(PathBuf::from).unwrap_or_else(|_| root.join(".venv-piper/bin/python"));
    if !python.is_file() {
        eprintln!("narration bench: {} is missing (scripts/ensure-deps.sh bench installs Piper)", python.display());
        std::process::exit(1);
    }
    let python = python.display().to_string();
    let script_path =
        std::env::var("NARRATION_SCRIPT").map(PathBuf::from).unwrap_or_else(|_| root.join("bench/script-60s.txt"));
    let script = std::fs::read_to_string(&script_path).expect("script");
    let all = sentences::split(&script.replace('\n', " "));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, sentence) in all.into_iter().enumerate() {
        if i % 2 == 0 { a.push(sentence) } else { b.push(sentence) }
    }
    let voice = piper::bundled_voice(&python, Duration::from_secs(30)).await.expect("the bundled voice");
    let work = tempfile::tempdir().expect("dir");
    let (work_a, work_b) = (work.path().join("a"), work.path().join("b"));
    std::fs::create_dir_all(&work_a).expect("dir");
    std::fs::create_dir_all(&work_b).expect("dir");
    let plain = PiperPool::new(Some(python.clone()), 2);
    let cache = work.path().join("voices");
    let cached = || PiperPool::new(Some(python.clone()), 2).with_voice_cache(cache.clone());
    let (preparing, prepared) = (cached(), cached());
    let rounds = [
        (&plain, "cold, no voice cache (loads the voice twice)"),
        (&plain, "warm (voices loaded)"),
        (&preparing, "cold, preparing the voice cache"),
        (&prepared, "cold, voice from the cache"),
    ];

    for (pool, round) in rounds {
        let pids_before = pool.idle_pids();
        let cpu_before: f64 = own_cpu() + pids_before.iter().map(|p| process_cpu(*p)).sum::<f64>();
        let started = Instant::now();
        let (seconds_a, seconds_b) =
            tokio::join!(speak_scene(pool, &voice.model, &a, &work_a), speak_scene(pool, &voice.model, &b, &work_b));
        let wall = started.elapsed().as_secs_f64();
        let cpu_after: f64 = own_cpu() + pool.idle_pids().iter().map(|p| process_cpu(*p)).sum::<f64>();
        let narrated = seconds_a + seconds_b;
        println!(
            "narration (Piper, 2 scenes at once, {round}): {narrated:.1} s narrated in {wall:.2} s wall = {:.1}x realtime; \
             {:.3} CPU-s per narrated second",
            narrated / wall,
            (cpu_after - cpu_before) / narrated
        );
    }
}
