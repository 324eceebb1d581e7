//! Intake of an uploaded file: what it is (by its bytes, never its name or
//! declared type), its size read from the header before anything decodes it,
//! the EXIF orientation of a JPEG, and the ffprobe/ffmpeg arguments that read
//! it. Every program opens the file with `-protocol_whitelist file` and the
//! demuxer its sniffed type implies (`-f`), so a playlist or concat list
//! dressed up as a clip can never make ffmpeg open another file or a URL.

use std::path::Path;
use std::time::Duration;

use crate::{MediaError, MediaResult, process};

/// The longest side of an image's render copy.
pub const MAX_RENDER_SIDE: u32 = 3840;

/// Width of every thumbnail.
pub const THUMBNAIL_WIDTH: u32 = 320;

/// What the accepted types are, for the refusal of any other.
pub const ACCEPTED: &str = "PNG, JPEG or WebP pictures, MP4, MOV, WebM or Matroska video clips, MP3, AAC, M4A, WAV, Ogg or FLAC audio, \
     and TTF or OTF fonts";

/// A file type recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Png,
    Jpeg,
    WebP,
    Mp4,
    QuickTime,
    WebM,
    Matroska,
    /// MPEG audio layer III (an ID3 tag or a frame sync).
    Mp3,
    /// Raw AAC in ADTS frames.
    Aac,
    /// AAC (or ALAC) in an MP4 of brand `M4A `/`M4B `.
    M4a,
    /// RIFF/WAVE.
    Wav,
    /// Ogg (Vorbis or Opus).
    Ogg,
    /// FLAC.
    Flac,
}

impl Sniffed {
    /// The media type stored and served for it.
    pub fn content_type(self) -> &'static str {
        match self {
            Sniffed::Png => "image/png",
            Sniffed::Jpeg => "image/jpeg",
            Sniffed::WebP => "image/webp",
            Sniffed::Mp4 => "video/mp4",
            Sniffed::QuickTime => "video/quicktime",
            Sniffed::WebM => "video/webm",
            Sniffed::Matroska => "video/x-matroska",
            Sniffed::Mp3 => "audio/mpeg",
            Sniffed::Aac => "audio/aac",
            Sniffed::M4a => "audio/mp4",
            Sniffed::Wav => "audio/wav",
            Sniffed::Ogg => "audio/ogg",
            Sniffed::Flac => "audio/flac",
        }
    }

    /// The file extension of its stored original.
    pub fn extension(self) -> &'static str {
        match self {
            Sniffed::Png => "png",
            Sniffed::Jpeg => "jpg",
            Sniffed::WebP => "webp",
            Sniffed::Mp4 => "mp4",
            Sniffed::QuickTime => "mov",
            Sniffed::WebM => "webm",
            Sniffed::Matroska => "mkv",
            Sniffed::Mp3 => "mp3",
            Sniffed::Aac => "aac",
            Sniffed::M4a => "m4a",
            Sniffed::Wav => "wav",
            Sniffed::Ogg => "ogg",
            Sniffed::Flac => "flac",
        }
    }

    /// A still picture.
    pub fn is_image(self) -> bool {
        matches!(self, Sniffed::Png | Sniffed::Jpeg | Sniffed::WebP)
    }

    /// Sound only (neither a picture nor a clip).
    pub fn is_audio(self) -> bool {
        matches!(self, Sniffed::Mp3 | Sniffed::Aac | Sniffed::M4a | Sniffed::Wav | Sniffed::Ogg | Sniffed::Flac)
    }

    /// The ffmpeg demuxer that reads it (forced with `-f`).
    pub fn demuxer(self) -> &'static str {
        match self {
            Sniffed::Png => "png_pipe",
            Sniffed::Jpeg => "jpeg_pipe",
            Sniffed::WebP => "webp_pipe",
            Sniffed::Mp4 | Sniffed::QuickTime | Sniffed::M4a => "mov",
            Sniffed::WebM | Sniffed::Matroska => "matroska",
            Sniffed::Mp3 => "mp3",
            Sniffed::Aac => "aac",
            Sniffed::Wav => "wav",
            Sniffed::Ogg => "ogg",
            Sniffed::Flac => "flac",
        }
    }
}

