//! The one intake of a file into the library: the upload is streamed to a
//! scratch file chunk by chunk (never held whole) and cut off past
//! `MEDIA_MAX_MB`; its type comes from its bytes; a picture's size from its
//! header before anything decodes it; then ffprobe (forced demuxer, local
//! files only) checks that it reads, the limits are applied, and the stored
//! copies are made: an image's upright PNG render copy and a thumbnail.
//! The argument building is `reelforge_media::intake`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reelforge_media::MediaError;
use reelforge_media::card::fonts::{self, FontFormat};
use reelforge_media::intake::{self as media, Sniffed};
use tokio::io::AsyncWriteExt;

use crate::config::MediaConfig;
use crate::library::types::MediaKind;

/// The most pixels a picture (or a clip's frame) may have: 50 megapixels.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The longest clip accepted: 10 minutes.
pub const MAX_CLIP_SECONDS: f64 = 600.0;

/// The longest display name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// How much of the file's start is kept for sniffing and header parsing
/// (a JPEG's EXIF and frame header come before its picture data).
const HEAD_BYTES: usize = 1024 * 1024;

/// Why a file was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Past `MEDIA_MAX_MB`.
    #[error("the file is larger than {max_mb} MB")]
    TooLarge { max_mb: u64 },
    /// Not one of the accepted types (by content).
    #[error("not an accepted type")]
    Unsupported,
    /// Accepted type, but it does not read (truncated, no picture, broken).
    #[error("the file could not be read: {0}")]
    Unreadable(String),
    /// More than `MAX_PIXELS`.
    #[error("{width} x {height} pixels is more than the limit")]
    TooManyPixels { width: u64, height: u64 },
    /// A clip longer than `MAX_CLIP_SECONDS`.
    #[error("the clip is {seconds:.0} s long")]
    TooLong { seconds: f64 },
    /// The request body could not be read.
    #[error("the upload could not be read: {0}")]
    Body(String),
    /// A font format we do not take (WOFF, WOFF2, a collection): the reason is for the person.
    #[error("{0}")]
    FontFormat(&'static str),
    /// A TTF/OTF that fails its checks (the reason is for the person).
    #[error("{0}")]
    BadFont(String),
    /// A font file past `fonts::MAX_FONT_BYTES`.
    #[error("the font is larger than {max_mb} MB")]
    FontTooLarge { max_mb: u64 },
    /// The scratch disk is full.
    #[error("the scratch disk is full")]
    DiskFull,
    /// Our side failed (scratch files, a program missing): a 500.
    #[error("{0}")]
    Internal(String),
}

impl IntakeError {
    fn io(context: &str, err: std::io::Error) -> IntakeError {
        if reelforge_media::is_storage_full(&err) {
            IntakeError::DiskFull
        } else {
            IntakeError::Internal(format!("{context}: {err}"))
        }
    }

    /// A media program's failure on the caller's file: it does not read.
    /// A program that is missing or a scratch-disk failure is ours.
    fn media(err: MediaError) -> IntakeError {
        if err.is_storage_full() {
            return IntakeError::DiskFull;
        }
        match err {
            MediaError::Io { context, source } => IntakeError::Internal(format!("{context}: {source}")),
            MediaError::Process { ref message, .. } if message.contains("not installed") => {
                IntakeError::Internal(err.to_string())
            }
            other => IntakeError::Unreadable(other.to_string()),
        }
    }
}

/// An upload streamed to a scratch file.
#[derive(Debug)]
pub struct Received {
    /// The scratch file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its first bytes (at most `HEAD_BYTES`).
    pub head: Vec<u8>,
    /// The display name (see `display_name`).
    pub filename: String,
}

/// Copies a local file (the command line's `--scenes` uploads) to `dest`
/// as an upload would arrive: refused past `max_bytes`, with its head read
/// for sniffing.
pub async fn receive_file(src: &Path, dest: &Path, max_bytes: u64, max_mb: u64) -> Result<Received, IntakeError> {
    let file = tokio::fs::File::open(src).await.map_err(|e| IntakeError::io("opening the file", e))?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buffer)), file))
            }
            Err(err) => Some((Err(err), file)),
        }
    });
    let (bytes, head) = receive(Box::pin(chunks), dest, max_bytes, max_mb).await?;
    let filename = display_name(src.file_name().and_then(|n| n.to_str()));
    Ok(Received { path: dest.to_path_buf(), bytes, head, filename })
}

/// Writes `body` to `path` chunk by chunk, stopping with `TooLarge` as soon
/// as more than `max_bytes` have arrived.
pub async fn receive<S, E>(mut body: S, path: &Path, max_bytes: u64, max_mb: u64) -> Result<(u64, Vec<u8>), IntakeError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await.map_err(|e| IntakeError::io("creating the upload file", e))?;
    let mut written = 0u64;
    let mut head = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| IntakeError::Body(e.to_string()))?;
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(IntakeError::TooLarge { max_mb });
        }
        if head.len() < HEAD_BYTES {
            let take = chunk.len().min(HEAD_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        file.write_all(&chunk).await.map_err(|e| IntakeError::io("writing the upload file", e))?;
    }
    file.flush().await.map_err(|e| IntakeError::io("writing the upload file", e))?;
    Ok((written, head))
}

