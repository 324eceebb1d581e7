//! The render of a 10-scene 720p project whose scenes are stock clips: how
//! many times realtime, and how it compares with re-encoding its own output
//! with the same encoder settings.
//!
//! ```text
//! cargo run --release -p reelforge-media --example clip_bench
//! CLIP_BENCH_SOURCE_HEIGHT=1080 cargo run --release -p reelforge-media --example clip_bench
//! ```
//!
//! Ten 16:9 30 fps H.264 clips of 2-6 s (testsrc2 and two zooms into the
//! Mandelbrot set; half with sound; one shorter than its scene) are made once
//! at `CLIP_BENCH_SOURCE_HEIGHT` lines (default 720: the smallest stock
//! rendition that covers a 720p frame, which is what the product downloads;
//! 1080 gives 7-9 Mbit/s clips like stock 1080p footage, the old case) and
//! kept in `$CLIP_BENCH_DIR` (default: a folder in the temporary directory),
//! their height in their names.
//! The ten segments are rendered as the segment step renders them: one ffmpeg
//! each, with the crossfade into the next scene and burnt-in captions, two at
//! a time with one encoder thread each (the worker's default on two cores:
//! `WORKER_CONCURRENCY` = cores, `threads` 1), then joined by stream copy with
//! the narration. `CLIP_BENCH_CONCURRENCY` changes the two. The re-encode is
//! `ffmpeg -i out.mp4 -c:v libx264 -preset veryfast -crf 23` with ffmpeg's
//! own thread choice. Wall times and the CPU time of the children are printed.
//! For profiling, `CLIP_BENCH_INPUT_OPTS` (e.g. `-threads 0`) is put before
//! every clip input, and `CLIP_BENCH_SHOW_ARGS=1` prints each segment's
//! command (quoted for a shell). `CLIP_BENCH_RUNS` (default 1) repeats the
//! render and the re-encode, one after the other, and prints the medians: on
//! a busy machine single figures wander.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reelforge_media::overlay::{self, CaptionStyle, OverlaySpec};
use reelforge_media::render::{self, Demuxer, SegmentSpec, Visual};
use reelforge_media::subtitles::Cue;
use reelforge_media::wav::Pcm;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const FPS: u32 = 30;
/// The explainer template's crossfade.
const TRANSITION_SECONDS: f64 = 0.5;
const TIMEOUT: Duration = Duration::from_secs(600);

/// (clip seconds, source, with sound, scene seconds of speech)
const SCENES: [(f64, &str, bool, f64); 10] = [
    (5.0, "testsrc2", true, 4.2),
    (4.5, "mandelbrot", false, 3.6),
    (6.0, "seahorse", true, 5.0),
    (2.0, "testsrc2", false, 4.1), // shorter than its scene: held on its last frame
    (5.5, "mandelbrot", true, 4.6),
    (4.0, "seahorse", false, 3.4),
    (5.0, "testsrc2", true, 4.0),
    (4.8, "mandelbrot", false, 3.8),
    (5.2, "seahorse", true, 4.3),
    (4.2, "testsrc2", false, 3.6),
];

/// Width of a 16:9 source `height` lines high (even, as H.264 4:2:0 needs).
fn source_width(height: u32) -> u32 {
    ((f64::from(height) * 16.0 / 9.0 / 2.0).round() as u32) * 2
}

fn source_filter(kind: &str, height: u32) -> String {
    let size = format!("{}x{height}", source_width(height));
    match kind {
        "mandelbrot" => format!("mandelbrot=size=480x270:rate=30,scale={size}:flags=bicubic"),
        "seahorse" => format!(
            "mandelbrot=size=960x540:rate=30:start_x=-0.743643887037151:start_y=0.131825904205330:\
             start_scale=0.1,scale={size}:flags=bicubic"
        ),
        _ => format!("testsrc2=size={size}:rate=30"),
    }
}

fn cpu_of_children() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

async fn ffmpeg(args: &[String]) {
    reelforge_media::process::run("ffmpeg", args, TIMEOUT, None).await.unwrap();
}

async fn make_clips(dir: &Path, height: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut clips = Vec::new();
    for (i, (seconds, kind, sound, _)) in SCENES.iter().enumerate() {
        let path = dir.join(format!("clip-{i}-{kind}-{seconds}-{height}p.mp4"));
        if !path.exists() {
            eprintln!("making {}", path.display());
            let partial = dir.join("partial.mp4");
            let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            args.push(source_filter(kind, height));
            if *sound {
                args.extend(
                    ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-c:a", "aac"].map(String::from),
                );
            }
            args.extend(["-t".into(), seconds.to_string()]);
            args.extend(
                ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"].map(String::from),
            );
            args.extend(["-f".into(), "mp4".into(), partial.display().to_string()]);
            ffmpeg(&args).await;
            std::fs::rename(&partial, &path).unwrap();
        }
        clips.push(path);
    }
    clips
}

