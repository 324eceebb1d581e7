//! ffmpeg rendering: one video-only segment per scene (motion by a moving crop
//! window over an image decoded once, a crossfade into the next scene, caption
//! and watermark overlays), then a stream-copy join with the finished audio
//! (`crate::mix`).

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

/// The demuxer a clip is opened with. The caller names it from what intake
/// found (never from the file's name alone), and ffmpeg is never left to guess:
/// a guessed format could be a playlist or a concat list that reads other
/// files or URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Demuxer {
    /// MP4 and QuickTime (`-f mov`; external data references stay off, the
    /// demuxer's default).
    Mov,
    /// Matroska and WebM (`-f matroska`).
    Matroska,
}

impl Demuxer {
    /// The name ffmpeg knows it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Demuxer::Mov => "mov",
            Demuxer::Matroska => "matroska",
        }
    }

    /// The demuxer for a container named by ffprobe's `format_name` or a file
    /// extension (`mp4`, `mov`, `m4v`, `webm`, `mkv`); None for anything else.
    pub fn for_container(name: &str) -> Option<Self> {
        let first = name.split(',').next().unwrap_or_default().trim().to_ascii_lowercase();
        match first.as_str() {
            "mov" | "mp4" | "m4v" | "qt" => Some(Demuxer::Mov),
            "matroska" | "webm" | "mkv" => Some(Demuxer::Matroska),
            _ => None,
        }
    }
}

/// What a scene shows over time: the scene's own visual, or the next scene's
/// faded into at the end of a segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Visual {
    /// A picture at `motion_size` of the frame, decoded once, under a moving
    /// crop window.
    Still {
        /// Image at `motion_size` of the frame.
        image: PathBuf,
        /// Its motion.
        motion: Motion,
        /// Frames over which the whole motion runs (the scene's total on-screen time).
        motion_frames: u32,
        /// Motion frame at which this segment starts.
        first_motion_frame: u32,
    },
    /// A video clip (sound dropped), scaled to cover the frame and centre
    /// cropped, at the output frame rate; held on its last frame when it ends
    /// before the scene does. Only what the segment shows is decoded: the
    /// input seeks to `first_frame` and stops a second after the last frame
    /// shown.
    Clip {
        /// The local file.
        path: PathBuf,
        /// Its container.
        demuxer: Demuxer,
        /// Frame (at the output rate) the segment starts at: the frames the
        /// previous segment showed during its crossfade into this scene, or 0
        /// when this is the next scene faded into.
        first_frame: u32,
    },
}

/// Read past a clip's last frame shown, so the frame-rate conversion sees the
/// frame after it (a frame is shown until the next one starts) whatever the
/// clip's own rate.
const CLIP_READ_MARGIN_SECONDS: f64 = 1.0;

impl Visual {
    /// ffmpeg's input options and the input itself, for a segment that shows
    /// `frames` frames of it; a clip's decoder gets `threads` (like the
    /// encoder: two renders sharing two cores run best single-threaded, and
    /// frame threads cost CPU to keep in step).
    fn input_args(&self, fps: u32, threads: u32, frames: u32) -> Vec<String> {
        match self {
            Visual::Still { image, .. } => {
                vec!["-framerate".into(), fps.to_string(), "-i".into(), image.display().to_string()]
            }
            Visual::Clip { path, demuxer, first_frame } => {
                let mut args = Vec::new();
                if *first_frame > 0 {
                    // Fast seek: decoding starts at the key frame before the
                    // first frame shown, not at the clip's start. `-itsoffset`
                    // by the same amount puts the timestamps back where a
                    // decode from the start has them, so the frame-rate
                    // conversion picks exactly the same frames and `filter`
                    // trims by output frame number, as if nothing had been
                    // skipped. (Trimming from 0 after a plain `-ss` is off by
                    // a frame for clips at 24, 25 or 60 fps, and is empty when
                    // the clip ends before the seek point; here the last key
                    // frame is decoded and held.)
                    let at = format!("{:.6}", f64::from(*first_frame) / f64::from(fps));
                    args.extend(["-ss".into(), at.clone(), "-itsoffset".into(), at]);
                }
                // Nothing after the last frame shown is read, e.g. of the next
                // scene's clip, of which a crossfade shows half a second.
                let end = f64::from(first_frame.saturating_add(frames)) / f64::from(fps) + CLIP_READ_MARGIN_SECONDS;
                args.extend(["-t".into(), format!("{end:.6}")]);
                // A local file only, in the container the caller named: ffmpeg may
                // not guess the format nor open anything but this file.
                args.extend([
                    "-threads".into(),
                    threads.max(1).to_string(),
                    "-protocol_whitelist".into(),
                    "file".into(),
                    "-f".into(),
                    demuxer.as_str().into(),
                    "-i".into(),
                    path.display().to_string(),
                ]);
                args
            }
        }
    }

