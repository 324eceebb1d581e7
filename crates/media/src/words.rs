//! Word timings: when each narrated word is spoken, measured from a voice's
//! phoneme alignments (Piper) or word events (espeak-ng's library, see
//! `espeak_lib`), or estimated from syllables within a sentence's measured
//! span (remote voices, espeak-ng without its library, and Piper sentences
//! whose words cannot be matched one to one, such as numbers read out as
//! several words).
//!
//! Captions read `WordTiming`s; every list of one sentence is monotonic
//! (each word starts at or after the previous one's end) and inside the
//! sentence's cue.

use serde::{Deserialize, Serialize};

/// How a word's time was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Timing {
    /// From the voice's own alignment of sounds to audio.
    Measured,
    /// Shared out by syllables within the sentence's measured span.
    Estimated,
}

/// One narrated word and when it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    /// The word as written in the script (surrounding punctuation kept, e.g. `world,`).
    pub text: String,
    /// Seconds from the start of the scene.
    pub start: f64,
    /// Seconds from the start of the scene.
    pub end: f64,
    /// Measured or estimated.
    pub timing: Timing,
}

/// The words of `text` as captions show them: whitespace-separated tokens
/// that hold a letter or digit, and each CJK character (those scripts write
/// no spaces; a character is about a syllable).
pub fn split(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for token in text.split_whitespace() {
        if !token.chars().any(char::is_alphanumeric) {
            continue;
        }
        if !token.chars().any(is_cjk) {
            words.push(token.to_string());
            continue;
        }
        // CJK characters one by one; runs of other letters stay together,
        // and punctuation sticks to the word before it.
        let mut current = String::new();
        for c in token.chars() {
            if is_cjk(c) {
                if current.chars().any(char::is_alphanumeric) {
                    words.push(std::mem::take(&mut current));
                }
                current.push(c);
                words.push(std::mem::take(&mut current));
            } else if !c.is_alphanumeric() && current.is_empty() {
                if let Some(last) = words.last_mut() {
                    last.push(c);
                }
            } else {
                current.push(c);
            }
        }
        if current.chars().any(char::is_alphanumeric) {
            words.push(current);
        } else if let Some(last) = words.last_mut() {
            last.push_str(&current);
        }
    }
    words
}

/// Chinese, Japanese and Korean characters (ideographs, kana, hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // hiragana, katakana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F // ideographs
        | 0xAC00..=0xD7AF // hangul syllables
    )
}

const VOWELS: &str = "aeiouyàáâãäåāăąæèéêëēĕėęěìíîïĩīĭįıòóôõöøōŏőœùúûüũūŭůűųýÿŷ\
                      аеёиоуыэюяіїєў\
                      αεηιουωάέήίόύώϊϋΐΰ";

/// About how many syllables `word` takes to say: its vowel groups (Latin,
/// Cyrillic, Greek; a silent English final `e` left out), one per CJK
/// character, one per digit; at least 1.
pub fn syllables(word: &str) -> u32 {
    let lower = word.to_lowercase();
    let cjk = lower.chars().filter(|c| is_cjk(*c)).count() as u32;
    if cjk > 0 {
        return cjk;
    }
    let mut groups = 0u32;
    let mut in_vowel = false;
    let mut letters = 0u32;
    for c in lower.chars() {
        let vowel = VOWELS.contains(c);
        if vowel && !in_vowel {
            groups += 1;
        }
        in_vowel = vowel;
        if c.is_alphabetic() {
            letters += 1;
        }
    }
    let letters_only: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    if groups > 1
        && letters_only.ends_with('e')
        && !letters_only.ends_with("le")
        && !letters_only.ends_with("ee")
        && letters_only.is_ascii()
    {
        groups -= 1;
    }
    let digits = lower.chars().filter(char::is_ascii_digit).count() as u32;
    if groups == 0 && letters > 0 && !lower.chars().any(|c| c.is_ascii_alphabetic()) {
        // A script without listed vowels (Arabic, Hebrew, Devanagari, ...).
        groups = letters.div_ceil(2);
    }
    (groups + digits).max(1)
}

/// The pause after a word, in syllables, from its closing punctuation.
fn pause_after(word: &str) -> f64 {
    match word.trim_end_matches(['"', '\'', ')', ']', '»', '”', '’', '」', '』']).chars().last() {
        Some(',' | ';' | ':' | '，' | '、' | '；' | '：' | '—' | '–') => 1.0,
        Some('.' | '!' | '?' | '…' | '。' | '！' | '？') => 1.5,
        _ => 0.0,
    }
}

/// Shares `start..end` (a sentence's measured span) out among the words of
/// `text` by syllables, with pauses at commas and sentence ends.
pub fn estimate(text: &str, start: f64, end: f64) -> Vec<WordTiming> {
    let words = split(text);
    let Some(last) = words.len().checked_sub(1) else { return Vec::new() };
    let end = end.max(start);
    let weights: Vec<(f64, f64)> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (f64::from(syllables(w)), if i == last { 0.0 } else { pause_after(w) }))
        .collect();
    let units: f64 = weights.iter().map(|(s, p)| s + p).sum();
    let unit = if units > 0.0 { (end - start) / units } else { 0.0 };
    let mut at = start;
    words
        .into_iter()
        .zip(weights)
        .map(|(text, (syllables, pause))| {
            let word_start = at.min(end);
            let word_end = (word_start + syllables * unit).min(end);
            at = word_end + pause * unit;
            WordTiming { text, start: word_start, end: word_end, timing: Timing::Estimated }
        })
        .collect()
}