/// The label kept for an uploaded file's name: its last path component
/// (`../../etc/passwd` is `passwd`, `C:\x\y.png` is `y.png`) without control
/// characters, at most `MAX_FILENAME_CHARS`; `upload` when nothing is left.
/// It is only ever shown: no storage key or command line contains it.
pub fn display_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return "upload".to_string();
    }
    cleaned.chars().take(MAX_FILENAME_CHARS).collect()
}

/// A file that passed intake, with its stored copies made in the scratch folder.
#[derive(Debug)]
pub struct Prepared {
    /// The media type found in its bytes.
    pub content_type: &'static str,
    /// The stored original's extension.
    pub extension: &'static str,
    pub kind: MediaKind,
    pub original: PathBuf,
    /// Images only: the upright PNG.
    pub render: Option<PathBuf>,
    /// Made when asked for (the library shows one; a stock download does not need it).
    pub thumbnail: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<i64>,
}

fn check_pixels(width: u32, height: u32) -> Result<(), IntakeError> {
    let (width, height) = (u64::from(width), u64::from(height));
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(IntakeError::TooManyPixels { width, height });
    }
    Ok(())
}

/// The type of a received file, by its bytes; `Unsupported` otherwise.
pub fn sniff(received: &Received) -> Result<Sniffed, IntakeError> {
    media::sniff(&received.head).ok_or(IntakeError::Unsupported)
}

/// What an upload to the library is, by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// A picture, clip or sound.
    Media(Sniffed),
    /// A brand font.
    Font(FontFormat),
}

/// The type of an upload to the library: a font (TTF, OTF) or what `sniff`
/// accepts. WOFF, WOFF2 and collections are refused with the reason.
pub fn sniff_upload(received: &Received) -> Result<Upload, IntakeError> {
    if let Some(reason) = fonts::refused_kind(&received.head) {
        return Err(IntakeError::FontFormat(reason));
    }
    if let Some(format) = fonts::sniff(&received.head) {
        return Ok(Upload::Font(format));
    }
    sniff(received).map(Upload::Media)
}

/// A brand font: at most `fonts::MAX_FONT_BYTES`, it must parse, name a
/// family and draw basic Latin (`fonts::check`); its picture is a specimen
/// drawn in it, and the thumbnail is made from that.
pub async fn prepare_font(
    config: &MediaConfig,
    received: &Received,
    format: FontFormat,
    work: &Path,
) -> Result<Prepared, IntakeError> {
    if received.bytes > fonts::MAX_FONT_BYTES as u64 {
        return Err(IntakeError::FontTooLarge { max_mb: (fonts::MAX_FONT_BYTES / 1024 / 1024) as u64 });
    }
    let bytes = tokio::fs::read(&received.path).await.map_err(|e| IntakeError::io("reading the font", e))?;
    let specimen = work.join("specimen.png");
    let out = specimen.clone();
    let checked = tokio::task::spawn_blocking(move || fonts::specimen(&bytes, 640, 200, &out))
        .await
        .map_err(|e| IntakeError::Internal(format!("checking the font stopped: {e}")))?;
    match checked {
        Ok(_) => {}
        Err(MediaError::Invalid(reason)) => return Err(IntakeError::BadFont(reason)),
        Err(other) => return Err(IntakeError::media(other)),
    }
    let timeout = Duration::from_secs(config.image_timeout_seconds);
    let thumbnail = work.join("thumbnail.jpg");
    media::image_thumbnail(&config.ffmpeg_path, &specimen, &thumbnail, timeout).await.map_err(IntakeError::media)?;
    Ok(Prepared {
        content_type: format.content_type(),
        extension: format.extension(),
        kind: MediaKind::Font,
        original: received.path.clone(),
        render: None,
        thumbnail: Some(thumbnail),
        width: 0,
        height: 0,
        duration_ms: None,
    })
}

/// Whether `prepare` makes a thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumbnail {
    Make,
    Skip,
}

