//! The provider fallback policy, in one place: when a provider fails, is the
//! step tried again, or is the built-in replacement used now, and what does
//! the user read about it?
//!
//! - A remote picture is worth waiting for: the queue retries it (with
//!   backoff), and only the last try replaces it by the designed card.
//! - A remote voice is replaced by the built-in voice at once: espeak-ng
//!   speaks a scene in milliseconds, while retrying would repeat every
//!   sentence against a service that just failed.
//! - A language the built-in voice lacks is narrated in English at once:
//!   trying again cannot teach it the language.
//!
//! Either way the project ends `partial` with one warning per scene naming
//! the scene, the cause and what was used instead; retrying the project makes
//! the step again with the provider.

use super::StepError;
use crate::pipeline::queue::ClaimedStep;

/// The built-in stand-in for a provider that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replacement {
    /// The procedural card, for a remote image.
    DesignedCard,
    /// The offline illustration, for a remote image of an `auto` scene.
    Illustration,
    /// espeak-ng, for a remote voice.
    BuiltInVoice,
    /// The English espeak-ng voice, for a language it does not speak.
    EnglishVoice,
}

/// Which try of which scene a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Attempt {
    /// The scene, from 0.
    pub(super) scene_index: i64,
    /// This try, from 1.
    pub(super) attempt: i64,
    /// The queue's limit of tries.
    pub(super) max_attempts: i64,
}

impl From<&ClaimedStep> for Attempt {
    fn from(step: &ClaimedStep) -> Self {
        Attempt { scene_index: step.scene_index, attempt: step.attempts, max_attempts: step.max_attempts }
    }
}

/// Decides what a failure (`reason`, safe to show) in `attempt` leads to: an
/// error that makes the queue try again, or the note to show the user when
/// `replacement` is used now.
pub(super) fn decide(replacement: Replacement, attempt: Attempt, reason: &str) -> Result<String, StepError> {
    let instead = match replacement {
        Replacement::DesignedCard | Replacement::Illustration if attempt.attempt < attempt.max_attempts => {
            return Err(StepError::retry(format!("scene {}: {reason}", attempt.scene_index + 1)));
        }
        Replacement::DesignedCard => format!(
            "after {} tries a designed card was used instead. Retry to generate the image again",
            attempt.attempt
        ),
        Replacement::Illustration => format!(
            "after {} tries an illustration was used instead. Retry to generate the image again",
            attempt.attempt
        ),
        Replacement::BuiltInVoice => "narrated with the built-in voice instead".to_string(),
        Replacement::EnglishVoice => "narrated in English".to_string(),
    };
    Ok(format!("{reason}; {instead}"))
}

/// The warning of a scene (`scene_index` from 0) from the notes of its
/// fallbacks, in the order they happened; None when there were none.
pub(super) fn warning(scene_index: i64, notes: &[String]) -> Option<String> {
    let (first, rest) = notes.split_first()?;
    let mut warning = format!("Scene {}: {first}.", scene_index + 1);
    for note in rest {
        let mut chars = note.chars();
        let capital: String = chars.next().into_iter().flat_map(char::to_uppercase).collect();
        warning.push_str(&format!(" {capital}{}.", chars.as_str()));
    }
    Some(warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(attempt: i64) -> Attempt {
        Attempt { scene_index: 1, attempt, max_attempts: 3 }
    }

    #[test]
    fn images_are_retried_until_the_last_try() {
        for attempts in [1, 2] {
            let err = decide(Replacement::DesignedCard, step(attempts), "the image service answered 500");
            let err = err.err().map(|e| (e.message, e.retryable));
            assert_eq!(err, Some(("scene 2: the image service answered 500".to_string(), true)));
        }
        let note = decide(Replacement::DesignedCard, step(3), "the image service answered 500").ok();
        let warning = warning(1, &note.into_iter().collect::<Vec<_>>());
        assert_eq!(
            warning.as_deref(),
            Some(
                "Scene 2: the image service answered 500; after 3 tries a designed card was used instead. \
                 Retry to generate the image again."
            )
        );
    }

    #[test]
    fn an_auto_scene_falls_back_to_the_illustration() {
        let err = decide(Replacement::Illustration, step(1), "the image service answered 500");
        assert!(err.is_err_and(|e| e.retryable));
        let note = decide(Replacement::Illustration, step(3), "the image service answered 500").ok();
        assert_eq!(
            note.as_deref(),
            Some(
                "the image service answered 500; after 3 tries an illustration was used instead. \
                 Retry to generate the image again"
            )
        );
    }

    #[test]
    fn voices_fall_back_at_once_in_one_warning() {
        let remote = decide(Replacement::BuiltInVoice, step(1), "the speech service could not be reached");
        let language =
            decide(Replacement::EnglishVoice, step(1), "language \"xq\" is not supported by the voice engine");
        let notes: Vec<String> = [remote, language].into_iter().filter_map(Result::ok).collect();
        assert_eq!(
            warning(0, &notes).as_deref(),
            Some(
                "Scene 1: the speech service could not be reached; narrated with the built-in voice instead. \
                 Language \"xq\" is not supported by the voice engine; narrated in English."
            )
        );
        assert_eq!(warning(0, &[]), None);
    }
}