/// The sample spans (`start..end`, in samples of the utterance) of the
/// spoken words in a voice's phoneme alignment: `(phoneme, samples)` in
/// order, words separated by `" "`, `^`/`$` marking the start and end, and
/// punctuation phonemes (pauses) belonging to no word.
pub fn phoneme_word_spans(phonemes: &[(String, u64)]) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut current: Option<(u64, u64)> = None;
    let mut at = 0u64;
    for (phoneme, samples) in phonemes {
        let next = at.saturating_add(*samples);
        let separator = phoneme.trim().is_empty() || phoneme == "^" || phoneme == "$";
        let pause = !separator && phoneme.chars().all(is_punctuation);
        if separator {
            spans.extend(current.take());
        } else if !pause {
            current = Some(match current {
                Some((start, _)) => (start, next),
                None => (at, next),
            });
        }
        at = next;
    }
    spans.extend(current);
    spans
}

/// Punctuation, which a voice aligns as a pause (IPA stress and length
/// marks are not punctuation: they belong to the word).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c as u32,
            0x2010..=0x205E // general punctuation: dashes, quotes, ellipsis
            | 0x3000..=0x303F // CJK punctuation
            | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 // full-width punctuation
        )
        || matches!(c, '¡' | '¿' | '«' | '»' | '·')
}

/// Measured timings for the words of `text` from `spans` (each spoken
/// word's `(start, end)` in seconds of the scene, clamped to the sentence's
/// cue `floor..limit`), when the voice spoke exactly one span per written
/// word; None otherwise (numbers, abbreviations and symbols are often read as
/// several words), when the caller estimates instead.
pub fn measured(text: &str, spans: &[(f64, f64)], floor: f64, limit: f64) -> Option<Vec<WordTiming>> {
    let words = split(text);
    if words.is_empty() || words.len() != spans.len() {
        return None;
    }
    let limit = limit.max(floor);
    let mut previous_end = floor;
    let timings = words
        .into_iter()
        .zip(spans)
        .map(|(text, (start, end))| {
            let start = start.clamp(floor, limit).max(previous_end);
            let end = end.clamp(floor, limit).max(start);
            previous_end = end;
            WordTiming { text, start, end, timing: Timing::Measured }
        })
        .collect();
    Some(timings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_tokens_and_cjk_characters() {
        assert_eq!(split("Hello, world — this is it!"), ["Hello,", "world", "this", "is", "it!"]);
        assert_eq!(split("你好，世界。"), ["你", "好，", "世", "界。"]);
        assert_eq!(split("Use 日本 now"), ["Use", "日", "本", "now"]);
        assert!(split(" … — ").is_empty());
    }

    #[test]
    fn syllables_are_vowel_groups() {
        for (word, expected) in [
            ("cat", 1),
            ("hello", 2),
            ("beautiful", 3),
            ("avocado", 4),
            ("make", 1),
            ("table", 2),
            ("rhythm", 1),
            ("42", 2),
            ("nth", 1),
            ("Straße", 2),
            ("молоко", 3),
            ("中文", 2),
            ("", 1),
        ] {
            assert_eq!(syllables(word), expected, "{word}");
        }
    }

    fn assert_monotonic_inside(words: &[WordTiming], start: f64, end: f64) {
        let mut previous = start;
        for word in words {
            assert!(word.start >= previous - 1e-9 && word.end >= word.start, "{words:?}");
            assert!(word.end <= end + 1e-9, "{words:?}");
            previous = word.end;
        }
    }

    #[test]
    fn estimates_share_the_span_by_syllables_with_pauses() {
        let words = estimate("Hello, avocado cat.", 1.0, 3.0);
        assert_eq!(words.len(), 3);
        assert_monotonic_inside(&words, 1.0, 3.0);
        assert!((words[0].start - 1.0).abs() < 1e-9 && (words[2].end - 3.0).abs() < 1e-9);
        // 2 + 4 + 1 syllables and one comma pause (1): 8 units over 2 s.
        assert!((words[0].end - 1.5).abs() < 1e-9, "{words:?}");
        assert!((words[1].start - 1.75).abs() < 1e-9, "{words:?}");
        assert!(words.iter().all(|w| w.timing == Timing::Estimated));
        assert!(estimate("", 0.0, 1.0).is_empty());
        assert_monotonic_inside(&estimate("One two", 2.0, 1.0), 2.0, 2.0);
    }

    fn alignment(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(p, n)| ((*p).to_string(), *n)).collect()
    }

    #[test]
    fn phoneme_words_split_at_spaces_without_pauses() {
        // "Hi, you." as Piper aligns it.
        let phonemes = alignment(&[
            ("^", 100),
            ("h", 10),
            ("ˈ", 10),
            ("a", 10),
            ("ɪ", 10),
            (",", 50),
            (" ", 20),
            ("j", 10),
            ("uː", 10),
            (".", 30),
            ("$", 40),
        ]);
        assert_eq!(phoneme_word_spans(&phonemes), [(100, 140), (210, 230)]);
        let words = measured("Hi, you.", &[(2.5, 2.9), (3.6, 3.8)], 2.0, 4.0).expect("matched");
        assert_eq!(words[0].text, "Hi,");
        assert!((words[0].start - 2.5).abs() < 1e-9 && (words[1].end - 3.8).abs() < 1e-9, "{words:?}");
        assert!(words.iter().all(|w| w.timing == Timing::Measured));
        // Clamped to the cue, and monotonic even when spans overlap.
        let clamped = measured("a b c", &[(-1.0, 5.0), (1.0, 9.0), (8.0, 9.5)], 0.0, 6.0).expect("matched");
        assert_monotonic_inside(&clamped, 0.0, 6.0);
        assert!((clamped[0].start).abs() < 1e-9 && (clamped[1].end - 6.0).abs() < 1e-9);
        // A number read as two words does not match one written word.
        assert_eq!(measured("42", &[(0.0, 0.1), (0.2, 0.3)], 0.0, 1.0), None);
    }
}
