//! espeak-ng through its library, for word timings its command line cannot
//! give: a child (`espeak/words.py`, embedded here and run with `python3 -I
//! -c`) loads `libespeak-ng.so.1` with ctypes, speaks a scene's sentences and
//! reports espeak-ng's word events (where each word starts, by character
//! position in the text). The same engine, voice and rate as `tts::espeak`:
//! a sentence spoken alone is the same audio; later sentences of a scene can
//! pause a few milliseconds longer at a comma (the library keeps some state
//! between texts).
//!
//! A child, not the library in this process: the text is the tenant's, and a
//! fault in a C library reading it stays in a process that holds no secrets.
//! Python is already there for Piper, and one child speaks a whole scene.

use std::time::Duration;

use serde::Deserialize;

use crate::process;
use crate::tts::SAMPLE_RATE;
use crate::wav::Pcm;
use crate::words;
use crate::{MediaError, MediaResult};

/// The child's program, run as `python3 -I -c SCRIPT`.
pub const SCRIPT: &str = include_str!("../espeak/words.py");

/// espeak-ng's speaking rate (words per minute), as `tts::espeak` uses it.
const RATE: u32 = 165;

/// The child's exit code for a voice espeak-ng does not have.
const UNKNOWN_VOICE: &str = "exit code 3";

/// One spoken sentence.
#[derive(Debug, Clone)]
pub struct Spoken {
    /// Its audio, mono at `tts::SAMPLE_RATE`, untrimmed.
    pub pcm: Pcm,
    /// Each written word's `(start, end)` in seconds of `pcm`, in the order
    /// of `words::split`; None when espeak-ng's events could not be matched
    /// to the words (the caller estimates them).
    pub word_spans: Option<Vec<(f64, f64)>>,
}

#[derive(Deserialize)]
struct Report {
    sample_rate: u32,
    sentences: Vec<SentenceReport>,
}

#[derive(Deserialize)]
struct SentenceReport {
    samples: usize,
    /// `[text_position (characters, from 1), length, audio_ms]` per word event.
    words: Vec<[u32; 3]>,
}

/// Speaks `sentences` with espeak-ng `voice` (checked as `tts::espeak`
/// checks it) through its library, in a child run by `python`. An unknown
/// voice is `MediaError::Invalid`; a missing Python or library, or an answer
/// that does not add up, is a `MediaError::Process` (the caller falls back to
/// the command line).
pub async fn speak(python: &str, voice: &str, sentences: &[String], timeout: Duration) -> MediaResult<Vec<Spoken>> {
    if !crate::tts::valid_espeak_voice(voice) {
        return Err(MediaError::Invalid(format!("unsupported espeak voice {voice:?}")));
    }
    let request = serde_json::json!({"voice": voice, "rate": RATE, "sentences": sentences});
    let args = ["-I", "-c", SCRIPT];
    let python = &interpreter(python).await;
    let done = match process::run(python, &args, timeout, Some(request.to_string().as_bytes())).await {
        Err(MediaError::Process { message, .. }) if message.starts_with(UNKNOWN_VOICE) => {
            return Err(MediaError::Invalid(format!("unsupported espeak voice {voice:?}")));
        }
        other => other?,
    };
    let bad = |why: &str| MediaError::Process {
        program: python.to_string(),
        message: format!("espeak-ng's library child answered badly: {why}"),
    };
    let newline = done.stdout.iter().position(|b| *b == b'\n').ok_or_else(|| bad("no report"))?;
    let report: Report = serde_json::from_slice(&done.stdout[..newline]).map_err(|_| bad("an unreadable report"))?;
    if report.sample_rate != SAMPLE_RATE {
        return Err(bad(&format!("{} Hz", report.sample_rate)));
    }
    let audio = &done.stdout[newline + 1..];
    let expected: usize = report.sentences.iter().map(|s| s.samples.saturating_mul(2)).sum();
    if report.sentences.len() != sentences.len() || audio.len() != expected {
        return Err(bad("its audio does not add up"));
    }
    let mut at = 0;
    let mut spoken = Vec::with_capacity(sentences.len());
    for (text, sentence) in sentences.iter().zip(report.sentences) {
        let bytes = &audio[at..at + sentence.samples * 2];
        at += sentence.samples * 2;
        let samples = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        let pcm = Pcm { sample_rate: SAMPLE_RATE, channels: 1, samples };
        let word_spans = word_spans(text, &sentence.words, &pcm);
        spoken.push(Spoken { pcm, word_spans });
    }
    Ok(spoken)
}

/// The interpreter `python` starts (its `sys.executable`), asked once per
/// process and program: a version manager's shim (pyenv's `python3` is a
/// shell script) costs about 0.1 s per start, the interpreter itself 0.02 s.
/// `python` itself when it cannot tell.
async fn interpreter(python: &str) -> String {
    static FOUND: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let known = |found: &[(String, String)]| found.iter().find(|(asked, _)| asked == python).map(|(_, is)| is.clone());
    if let Some(is) = FOUND.lock().ok().and_then(|found| known(&found)) {
        return is;
    }
    let asked = process::run(python, &["-I", "-c", "import sys; print(sys.executable)"], Duration::from_secs(10), None);
    let is = match asked.await {
        Ok(done) => {
            let path = String::from_utf8_lossy(&done.stdout).trim().to_string();
            if path.starts_with('/') { path } else { python.to_string() }
        }
        Err(_) => python.to_string(),
    };
    if let Ok(mut found) = FOUND.lock()
        && known(&found).is_none()
    {
        found.push((python.to_string(), is.clone()));
    }
    is
}

