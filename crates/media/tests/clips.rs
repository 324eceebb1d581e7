//! Clips and uploaded pictures through the real ffmpeg: segments made from
//! video clips (size, frame count, no sound, continuity across a cut, the hold
//! at the end of a short clip, crossfades with stills) and pictures fitted
//! into the frame without losing their shape.
//!
//! Inputs are made with lavfi in a temporary directory. The test clips brighten
//! by 1/64 every frame, so each frame can be told from its neighbours after
//! two lossy encodes. Set `REELFORGE_KEEP_FRAMES=/some/dir` to keep PNGs of
//! the frames checked, to look at them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reelforge_media::render::{self, Demuxer, Motion, SegmentSpec, Visual};

const TIMEOUT: Duration = Duration::from_secs(60);

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-loglevel", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test clip: `seconds` of `size` at 30 fps, H.264 in MP4, with a tone when `sound`.
fn make_clip(dir: &Path, name: &str, size: &str, seconds: f64, sound: bool) -> PathBuf {
    let path = dir.join(name);
    let video = format!("testsrc2=size={size}:rate=30,eq=brightness='n/64-0.25':eval=frame");
    let duration = seconds.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &video];
    if sound {
        args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "aac"]);
    }
    let out = path.to_str().unwrap();
    args.extend(["-t", &duration, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out]);
    ffmpeg(&args);
    path
}

fn make_still(dir: &Path, name: &str, size: &str) -> PathBuf {
    let path = dir.join(name);
    let source = format!("testsrc2=size={size}:rate=1");
    ffmpeg(&["-f", "lavfi", "-i", &source, "-frames:v", "1", path.to_str().unwrap()]);
    path
}

/// Frame `n` of a video, shrunk to 160x90 grey: small enough that encoding
/// noise averages out, large enough to tell frames apart.
fn grey_frame(video: &Path, n: u32) -> Vec<u8> {
    let filter = format!("select=eq(n\\,{n}),scale=160:90,format=gray");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i", video.to_str().unwrap(), "-vf", &filter])
        .args(["-frames:v", "1", "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.len() == 160 * 90, "frame {n} of {video:?}");
    out.stdout
}

/// Mean absolute difference of two grey frames.
fn distance(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64
}

fn count_frames(video: &Path) -> u32 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", video.to_str().unwrap()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Saves frame `n` as PNG where `REELFORGE_KEEP_FRAMES` says, to look at.
fn keep_frame(video: &Path, n: u32, name: &str) {
    if let Some(dir) = std::env::var_os("REELFORGE_KEEP_FRAMES") {
        let filter = format!("select=eq(n\\,{n})");
        let out = Path::new(&dir).join(name);
        ffmpeg(&["-i", video.to_str().unwrap(), "-vf", &filter, "-frames:v", "1", out.to_str().unwrap()]);
    }
}

fn clip(path: &Path, first_frame: u32) -> Visual {
    Visual::Clip { path: path.to_path_buf(), demuxer: Demuxer::Mov, first_frame }
}

fn still(path: &Path, motion_frames: u32) -> Visual {
    Visual::Still { image: path.to_path_buf(), motion: Motion::PanRight, motion_frames, first_motion_frame: 0 }
}

fn segment(scene: Visual, next: Option<Visual>, frames: u32, transition_frames: u32) -> SegmentSpec {
    SegmentSpec {
        width: 1280,
        height: 720,
        fps: 30,
        frames,
        scene,
        next,
        transition_frames,
        overlays: Vec::new(),
        threads: 1,
    }
}

#[tokio::test]
async fn a_1080p_clip_becomes_a_720p_segment_without_sound() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_clip(dir.path(), "in.mp4", "1920x1080", 2.0, true);
    let out = dir.path().join("segment.mp4");
    render::render_segment("ffmpeg", &segment(clip(&source, 0), None, 45, 0), &out, TIMEOUT).await.unwrap();

    let probe = render::probe("ffprobe", &out, TIMEOUT).await.unwrap();
    assert_eq!((probe.width, probe.height), (1280, 720));
    assert_eq!(probe.pix_fmt, "yuv420p");
    assert_eq!(probe.video_codec, "h264");
    assert_eq!(probe.audio_codec, None, "the clip's sound is dropped");
    assert_eq!(count_frames(&out), 45);
    // Frame for frame the clip, scaled.
    assert!(distance(&grey_frame(&out, 20), &grey_frame(&source, 20)) < 1.5);
    keep_frame(&out, 20, "clip-segment.png");
}

#[tokio::test]
async fn a_short_clip_holds_its_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    // 1 s: frames 0..=29, in a 3 s segment.
    let source = make_clip(dir.path(), "short.mp4", "640x360", 1.0, false);
    let out = dir.path().join("segment.mp4");
    render::render_segment("ffmpeg", &segment(clip(&source, 0), None, 90, 0), &out, TIMEOUT).await.unwrap();
    assert_eq!(count_frames(&out), 90);

    let last_of_clip = grey_frame(&source, 29);
    for n in [29, 30, 60, 89] {
        let d = distance(&grey_frame(&out, n), &last_of_clip);
        assert!(d < 1.5, "frame {n} is the clip's last frame (distance {d})");
    }
    let d = distance(&grey_frame(&out, 89), &grey_frame(&source, 26));
    assert!(d > 4.0, "and not an earlier one (distance {d})");
}

