//! Speech: espeak-ng as a child process (Piper lives in `piper`), any audio
//! normalised to one format, and narration assembled sentence by sentence with
//! measured timings for sentences (cues) and words.

use std::path::Path;
use std::time::Duration;

use crate::process;
use crate::subtitles::Cue;
use crate::wav::Pcm;
use crate::words::{self, WordTiming};
use crate::{MediaError, MediaResult};

/// The format every scene's narration is stored in.
pub const SAMPLE_RATE: u32 = 22050;
/// Pause between two sentences of a scene.
pub const SENTENCE_GAP_SECONDS: f64 = 0.18;

/// A voice a local engine offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVoice {
    /// Language code, e.g. `en-us`.
    pub language: String,
    /// The stable, readable name voice ids are built from: the language code
    /// espeak-ng lists, e.g. `en-us` or `chr-US-Qaaa-x-west`.
    pub name: String,
    /// What to pass to the engine's `-v`: espeak-ng's voice file, e.g.
    /// `gmw/en-US` or `iro/chr`. espeak-ng accepts every listed file, but not
    /// every listed language code (`chr-US-Qaaa-x-west` is refused).
    pub engine_voice: String,
    /// `male`/`female` when the engine says.
    pub gender: Option<String>,
}

/// Speaks `text` with espeak-ng `voice`: a language code such as `en`, `de`,
/// `cmn`, or a voice file as listed (`gmw/en-US`, `iro/chr`). An unknown voice
/// is an error (espeak exits 1 and writes nothing).
pub async fn espeak(program: &str, voice: &str, text: &str, timeout: Duration) -> MediaResult<Pcm> {
    if !valid_espeak_voice(voice) {
        return Err(MediaError::Invalid(format!("unsupported espeak voice {voice:?}")));
    }
    // Text goes on stdin so that nothing in it is read as an option.
    let done = process::run(program, &["-v", voice, "-s", "165", "--stdout"], timeout, Some(text.as_bytes())).await?;
    let pcm = Pcm::parse(&done.stdout)?;
    if pcm.sample_rate != SAMPLE_RATE || pcm.channels != 1 {
        return Err(MediaError::Invalid(format!("espeak-ng produced {} Hz x{}", pcm.sample_rate, pcm.channels)));
    }
    Ok(pcm)
}

/// A voice name or a relative voice file: `/`-separated segments of ASCII
/// letters, digits, `-`, `+` and `_`, none empty (so no `..`, no absolute path,
/// and nothing that reads as an option).
pub(crate) fn valid_espeak_voice(voice: &str) -> bool {
    !voice.starts_with('-')
        && voice.split('/').all(|segment| {
            !segment.is_empty() && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '_'))
        })
}

/// Lists espeak-ng's voices (`espeak-ng --voices`): named by their language
/// code, spoken with their voice file.
pub async fn espeak_voices(program: &str, timeout: Duration) -> MediaResult<Vec<LocalVoice>> {
    let done = process::run(program, &["--voices"], timeout, None).await?;
    let text = String::from_utf8_lossy(&done.stdout);
    let mut voices = Vec::new();
    // Columns: Pty Language Age/Gender VoiceName File Other Languages
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // Pty, Language, Age/Gender, VoiceName, File: a line without a File
        // column cannot be spoken reliably, so it is not offered.
        if cols.len() < 5 || !valid_espeak_voice(cols[4]) {
            continue;
        }
        let gender = match cols[2].rsplit('/').next() {
            Some("M") => Some("male".to_string()),
            Some("F") => Some("female".to_string()),
            _ => None,
        };
        voices.push(LocalVoice {
            language: cols[1].to_string(),
            name: cols[1].to_string(),
            engine_voice: cols[4].to_string(),
            gender,
        });
    }
    Ok(voices)
}

/// Converts any audio file ffmpeg reads into mono 16-bit PCM at `SAMPLE_RATE`.
pub async fn normalize(ffmpeg: &str, input: &Path, timeout: Duration) -> MediaResult<Pcm> {
    let input_arg = input.display().to_string();
    let rate = SAMPLE_RATE.to_string();
    let args = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        &input_arg,
        "-ac",
        "1",
        "-ar",
        &rate,
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
        "-",
    ];
    let done = process::run(ffmpeg, &args, timeout, None).await?;
    Pcm::parse(&done.stdout)
}

/// A scene's narration, built one sentence at a time.
pub struct Narration {
    /// The audio so far.
    pub pcm: Pcm,
    /// One cue per sentence, timed from the audio.
    pub cues: Vec<Cue>,
    /// Every word, timed inside its sentence's cue.
    pub words: Vec<WordTiming>,
}

impl Default for Narration {
    fn default() -> Self {
        Narration {
            pcm: Pcm { sample_rate: SAMPLE_RATE, channels: 1, samples: Vec::new() },
            cues: Vec::new(),
            words: Vec::new(),
        }
    }
}