/// The demuxer to force (`-protocol_whitelist file -f <demuxer> -i ...`) when
/// opening a stored file of `content_type`; `None` for a type intake never
/// accepts.
pub fn demuxer_for(content_type: &str) -> Option<&'static str> {
    let sniffed = match content_type {
        "image/png" => Sniffed::Png,
        "image/jpeg" => Sniffed::Jpeg,
        "image/webp" => Sniffed::WebP,
        "video/mp4" => Sniffed::Mp4,
        "video/quicktime" => Sniffed::QuickTime,
        "video/webm" => Sniffed::WebM,
        "video/x-matroska" => Sniffed::Matroska,
        "audio/mpeg" => Sniffed::Mp3,
        "audio/aac" => Sniffed::Aac,
        "audio/mp4" => Sniffed::M4a,
        "audio/wav" => Sniffed::Wav,
        "audio/ogg" => Sniffed::Ogg,
        "audio/flac" => Sniffed::Flac,
        _ => return None,
    };
    Some(sniffed.demuxer())
}

/// ISO base media brands of still pictures (HEIF, AVIF): an `ftyp` box, but
/// not a clip.
const IMAGE_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"];

/// The type of a file from its first bytes (at least 16 are needed to tell
/// most types apart); `None` for anything not accepted, an empty file too.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Some(Sniffed::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Sniffed::Jpeg);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(Sniffed::WebP);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        return Some(Sniffed::Wav);
    }
    if head.starts_with(b"OggS") {
        return Some(Sniffed::Ogg);
    }
    if head.starts_with(b"fLaC") {
        return Some(Sniffed::Flac);
    }
    if head.starts_with(b"ID3") {
        return Some(Sniffed::Mp3);
    }
    if let [0xFF, second, ..] = head {
        // A frame sync: ADTS when the layer bits are 00, MPEG audio otherwise
        // (layer 01, layer III; 11 and 10 are layers I and II, also read by
        // the mp3 demuxer).
        if second & 0xF6 == 0xF0 {
            return Some(Sniffed::Aac);
        }
        if second & 0xE0 == 0xE0 && second & 0x06 != 0 {
            return Some(Sniffed::Mp3);
        }
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // The EBML header names its DocType near the start.
        let window = &head[..head.len().min(64)];
        let webm = window.windows(4).any(|w| w == b"webm");
        return Some(if webm { Sniffed::WebM } else { Sniffed::Matroska });
    }
    let atom = head.get(4..8)?;
    if atom == b"ftyp" {
        let brand = head.get(8..12)?;
        if IMAGE_BRANDS.iter().any(|b| b.as_slice() == brand) {
            return None;
        }
        if brand == b"M4A " || brand == b"M4B " {
            return Some(Sniffed::M4a);
        }
        return Some(if brand == b"qt  " { Sniffed::QuickTime } else { Sniffed::Mp4 });
    }
    if matches!(atom, b"moov" | b"mdat" | b"wide" | b"free") {
        return Some(Sniffed::QuickTime);
    }
    None
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