#[tokio::test]
async fn a_clip_continues_after_the_frames_the_crossfade_showed() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_clip(dir.path(), "in.mp4", "1920x1080", 1.0, false);
    let out = dir.path().join("segment.mp4");
    render::render_segment("ffmpeg", &segment(clip(&source, 15), None, 10, 0), &out, TIMEOUT).await.unwrap();
    assert_eq!(count_frames(&out), 10);

    let first = grey_frame(&out, 0);
    let to = |n: u32| distance(&first, &grey_frame(&source, n));
    let (before, at, after) = (to(14), to(15), to(16));
    assert!(at < 1.5 && before > 4.0 && after > 4.0, "starts at the 16th frame: {before} {at} {after}");
}

#[tokio::test]
async fn stills_and_clips_crossfade_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let source = make_clip(dir.path(), "in.mp4", "1920x1080", 1.0, true);
    let picture = make_still(dir.path(), "still.png", "1600x900");

    // A still scene fading into a clip scene (which starts at its frame 0)...
    let into_clip = dir.path().join("into-clip.mp4");
    let spec = segment(still(&picture, 40), Some(clip(&source, 0)), 30, 10);
    render::render_segment("ffmpeg", &spec, &into_clip, TIMEOUT).await.unwrap();
    assert_eq!(count_frames(&into_clip), 30);
    // The last frame of the fade is nearly all clip.
    assert!(distance(&grey_frame(&into_clip, 29), &grey_frame(&source, 9)) < 6.0);
    keep_frame(&into_clip, 25, "still-into-clip.png");

    // ...and the clip scene, continuing after those 10 frames, fading into a still.
    let from_clip = dir.path().join("from-clip.mp4");
    let spec = segment(clip(&source, 10), Some(still(&picture, 40)), 30, 10);
    render::render_segment("ffmpeg", &spec, &from_clip, TIMEOUT).await.unwrap();
    assert_eq!(count_frames(&from_clip), 30);
    assert!(distance(&grey_frame(&from_clip, 0), &grey_frame(&source, 10)) < 1.5);
    let probe = render::probe("ffprobe", &from_clip, TIMEOUT).await.unwrap();
    assert_eq!((probe.width, probe.height, probe.pix_fmt.as_str()), (1280, 720, "yuv420p"));
    assert_eq!(probe.audio_codec, None);
    keep_frame(&from_clip, 25, "clip-into-still.png");
}

#[tokio::test]
async fn a_panorama_keeps_its_shape_over_a_blurred_fill() {
    let dir = tempfile::tempdir().unwrap();
    let picture = make_still(dir.path(), "panorama.png", "1000x200");
    let out = dir.path().join("fitted.png");
    render::fit_picture("ffmpeg", &picture, 1280, 720, &out, TIMEOUT).await.unwrap();
    if let Some(keep) = std::env::var_os("REELFORGE_KEEP_FRAMES") {
        std::fs::copy(&out, Path::new(&keep).join("panorama-fitted.png")).unwrap();
    }

    let fitted = tiny_skia::Pixmap::load_png(&out).unwrap();
    assert_eq!((fitted.width(), fitted.height()), (1280, 720));
    // 1000x200 fits as 1280x256, rows 232..488.
    let row = |y: u32| -> Vec<[u8; 3]> {
        (0..1280)
            .map(|x| {
                let p = fitted.pixel(x, y).unwrap();
                [p.red(), p.green(), p.blue()]
            })
            .collect()
    };
    let brightness = |r: &[[u8; 3]]| r.iter().map(|p| p.iter().map(|&c| f64::from(c)).sum::<f64>()).sum::<f64>();
    // Sharp: neighbouring pixels of the picture differ a lot somewhere.
    let edges = |r: &[[u8; 3]]| r.windows(2).map(|w| w[0][0].abs_diff(w[1][0]) as u32).max().unwrap_or(0);
    let (top, centre) = (row(40), row(360));
    assert!(brightness(&top) / (1280.0 * 3.0) > 20.0, "the top band is a fill, not black");
    assert!(edges(&top) < 24, "the fill is blurred (largest step {})", edges(&top));
    assert!(edges(&centre) > 100, "the centre is the picture itself (largest step {})", edges(&centre));
    // The picture is darker than itself in the fill.
    assert!(brightness(&top) < brightness(&centre));
}

#[tokio::test]
async fn a_picture_of_the_frames_shape_is_cropped_to_cover() {
    let dir = tempfile::tempdir().unwrap();
    let picture = make_still(dir.path(), "wide.png", "1910x1080");
    let out = dir.path().join("fitted.png");
    render::fit_picture("ffmpeg", &picture, 1600, 900, &out, TIMEOUT).await.unwrap();
    let fitted = tiny_skia::Pixmap::load_png(&out).unwrap();
    assert_eq!((fitted.width(), fitted.height()), (1600, 900));
}

#[tokio::test]
async fn fit_picture_refuses_what_is_not_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.png");
    std::fs::write(&fake, b"GIF89a not a png at all, long enough").unwrap();
    let out = dir.path().join("out.png");
    assert!(render::fit_picture("ffmpeg", &fake, 1280, 720, &out, TIMEOUT).await.is_err());
    assert!(!out.exists());
}