impl Narration {
    /// Appends one spoken sentence (after a short pause when not the first);
    /// its words' timings are estimated from syllables.
    pub fn push(&mut self, text: &str, spoken: &Pcm) -> MediaResult<()> {
        self.push_aligned(text, spoken, None)
    }

    /// Appends one spoken sentence with the voice's word spans (`(start,
    /// end)` in seconds of `spoken`, see `piper::Utterance::word_spans`):
    /// its words are measured when they match the written words one to one,
    /// estimated otherwise.
    pub fn push_aligned(&mut self, text: &str, spoken: &Pcm, spans: Option<&[(f64, f64)]>) -> MediaResult<()> {
        if spoken.sample_rate != SAMPLE_RATE || spoken.channels != 1 {
            return Err(MediaError::Invalid(format!(
                "speech at {} Hz x{} needs normalising first",
                spoken.sample_rate, spoken.channels
            )));
        }
        if !self.cues.is_empty() {
            self.pcm.append(&Pcm::silence(SAMPLE_RATE, 1, SENTENCE_GAP_SECONDS))?;
        }
        let start = self.pcm.duration_seconds();
        let (first, last) = loud_frames(spoken);
        self.pcm.append(&Pcm { samples: spoken.samples[first..last].to_vec(), ..spoken.clone() })?;
        let end = self.pcm.duration_seconds();
        // The trimmed lead moves the voice's times earlier.
        let shift = start - first as f64 / f64::from(SAMPLE_RATE);
        let timed = spans
            .and_then(|spans| {
                let moved: Vec<(f64, f64)> = spans.iter().map(|(s, e)| (s + shift, e + shift)).collect();
                words::measured(text, &moved, start, end)
            })
            .unwrap_or_else(|| words::estimate(text, start, end));
        self.words.extend(timed);
        self.cues.push(Cue { start, end, text: text.to_string() });
        Ok(())
    }

    /// Measured length in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.pcm.duration_seconds()
    }
}

/// Removes leading and trailing near-silence (engines pad differently).
pub fn trim_silence(pcm: &Pcm) -> Pcm {
    let channels = usize::from(pcm.channels.max(1));
    let (first, last) = loud_frames(pcm);
    Pcm { samples: pcm.samples[first * channels..last * channels].to_vec(), ..pcm.clone() }
}

