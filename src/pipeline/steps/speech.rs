//! The speech step: a scene's narration, spoken sentence by sentence so each
//! sentence's length is measured (its cue), with the requested voice: Piper
//! (a loaded child of `state.piper`), an OpenAI-compatible provider, or
//! espeak-ng, which is also the fallback for them all. Every word is timed
//! inside its sentence: measured from Piper's alignments and espeak-ng's word
//! events (through its library), else estimated.

use std::time::Duration;

use bytes::Bytes;
use reelforge_media::subtitles::Cue;
use reelforge_media::tts::{self, Narration};
use reelforge_media::wav::Pcm;
use reelforge_media::words::WordTiming;
use reelforge_media::{MediaError, espeak_lib, sentences};
use serde::{Deserialize, Serialize};

use super::fallback::{self, Replacement};
use super::{Done, SpeechOutput, StepContext, StepError, StepOutput, content_key};
use crate::config::SpeechProvider;
use crate::pipeline::providers;

/// The interpreter that runs espeak-ng's library child (`python3 -I`: the
/// standard library's ctypes is all it needs).
const ESPEAK_LIB_PYTHON: &str = "python3";

/// What is stored beside a scene's narration, so a re-run can reuse it.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSpeech {
    duration: f64,
    cues: Vec<Cue>,
    #[serde(default)]
    words: Vec<WordTiming>,
    warning: Option<String>,
}

impl StoredSpeech {
    fn into_done(self, hash: String, key: String) -> Done {
        let output = SpeechOutput { key, duration: self.duration, cues: self.cues, words: self.words };
        Done::new(hash, StepOutput::Speech(output)).with_warning(self.warning)
    }
}