/// The written words' `(start, end)` in seconds of `pcm`, from espeak-ng's
/// word events (`[text_position, length, audio_ms]`, positions in
/// characters from 1). A word starts at its first event (a number read as
/// several words has several) and ends where the next word's event starts, or
/// with the audio; both are then moved off the silence around the word (the
/// pause at a comma is not the word's). None when a written word has no event.
pub fn word_spans(text: &str, events: &[[u32; 3]], pcm: &Pcm) -> Option<Vec<(f64, f64)>> {
    let duration = pcm.duration_seconds();
    let seconds = |ms: u32| (f64::from(ms) / 1000.0).min(duration);
    let mut spans = Vec::new();
    let mut cursor = 0; // bytes into `text`
    for word in words::split(text) {
        let byte = cursor + text.get(cursor..)?.find(word.as_str())?;
        cursor = byte + word.len();
        // Character range of the word, counted from 0.
        let first = text[..byte].chars().count() as u32;
        let last = first + word.chars().count() as u32;
        let inside = |e: &&[u32; 3]| (first..last).contains(&e[0].saturating_sub(1));
        let start = seconds(events.iter().find(inside)?[2]);
        let end = events.iter().find(|e| e[0].saturating_sub(1) >= last).map_or(duration, |e| seconds(e[2]));
        spans.push((start, end.max(start)));
    }
    if spans.is_empty() {
        return None;
    }
    Some(spans.into_iter().map(|(start, end)| off_silence(pcm, start, end)).collect())
}

