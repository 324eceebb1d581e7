//! Sentences, cues, WebVTT and SRT.

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

const SENTENCE_ENDS: [char; 9] = ['.', '!', '?', '。', '！', '？', '…', '؟', '।'];
const CLOSERS: [char; 8] = ['"', '\'', '”', '’', ')', ']', '」', '』'];

/// Splits text into sentences at sentence-ending punctuation (Latin, CJK,
/// Arabic, Devanagari), keeping the punctuation. Text without any ending is one
/// sentence; whitespace is normalised; empty pieces are dropped.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        current.push(if c.is_whitespace() { ' ' } else { c });
        if SENTENCE_ENDS.contains(&c) {
            // Keep runs like "?!" or "..." and closing quotes with the sentence.
            while i + 1 < chars.len() && (SENTENCE_ENDS.contains(&chars[i + 1]) || CLOSERS.contains(&chars[i + 1])) {
                i += 1;
                current.push(chars[i]);
            }
            let next_is_break = i + 1 >= chars.len() || chars[i + 1].is_whitespace() || is_cjk_end(c);
            // "3.5" or "e.g.x" are not sentence ends.
            if next_is_break {
                push_sentence(&mut out, &current);
                current.clear();
            }
        }
        i += 1;
    }
    push_sentence(&mut out, &current);
    out
}

fn is_cjk_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

fn push_sentence(out: &mut Vec<String>, raw: &str) {
    let normalised = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if normalised.chars().any(|c| c.is_alphanumeric()) {
        out.push(normalised);
    } else if let Some(last) = out.last_mut() {
        // Stray punctuation belongs to the previous sentence.
        if !normalised.is_empty() {
            last.push_str(&normalised);
        }
    } else if !normalised.is_empty() {
        out.push(normalised);
    }
}

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
    fn splits_latin_cjk_and_keeps_numbers() {
        assert_eq!(sentences("Hello there. How are you?! Fine"), vec!["Hello there.", "How are you?!", "Fine"]);
        assert_eq!(sentences("It costs 3.5 dollars. Cheap."), vec!["It costs 3.5 dollars.", "Cheap."]);
        assert_eq!(sentences("你好。今天天气很好！"), vec!["你好。", "今天天气很好！"]);
        assert_eq!(sentences("He said \"stop.\" Then left."), vec!["He said \"stop.\"", "Then left."]);
        assert_eq!(sentences("  \n "), Vec::<String>::new());
        assert_eq!(sentences("no ending here"), vec!["no ending here"]);
        assert_eq!(sentences("...!!!"), vec!["...!!!"]);
        assert_eq!(sentences("Line one\nstill line one."), vec!["Line one still line one."]);
    }

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