/// Frames of a scene with this much speech (the segment step's rule).
fn scene_frames(speech_seconds: f64) -> u32 {
    ((speech_seconds + 0.4).max(2.0) * f64::from(FPS)).ceil() as u32
}

/// The ten segments' specs, as the segment step builds them.
fn specs(clips: &[PathBuf], work: &Path) -> Vec<SegmentSpec> {
    let frames: Vec<u32> = SCENES.iter().map(|s| scene_frames(s.3)).collect();
    let wanted = (TRANSITION_SECONDS * f64::from(FPS)).round() as u32;
    let transition = |a: u32, b: u32| wanted.min(a / 2).min(b / 2);
    let mut specs = Vec::new();
    for i in 0..SCENES.len() {
        let incoming = if i > 0 { transition(frames[i - 1], frames[i]) } else { 0 };
        let outgoing = if i + 1 < SCENES.len() { transition(frames[i], frames[i + 1]) } else { 0 };
        let seconds = f64::from(frames[i]) / f64::from(FPS);
        let cues = vec![
            Cue { start: 0.0, end: seconds / 2.0, text: format!("Scene {} begins with this sentence.", i + 1) },
            Cue { start: seconds / 2.0, end: seconds, text: "And it ends with another one, a little longer.".into() },
        ];
        let dir = work.join(format!("scene-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = OverlaySpec {
            width: WIDTH,
            height: HEIGHT,
            font_scale: 0.042,
            cues: &cues,
            captions: true,
            style: CaptionStyle::default(),
            words: &[],
            watermark: true,
            logo: None,
            font: None,
        };
        let overlays = overlay::draw(&dir, &spec).unwrap();
        let next =
            (outgoing > 0).then(|| Visual::Clip { path: clips[i + 1].clone(), demuxer: Demuxer::Mov, first_frame: 0 });
        specs.push(SegmentSpec {
            width: WIDTH,
            height: HEIGHT,
            fps: FPS,
            frames: frames[i],
            scene: Visual::Clip { path: clips[i].clone(), demuxer: Demuxer::Mov, first_frame: incoming },
            next,
            transition_frames: outgoing,
            overlays,
            threads: 1,
        });
    }
    specs
}

/// One render of the project and one re-encode of its output.
struct Run {
    render_wall: f64,
    segments_wall: f64,
    render_cpu: f64,
    reencode_wall: f64,
    reencode_cpu: f64,
}

async fn render_and_reencode(clips: &[PathBuf], concurrency: usize, keep: Option<&Path>) -> (f64, Run) {
    let work = tempfile::tempdir().unwrap();
    let specs = specs(clips, work.path());
    let threads = if concurrency > 1 { 1 } else { 2 };
    let specs: Vec<SegmentSpec> = specs.into_iter().map(|s| SegmentSpec { threads, ..s }).collect();
    let video_seconds = specs.iter().map(|s| f64::from(s.frames)).sum::<f64>() / f64::from(FPS);
    let narration = work.path().join("narration.wav");
    Pcm::silence(22_050, 1, video_seconds).write(&narration).unwrap();

    // Render: `concurrency` segments at a time, like the workers.
    let (cpu0, start) = (cpu_of_children(), Instant::now());
    let specs = Arc::new(specs);
    let next = Arc::new(AtomicUsize::new(0));
    let out_dir = Arc::new(work.path().to_path_buf());
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (specs, next, out_dir) = (specs.clone(), next.clone(), out_dir.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(spec) = specs.get(i) else { break };
                let out = out_dir.join(format!("segment-{i}.mp4"));
                let t = Instant::now();
                let mut args = render::segment_args(spec, &out).unwrap();
                // Profiling knob: decoder options put before every clip input.
                if let Ok(extra) = std::env::var("CLIP_BENCH_INPUT_OPTS") {
                    let mut with = Vec::new();
                    for arg in args {
                        if arg == "-protocol_whitelist" {
                            with.extend(extra.split_whitespace().map(String::from));
                        }
                        with.push(arg);
                    }
                    args = with;
                }
                if std::env::var_os("CLIP_BENCH_SHOW_ARGS").is_some() {
                    eprintln!(
                        "segment {i}: ffmpeg {}",
                        args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect::<Vec<_>>().join(" ")
                    );
                }
                reelforge_media::process::run("ffmpeg", &args, TIMEOUT, None).await.unwrap();
                eprintln!("segment {i}: {} frames in {:.2} s", spec.frames, t.elapsed().as_secs_f64());
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let segments_wall = start.elapsed().as_secs_f64();
    let segments: Vec<PathBuf> = (0..specs.len()).map(|i| work.path().join(format!("segment-{i}.mp4"))).collect();
    let out = work.path().join("video.mp4");
    render::join("ffmpeg", &segments, &narration, &out, work.path(), TIMEOUT).await.unwrap();
    let render_wall = start.elapsed().as_secs_f64();
    let render_cpu = cpu_of_children() - cpu0;

    let probe = render::probe("ffprobe", &out, TIMEOUT).await.unwrap();
    assert_eq!((probe.width, probe.height, probe.pix_fmt.as_str()), (WIDTH, HEIGHT, "yuv420p"));

    // Re-encode the output with the same encoder settings.
    let again = work.path().join("again.mp4");
    let args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y", "-i"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .chain(
            ["-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-an", "-f", "mp4"]
                .map(String::from),
        )
        .chain([again.display().to_string()])
        .collect();
    let (cpu1, start) = (cpu_of_children(), Instant::now());
    ffmpeg(&args).await;
    let reencode_wall = start.elapsed().as_secs_f64();
    let reencode_cpu = cpu_of_children() - cpu1;
    if let Some(keep) = keep {
        std::fs::copy(&out, keep).unwrap();
    }
    (video_seconds, Run { render_wall, segments_wall, render_cpu, reencode_wall, reencode_cpu })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

#[tokio::main]
async fn main() {
    let env_number = |name: &str, default: usize| -> usize {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let concurrency = env_number("CLIP_BENCH_CONCURRENCY", 2);
    let source_height = env_number("CLIP_BENCH_SOURCE_HEIGHT", 720) as u32;
    assert!(source_height >= 2 && source_height.is_multiple_of(2), "CLIP_BENCH_SOURCE_HEIGHT must be even");
    let runs = env_number("CLIP_BENCH_RUNS", 1).max(1);
    let clip_dir = std::env::var_os("CLIP_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("reelforge-clip-bench-v3"));
    let clips = make_clips(&clip_dir, source_height).await;
    let keep = std::env::var_os("CLIP_BENCH_KEEP").map(PathBuf::from);

    let mut video_seconds = 0.0;
    let mut all = Vec::new();
    for run in 0..runs {
        let (seconds, r) = render_and_reencode(&clips, concurrency, keep.as_deref()).await;
        video_seconds = seconds;
        println!(
            "run {}: render {:.2} s wall (segments {:.2} s), {:.2} CPU-s; re-encode {:.2} s wall, {:.2} CPU-s; \
             {:.2}x realtime, render / re-encode {:.2}",
            run + 1,
            r.render_wall,
            r.segments_wall,
            r.render_cpu,
            r.reencode_wall,
            r.reencode_cpu,
            seconds / r.render_wall,
            r.render_wall / r.reencode_wall
        );
        all.push(r);
    }
    let med = |f: fn(&Run) -> f64| median(all.iter().map(f).collect());
    let (render_wall, segments_wall, render_cpu) =
        (med(|r| r.render_wall), med(|r| r.segments_wall), med(|r| r.render_cpu));
    let (reencode_wall, reencode_cpu) = (med(|r| r.reencode_wall), med(|r| r.reencode_cpu));
    let ratio = med(|r| r.render_wall / r.reencode_wall);

    let (sw, sh) = (source_width(source_height), source_height);
    println!(
        "video: {video_seconds:.1} s, 10 scenes of {sw}x{sh}@30 clips into {WIDTH}x{HEIGHT}@{FPS}, crossfades, captions; \
         median of {runs} run(s)"
    );
    println!(
        "render:    {render_wall:6.2} s wall (segments {segments_wall:.2} s, {concurrency} at a time), {render_cpu:6.2} CPU-s  -> {:.2}x realtime",
        video_seconds / render_wall
    );
    println!(
        "re-encode: {reencode_wall:6.2} s wall, {reencode_cpu:6.2} CPU-s  -> {:.2}x realtime",
        video_seconds / reencode_wall
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!(
        "on {cores} idle cores (CPU-s / cores): render {:.2}x realtime, re-encode {:.2}x realtime",
        video_seconds * cores / render_cpu,
        video_seconds * cores / reencode_cpu
    );
    println!(
        "render / re-encode: {ratio:.2} (wall, median of the runs' ratios), {:.2} (CPU)",
        render_cpu / reencode_cpu
    );
    println!("load average at the end: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
}