/// A still picture's width and height, read from its header alone (nothing
/// is decoded: a 30,000 x 30,000 PNG of a few KB is refused from these
/// numbers). `None` when the header is not where it must be.
pub fn image_size(sniffed: Sniffed, head: &[u8]) -> Option<(u32, u32)> {
    match sniffed {
        Sniffed::Png => {
            // Signature, then the IHDR chunk: length, "IHDR", width, height.
            if head.get(12..16)? != b"IHDR" {
                return None;
            }
            Some((be32(head, 16)?, be32(head, 20)?))
        }
        Sniffed::Jpeg => jpeg_segments(head).into_iter().find_map(|(marker, payload)| {
            let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            // precision (1), height (2), width (2)
            is_sof.then(|| Some((u32::from(be16(payload, 3)?), u32::from(be16(payload, 1)?)))).flatten()
        }),
        Sniffed::WebP => {
            let chunk = head.get(12..16)?;
            match chunk {
                b"VP8 " => {
                    // Frame tag (3), start code 9d 01 2a, then 14-bit sizes.
                    if head.get(23..26)? != [0x9D, 0x01, 0x2A] {
                        return None;
                    }
                    Some((u32::from(le16(head, 26)? & 0x3FFF), u32::from(le16(head, 28)? & 0x3FFF)))
                }
                b"VP8L" => {
                    if *head.get(20)? != 0x2F {
                        return None;
                    }
                    let bits = u32::from_le_bytes(head.get(21..25)?.try_into().ok()?);
                    Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
                }
                b"VP8X" => Some((le24(head, 24)? + 1, le24(head, 27)? + 1)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The JPEG's marker segments up to the start of the scan, as
/// `(marker, payload)`; stops at the first malformed one.
fn jpeg_segments(bytes: &[u8]) -> Vec<(u8, &[u8])> {
    let mut segments = Vec::new();
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return segments;
    }
    let mut at = 2usize;
    while at < bytes.len() {
        if bytes[at] != 0xFF {
            break;
        }
        // Fill bytes: any number of 0xFF before the marker.
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else { break };
        at += 1;
        match marker {
            // Stand-alone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image, start of scan: no more headers.
            0xD9 | 0xDA => break,
            _ => {}
        }
        let Some(length) = be16(bytes, at) else { break };
        let length = usize::from(length);
        if length < 2 {
            break;
        }
        let Some(payload) = at.checked_add(length).and_then(|end| bytes.get(at + 2..end)) else { break };
        segments.push((marker, payload));
        at += length;
    }
    segments
}

/// The EXIF orientation (1-8) of a JPEG, from its APP1 `Exif` segment;
/// `None` when it has none or it cannot be read. Every offset is checked:
/// a truncated or hostile segment gives `None`, never a panic.
pub fn jpeg_orientation(bytes: &[u8]) -> Option<u8> {
    jpeg_segments(bytes)
        .into_iter()
        .filter(|(marker, _)| *marker == 0xE1)
        .find_map(|(_, payload)| exif_orientation(payload.strip_prefix(b"Exif\0\0")?))
}

fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| if little { le16(tiff, at) } else { be16(tiff, at) };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for index in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(index.checked_mul(12)?)?;
        let tag = u16_at(entry)?;
        if tag != 0x0112 {
            continue;
        }
        // SHORT, one value, held in the entry itself.
        if u16_at(entry + 2)? != 3 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
    }
    None
}

/// Whether an EXIF orientation turns the picture on its side (width and
/// height swap once it is applied).
pub fn orientation_swaps_sides(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// The ffmpeg filter that turns a picture stored with EXIF `orientation`
/// upright (ffmpeg does not apply a JPEG's EXIF orientation itself).
pub fn orientation_filter(orientation: u8) -> Option<&'static str> {
    match orientation {
        2 => Some("hflip"),
        3 => Some("hflip,vflip"),
        4 => Some("vflip"),
        // Transpose across the main diagonal.
        5 => Some("transpose=cclock_flip"),
        6 => Some("transpose=clock"),
        // Transpose across the other diagonal.
        7 => Some("transpose=clock_flip"),
        8 => Some("transpose=cclock"),
        _ => None,
    }
}

/// A local path as an ffmpeg URL of the `file` protocol (the only one allowed).
fn file_url(path: &Path) -> String {
    format!("file:{}", path.display())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// What ffprobe says of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// Of the first video stream.
    pub width: u32,
    /// Of the first video stream.
    pub height: u32,
    /// Seconds, when the container says.
    pub duration_seconds: Option<f64>,
}

/// `ffprobe` arguments for a stored copy read as `sniffed`.
pub fn probe_args(path: &Path, sniffed: Sniffed) -> Vec<String> {
    let url = file_url(path);
    strings(&[
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        sniffed.demuxer(),
        "-show_streams",
        "-show_format",
        "-of",
        "json",
        &url,
    ])
}

/// Reads ffprobe's JSON: the first video stream's size and the duration.
pub fn parse_probe(json: &[u8]) -> MediaResult<Probed> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| MediaError::Invalid(format!("unreadable ffprobe output: {e}")))?;
    let streams = value["streams"].as_array().map(Vec::as_slice).unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| MediaError::Invalid("no picture or video stream".into()))?;
    let side = |key: &str| video[key].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    let (width, height) = (side("width"), side("height"));
    if width == 0 || height == 0 {
        return Err(MediaError::Invalid("the picture's size cannot be read".into()));
    }
    let seconds = |v: &serde_json::Value| v.as_str().and_then(|d| d.parse::<f64>().ok()).filter(|d| d.is_finite());
    let duration_seconds = seconds(&value["format"]["duration"]).or_else(|| seconds(&video["duration"]));
    Ok(Probed { width, height, duration_seconds })
}

