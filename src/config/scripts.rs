//! Scripts written by a language model (`POST /api/v1/scripts`): an
//! OpenAI-compatible chat-completions API, how long one call may take, and
//! how many scripts one tenant may ask for per minute.

use std::time::Duration;

use super::providers::OpenAiApi;
use super::source::{ConfigError, Source};

/// The model asked when `LLM_MODEL` is unset (it answers with structured outputs).
pub const DEFAULT_LLM_MODEL: &str = "gpt-4o-mini";

/// The language model and the limits on asking it.
#[derive(Debug, Clone)]
pub struct ScriptsConfig {
    /// `LLM_API_BASE` (`{base}/chat/completions`), `LLM_API_KEY` (a bearer
    /// token, when set), `LLM_MODEL`. `None`: no model is configured and
    /// `POST /api/v1/scripts` answers 503.
    pub llm: Option<OpenAiApi>,
    /// `LLM_TIMEOUT_SECONDS` (60): one call to the model, from sending the
    /// request to the last byte of its answer.
    pub timeout: Duration,
    /// `SCRIPTS_PER_MINUTE` (10): scripts one tenant may ask for per minute; 0 = unlimited.
    pub per_minute: u32,
}

impl ScriptsConfig {
    pub(super) fn parse(src: &Source) -> Result<ScriptsConfig, ConfigError> {
        let (key, model) = (src.secret("LLM_API_KEY"), src.optional("LLM_MODEL"));
        let llm = src.url("LLM_API_BASE")?.map(|base| OpenAiApi { base, key, model });
        Ok(ScriptsConfig {
            llm,
            timeout: Duration::from_secs(src.positive("LLM_TIMEOUT_SECONDS", 60)?),
            per_minute: src.parsed("SCRIPTS_PER_MINUTE", 10, "a whole number")?,
        })
    }
}