/// `(start, end)` moved inward past near-silence, keeping at least
/// `MIN_WORD` seconds.
fn off_silence(pcm: &Pcm, start: f64, end: f64) -> (f64, f64) {
    const THRESHOLD: u16 = 200;
    const WINDOW: f64 = 0.01;
    const MIN_WORD: f64 = 0.04;
    let rate = f64::from(pcm.sample_rate.max(1));
    let quiet = |from: f64| {
        let a = ((from * rate) as usize).min(pcm.samples.len());
        let b = (((from + WINDOW) * rate) as usize).min(pcm.samples.len());
        pcm.samples[a..b].iter().all(|s| s.unsigned_abs() <= THRESHOLD)
    };
    if end - start <= MIN_WORD {
        return (start, end);
    }
    let mut s = start;
    while s + WINDOW <= end - MIN_WORD && quiet(s) {
        s += WINDOW;
    }
    let mut e = end;
    while e - WINDOW >= s + MIN_WORD && quiet(e - WINDOW) {
        e -= WINDOW;
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Silence, then `loud` seconds of sound, per `(silence, loud)` pair.
    fn audio(parts: &[(f64, f64)]) -> Pcm {
        let mut samples = Vec::new();
        for (silence, loud) in parts {
            samples.extend(vec![0i16; (silence * f64::from(SAMPLE_RATE)) as usize]);
            samples.extend(vec![3000i16; (loud * f64::from(SAMPLE_RATE)) as usize]);
        }
        Pcm { sample_rate: SAMPLE_RATE, channels: 1, samples }
    }

    fn close(actual: &[(f64, f64)], expected: &[(f64, f64)]) -> bool {
        actual.len() == expected.len()
            && actual.iter().zip(expected).all(|(a, e)| (a.0 - e.0).abs() < 0.011 && (a.1 - e.1).abs() < 0.011)
    }

    #[test]
    fn words_start_at_their_events_and_end_before_the_pause() {
        // "Hello world, again." : 0.1 s lead, "Hello" 0.3 s, "world" 0.4 s,
        // a 0.3 s comma pause, "again" 0.3 s.
        let pcm = audio(&[(0.1, 0.3), (0.0, 0.4), (0.3, 0.3)]);
        let events = [[1, 5, 0], [7, 5, 400], [14, 5, 1100]];
        let spans = word_spans("Hello world, again.", &events, &pcm).expect("matched");
        assert!(close(&spans, &[(0.1, 0.4), (0.4, 0.8), (1.1, 1.4)]), "{spans:?}");
    }

    #[test]
    fn a_number_read_as_several_words_is_one_written_word() {
        // "Call 911 now.": espeak-ng gives "911" two events (positions 6 and 7).
        let pcm = audio(&[(0.0, 1.5)]);
        let events = [[1, 4, 0], [6, 3, 300], [7, 3, 1000], [10, 3, 1200]];
        let spans = word_spans("Call 911 now.", &events, &pcm).expect("matched");
        assert!(close(&spans, &[(0.0, 0.3), (0.3, 1.2), (1.2, 1.5)]), "{spans:?}");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        // Positions as espeak-ng reported them for this German sentence and
        // for Chinese (one event per character, punctuation has none).
        let pcm = audio(&[(0.0, 2.0)]);
        let german =
            word_spans("Grüße aus München, schön.", &[[1, 5, 0], [7, 3, 386], [11, 7, 584], [20, 5, 1136]], &pcm);
        assert!(close(&german.expect("matched"), &[(0.0, 0.386), (0.386, 0.584), (0.584, 1.136), (1.136, 2.0)]));
        let chinese = word_spans("你好，世界。", &[[1, 1, 0], [2, 1, 366], [4, 1, 1045], [5, 1, 1328]], &pcm);
        assert!(close(&chinese.expect("matched"), &[(0.0, 0.366), (0.366, 1.045), (1.045, 1.328), (1.328, 2.0)]));
    }

    #[test]
    fn a_word_without_an_event_is_not_guessed() {
        let pcm = audio(&[(0.0, 1.0)]);
        assert!(word_spans("Two words.", &[[1, 3, 0]], &pcm).is_none());
        assert!(word_spans("", &[], &pcm).is_none());
        // Events past the audio are held inside it.
        let spans = word_spans("One two", &[[1, 3, 0], [5, 3, 5000]], &pcm).expect("matched");
        assert!(spans.iter().all(|(s, e)| s <= e && *e <= 1.0 + 1e-9), "{spans:?}");
    }

    fn have_library() -> bool {
        std::process::Command::new("python3")
            .args(["-I", "-c", "import ctypes; ctypes.CDLL('libespeak-ng.so.1')"])
            .status()
            .is_ok_and(|s| s.success())
    }

    #[tokio::test]
    async fn speaks_like_the_command_line_and_times_every_word() {
        if !have_library() {
            eprintln!("python3 or libespeak-ng missing; skipping");
            return;
        }
        let sentences =
            vec!["Storms were the hardest nights.".to_string(), "Wind shook the glass, and 42 birds sang.".to_string()];
        let spoken = speak("python3", "en", &sentences, Duration::from_secs(30)).await.expect("speaks");
        assert_eq!(spoken.len(), 2);
        for (i, (text, sentence)) in sentences.iter().zip(&spoken).enumerate() {
            // The same engine, voice and rate as the command line: the first
            // sentence is the same length; a later one's pauses differ by a
            // few milliseconds (the library keeps some state between texts).
            let cli = crate::tts::espeak("espeak-ng", "en", text, Duration::from_secs(30)).await.expect("speaks");
            let (ours, theirs) = (sentence.pcm.samples.len(), cli.samples.len());
            if i == 0 {
                assert_eq!(ours, theirs, "{text}");
            } else {
                assert!(ours.abs_diff(theirs) < theirs / 20, "{text}: {ours} against {theirs}");
            }
            let spans = sentence.word_spans.as_ref().expect("every word has an event");
            assert_eq!(spans.len(), words::split(text).len());
            let mut previous = 0.0;
            for (start, end) in spans {
                assert!(*start >= previous - 1e-9 && end > start, "{spans:?}");
                assert!(*end <= sentence.pcm.duration_seconds() + 1e-9);
                previous = *end;
            }
            // Spread over the sentence, not bunched at its start.
            assert!(spans.last().expect("a word").0 > sentence.pcm.duration_seconds() * 0.5, "{spans:?}");
        }
    }

    #[tokio::test]
    async fn the_interpreter_is_found_once_past_any_shim() {
        if !have_library() {
            eprintln!("python3 missing; skipping");
            return;
        }
        let found = interpreter("python3").await;
        assert!(found.starts_with('/'), "{found}");
        // The interpreter itself, not a shell script in front of it.
        let head = std::fs::read(&found).expect("readable");
        assert_eq!(&head[..4], b"\x7fELF", "{found}");
        assert_eq!(interpreter("python3").await, found);
        assert_eq!(interpreter("definitely-not-python").await, "definitely-not-python");
    }

    #[tokio::test]
    async fn refuses_unknown_voices_and_speaks_text_as_text() {
        if !have_library() {
            eprintln!("python3 or libespeak-ng missing; skipping");
            return;
        }
        let one = |s: &str| vec![s.to_string()];
        let unknown = speak("python3", "xx-nonexistent", &one("Hello."), Duration::from_secs(30)).await;
        assert!(matches!(unknown, Err(MediaError::Invalid(_))), "{unknown:?}");
        for bad in ["", "--help", "../etc", "a b"] {
            assert!(speak("python3", bad, &one("Hello."), Duration::from_secs(30)).await.is_err(), "{bad:?}");
        }
        // Markup and quotes are read, not obeyed.
        let odd = one("<speak>\"[[h@l'oU]]\" 'quoted' \\n</speak>");
        let spoken = speak("python3", "en", &odd, Duration::from_secs(30)).await.expect("speaks");
        assert!(spoken[0].pcm.duration_seconds() > 0.3);
        let missing = speak("definitely-not-python", "en", &one("Hello."), Duration::from_secs(30)).await;
        assert!(matches!(missing, Err(MediaError::Process { .. })), "{missing:?}");
    }
}
