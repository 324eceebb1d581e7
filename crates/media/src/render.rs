//! ffmpeg rendering: one video-only segment per scene (motion by a moving crop
//! window over an image decoded once, a crossfade into the next scene, caption
//! and watermark overlays), then a stream-copy join with the narration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process;
use crate::{MediaError, MediaResult};

/// How much larger than the frame each scene image is drawn, so the crop
/// window has room to move.
pub const MOTION_SCALE: f64 = 1.25;

/// Fraction of each side of a motion image that every crop position shows
/// (the window moves by up to the whole margin): keep text inside it.
pub const ALWAYS_VISIBLE: f32 = (2.0 / MOTION_SCALE - 1.0) as f32;

/// Direction of a scene's slow pan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    /// No movement (centre crop).
    Still,
    /// Left to right.
    PanRight,
    /// Right to left.
    PanLeft,
    /// Top to bottom.
    PanDown,
    /// Bottom to top.
    PanUp,
    /// Top-left to bottom-right.
    Diagonal,
}

impl Motion {
    /// The crop window's x and y expressions; `p` is the motion progress 0..1.
    fn crop_xy(self, progress: &str) -> (String, String) {
        let forward = |axis: &str| format!("({axis})*({progress})");
        let backward = |axis: &str| format!("({axis})*(1-({progress}))");
        let centre = |axis: &str| format!("({axis})/2");
        match self {
            Motion::Still => (centre("iw-ow"), centre("ih-oh")),
            Motion::PanRight => (forward("iw-ow"), centre("ih-oh")),
            Motion::PanLeft => (backward("iw-ow"), centre("ih-oh")),
            Motion::PanDown => (centre("iw-ow"), forward("ih-oh")),
            Motion::PanUp => (centre("iw-ow"), backward("ih-oh")),
            Motion::Diagonal => (forward("iw-ow"), forward("ih-oh")),
        }
    }
}

/// Size of an image drawn for motion at a frame size (even numbers).
pub fn motion_size(width: u32, height: u32) -> (u32, u32) {
    let scale = |v: u32| ((f64::from(v) * MOTION_SCALE / 2.0).round() as u32) * 2;
    (scale(width), scale(height))
}

/// One scene's picture over time.
#[derive(Debug, Clone)]
pub struct SceneClip {
    /// Image at `motion_size` of the frame.
    pub image: PathBuf,
    /// Its motion.
    pub motion: Motion,
    /// Frames over which the whole motion runs (the scene's total on-screen time).
    pub motion_frames: u32,
    /// Motion frame at which this clip starts.
    pub first_motion_frame: u32,
}

/// A picture placed over the video for a time.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// PNG with transparency.
    pub image: PathBuf,
    /// Left edge in pixels.
    pub x: u32,
    /// Top edge in pixels.
    pub y: u32,
    /// Shown from this second of the segment (None: always).
    pub between: Option<(f64, f64)>,
}

/// Everything needed to render one video-only segment.
#[derive(Debug, Clone)]
pub struct SegmentSpec {
    /// Output frame width.
    pub width: u32,
    /// Output frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Length of the segment in frames.
    pub frames: u32,
    /// This scene.
    pub scene: SceneClip,
    /// The next scene, cross-faded in over the last `transition_frames` frames.
    pub next: Option<SceneClip>,
    /// Length of the crossfade in frames (0 = cut).
    pub transition_frames: u32,
    /// Captions and watermark.
    pub overlays: Vec<Overlay>,
    /// x264 threads (1 lets two segments share two cores without contention).
    pub threads: u32,
}

fn clip_filter(input: usize, clip: &SceneClip, frames: u32, fps: u32, width: u32, height: u32, label: &str) -> String {
    let total = clip.motion_frames.max(1);
    let progress = format!("min(1,(n+{})/{})", clip.first_motion_frame, total);
    let (x, y) = clip.motion.crop_xy(&progress);
    // The image is decoded and converted to the encoder's pixel format once;
    // that single frame is repeated in memory and only the crop window moves.
    format!(
        "[{input}:v]format=yuv420p,loop=loop={loops}:size=1:start=0,setpts=N/({fps}*TB),crop=w={width}:h={height}:x='{x}':y='{y}',setsar=1[{label}]",
        loops = frames.saturating_sub(1),
    )
}

