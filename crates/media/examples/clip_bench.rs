//! The render of a 10-scene 720p project whose scenes are 1080p clips:
//! how many times realtime, and how it compares with re-encoding its own
//! output with the same encoder settings.
//!
//! ```text
//! cargo run --release -p reelforge-media --example clip_bench
//! ```
//!
//! Ten 1080p30 H.264 clips of 2-6 s (testsrc2 and two zooms into the Mandelbrot
//! set: 7-9 Mbit/s, like stock 1080p footage; half with sound; one shorter
//! than its scene) are made once and
//! kept in `$CLIP_BENCH_DIR` (default: a folder in the temporary directory).
//! The ten segments are rendered as the segment step renders them: one ffmpeg
//! each, with the crossfade into the next scene and burnt-in captions, two at
//! a time with one encoder thread each (the worker's default on two cores:
//! `WORKER_CONCURRENCY` = cores, `threads` 1), then joined by stream copy with
//! the narration. `CLIP_BENCH_CONCURRENCY` changes the two. The re-encode is
//! `ffmpeg -i out.mp4 -c:v libx264 -preset veryfast -crf 23` with ffmpeg's
//! own thread choice. Wall times and the CPU time of the children are printed.
//! For profiling, `CLIP_BENCH_INPUT_OPTS` (e.g. `-threads 0`) is put before
//! every clip input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reelforge_media::overlay::{self, OverlaySpec};
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

fn source_filter(kind: &str) -> String {
    match kind {
        "mandelbrot" => "mandelbrot=size=480x270:rate=30,scale=1920:1080:flags=bicubic".into(),
        "seahorse" => "mandelbrot=size=960x540:rate=30:start_x=-0.743643887037151:start_y=0.131825904205330:\
                       start_scale=0.1,scale=1920:1080:flags=bicubic"
            .into(),
        _ => "testsrc2=size=1920x1080:rate=30".into(),
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

async fn make_clips(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut clips = Vec::new();
    for (i, (seconds, kind, sound, _)) in SCENES.iter().enumerate() {
        let path = dir.join(format!("clip-{i}-{kind}-{seconds}.mp4"));
        if !path.exists() {
            eprintln!("making {}", path.display());
            let partial = dir.join("partial.mp4");
            let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            args.push(source_filter(kind));
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
            watermark: true,
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

#[tokio::main]
async fn main() {
    let concurrency: usize = std::env::var("CLIP_BENCH_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let clip_dir = std::env::var_os("CLIP_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("reelforge-clip-bench-v2"));
    let clips = make_clips(&clip_dir).await;
    let work = tempfile::tempdir().unwrap();
    let specs = specs(&clips, work.path());
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

    println!(
        "video: {video_seconds:.1} s, 10 scenes of 1080p30 clips into {WIDTH}x{HEIGHT}@{FPS}, crossfades, captions"
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
    println!("render / re-encode: {:.2} (wall), {:.2} (CPU)", render_wall / reencode_wall, render_cpu / reencode_cpu);
    println!("load average at the end: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    if let Some(keep) = std::env::var_os("CLIP_BENCH_KEEP") {
        std::fs::copy(&out, Path::new(&keep)).unwrap();
    }
}