/// Reads ffprobe's JSON of a sound file: its duration, which must be known
/// and positive, and an audio stream, which must be there.
pub fn parse_audio_probe(json: &[u8]) -> MediaResult<f64> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| MediaError::Invalid(format!("unreadable ffprobe output: {e}")))?;
    let streams = value["streams"].as_array().map(Vec::as_slice).unwrap_or_default();
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .ok_or_else(|| MediaError::Invalid("no audio stream".into()))?;
    let seconds = |v: &serde_json::Value| v.as_str().and_then(|d| d.parse::<f64>().ok()).filter(|d| d.is_finite());
    seconds(&value["format"]["duration"])
        .or_else(|| seconds(&audio["duration"]))
        .filter(|d| *d > 0.0)
        .ok_or_else(|| MediaError::Invalid("the sound does not say how long it is".into()))
}

/// Probes a stored sound file; its duration in seconds.
pub async fn probe_audio(ffprobe: &str, path: &Path, sniffed: Sniffed, timeout: Duration) -> MediaResult<f64> {
    let done = process::run(ffprobe, &probe_args(path, sniffed), timeout, None).await?;
    parse_audio_probe(&done.stdout)
}

/// ffmpeg arguments for a sound file's thumbnail: its waveform, `THUMBNAIL_WIDTH` wide, as JPEG.
pub fn waveform_args(input: &Path, demuxer: &str, out: &Path) -> Vec<String> {
    let (input, out) = (file_url(input), file_url(out));
    let graph = format!(
        "[0:a:0]aformat=channel_layouts=mono,showwavespic=s={THUMBNAIL_WIDTH}x180:colors=0x4f46e5,\
format=rgba,split[w][s];[s]drawbox=c=0xf4f4f5:t=fill[bg];[bg][w]overlay=format=auto,format=yuvj420p[v]"
    );
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-protocol_whitelist", "file"]);
    args.extend(strings(&["-f", demuxer, "-i", &input, "-filter_complex", &graph, "-map", "[v]"]));
    args.extend(strings(&["-frames:v", "1", "-q:v", "4", "-c:v", "mjpeg", "-f", "image2", "-update", "1", &out]));
    args
}

/// A sound file's thumbnail: its waveform.
pub async fn audio_thumbnail(
    ffmpeg: &str,
    input: &Path,
    sniffed: Sniffed,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    process::run(ffmpeg, &waveform_args(input, sniffed.demuxer(), out), timeout, None).await?;
    written(out)
}