/// The frames `first..last` that `trim_silence` keeps (empty for silence).
fn loud_frames(pcm: &Pcm) -> (usize, usize) {
    const THRESHOLD: i16 = 200;
    let channels = usize::from(pcm.channels.max(1));
    let frames = pcm.samples.len() / channels;
    let loud = |frame: usize| {
        pcm.samples[frame * channels..(frame + 1) * channels].iter().any(|s| s.unsigned_abs() > THRESHOLD as u16)
    };
    let Some(first) = (0..frames).find(|f| loud(*f)) else {
        return (0, 0);
    };
    let last = (0..frames).rev().find(|f| loud(*f)).unwrap_or(first);
    // Keep a few milliseconds either side so that words are not clipped.
    let margin = (pcm.sample_rate as usize) / 50;
    (first.saturating_sub(margin), (last + 1 + margin).min(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have(program: &str) -> bool {
        std::process::Command::new(program).arg("--version").output().is_ok()
    }

    #[tokio::test]
    async fn espeak_speaks_and_is_measured() {
        if !have("espeak-ng") {
            eprintln!("espeak-ng not installed; skipping");
            return;
        }
        let pcm = espeak("espeak-ng", "en", "Hello world, this is Reelforge.", Duration::from_secs(20))
            .await
            .expect("speaks");
        let seconds = pcm.duration_seconds();
        assert!((1.0..5.0).contains(&seconds), "{seconds}");
        let german = espeak("espeak-ng", "de", "Guten Tag.", Duration::from_secs(20)).await.expect("speaks");
        assert!(german.duration_seconds() > 0.3);
        let unknown = espeak("espeak-ng", "xx-nonexistent", "Hello", Duration::from_secs(20)).await;
        assert!(unknown.is_err(), "an unknown voice fails");
        let injected = espeak("espeak-ng", "--help", "Hello", Duration::from_secs(20)).await;
        assert!(injected.is_err());
        // Text that looks like an option is spoken, not obeyed.
        let dashed = espeak("espeak-ng", "en", "--version", Duration::from_secs(20)).await.expect("speaks");
        assert!(dashed.duration_seconds() > 0.2);
        let voices = espeak_voices("espeak-ng", Duration::from_secs(20)).await.expect("lists");
        assert!(voices.iter().any(|v| v.language == "en" || v.language.starts_with("en")));
        for bad in ["", "-v", "../etc", "/etc/x", "a//b", "gmw/", "a b", "de;rm"] {
            assert!(espeak("espeak-ng", bad, "Hello", Duration::from_secs(20)).await.is_err(), "{bad:?}");
        }
    }

    /// Every voice the listing offers can be spoken (as `/api/v1/voices` offers
    /// them all, each with a preview). About a second for espeak-ng's 131.
    #[tokio::test]
    async fn every_listed_espeak_voice_speaks() {
        if !have("espeak-ng") {
            eprintln!("espeak-ng not installed; skipping");
            return;
        }
        let voices = espeak_voices("espeak-ng", Duration::from_secs(20)).await.expect("lists");
        assert!(voices.len() > 10, "{voices:?}");
        let mut failed = Vec::new();
        for voice in &voices {
            if let Err(err) = espeak("espeak-ng", &voice.engine_voice, "Hi.", Duration::from_secs(20)).await {
                failed.push(format!("{} ({}): {err}", voice.name, voice.engine_voice));
            }
        }
        assert!(failed.is_empty(), "voices listed but not speakable: {failed:#?}");
        // espeak-ng 1.51 lists Cherokee under a code its -v refuses; its file works.
        if let Some(cherokee) = voices.iter().find(|v| v.name.starts_with("chr")) {
            assert_eq!(cherokee.engine_voice, "iro/chr");
        }
    }

    #[test]
    fn espeak_voice_names_are_checked() {
        for good in ["en", "en-us", "gmw/en-US", "iro/chr", "sit/cmn-Latn-pinyin", "en+f3"] {
            assert!(valid_espeak_voice(good), "{good}");
        }
        for bad in ["", "-h", "--help", "../x", "/abs", "a//b", "a/", "a b", "a.b"] {
            assert!(!valid_espeak_voice(bad), "{bad}");
        }
    }

    #[test]
    fn narration_times_each_sentence() {
        let tone = |seconds: f64| Pcm {
            sample_rate: SAMPLE_RATE,
            channels: 1,
            samples: vec![1000; (seconds * SAMPLE_RATE as f64) as usize],
        };
        let mut narration = Narration::default();
        narration.push("One.", &tone(1.0)).expect("push");
        narration.push("Two.", &tone(0.5)).expect("push");
        assert_eq!(narration.cues.len(), 2);
        assert!(narration.cues[0].start.abs() < 1e-9);
        assert!((narration.cues[1].start - (narration.cues[0].end + SENTENCE_GAP_SECONDS)).abs() < 1e-3);
        assert!((narration.duration_seconds() - narration.cues[1].end).abs() < 1e-9);
    }

    #[test]
    fn narration_times_words_inside_their_cues() {
        // Half a second of silence, then a second of "speech".
        let mut samples = vec![0i16; SAMPLE_RATE as usize / 2];
        samples.extend(vec![3000i16; SAMPLE_RATE as usize]);
        let spoken = Pcm { sample_rate: SAMPLE_RATE, channels: 1, samples };
        let mut narration = Narration::default();
        narration.push("Estimated words here.", &spoken).expect("push");
        // Measured spans in the untrimmed audio: the trimmed lead moves them.
        narration.push_aligned("Two words.", &spoken, Some(&[(0.5, 0.9), (1.0, 1.5)])).expect("push");
        // A span count that does not match the words is estimated.
        narration.push_aligned("Call 911.", &spoken, Some(&[(0.5, 0.7), (0.8, 1.0), (1.1, 1.4)])).expect("push");
        let timings: Vec<Timing> = narration.words.iter().map(|w| w.timing).collect();
        use crate::words::Timing;
        assert_eq!(
            timings,
            [Timing::Estimated; 3]
                .into_iter()
                .chain([Timing::Measured; 2])
                .chain([Timing::Estimated; 2])
                .collect::<Vec<_>>()
        );
        let second = &narration.cues[1];
        let lead = 0.5 - 0.02; // trimmed silence minus the kept margin
        assert!((narration.words[3].start - (second.start + 0.5 - lead)).abs() < 1e-3, "{:?}", narration.words);
        assert!((narration.words[4].end - (second.start + 1.5 - lead)).abs() < 1e-3, "{:?}", narration.words);
        let mut cue = narration.cues.iter();
        let mut current = cue.next().expect("cue");
        let mut previous = 0.0;
        for word in &narration.words {
            while word.start >= current.end + 1e-9 {
                current = cue.next().expect("a word after the last cue");
            }
            assert!(word.start >= current.start - 1e-9 && word.end <= current.end + 1e-9, "{word:?} {current:?}");
            assert!(word.start >= previous - 1e-9, "monotonic");
            previous = word.end;
        }
    }

    #[test]
    fn trims_silence_keeping_a_margin() {
        let mut samples = vec![0i16; 22050];
        samples.extend(vec![5000i16; 22050]);
        samples.extend(vec![0i16; 22050]);
        let pcm = Pcm { sample_rate: 22050, channels: 1, samples };
        let trimmed = trim_silence(&pcm);
        assert!((trimmed.duration_seconds() - 1.04).abs() < 0.01, "{}", trimmed.duration_seconds());
        assert!(trim_silence(&Pcm::silence(22050, 1, 1.0)).samples.is_empty());
    }
}