    /// The filter chain from input `input` to `[label]`: `frames` frames of
    /// `width` x `height` yuv420p at `fps`, timestamps from 0.
    fn filter(&self, input: usize, frames: u32, fps: u32, width: u32, height: u32, label: &str) -> String {
        match self {
            Visual::Still { motion, motion_frames, first_motion_frame, .. } => {
                let total = (*motion_frames).max(1);
                let progress = format!("min(1,(n+{first_motion_frame})/{total})");
                let (x, y) = motion.crop_xy(&progress);
                // The image is decoded and converted to the encoder's pixel format once;
                // that single frame is repeated in memory and only the crop window moves.
                format!(
                    "[{input}:v]format=yuv420p,loop=loop={loops}:size=1:start=0,setpts=N/({fps}*TB),crop=w={width}:h={height}:x='{x}':y='{y}',setsar=1[{label}]",
                    loops = frames.saturating_sub(1),
                )
            }
            Visual::Clip { first_frame, .. } => {
                // The frame rate is converted first, on the clip's own
                // timestamps (`input_args` keeps them through a seek) from
                // time 0, so output frame n is the same clip frame in every
                // segment and `first_frame` continues exactly where the
                // previous segment's crossfade stopped, whatever the clip's
                // own rate. The conversion only passes references; pixels are
                // touched from the scale on, and only for the frames shown:
                // those before `first_frame` are trimmed before it, and a
                // clip that ends early is held on its last frame (tpad clones
                // it, a hold reads as a pause, a loop as a glitch) after it,
                // so the held frame is scaled once. The first tpad keeps the
                // last frame through the trim when the clip ends even before
                // `first_frame`. `dar` includes the sample aspect ratio, so
                // anamorphic clips keep their shape.
                let end = first_frame.saturating_add(frames);
                let skip = if *first_frame > 0 {
                    format!("tpad=stop_mode=clone:stop={first_frame},trim=start_pts={first_frame},")
                } else {
                    String::new()
                };
                format!(
                    "[{input}:v:0]fps={fps}:start_time=0,{skip}\
scale=w='max({width},round({height}*dar))':h='max({height},round({width}/dar))':flags={CLIP_SCALE_FLAGS},\
crop={width}:{height},setsar=1,format=yuv420p,\
tpad=stop_mode=clone:stop=-1,trim=end_pts={end},setpts=N/({fps}*TB)[{label}]"
                )
            }
        }
    }
}

/// Scaler of clip frames. Bilinear: as sharp as bicubic after a 1080p to 720p
/// downscale (swscale widens the filter when shrinking), and cheaper;
/// `fast_bilinear` does not widen it and aliases.
const CLIP_SCALE_FLAGS: &str = "bilinear";

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
    pub scene: Visual,
    /// The next scene, cross-faded in over the last `transition_frames` frames.
    pub next: Option<Visual>,
    /// Length of the crossfade in frames (0 = cut).
    pub transition_frames: u32,
    /// Captions and watermark.
    pub overlays: Vec<Overlay>,
    /// x264 threads (1 lets two segments share two cores without contention).
    pub threads: u32,
}

