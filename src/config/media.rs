//! The programs the media steps run, and how long each step may take.

use super::source::{ConfigError, Source};

/// Programs (names on PATH or absolute paths) and per-step time limits.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub ffmpeg_path: String,
    pub ffprobe_path: String,
    pub espeak_path: String,
    /// `PIPER_PYTHON`: the Python interpreter that has `piper-tts` (Piper
    /// runs as `python -I -c <script>` children, see
    /// `reelforge_media::piper`). Unset: `.venv-piper/bin/python` under the
    /// working directory when it exists (what `make run` installs and runs
    /// from); None: Piper is not installed and narration uses espeak-ng.
    pub piper_python: Option<String>,
    /// `PIPER_VOICES_DIR`: more Piper voices (`*.onnx` with `.onnx.json`),
    /// offered as `piper:<name>` and used by default for their language.
    pub piper_voices_dir: Option<std::path::PathBuf>,
    /// `DATA_DIR/cache/voices`: Piper voices prepared once (patched for word
    /// timings, optimised) and loaded from there by every later child. Kept
    /// under the configured `DATA_DIR` even by `reelforge render`, whose
    /// database and media live in a folder of their own, so one-off renders
    /// share it with the server.
    pub voice_cache_dir: std::path::PathBuf,
    pub image_timeout_seconds: u64,
    pub tts_timeout_seconds: u64,
    pub render_timeout_seconds: u64,
    /// `VOICE_PREVIEWS_PER_HOUR`: remote voice previews (a paid provider call
    /// each, not yet cached) one tenant may make per hour; 0 = unlimited.
    pub voice_previews_per_hour: u32,
    /// `MEDIA_MAX_MB`: the largest file `POST /api/v1/media` accepts, in MB
    /// (10^6 bytes).
    pub media_max_mb: u64,
    /// `LOUDNESS_TARGET_LUFS`: the integrated loudness of the finished audio
    /// (-14, what the video platforms play at; -16 for podcasts, -23 for
    /// broadcast), -31 to -5.
    pub loudness_target_lufs: f64,
}

/// The loudness targets `LOUDNESS_TARGET_LUFS` accepts.
pub const LOUDNESS_RANGE_LUFS: std::ops::RangeInclusive<f64> = -31.0..=-5.0;

impl MediaConfig {
    /// `MEDIA_MAX_MB` in bytes.
    pub fn media_max_bytes(&self) -> u64 {
        self.media_max_mb.saturating_mul(1_000_000)
    }
}

impl MediaConfig {
    pub(super) fn parse(src: &Source, data_dir: &std::path::Path) -> Result<MediaConfig, ConfigError> {
        Ok(MediaConfig {
            ffmpeg_path: src.string("FFMPEG_PATH", "ffmpeg"),
            ffprobe_path: src.string("FFPROBE_PATH", "ffprobe"),
            espeak_path: src.string("ESPEAK_PATH", "espeak-ng"),
            piper_python: src.optional("PIPER_PYTHON").or_else(local_piper_venv),
            piper_voices_dir: src.optional("PIPER_VOICES_DIR").map(std::path::PathBuf::from),
            voice_cache_dir: data_dir.join("cache").join("voices"),
            image_timeout_seconds: src.positive("IMAGE_TIMEOUT_SECONDS", 60)?,
            tts_timeout_seconds: src.positive("TTS_TIMEOUT_SECONDS", 60)?,
            render_timeout_seconds: src.positive("RENDER_TIMEOUT_SECONDS", 600)?,
            voice_previews_per_hour: src.parsed("VOICE_PREVIEWS_PER_HOUR", 20, "a whole number")?,
            media_max_mb: src.positive("MEDIA_MAX_MB", 200)?,
            loudness_target_lufs: loudness_target(src)?,
        })
    }
}

/// `.venv-piper/bin/python` under the working directory (the repository root
/// for `make run` and the tests), as an absolute path, when it exists.
fn local_piper_venv() -> Option<String> {
    let python = std::env::current_dir().ok()?.join(".venv-piper").join("bin").join("python");
    python.is_file().then(|| python.display().to_string())
}

fn loudness_target(src: &Source) -> Result<f64, ConfigError> {
    let key = "LOUDNESS_TARGET_LUFS";
    let value: f64 = src.parsed(key, -14.0, "a loudness in LUFS such as -14")?;
    if !LOUDNESS_RANGE_LUFS.contains(&value) {
        return Err(super::source::bad(key, "must be -31 to -5 (LUFS)"));
    }
    Ok(value)
}
