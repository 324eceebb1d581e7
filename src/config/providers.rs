//! Media providers: who draws the images and who speaks the narration.
//!
//! A provider that needs an API or a voice carries it, so "openai without a
//! base URL" or "piper without a voice" cannot be built: start-up refuses it
//! with the missing key instead of every step failing over to the fallback.

use url::Url;

use super::source::{ConfigError, Secret, Source, bad};

/// An OpenAI-compatible HTTP API (`{base}/images/generations`, `{base}/audio/speech`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiApi {
    pub base: Url,
    /// Sent as a bearer token when set (local compatible servers need none).
    pub key: Option<Secret>,
    /// Unset: the caller's default model (`gpt-image-1`, `tts-1`).
    pub model: Option<String>,
}

/// Who draws scene images (`IMAGE_PROVIDER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProvider {
    /// Designed cards drawn locally, offline.
    Procedural,
    /// An OpenAI-compatible images API (`IMAGE_API_*`); falls back to a card on its last failed try.
    OpenAi(OpenAiApi),
}

/// The engine that speaks for projects that name no voice (`TTS_PROVIDER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechProvider {
    /// The default: an installed Piper voice of the project's language (the
    /// bundled English one, or one in `PIPER_VOICES_DIR`), else espeak-ng.
    Auto,
    /// espeak-ng, local, always.
    Espeak,
    /// Piper, a local neural voice.
    Piper {
        /// `PIPER_VOICE`: an `.onnx` path or an installed voice name.
        voice: String,
    },
    /// An OpenAI-compatible speech API (`TTS_API_*`).
    OpenAi(OpenAiApi),
}

/// Speech engines: the default one, and the others a project may still name
/// by voice id (`openai:nova`, `piper:...`) whatever the default is.
///
/// The fields are private so that the default and the engines on offer come
/// from the same keys: `OpenAi` as the default implies `openai()` is that API.
#[derive(Debug, Clone)]
pub struct SpeechConfig {
    provider: SpeechProvider,
    openai: Option<OpenAiApi>,
    piper_voice: Option<String>,
}

impl SpeechConfig {
    /// The default engine.
    pub fn provider(&self) -> &SpeechProvider {
        &self.provider
    }

    /// The speech API when `TTS_API_BASE` is set; `openai:` voices are offered then.
    pub fn openai(&self) -> Option<&OpenAiApi> {
        self.openai.as_ref()
    }

    /// `PIPER_VOICE` when set; the `piper:` voice is offered then.
    pub fn piper_voice(&self) -> Option<&str> {
        self.piper_voice.as_deref()
    }
}

/// Image and speech providers.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub image: ImageProvider,
    pub speech: SpeechConfig,
}

impl ProvidersConfig {
    pub(super) fn parse(src: &Source) -> Result<ProvidersConfig, ConfigError> {
        let (key, model) = (src.secret("IMAGE_API_KEY"), src.optional("IMAGE_MODEL"));
        let image_api = src.url("IMAGE_API_BASE")?.map(|base| OpenAiApi { base, key, model });
        let image = match src.choice("IMAGE_PROVIDER", &["procedural", "openai"])? {
            "openai" => ImageProvider::OpenAi(
                image_api.ok_or_else(|| bad("IMAGE_API_BASE", "required when IMAGE_PROVIDER=openai"))?,
            ),
            _ => ImageProvider::Procedural,
        };

        let (key, model) = (src.secret("TTS_API_KEY"), src.optional("TTS_MODEL"));
        let openai = src.url("TTS_API_BASE")?.map(|base| OpenAiApi { base, key, model });
        let piper_voice = src.optional("PIPER_VOICE");
        let provider = match src.choice("TTS_PROVIDER", &["auto", "espeak", "piper", "openai"])? {
            "openai" => SpeechProvider::OpenAi(
                openai.clone().ok_or_else(|| bad("TTS_API_BASE", "required when TTS_PROVIDER=openai"))?,
            ),
            "piper" => SpeechProvider::Piper {
                voice: piper_voice.clone().ok_or_else(|| {
                    bad("PIPER_VOICE", "required when TTS_PROVIDER=piper (an .onnx model path or voice name)")
                })?,
            },
            "espeak" => SpeechProvider::Espeak,
            _ => SpeechProvider::Auto,
        };
        Ok(ProvidersConfig { image, speech: SpeechConfig { provider, openai, piper_voice } })
    }
}