/// The ffmpeg arguments of a segment (exposed for tests and diagnostics).
pub fn segment_args(spec: &SegmentSpec, out: &Path) -> MediaResult<Vec<String>> {
    if spec.frames == 0 || spec.width == 0 || spec.height == 0 || spec.fps == 0 {
        return Err(MediaError::Invalid("a segment needs frames, a size and a frame rate".into()));
    }
    let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y"].iter().map(|s| s.to_string()).collect();
    let transition = spec.next.as_ref().map(|_| spec.transition_frames.min(spec.frames.saturating_sub(1))).unwrap_or(0);
    let next = spec.next.as_ref().filter(|_| transition > 0);
    args.extend(spec.scene.input_args(spec.fps, spec.threads, spec.frames));
    if let Some(next) = next {
        args.extend(next.input_args(spec.fps, spec.threads, transition));
    }
    let first_overlay_input = 1 + usize::from(next.is_some());
    for overlay in &spec.overlays {
        args.extend(["-framerate".into(), spec.fps.to_string(), "-i".into(), overlay.image.display().to_string()]);
    }

    let (w, h, fps) = (spec.width, spec.height, spec.fps);
    let mut graph = spec.scene.filter(0, spec.frames, fps, w, h, "a");
    let mut current = "a".to_string();
    if let Some(next) = next {
        let _ = write!(graph, ";{}", next.filter(1, transition, fps, w, h, "b"));
        // Only the crossfade's frames go through xfade: it works in 4:4:4 in
        // this ffmpeg, and converting every frame of the segment there and
        // back cost more than the fade itself.
        let head = spec.frames - transition;
        let duration = f64::from(transition) / f64::from(fps);
        let _ = write!(
            graph,
            ";[a]split[ah][at];[ah]trim=end_frame={head}[h];[at]trim=start_frame={head},setpts=PTS-STARTPTS[t];\
[t][b]xfade=transition=fade:duration={duration:.4}:offset=0,format=yuv420p[f];[h][f]concat=n=2:v=1:a=0[x]"
        );
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

/// Aspect ratios closer than this (relative) are cover-cropped, not filled:
/// a 2% crop loses nothing anyone misses, and bands that thin look like a fault.
const FIT_ASPECT_TOLERANCE: f64 = 0.02;

/// The ffmpeg arguments that fit an uploaded PNG of `source` (width, height)
/// pixels into exactly `width` x `height` without cropping it: the picture is
/// scaled to fit inside the frame, centred, over a blurred and darkened copy of
/// itself that covers the frame. When its aspect ratio is within 2% of the
/// frame's, it is simply scaled to cover and centre-cropped. One opaque PNG out.
pub fn fit_picture_args(
    input: &Path,
    source: (u32, u32),
    width: u32,
    height: u32,
    out: &Path,
) -> MediaResult<Vec<String>> {
    let (sw, sh) = source;
    if sw == 0 || sh == 0 || width == 0 || height == 0 {
        return Err(MediaError::Invalid("a picture and its frame need a size".into()));
    }
    let picture = f64::from(sw) / f64::from(sh);
    let frame = f64::from(width) / f64::from(height);
    let graph = if (picture / frame - 1.0).abs() <= FIT_ASPECT_TOLERANCE {
        format!(
            "[0:v]scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1,format=rgb24[v]"
        )
    } else {
        // The fill is blurred at 1/16 of the frame (a few thousand pixels, so
        // the blur costs nothing) and scaled back up, which smooths it further.
        let (bw, bh) = ((width / 16).max(2), (height / 16).max(2));
        format!(
            "[0:v]format=rgba,split[p][c];\
[c]scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},gblur=sigma=4,\
colorchannelmixer=rr=0.55:gg=0.55:bb=0.55,scale={width}:{height}:flags=bicubic,setsar=1[bg];\
[p]scale={width}:{height}:force_original_aspect_ratio=decrease,setsar=1[fg];\
[bg][fg]overlay=x=(W-w)/2:y=(H-h)/2:format=rgb,format=rgb24[v]"
        )
    };
    let input = input.display().to_string();
    let out = out.display().to_string();
    Ok([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-protocol_whitelist",
        "file",
        "-f",
        "png_pipe",
        "-i",
        &input,
        "-filter_complex",
        &graph,
        "-map",
        "[v]",
        "-frames:v",
        "1",
        "-f",
        "image2",
        "-c:v",
        "png",
        &out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect())
}

/// Width and height of a PNG, read from its header.
pub fn png_dimensions(path: &Path) -> MediaResult<(u32, u32)> {
    use std::io::Read as _;
    let mut head = [0u8; 24];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|e| MediaError::io("reading the picture", e))?;
    if &head[..8] != b"\x89PNG\r\n\x1a\n" || &head[12..16] != b"IHDR" {
        return Err(MediaError::Invalid("the picture is not a PNG".into()));
    }
    let side = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Ok((side(16), side(20)))
}

/// Fits an uploaded picture (a local PNG; intake turns every upload into one)
/// into exactly `width` x `height` keeping all of it (`fit_picture_args`), as
/// PNG. Called at `motion_size` of the frame, the template's motion then pans
/// across it like across a card.
pub async fn fit_picture(
    ffmpeg: &str,
    input: &Path,
    width: u32,
    height: u32,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    let source = png_dimensions(input)?;
    process::run(ffmpeg, &fit_picture_args(input, source, width, height, out)?, timeout, None).await?;
    Ok(())
}

/// The ffmpeg arguments that take a clip's first frame, scaled to cover
/// `width` x `height` and cropped, as one PNG. The clip is opened as a local
/// file in the container the caller named, nothing else.
pub fn clip_still_args(clip: &Path, demuxer: Demuxer, width: u32, height: u32, out: &Path) -> Vec<String> {
    let filter = format!("scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1");
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
        demuxer.as_str(),
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

/// Writes a clip's first frame at `width` x `height` (PNG): its picture on a storyboard.
pub async fn clip_still(
    ffmpeg: &str,
    clip: &Path,
    demuxer: Demuxer,
    width: u32,
    height: u32,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    process::run(ffmpeg, &clip_still_args(clip, demuxer, width, height, out), timeout, None).await?;
    Ok(())
}

/// Joins segments by stream copy and adds the finished audio (`mix::master`'s
/// AAC, also copied): nothing is encoded here. The index goes to the front
/// (`+faststart`).
pub async fn join(
    ffmpeg: &str,
    segments: &[PathBuf],
    audio: &Path,
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
        // The concat demuxer reads a relative path from the list's folder, not ours.
        let segment = std::path::absolute(segment).map_err(|e| MediaError::io("finding a segment", e))?;
        let path = segment.display().to_string().replace('\'', "'\\''");
        let _ = writeln!(text, "file '{path}'");
    }
    std::fs::write(&list, text).map_err(|e| MediaError::io("writing the segment list", e))?;
    process::run(ffmpeg, &join_args(&list, audio, out), timeout, None).await?;
    Ok(())
}

/// The join's arguments: the segment list, the finished audio, both copied.
pub fn join_args(list: &Path, audio: &Path, out: &Path) -> Vec<String> {
    let list_arg = list.display().to_string();
    let audio_arg = format!("file:{}", audio.display());
    let out_arg = out.display().to_string();
    [
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
        "-protocol_whitelist",
        "file",
        "-f",
        "mov",
        "-i",
        &audio_arg,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        &out_arg,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
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

    fn still(name: &str, first_motion_frame: u32) -> Visual {
        Visual::Still { image: PathBuf::from(name), motion: Motion::PanRight, motion_frames: 100, first_motion_frame }
    }

    fn clip(name: &str, demuxer: Demuxer, first_frame: u32) -> Visual {
        Visual::Clip { path: PathBuf::from(name), demuxer, first_frame }
    }

    fn spec(scene: Visual, next: Option<Visual>) -> SegmentSpec {
        SegmentSpec {
            width: 1280,
            height: 720,
            fps: 25,
            frames: 90,
            scene,
            next,
            transition_frames: 12,
            overlays: vec![Overlay { image: "cap.png".into(), x: 10, y: 600, between: Some((0.0, 1.5)) }],
            threads: 1,
        }
    }

    #[test]
    fn segment_graph_decodes_each_image_once_and_fades() {
        let args =
            segment_args(&spec(still("a.png", 12), Some(still("b.png", 0))), Path::new("out.mp4")).expect("args");
        let joined = args.join(" ");
        assert!(!joined.contains("-loop 1"), "no per-frame re-decoding");
        assert!(joined.contains("loop=loop=89:size=1"));
        assert!(joined.contains("loop=loop=11:size=1"));
        // Only the last 12 frames go through xfade.
        assert!(joined.contains("[ah]trim=end_frame=78[h];[at]trim=start_frame=78,setpts=PTS-STARTPTS[t]"));
        assert!(joined.contains("[t][b]xfade=transition=fade:duration=0.4800:offset=0,format=yuv420p[f]"));
        assert!(joined.contains("[h][f]concat=n=2:v=1:a=0[x];[x][2:v]overlay"));
        assert!(joined.contains("enable='between(t,0.000,1.500)'"));
        assert!(joined.contains("format=yuv420p[v]"));
        assert!(joined.contains("(n+12)/100"));
        assert_eq!(args.iter().filter(|a| *a == "-framerate").count(), 3);
        assert!(!joined.contains("protocol_whitelist"), "stills are opened as before");
    }

    #[test]
    fn a_cut_has_no_crossfade() {
        let args = segment_args(&spec(still("a.png", 0), None), Path::new("out.mp4")).expect("args");
        let joined = args.join(" ");
        assert!(!joined.contains("xfade") && !joined.contains("concat"));
        assert!(joined.contains("[a][1:v]overlay"));
    }

    /// Every clip input is a local file in the named container: the whitelist
    /// and the demuxer come right before its `-i`.
    fn assert_clip_inputs_locked(args: &[String], clips: &[(&str, &str)]) {
        for (path, demuxer) in clips {
            let at = args.iter().position(|a| a == path).expect("the clip is an input");
            assert_eq!(args[at - 1], "-i");
            assert_eq!(&args[at - 7..at - 1], ["-threads", "1", "-protocol_whitelist", "file", "-f", demuxer]);
        }
        let inputs = args.iter().filter(|a| *a == "-i").count();
        let framerates = args.iter().filter(|a| *a == "-framerate").count();
        assert_eq!(inputs, framerates + clips.len(), "each input is a picture with a rate or a locked clip");
    }

    #[test]
    fn a_clip_scene_is_opened_as_a_local_file_in_its_container() {
        let s = spec(clip("a.mp4", Demuxer::Mov, 12), Some(clip("b.webm", Demuxer::Matroska, 0)));
        let args = segment_args(&s, Path::new("out.mp4")).expect("args");
        assert_clip_inputs_locked(&args, &[("a.mp4", "mov"), ("b.webm", "matroska")]);
        let joined = args.join(" ");
        // Its own clip continues after the 12 frames the previous segment showed
        // (output frames 12..102 of the clip's own timeline)...
        assert!(joined.contains("[0:v:0]fps=25:start_time=0,tpad=stop_mode=clone:stop=12,trim=start_pts=12,scale="));
        assert!(joined.contains("tpad=stop_mode=clone:stop=-1,trim=end_pts=102,setpts=N/(25*TB)[a]"));
        // ...and the next scene's clip starts at its beginning, for the 12 crossfade frames.
        assert!(joined.contains("[1:v:0]fps=25:start_time=0,scale="));
        assert!(joined.contains("tpad=stop_mode=clone:stop=-1,trim=end_pts=12,setpts=N/(25*TB)[b]"));
        assert!(joined.contains("scale=w='max(1280,round(720*dar))':h='max(720,round(1280/dar))'"));
        assert!(joined.contains("crop=1280:720,setsar=1,format=yuv420p,tpad"));
        assert!(joined.contains("-map [v]") && joined.contains(" -an "), "video only");
        assert!(!joined.contains(":a]") && !joined.contains("-map 0") && !joined.contains("-map 1"));
    }

    #[test]
    fn stills_and_clips_fade_into_each_other() {
        let into_clip =
            segment_args(&spec(still("a.png", 0), Some(clip("b.mov", Demuxer::Mov, 0))), Path::new("o")).expect("args");
        assert_clip_inputs_locked(&into_clip, &[("b.mov", "mov")]);
        assert_eq!(into_clip.iter().filter(|a| *a == "-framerate").count(), 2);
        let joined = into_clip.join(" ");
        assert!(joined.contains("[0:v]format=yuv420p,loop=loop=89:size=1"));
        assert!(joined.contains("[1:v:0]fps=25:start_time=0,scale="));
        assert!(joined.contains("trim=end_pts=12,setpts=N/(25*TB)[b]"));

        let from_clip =
            segment_args(&spec(clip("a.webm", Demuxer::Matroska, 5), Some(still("b.png", 0))), Path::new("o"))
                .expect("args");
        assert_clip_inputs_locked(&from_clip, &[("a.webm", "matroska")]);
        let joined = from_clip.join(" ");
        assert!(joined.contains("tpad=stop_mode=clone:stop=5,trim=start_pts=5,"));
        assert!(joined.contains("trim=end_pts=95,"));
        assert!(joined.contains("[1:v]format=yuv420p,loop=loop=11:size=1"));
    }

    /// The seek and read-limit options right before a clip input's `-threads`.
    fn clip_input_options<'a>(args: &'a [String], path: &str) -> &'a [String] {
        let at = args.iter().position(|a| a == path).expect("the clip is an input");
        let threads = at - 7;
        let mut start = threads;
        while start >= 2 && ["-ss", "-itsoffset", "-t"].contains(&args[start - 2].as_str()) {
            start -= 2;
        }
        &args[start..threads]
    }

    #[test]
    fn a_continued_clip_seeks_and_keeps_its_timestamps() {
        let s = spec(clip("a.mp4", Demuxer::Mov, 12), Some(clip("b.mp4", Demuxer::Mov, 0)));
        let args = segment_args(&s, Path::new("out.mp4")).expect("args");
        // 12 frames at 25 fps: decoding starts at the key frame before 0.48 s,
        // and the timestamps are moved back by as much, so the graph sees the
        // clip's own timeline and trims it by output frame.
        let scene = clip_input_options(&args, "a.mp4");
        assert_eq!(scene[..4], ["-ss", "0.480000", "-itsoffset", "0.480000"]);
        // The next scene's clip starts at its beginning: no seek.
        let next = clip_input_options(&args, "b.mp4");
        assert!(!next.iter().any(|a| a == "-ss" || a == "-itsoffset"), "{next:?}");
        assert_eq!(args.iter().filter(|a| *a == "-ss").count(), 1);

        // A segment that starts at the clip's start seeks nowhere.
        let args = segment_args(&spec(clip("a.mp4", Demuxer::Mov, 0), None), Path::new("out.mp4")).expect("args");
        assert!(!args.iter().any(|a| a == "-ss" || a == "-itsoffset"));
        assert!(!args.join(" ").contains("start_pts"));
    }

    #[test]
    fn clip_inputs_are_read_only_as_far_as_the_segment_shows_them() {
        let s = spec(clip("a.mp4", Demuxer::Mov, 12), Some(clip("b.mp4", Demuxer::Mov, 0)));
        let args = segment_args(&s, Path::new("out.mp4")).expect("args");
        // The scene's clip up to its frame 102 (4.08 s), the next one's up to
        // the end of the 12-frame crossfade (0.48 s), each plus a second.
        let scene = clip_input_options(&args, "a.mp4");
        assert_eq!(scene[4..], ["-t", "5.080000"]);
        let next = clip_input_options(&args, "b.mp4");
        assert_eq!(next, ["-t", "1.480000"]);
        // A crossfade longer than the segment is cut to it, and so is the read.
        let long = SegmentSpec { transition_frames: 500, ..s };
        let args = segment_args(&long, Path::new("out.mp4")).expect("args");
        assert_eq!(clip_input_options(&args, "b.mp4"), ["-t", "4.560000"]);
    }

    /// Raw frames of a segment's graph (before encoding), as MD5 per frame.
    fn graph_frames(spec: &SegmentSpec) -> Vec<String> {
        let mut args = segment_args(spec, Path::new("-")).expect("args");
        let encoder = args.iter().position(|a| a == "-r").expect("output options");
        args.truncate(encoder);
        args.extend(["-f", "framemd5", "-"].map(String::from));
        let out = std::process::Command::new("ffmpeg").args(&args).output().expect("ffmpeg runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit(',').next().unwrap_or_default().trim().to_string())
            .collect()
    }

    #[test]
    fn a_seeked_continuation_shows_exactly_the_frames_a_full_decode_does() {
        let dir = tempfile::tempdir().expect("temporary directory");
        // 25 fps into a 30 fps segment (the rate conversion repeats a frame in
        // five, where a plain seek goes wrong), a key frame every 10 frames (so
        // the seek skips some), every frame different; 3 s and 1 s long.
        let make = |name: &str, seconds: &str| {
            let path = dir.path().join(name);
            let status = std::process::Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
                .arg("testsrc2=size=320x180:rate=25,eq=brightness='n/100-0.3':eval=frame")
                .args(["-t", seconds, "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p"])
                .arg(&path)
                .status()
                .expect("ffmpeg runs");
            assert!(status.success());
            path
        };
        let long = make("long.mp4", "3");
        let short = make("short.mp4", "1");
        let segment = |path: &Path, first_frame: u32, frames: u32| SegmentSpec {
            width: 320,
            height: 180,
            fps: 30,
            frames,
            scene: Visual::Clip { path: path.to_path_buf(), demuxer: Demuxer::Mov, first_frame },
            next: None,
            transition_frames: 0,
            overlays: Vec::new(),
            threads: 1,
        };
        // In the middle of the clip, and past the end of the short one (held
        // on its last frame).
        for (path, first_frame) in [(&long, 47), (&long, 31), (&short, 20), (&short, 40)] {
            let whole = graph_frames(&segment(path, 0, first_frame + 20));
            let continued = graph_frames(&segment(path, first_frame, 20));
            assert!(
                segment_args(&segment(path, first_frame, 20), Path::new("-")).expect("args").contains(&"-ss".into())
            );
            assert_eq!(whole.len() as u32, first_frame + 20);
            assert_eq!(continued, whole[first_frame as usize..], "{path:?} from frame {first_frame}");
        }
        // The short clip is held: its last frames are all the same.
        let held = graph_frames(&segment(&short, 40, 20));
        assert!(held.iter().all(|h| *h == held[0]));
    }

    #[test]
    fn demuxers_come_from_known_containers_only() {
        assert_eq!(Demuxer::for_container("mov,mp4,m4a,3gp,3g2,mj2"), Some(Demuxer::Mov));
        assert_eq!(Demuxer::for_container("MP4"), Some(Demuxer::Mov));
        assert_eq!(Demuxer::for_container("matroska,webm"), Some(Demuxer::Matroska));
        assert_eq!(Demuxer::for_container("webm"), Some(Demuxer::Matroska));
        for other in ["concat", "hls", "image2", "", "avi"] {
            assert_eq!(Demuxer::for_container(other), None, "{other}");
        }
    }

    #[test]
    fn pictures_of_another_shape_are_fitted_over_a_blurred_fill() {
        let args = fit_picture_args(Path::new("in.png"), (1000, 200), 1600, 900, Path::new("out.png")).expect("args");
        let joined = args.join(" ");
        assert!(joined.contains("-protocol_whitelist file -f png_pipe -i in.png"));
        assert!(joined.contains("[p]scale=1600:900:force_original_aspect_ratio=decrease"));
        assert!(joined.contains("scale=100:56:force_original_aspect_ratio=increase,crop=100:56,gblur"));
        assert!(joined.contains("overlay=x=(W-w)/2:y=(H-h)/2"));
        assert!(joined.ends_with("-frames:v 1 -f image2 -c:v png out.png"));
        // Within 2% of 16:9: a plain cover crop.
        let args = fit_picture_args(Path::new("in.png"), (1900, 1080), 1600, 900, Path::new("out.png")).expect("args");
        let joined = args.join(" ");
        assert!(joined.contains("scale=1600:900:force_original_aspect_ratio=increase,crop=1600:900"));
        assert!(!joined.contains("gblur"));
        assert!(fit_picture_args(Path::new("in.png"), (0, 10), 1600, 900, Path::new("o.png")).is_err());
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