/// Probes a stored copy with the demuxer its sniffed type implies.
pub async fn probe(ffprobe: &str, path: &Path, sniffed: Sniffed, timeout: Duration) -> MediaResult<Probed> {
    let done = process::run(ffprobe, &probe_args(path, sniffed), timeout, None).await?;
    parse_probe(&done.stdout)
}

/// ffmpeg arguments that make an upright PNG of a picture, its longest side
/// at most `MAX_RENDER_SIDE` (never enlarged).
pub fn normalise_image_args(input: &Path, sniffed: Sniffed, orientation: Option<u8>, out: &Path) -> Vec<String> {
    let scale =
        format!("scale='min({MAX_RENDER_SIDE},iw)':'min({MAX_RENDER_SIDE},ih)':force_original_aspect_ratio=decrease");
    let filter = match orientation.and_then(orientation_filter) {
        Some(turn) => format!("{turn},{scale}"),
        None => scale,
    };
    let (input, out) = (file_url(input), file_url(out));
    strings(&[
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-noautorotate",
        "-protocol_whitelist",
        "file",
        "-f",
        sniffed.demuxer(),
        "-i",
        &input,
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &filter,
        "-c:v",
        "png",
        "-f",
        "image2",
        "-update",
        "1",
        &out,
    ])
}

/// Writes the upright, size-capped PNG render copy of a picture.
pub async fn normalise_image(
    ffmpeg: &str,
    input: &Path,
    sniffed: Sniffed,
    orientation: Option<u8>,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    process::run(ffmpeg, &normalise_image_args(input, sniffed, orientation, out), timeout, None).await?;
    written(out)
}

/// ffmpeg arguments for a `THUMBNAIL_WIDTH`-wide JPEG of the frame `at`
/// seconds into `input` (read with `demuxer`).
pub fn thumbnail_args(input: &Path, demuxer: &str, at: Option<f64>, out: &Path) -> Vec<String> {
    let (input, out) = (file_url(input), file_url(out));
    let scale = format!("scale={THUMBNAIL_WIDTH}:-2");
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-protocol_whitelist", "file"]);
    args.extend(strings(&["-f", demuxer]));
    if let Some(at) = at {
        args.extend(strings(&["-ss", &format!("{at:.3}")]));
    }
    args.extend(strings(&[
        "-i",
        &input,
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-q:v",
        "4",
        "-c:v",
        "mjpeg",
        "-f",
        "image2",
        "-update",
        "1",
        &out,
    ]));
    args
}

/// Where in a clip its thumbnail is taken: 1 s in, or 10% of a shorter clip.
pub fn thumbnail_second(duration_seconds: f64) -> f64 {
    (duration_seconds * 0.1).clamp(0.0, 1.0)
}

/// A thumbnail of a picture's render copy (a PNG).
pub async fn image_thumbnail(ffmpeg: &str, render_png: &Path, out: &Path, timeout: Duration) -> MediaResult<()> {
    process::run(ffmpeg, &thumbnail_args(render_png, Sniffed::Png.demuxer(), None, out), timeout, None).await?;
    written(out)
}

/// A thumbnail of a clip: its frame at `thumbnail_second(duration)`.
pub async fn clip_thumbnail(
    ffmpeg: &str,
    clip: &Path,
    sniffed: Sniffed,
    duration_seconds: f64,
    out: &Path,
    timeout: Duration,
) -> MediaResult<()> {
    let at = thumbnail_second(duration_seconds);
    process::run(ffmpeg, &thumbnail_args(clip, sniffed.demuxer(), Some(at), out), timeout, None).await?;
    written(out)
}