/// The ffmpeg arguments of a segment (exposed for tests and diagnostics).
pub fn segment_args(spec: &SegmentSpec, out: &Path) -> MediaResult<Vec<String>> {
    if spec.frames == 0 || spec.width == 0 || spec.height == 0 || spec.fps == 0 {
        return Err(MediaError::Invalid("a segment needs frames, a size and a frame rate".into()));
    }
    let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y"].iter().map(|s| s.to_string()).collect();
    let mut inputs = vec![spec.scene.image.clone()];
    let transition = spec.next.as_ref().map(|_| spec.transition_frames.min(spec.frames.saturating_sub(1))).unwrap_or(0);
    if let (Some(next), true) = (&spec.next, transition > 0) {
        inputs.push(next.image.clone());
    }
    let first_overlay_input = inputs.len();
    inputs.extend(spec.overlays.iter().map(|o| o.image.clone()));
    for input in &inputs {
        args.extend(["-framerate".into(), spec.fps.to_string(), "-i".into(), input.display().to_string()]);
    }

    let mut graph = String::new();
    graph.push_str(&clip_filter(0, &spec.scene, spec.frames, spec.fps, spec.width, spec.height, "a"));
    let mut current = "a".to_string();
    if let (Some(next), true) = (&spec.next, transition > 0) {
        let _ = write!(graph, ";{}", clip_filter(1, next, transition, spec.fps, spec.width, spec.height, "b"));
        let offset = f64::from(spec.frames - transition) / f64::from(spec.fps);
        let duration = f64::from(transition) / f64::from(spec.fps);
        let _ = write!(graph, ";[a][b]xfade=transition=fade:duration={duration:.4}:offset={offset:.4}[x]");
        current = "x".into();
    }
    for (i, overlay) in spec.overlays.iter().enumerate() {
        let label = format!("o{i}");
        let enable = overlay.between.map(|(a, b)| format!(":enable='between(t,{a:.3},{b:.3})'")).unwrap_or_default();
        let _ = write!(
            graph,
            ";[{current}][{input}:v]overlay=x={x}:y={y}:eof_action=repeat{enable}[{label}]",
            input = first_overlay_input + i,
            x = overlay.x,
            y = overlay.y
        );
        current = label;
    }
    // xfade can switch to 4:4:4: force the format phones and browsers play.
    let _ = write!(graph, ";[{current}]format=yuv420p[v]");

    args.extend(
        [
            "-filter_complex",
            &graph,
            "-map",
            "[v]",
            "-frames:v",
            &spec.frames.to_string(),
            "-r",
            &spec.fps.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-profile:v",
            "high",
            "-threads",
            &spec.threads.max(1).to_string(),
            "-g",
            &(spec.fps * 4).to_string(),
            "-an",
            "-f",
            "mp4",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args.push(out.display().to_string());
    Ok(args)
}

/// Renders one segment.
pub async fn render_segment(ffmpeg: &str, spec: &SegmentSpec, out: &Path, timeout: Duration) -> MediaResult<()> {
    let args = segment_args(spec, out)?;
    process::run(ffmpeg, &args, timeout, None).await?;
    Ok(())
}

/// The ffmpeg arguments that scale a picture to cover `width` x `height` and
/// crop the overflow, giving one PNG frame of exactly that size.
pub fn fit_image_args(input: &Path, width: u32, height: u32, out: &Path) -> Vec<String> {
    let filter = format!("scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}");
    let input = input.display().to_string();
    let out = out.display().to_string();
    ["-hide_banner", "-loglevel", "error", "-y", "-i", &input, "-vf", &filter, "-frames:v", "1", &out]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Scales and crops a picture in any format ffmpeg reads (e.g. a provider's
/// answer) to exactly `width` x `height`, as PNG.
pub async fn fit_image(
    ffmpeg: &str,
    input: &Path,
    width: u32,
    height: u32,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    process::run(ffmpeg, &fit_image_args(input, width, height, out), timeout, None).await?;
    Ok(())
}

/// The ffmpeg arguments that take a clip's first frame, scaled to cover
/// `width` x `height` and cropped, as one PNG. The clip is opened as a local
/// file with the demuxer its content was identified as, nothing else.
pub fn clip_still_args(clip: &Path, demuxer: &str, width: u32, height: u32, out: &Path) -> Vec<String> {
    let filter = format!("scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}");
    let clip = clip.display().to_string();
    let out = out.display().to_string();
    [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-protocol_whitelist",
        "file",
        "-f",
        demuxer,
        "-i",
        &clip,
        "-map",
        "0:v:0",
        "-vf",
        &filter,
        "-frames:v",
        "1",
        &out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes a clip's first frame at `width` x `height` (PNG).
pub async fn clip_still(
    ffmpeg: &str,
    clip: &Path,
    demuxer: &str,
    width: u32,
    height: u32,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    process::run(ffmpeg, &clip_still_args(clip, demuxer, width, height, out), timeout, None).await?;
    Ok(())
}

/// Joins segments by stream copy, adds the narration (AAC) and moves the index
/// to the front (`+faststart`).
pub async fn join(
    ffmpeg: &str,
    segments: &[PathBuf],
    narration_wav: &Path,
    out: &Path,
    work: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    if segments.is_empty() {
        return Err(MediaError::Invalid("nothing to join".into()));
    }
    let list = work.join("segments.txt");
    let mut text = String::new();
    for segment in segments {
        let path = segment.display().to_string().replace('\'', "'\\''");
        let _ = writeln!(text, "file '{path}'");
    }
    std::fs::write(&list, text).map_err(|e| MediaError::io("writing the segment list", e))?;
    let list_arg = list.display().to_string();
    let narration_arg = narration_wav.display().to_string();
    let out_arg = out.display().to_string();
    let args = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        &list_arg,
        "-i",
        &narration_arg,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        &out_arg,
    ];
    process::run(ffmpeg, &args, timeout, None).await?;
    Ok(())
}

/// A JPEG thumbnail from `second` into the video, `width` pixels wide.
pub async fn thumbnail(
    ffmpeg: &str,
    video: &Path,
    second: f64,
    width: u32,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    let video_arg = video.display().to_string();
    let out_arg = out.display().to_string();
    let seek = format!("{second:.3}");
    let scale = format!("scale={width}:-2");
    let args = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-ss",
        &seek,
        "-i",
        &video_arg,
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-q:v",
        "4",
        &out_arg,
    ];
    process::run(ffmpeg, &args, timeout, None).await?;
    Ok(())
}

/// Facts read back from a rendered file with ffprobe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Duration in seconds.
    pub duration: f64,
    /// Video width.
    pub width: u32,
    /// Video height.
    pub height: u32,
    /// Video codec name.
    pub video_codec: String,
    /// Audio codec name, when there is audio.
    pub audio_codec: Option<String>,
    /// Pixel format.
    pub pix_fmt: String,
}

/// Reads duration, size and codecs of a media file.
pub async fn probe(ffprobe: &str, path: &Path, timeout: Duration) -> MediaResult<Probe> {
    let path_arg = path.display().to_string();
    let args = [
        "-v",
        "error",
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height,pix_fmt",
        "-of",
        "json",
        &path_arg,
    ];
    let done = process::run(ffprobe, &args, timeout, None).await?;
    let value: serde_json::Value = serde_json::from_slice(&done.stdout)
        .map_err(|e| MediaError::Invalid(format!("unreadable ffprobe output: {e}")))?;
    let streams = value["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .ok_or_else(|| MediaError::Invalid("no video stream".into()))?;
    let audio = streams.iter().find(|s| s["codec_type"] == "audio");
    Ok(Probe {
        duration: value["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0),
        width: video["width"].as_u64().unwrap_or(0) as u32,
        height: video["height"].as_u64().unwrap_or(0) as u32,
        video_codec: video["codec_name"].as_str().unwrap_or_default().to_string(),
        audio_codec: audio.and_then(|a| a["codec_name"].as_str()).map(String::from),
        pix_fmt: video["pix_fmt"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motion_sizes_are_even_and_larger() {
        assert_eq!(motion_size(1280, 720), (1600, 900));
        let (w, h) = motion_size(1080, 1920);
        assert!(w % 2 == 0 && h % 2 == 0 && w > 1080 && h > 1920);
    }

    #[test]
    fn segment_graph_decodes_each_image_once_and_fades() {
        let clip = |name: &str| SceneClip {
            image: PathBuf::from(name),
            motion: Motion::PanRight,
            motion_frames: 100,
            first_motion_frame: 0,
        };
        let spec = SegmentSpec {
            width: 1280,
            height: 720,
            fps: 25,
            frames: 90,
            scene: SceneClip { first_motion_frame: 12, ..clip("a.png") },
            next: Some(clip("b.png")),
            transition_frames: 12,
            overlays: vec![Overlay { image: "cap.png".into(), x: 10, y: 600, between: Some((0.0, 1.5)) }],
            threads: 1,
        };
        let args = segment_args(&spec, Path::new("out.mp4")).expect("args");
        let joined = args.join(" ");
        assert!(!joined.contains("-loop 1"), "no per-frame re-decoding");
        assert!(joined.contains("loop=loop=89:size=1"));
        assert!(joined.contains("loop=loop=11:size=1"));
        assert!(joined.contains("xfade=transition=fade:duration=0.4800:offset=3.1200"));
        assert!(joined.contains("enable='between(t,0.000,1.500)'"));
        assert!(joined.contains("format=yuv420p[v]"));
        assert!(joined.contains("(n+12)/100"));
        assert_eq!(args.iter().filter(|a| *a == "-framerate").count(), 3);
    }

    #[test]
    fn fitted_images_cover_then_crop_to_the_exact_size() {
        let args = fit_image_args(Path::new("in.webp"), 1600, 900, Path::new("out.png"));
        let joined = args.join(" ");
        assert!(joined.contains("-i in.webp"));
        assert!(joined.contains("scale=1600:900:force_original_aspect_ratio=increase,crop=1600:900"));
        assert!(joined.ends_with("-frames:v 1 out.png"));
    }
}