impl StepContext<'_> {
    pub(super) async fn speech(&self) -> Result<Done, StepError> {
        let scene = self.scene_row().await?;
        let text = scene.text;
        let requested = match scene.voice.or_else(|| self.project.voice.clone()) {
            Some(voice) => voice,
            None => default_voice(self.state, &self.project.language).await,
        };
        // v2: word timings are stored beside the cues.
        let hash = content_key(&["speech:v2", &requested, &self.project.language, &text]);
        let key = format!("{}speech/{hash}.wav", self.prefix);
        let meta_key = format!("{}speech/{hash}.json", self.prefix);
        if self.state.storage.size(&key).await?.is_some()
            && let Ok(meta) = self.state.storage.get_bytes(&meta_key).await
            && let Ok(stored) = serde_json::from_slice::<StoredSpeech>(&meta)
        {
            return Ok(stored.into_done(hash, key));
        }

        let sentences = sentences::split(&text);
        let (narration, warning) = self.narrate(&requested, &sentences).await?;
        let wav = self.work.join("scene.wav");
        narration.pcm.write(&wav)?;
        let stored = StoredSpeech {
            duration: narration.duration_seconds(),
            cues: narration.cues,
            words: narration.words,
            warning,
        };
        self.state.storage.put_file(&key, &wav).await?;
        self.state.storage.put_bytes(&meta_key, Bytes::from(serde_json::to_vec(&stored).unwrap_or_default())).await?;
        Ok(stored.into_done(hash, key))
    }

    /// Speaks every sentence with the requested voice; a provider failure
    /// falls back to espeak-ng, an unknown language to English, with a warning.
    async fn narrate(&self, voice: &str, sentences: &[String]) -> Result<(Narration, Option<String>), StepError> {
        let (provider, name) = voice.split_once(':').unwrap_or(("espeak", voice));
        let mut notes = Vec::new();
        let narration = if provider == "espeak" {
            // Voices are named by language code but spoken by voice file (not
            // every listed code is accepted by `-v`).
            let engine_voice = crate::projects::voices::espeak_engine_voice(self.state, name).await;
            self.narrate_espeak(&engine_voice, sentences, &mut notes).await?
        } else {
            match self.narrate_remote(provider, name, sentences).await {
                Ok(narration) => narration,
                Err(reason) => {
                    notes.push(fallback::decide(Replacement::BuiltInVoice, self.step.into(), &reason)?);
                    let voice = espeak_voice(&self.project.language);
                    self.narrate_espeak(&voice, sentences, &mut notes).await?
                }
            }
        };
        Ok((narration, fallback::warning(self.scene(), &notes)))
    }

    /// Speaks with espeak-ng; a voice it cannot use falls back to English,
    /// adding a note to `notes`.
    async fn narrate_espeak(
        &self,
        voice: &str,
        sentences: &[String],
        notes: &mut Vec<String>,
    ) -> Result<Narration, StepError> {
        let mut voice_used = voice.to_string();
        loop {
            match self.speak_espeak(&voice_used, sentences).await {
                Ok(narration) => return Ok(narration),
                Err(MediaError::Timeout { .. }) => {
                    return Err(StepError::retry("the speech engine did not finish in time"));
                }
                Err(_) if voice_used != "en" => {
                    let reason = format!("language {:?} is not supported by the voice engine", self.project.language);
                    notes.push(fallback::decide(Replacement::EnglishVoice, self.step.into(), &reason)?);
                    voice_used = "en".into();
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Every sentence spoken by espeak-ng `voice`: through its library, which
    /// times each word; when that child cannot run (no Python, no library),
    /// through its command line, whose words are estimated.
    async fn speak_espeak(&self, voice: &str, sentences: &[String]) -> Result<Narration, MediaError> {
        let media = &self.config().media;
        let timeout = Duration::from_secs(media.tts_timeout_seconds);
        let mut narration = Narration::default();
        let whole = timeout.saturating_mul(u32::try_from(sentences.len()).unwrap_or(u32::MAX).max(1));
        match espeak_lib::speak(ESPEAK_LIB_PYTHON, voice, sentences, whole).await {
            Ok(spoken) => {
                for (sentence, spoken) in sentences.iter().zip(spoken) {
                    narration.push_aligned(sentence, &spoken.pcm, spoken.word_spans.as_deref())?;
                }
                return Ok(narration);
            }
            Err(err @ (MediaError::Timeout { .. } | MediaError::Invalid(_))) => return Err(err),
            Err(err) => {
                tracing::warn!(error = %err, "espeak-ng's library child failed; speaking through its command line, words estimated");
            }
        }
        for sentence in sentences {
            narration.push(sentence, &tts::espeak(&media.espeak_path, voice, sentence, timeout).await?)?;
        }
        Ok(narration)
    }

    /// Speaks with a remote provider; the error is a reason safe to show.
    async fn narrate_remote(&self, provider: &str, voice: &str, sentences: &[String]) -> Result<Narration, String> {
        let timeout = Duration::from_secs(self.config().media.tts_timeout_seconds);
        let mut narration = Narration::default();
        for (i, sentence) in sentences.iter().enumerate() {
            let raw = self.work.join(format!("sentence-{i}.audio"));
            let (spoken, spans) = match provider {
                "openai" => {
                    let bytes = providers::synthesize_speech(&self.state.http, self.config(), voice, sentence)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokio::fs::write(&raw, bytes).await.map_err(|_| "could not store the speech".to_string())?;
                    let pcm = tts::normalize(&self.config().media.ffmpeg_path, &raw, timeout).await.map_err(|e| {
                        super::log_detail(&e);
                        "the speech service sent audio that could not be used".to_string()
                    })?;
                    (pcm, None)
                }
                "piper" => {
                    // The model is an installed voice's, looked up by the
                    // name checked at creation; a name is never a path.
                    let model = crate::projects::voices::piper_model(self.state, voice)
                        .await
                        .ok_or_else(|| "this voice is no longer installed".to_string())?;
                    let out = self.work.join(format!("sentence-{i}.wav"));
                    let spoken = self.state.piper.speak(&model, sentence, &out, timeout).await.map_err(|e| {
                        // Piper's paths and stderr go to the log only.
                        super::log_detail(&e);
                        piper_failure(&e)
                    })?;
                    let spans = spoken.word_spans();
                    (self.at_narration_rate(spoken.pcm, &out, timeout).await?, spans)
                }
                _ => return Err("this voice is no longer offered".to_string()),
            };
            narration.push_aligned(sentence, &spoken, spans.as_deref()).map_err(|e| super::for_people(&e))?;
        }
        Ok(narration)
    }
}

impl StepContext<'_> {
    /// `pcm` (written at `path`) at the narration's rate: as it is, or
    /// resampled by ffmpeg (Piper voices of other qualities speak at 16 kHz).
    async fn at_narration_rate(&self, pcm: Pcm, path: &std::path::Path, timeout: Duration) -> Result<Pcm, String> {
        if pcm.sample_rate == tts::SAMPLE_RATE && pcm.channels == 1 {
            return Ok(pcm);
        }
        tts::normalize(&self.config().media.ffmpeg_path, path, timeout).await.map_err(|e| {
            super::log_detail(&e);
            "the neural voice's audio could not be used".to_string()
        })
    }
}

/// What a user reads when Piper failed (the details are logged).
fn piper_failure(err: &MediaError) -> String {
    match err {
        MediaError::Timeout { seconds, .. } => format!("the neural voice did not finish within {seconds} s"),
        MediaError::Process { message, .. } if message.starts_with("not installed") => {
            "the neural voice is not installed on this server".to_string()
        }
        _ => "the neural voice failed".to_string(),
    }
}

/// The espeak-ng voice for a language code (`zh` is `cmn`, otherwise the code).
pub fn espeak_voice(language: &str) -> String {
    let language = language.to_ascii_lowercase();
    match language.as_str() {
        "zh" | "zh-cn" | "zh-hans" => "cmn".into(),
        "zh-tw" | "zh-hant" => "cmn".into(),
        other => other.to_string(),
    }
}

/// The voice a project gets when it names none: the configured provider's
/// default for its language; by default (`auto`) an installed Piper voice of
/// the language (the bundled one speaks English), else espeak-ng.
pub async fn default_voice(state: &crate::state::AppState, language: &str) -> String {
    match state.config.providers.speech.provider() {
        SpeechProvider::OpenAi(_) => "openai:alloy".into(),
        SpeechProvider::Piper { voice } => format!("piper:{}", crate::projects::voices::piper_voice_name(voice)),
        SpeechProvider::Espeak => format!("espeak:{}", espeak_voice(language)),
        SpeechProvider::Auto => match crate::projects::voices::piper_voice_for(state, language).await {
            Some(name) => format!("piper:{name}"),
            None => format!("espeak:{}", espeak_voice(language)),
        },
    }
}
