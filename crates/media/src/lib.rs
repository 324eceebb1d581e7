//! Reelforge's media steps. Everything here takes paths and parameters and
//! gives files and durations: no HTTP, no database, no domain rules.

pub mod card;
pub mod espeak_lib;
pub mod intake;
pub mod keywords;
pub mod logo;
pub mod mix;
pub mod music;
pub mod overlay;
pub mod piper;
pub mod process;
pub mod render;
pub mod sentences;
pub mod subtitles;
pub mod tts;
pub mod wav;
pub mod words;

/// An error of a media step, with a message a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A child process ran past its time limit and was killed.
    #[error("{program} did not finish within {seconds} s and was stopped")]
    Timeout {
        /// The program.
        program: String,
        /// The limit.
        seconds: u64,
    },
    /// A child process failed.
    #[error("{program} failed: {message}")]
    Process {
        /// The program.
        program: String,
        /// The last lines of its error output.
        message: String,
    },
    /// Drawing or encoding an image failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Input that cannot be used.
    #[error("{0}")]
    Invalid(String),
}

impl MediaError {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        MediaError::Io { context: context.into(), source }
    }

    /// True when the cause is a full disk (ENOSPC) or quota (EDQUOT).
    pub fn is_storage_full(&self) -> bool {
        match self {
            MediaError::Io { source, .. } => is_storage_full(source),
            MediaError::Process { message, .. } => message.contains("No space left on device"),
            _ => false,
        }
    }
}

/// True when an I/O error means the disk or quota is full.
pub fn is_storage_full(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(code) if code == libc::ENOSPC || code == libc::EDQUOT)
        || err.kind() == std::io::ErrorKind::StorageFull
}

/// Result alias.
pub type MediaResult<T> = Result<T, MediaError>;