/// ffmpeg can succeed and write nothing (a seek past the last frame): that
/// is a file that could not be read.
fn written(out: &Path) -> MediaResult<()> {
    match std::fs::metadata(out) {
        Ok(meta) if meta.len() > 0 => Ok(()),
        _ => Err(MediaError::Invalid("no frame could be decoded".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        png
    }

    /// SOI, an APP1 Exif segment with `orientation` (big- or little-endian
    /// TIFF), then a SOF0 of `width` x `height`.
    fn jpeg_with_orientation(orientation: u16, little: bool, width: u16, height: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        type Short = fn(u16) -> [u8; 2];
        type Long = fn(u32) -> [u8; 4];
        let (u16b, u32b): (Short, Long) =
            if little { (u16::to_le_bytes, u32::to_le_bytes) } else { (u16::to_be_bytes, u32::to_be_bytes) };
        tiff.extend_from_slice(if little { b"II" } else { b"MM" });
        tiff.extend_from_slice(&u16b(42));
        tiff.extend_from_slice(&u32b(8));
        tiff.extend_from_slice(&u16b(2));
        // An unrelated tag first (ImageWidth), then Orientation.
        tiff.extend_from_slice(&u16b(0x0100));
        tiff.extend_from_slice(&u16b(3));
        tiff.extend_from_slice(&u32b(1));
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(&u16b(0x0112));
        tiff.extend_from_slice(&u16b(3));
        tiff.extend_from_slice(&u32b(1));
        tiff.extend_from_slice(&u16b(orientation));
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&u32b(0));
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
        jpeg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        jpeg.extend_from_slice(&payload);
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
        jpeg.extend_from_slice(&height.to_be_bytes());
        jpeg.extend_from_slice(&width.to_be_bytes());
        jpeg.extend_from_slice(&[1, 1, 0x11, 0]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn types_are_told_by_their_bytes() {
        assert_eq!(sniff(&png_header(1, 1)), Some(Sniffed::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]), Some(Sniffed::Jpeg));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(Sniffed::WebP));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"), Some(Sniffed::Mp4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0"), Some(Sniffed::QuickTime));
        assert_eq!(sniff(b"\0\0\0\x08wide\0\0\0\0mdat"), Some(Sniffed::QuickTime));
        assert_eq!(sniff(b"\0\0\x01\0moov\0\0\0\0"), Some(Sniffed::QuickTime));
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"), Some(Sniffed::WebM));
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"), Some(Sniffed::Matroska));
        // Sound: music for a project.
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), Some(Sniffed::Wav));
        assert_eq!(sniff(b"OggS\0\x02\0\0\0\0"), Some(Sniffed::Ogg));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some(Sniffed::Flac));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\x23"), Some(Sniffed::Mp3));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some(Sniffed::Mp3));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some(Sniffed::Aac));
        assert_eq!(sniff(&[0xFF, 0xF9, 0x50, 0x80]), Some(Sniffed::Aac));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A \0\0\x02\0"), Some(Sniffed::M4a));
        assert!(Sniffed::Flac.is_audio() && !Sniffed::Flac.is_image() && !Sniffed::Mp4.is_audio());
        for refused in [
            &b""[..],
            b"hello, this is text pretending to be a PNG",
            b"#EXTM3U\n#EXT-X-VERSION:3\nfile:///etc/passwd\n",
            b"ffconcat version 1.0\nfile /etc/passwd\n",
            b"PK\x03\x04\x14\0\0\0\x08\0",
            b"\0\0\0\x1cftypheic\0\0\0\0",
            b"\0\0\0\x1cftypavif\0\0\0\0",
            b"RIFF\x10\0\0\0AVI LIST",
            b"\x89PNG",
            b"\0\0\0",
        ] {
            assert_eq!(sniff(refused), None, "{:?}", String::from_utf8_lossy(refused));
        }
    }

    #[test]
    fn content_types_and_demuxers_agree() {
        for sniffed in [
            Sniffed::Png,
            Sniffed::Jpeg,
            Sniffed::WebP,
            Sniffed::Mp4,
            Sniffed::QuickTime,
            Sniffed::WebM,
            Sniffed::Matroska,
            Sniffed::Mp3,
            Sniffed::Aac,
            Sniffed::M4a,
            Sniffed::Wav,
            Sniffed::Ogg,
            Sniffed::Flac,
        ] {
            assert_eq!(demuxer_for(sniffed.content_type()), Some(sniffed.demuxer()));
        }
        assert_eq!(demuxer_for("audio/mp4"), Some("mov"));
        assert_eq!(demuxer_for("audio/mpeg"), Some("mp3"));
        assert_eq!(demuxer_for("video/mp4"), Some("mov"));
        assert_eq!(demuxer_for("video/webm"), Some("matroska"));
        assert_eq!(demuxer_for("application/x-mpegurl"), None);
        assert_eq!(demuxer_for("text/plain"), None);
    }

    #[test]
    fn sizes_come_from_the_header() {
        assert_eq!(image_size(Sniffed::Png, &png_header(30_000, 30_000)), Some((30_000, 30_000)));
        assert_eq!(image_size(Sniffed::Png, &png_header(30_000, 30_000)[..20]), None);
        assert_eq!(image_size(Sniffed::Jpeg, &jpeg_with_orientation(1, false, 640, 480)), Some((640, 480)));
        // VP8L: 14-bit width-1 and height-1.
        let bits: u32 = (99) | (49 << 14);
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        vp8l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(image_size(Sniffed::WebP, &vp8l), Some((100, 50)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0x2F, 0x75, 0x00, 0x2F, 0x75, 0x00]);
        assert_eq!(image_size(Sniffed::WebP, &vp8x), Some((30_000, 30_000)));
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a".to_vec();
        vp8.extend_from_slice(&[0x40, 0x01, 0xF0, 0x00]);
        assert_eq!(image_size(Sniffed::WebP, &vp8), Some((320, 240)));
        assert_eq!(image_size(Sniffed::WebP, b"RIFF\0\0\0\0WEBPVP8 "), None);
    }

    #[test]
    fn exif_orientation_is_read_in_both_byte_orders() {
        for orientation in 1..=8u16 {
            for little in [false, true] {
                let jpeg = jpeg_with_orientation(orientation, little, 64, 32);
                assert_eq!(jpeg_orientation(&jpeg), Some(orientation as u8), "{orientation} {little}");
            }
        }
        assert_eq!(jpeg_orientation(&jpeg_with_orientation(9, false, 1, 1)), None);
        assert_eq!(jpeg_orientation(&jpeg_with_orientation(0, true, 1, 1)), None);
        assert!(orientation_swaps_sides(6) && orientation_swaps_sides(8) && !orientation_swaps_sides(3));
    }

    #[test]
    fn hostile_exif_never_panics() {
        let good = jpeg_with_orientation(6, false, 64, 32);
        // Every truncation of a valid file.
        for end in 0..good.len() {
            let _ = jpeg_orientation(&good[..end]);
            let _ = image_size(Sniffed::Jpeg, &good[..end]);
        }
        // Every single-byte corruption, with extreme values.
        for at in 0..good.len() {
            for value in [0x00, 0x01, 0x7F, 0xFE, 0xFF] {
                let mut bad = good.clone();
                bad[at] = value;
                let _ = jpeg_orientation(&bad);
                let _ = image_size(Sniffed::Jpeg, &bad);
            }
        }
        // An IFD offset and an entry count pointing far past the end.
        let mut far = b"\xff\xd8\xff\xe1\x00\x16Exif\0\0MM\0\x2a\xff\xff\xff\xf0".to_vec();
        far.extend_from_slice(&[0xFF, 0xFF]);
        assert_eq!(jpeg_orientation(&far), None);
        let mut many = b"\xff\xd8\xff\xe1\x00\x14Exif\0\0II\x2a\0\x08\0\0\0".to_vec();
        many.extend_from_slice(&[0xFF, 0xFF]);
        assert_eq!(jpeg_orientation(&many), None);
        // A segment length of 0, 1 and past the end.
        for length in [[0u8, 0u8], [0, 1], [0xFF, 0xFF]] {
            let mut bad = vec![0xFF, 0xD8, 0xFF, 0xE1];
            bad.extend_from_slice(&length);
            bad.extend_from_slice(b"Exif\0\0MM");
            assert_eq!(jpeg_orientation(&bad), None);
        }
        assert_eq!(jpeg_orientation(b""), None);
        assert_eq!(jpeg_orientation(&[0xFF, 0xD8, 0xFF, 0xFF, 0xFF]), None);
    }

    #[test]
    fn every_program_reads_only_local_files_with_the_sniffed_demuxer() {
        let input = Path::new("/work/upload/original");
        let probe = probe_args(input, Sniffed::Mp4).join(" ");
        assert!(probe.contains("-protocol_whitelist file -f mov"), "{probe}");
        assert!(probe.ends_with("file:/work/upload/original"), "{probe}");
        let normalise = normalise_image_args(input, Sniffed::Jpeg, Some(6), Path::new("/w/render.png"));
        let joined = normalise.join(" ");
        assert!(joined.contains("-noautorotate -protocol_whitelist file -f jpeg_pipe -i file:/work/upload/original"));
        assert!(
            joined.contains(
                "-vf transpose=clock,scale='min(3840,iw)':'min(3840,ih)':force_original_aspect_ratio=decrease"
            )
        );
        assert!(joined.ends_with("-c:v png -f image2 -update 1 file:/w/render.png"), "{joined}");
        let upright = normalise_image_args(input, Sniffed::Png, None, Path::new("r.png")).join(" ");
        assert!(upright.contains("-f png_pipe") && !upright.contains("transpose"), "{upright}");
        let thumb = thumbnail_args(input, "matroska", Some(0.2), Path::new("t.jpg")).join(" ");
        assert!(thumb.contains("-protocol_whitelist file -f matroska -ss 0.200 -i file:/work/upload/original"));
        assert!(thumb.contains("-vf scale=320:-2"), "{thumb}");
        // Every input is preceded by the whitelist and a forced demuxer.
        for args in [probe_args(input, Sniffed::WebM), normalise, thumbnail_args(input, "mov", None, Path::new("t"))] {
            let whitelist = args.iter().position(|a| a == "-protocol_whitelist").expect("whitelist");
            let forced = args.iter().position(|a| a == "-f").expect("demuxer");
            let input = args.iter().position(|a| a.starts_with("file:/work")).expect("input");
            assert!(whitelist < input && forced < input, "{args:?}");
        }
    }

    #[test]
    fn orientation_filters() {
        assert_eq!(orientation_filter(1), None);
        assert_eq!(orientation_filter(6), Some("transpose=clock"));
        assert_eq!(orientation_filter(8), Some("transpose=cclock"));
        assert_eq!(orientation_filter(3), Some("hflip,vflip"));
        assert_eq!(orientation_filter(42), None);
    }

    #[test]
    fn probes_are_parsed() {
        let clip = br#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":320,"height":240}],
            "format":{"duration":"2.000000"}}"#;
        assert_eq!(parse_probe(clip).expect("clip"), Probed { width: 320, height: 240, duration_seconds: Some(2.0) });
        let image = br#"{"streams":[{"codec_type":"video","width":64,"height":32}],"format":{}}"#;
        assert_eq!(parse_probe(image).expect("image").duration_seconds, None);
        for bad in [
            &br#"{"streams":[{"codec_type":"audio"}],"format":{"duration":"2.0"}}"#[..],
            br#"{"streams":[{"codec_type":"video","width":0,"height":0}]}"#,
            br#"{}"#,
            b"not json",
        ] {
            assert!(parse_probe(bad).is_err());
        }
        assert_eq!(thumbnail_second(2.0), 0.2);
        assert_eq!(thumbnail_second(60.0), 1.0);
    }
}
