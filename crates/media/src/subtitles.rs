//! Cues, WebVTT and SRT (sentences come from `crate::sentences`).

use serde::{Deserialize, Serialize};

/// One subtitle cue, in seconds from the start of its scene or video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Start time in seconds.
    pub start: f64,
    /// End time in seconds.
    pub end: f64,
    /// The sentence.
    pub text: String,
}

/// Splits text into sentences, one cue each: the crate's one splitter
/// (`crate::sentences::split`), kept under this name for callers of the
/// subtitle API.
pub use crate::sentences::split as sentences;

fn timestamp(seconds: f64, separator: char) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{separator}{ms:03}")
}

/// A WebVTT document.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (i, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(cue.start, '.'),
            timestamp(cue.end, '.'),
            cue.text.replace("-->", "→")
        ));
    }
    out
}

/// An SRT document.
pub fn to_srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(cue.start, ','),
            timestamp(cue.end, ','),
            cue.text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_vtt_and_srt() {
        let cues = vec![
            Cue { start: 0.0, end: 1.5, text: "One.".into() },
            Cue { start: 3661.25, end: 3662.0, text: "Two.".into() },
        ];
        assert_eq!(
            to_vtt(&cues),
            "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nOne.\n\n2\n01:01:01.250 --> 01:01:02.000\nTwo.\n\n"
        );
        assert_eq!(
            to_srt(&cues),
            "1\n00:00:00,000 --> 00:00:01,500\nOne.\n\n2\n01:01:01,250 --> 01:01:02,000\nTwo.\n\n"
        );
    }
}