/// Checks a received file and makes its stored copies in `work`.
pub async fn prepare(
    config: &MediaConfig,
    received: &Received,
    sniffed: Sniffed,
    work: &Path,
    thumbnail_wanted: Thumbnail,
) -> Result<Prepared, IntakeError> {
    let timeout = Duration::from_secs(config.image_timeout_seconds);
    let thumbnail = work.join("thumbnail.jpg");
    if sniffed.is_image() {
        // From the header alone: a decompression bomb is refused unread.
        let (width, height) = media::image_size(sniffed, &received.head)
            .ok_or_else(|| IntakeError::Unreadable("no picture header".into()))?;
        if width == 0 || height == 0 {
            return Err(IntakeError::Unreadable("the picture has no pixels".into()));
        }
        check_pixels(width, height)?;
        media::probe(&config.ffprobe_path, &received.path, sniffed, timeout).await.map_err(IntakeError::media)?;
        let orientation = if sniffed == Sniffed::Jpeg { media::jpeg_orientation(&received.head) } else { None };
        let render = work.join("render.png");
        media::normalise_image(&config.ffmpeg_path, &received.path, sniffed, orientation, &render, timeout)
            .await
            .map_err(IntakeError::media)?;
        let upright =
            media::probe(&config.ffprobe_path, &render, Sniffed::Png, timeout).await.map_err(IntakeError::media)?;
        let thumbnail = match thumbnail_wanted {
            Thumbnail::Make => {
                media::image_thumbnail(&config.ffmpeg_path, &render, &thumbnail, timeout)
                    .await
                    .map_err(IntakeError::media)?;
                Some(thumbnail)
            }
            Thumbnail::Skip => None,
        };
        return Ok(Prepared {
            content_type: sniffed.content_type(),
            extension: sniffed.extension(),
            kind: MediaKind::Image,
            original: received.path.clone(),
            render: Some(render),
            thumbnail,
            width: upright.width,
            height: upright.height,
            duration_ms: None,
        });
    }
    if sniffed.is_audio() {
        return prepare_audio(config, received, sniffed, &thumbnail, thumbnail_wanted, timeout).await;
    }
    let probed =
        media::probe(&config.ffprobe_path, &received.path, sniffed, timeout).await.map_err(IntakeError::media)?;
    check_pixels(probed.width, probed.height)?;
    let seconds = probed
        .duration_seconds
        .filter(|s| *s > 0.0)
        .ok_or_else(|| IntakeError::Unreadable("the clip does not say how long it is".into()))?;
    if seconds > MAX_CLIP_SECONDS {
        return Err(IntakeError::TooLong { seconds });
    }
    let thumbnail = match thumbnail_wanted {
        Thumbnail::Make => {
            media::clip_thumbnail(&config.ffmpeg_path, &received.path, sniffed, seconds, &thumbnail, timeout)
                .await
                .map_err(IntakeError::media)?;
            Some(thumbnail)
        }
        Thumbnail::Skip => None,
    };
    Ok(Prepared {
        content_type: sniffed.content_type(),
        extension: sniffed.extension(),
        kind: MediaKind::Video,
        original: received.path.clone(),
        render: None,
        thumbnail,
        width: probed.width,
        height: probed.height,
        duration_ms: Some((seconds * 1000.0).round() as i64),
    })
}

/// A sound file (a project's music): it must read and say how long it is
/// (at most `MAX_CLIP_SECONDS`); kept as uploaded, its thumbnail a waveform.
async fn prepare_audio(
    config: &MediaConfig,
    received: &Received,
    sniffed: Sniffed,
    thumbnail: &Path,
    thumbnail_wanted: Thumbnail,
    timeout: Duration,
) -> Result<Prepared, IntakeError> {
    let seconds =
        media::probe_audio(&config.ffprobe_path, &received.path, sniffed, timeout).await.map_err(IntakeError::media)?;
    if seconds > MAX_CLIP_SECONDS {
        return Err(IntakeError::TooLong { seconds });
    }
    let thumbnail = match thumbnail_wanted {
        Thumbnail::Make => {
            media::audio_thumbnail(&config.ffmpeg_path, &received.path, sniffed, thumbnail, timeout)
                .await
                .map_err(IntakeError::media)?;
            Some(thumbnail.to_path_buf())
        }
        Thumbnail::Skip => None,
    };
    Ok(Prepared {
        content_type: sniffed.content_type(),
        extension: sniffed.extension(),
        kind: MediaKind::Audio,
        original: received.path.clone(),
        render: None,
        thumbnail,
        width: 0,
        height: 0,
        duration_ms: Some((seconds * 1000.0).round() as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_labels_without_paths() {
        assert_eq!(display_name(Some("../../evil.png")), "evil.png");
        assert_eq!(display_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(display_name(Some("C:\\x\\y.png")), "y.png");
        assert_eq!(display_name(Some("a\u{0}b\r\n.jpg")), "ab.jpg");
        assert_eq!(display_name(Some("..")), "upload");
        assert_eq!(display_name(Some("dir/")), "upload");
        assert_eq!(display_name(None), "upload");
        assert_eq!(display_name(Some(&"x".repeat(500))).chars().count(), MAX_FILENAME_CHARS);
        assert_eq!(display_name(Some("Ünïcödé 写真.png")), "Ünïcödé 写真.png");
    }

    #[test]
    fn pixel_limit() {
        assert!(check_pixels(7071, 7071).is_ok());
        assert!(matches!(check_pixels(30_000, 30_000), Err(IntakeError::TooManyPixels { .. })));
        assert!(check_pixels(u32::MAX, u32::MAX).is_err());
    }

    #[tokio::test]
    async fn a_body_past_the_limit_stops_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("upload");
        let chunks = futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 1000]))));
        let err = receive(chunks, &path, 2500, 1).await.expect_err("too large");
        assert!(matches!(err, IntakeError::TooLarge { max_mb: 1 }));
        let chunks = futures_util::stream::iter((0..2).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 1000]))));
        let (bytes, head) = receive(chunks, &path, 2500, 1).await.expect("fits");
        assert_eq!((bytes, head.len()), (2000, 2000));
    }
}
