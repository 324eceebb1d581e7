//! What each kind of step leaves behind, typed. The queue stores an output as
//! JSON in `steps.output`: `StepOutput::to_json` writes it and
//! `StepOutput::parse` reads it back, in the same shapes as ever, so outputs
//! of earlier runs stay readable and nothing indexes JSON by field name.

use std::collections::HashMap;

use reelforge_media::subtitles::Cue;
use reelforge_media::words::WordTiming;
use serde::{Deserialize, Serialize};

use super::StepError;
use crate::pipeline::graph::StepKind;

/// Output of an image step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageOutput {
    /// Storage key of the picture (PNG at the motion size); for a clip, its first frame.
    pub key: String,
    /// The library file it shows, when the scene's visual is an upload (not billed as an image made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// When the scene shows a clip: the clip, which the segment plays instead of moving the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<ClipSource>,
    /// The picture is the designed title card (some templates burn no captions over it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub card: bool,
    /// A stock photo or clip: who made it and where it comes from (not billed as an image made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<crate::stock::Credit>,
}

/// A clip a scene plays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipSource {
    /// Storage key of the clip as uploaded (or downloaded from a stock provider).
    pub key: String,
    /// The container its content was identified as (it is opened as nothing else).
    pub demuxer: reelforge_media::render::Demuxer,
}

impl ImageOutput {
    /// A picture made by a step.
    pub fn picture(key: String) -> ImageOutput {
        ImageOutput { key, media_id: None, clip: None, card: false, credit: None }
    }

    /// The designed title card.
    pub fn card(key: String) -> ImageOutput {
        ImageOutput { card: true, ..ImageOutput::picture(key) }
    }
}

/// Output of a speech step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechOutput {
    /// Storage key of the narration (WAV).
    pub key: String,
    /// Its measured length in seconds.
    pub duration: f64,
    /// One cue per sentence, in seconds from the start of the scene.
    pub cues: Vec<Cue>,
    /// Every narrated word, in seconds from the start of the scene, inside
    /// its sentence's cue and in order (what word-by-word captions show);
    /// empty for narrations made before words were timed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordTiming>,
}

/// Output of a segment step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentOutput {
    /// Storage key of the video-only segment (MP4).
    pub key: String,
    /// Its length in frames.
    pub frames: u32,
}

/// Output of the audio step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioOutput {
    /// Storage key of the finished sound (AAC-LC in an M4A file).
    pub key: String,
    /// Its integrated loudness (LUFS) and true peak (dBTP) as measured when
    /// it was made.
    pub integrated: f64,
    pub true_peak: f64,
}

/// Output of the final step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalOutput {
    /// Storage key of the finished video.
    pub video_key: String,
    /// Its length in milliseconds.
    pub duration_ms: i64,
}

/// What a finished step produced; the variant follows the step's kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StepOutput {
    /// From an `image` step.
    Image(ImageOutput),
    /// From a `speech` step.
    Speech(SpeechOutput),
    /// From a `segment` step.
    Segment(SegmentOutput),
    /// From the `audio` step.
    Audio(AudioOutput),
    /// From the `final` step.
    Final(FinalOutput),
}

impl StepOutput {
    /// Reads the stored output of a step of `step_kind`; None for an unknown
    /// kind or JSON of another shape.
    pub fn parse(step_kind: StepKind, json: &str) -> Option<StepOutput> {
        let output = match step_kind {
            StepKind::Image => StepOutput::Image(serde_json::from_str(json).ok()?),
            StepKind::Speech => StepOutput::Speech(serde_json::from_str(json).ok()?),
            StepKind::Segment => StepOutput::Segment(serde_json::from_str(json).ok()?),
            StepKind::Audio => StepOutput::Audio(serde_json::from_str(json).ok()?),
            StepKind::Final => StepOutput::Final(serde_json::from_str(json).ok()?),
        };
        Some(output)
    }

    /// The stored form: JSON text.
    pub fn to_json(&self) -> String {
        // Plain structs of strings and numbers always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The kind of step that produces this output.
    pub fn kind(&self) -> StepKind {
        match self {
            StepOutput::Image(_) => StepKind::Image,
            StepOutput::Speech(_) => StepKind::Speech,
            StepOutput::Segment(_) => StepKind::Segment,
            StepOutput::Audio(_) => StepKind::Audio,
            StepOutput::Final(_) => StepKind::Final,
        }
    }
}

/// The done outputs of a project's steps, by scene index.
#[derive(Debug, Default)]
pub(super) struct DoneOutputs {
    images: HashMap<i64, ImageOutput>,
    speeches: HashMap<i64, SpeechOutput>,
    segments: HashMap<i64, SegmentOutput>,
    audio: Option<AudioOutput>,
}

impl DoneOutputs {
    /// From `(kind, scene_index, output)` rows of done steps; unreadable
    /// outputs are left out (and then count as not ready).
    pub(super) fn from_rows(rows: impl IntoIterator<Item = (StepKind, i64, Option<String>)>) -> Self {
        let mut done = DoneOutputs::default();
        for (step_kind, scene, json) in rows {
            match json.and_then(|json| StepOutput::parse(step_kind, &json)) {
                Some(StepOutput::Image(output)) => {
                    done.images.insert(scene, output);
                }
                Some(StepOutput::Speech(output)) => {
                    done.speeches.insert(scene, output);
                }
                Some(StepOutput::Segment(output)) => {
                    done.segments.insert(scene, output);
                }
                Some(StepOutput::Audio(output)) => done.audio = Some(output),
                Some(StepOutput::Final(_)) | None => {}
            }
        }
        done
    }

    /// The picture of scene `scene`.
    pub(super) fn image(&self, scene: i64) -> Result<&ImageOutput, StepError> {
        ready(&self.images, StepKind::Image, scene)
    }

    /// The narration of scene `scene`.
    pub(super) fn speech(&self, scene: i64) -> Result<&SpeechOutput, StepError> {
        ready(&self.speeches, StepKind::Speech, scene)
    }

    /// The video segment of scene `scene`.
    pub(super) fn segment(&self, scene: i64) -> Result<&SegmentOutput, StepError> {
        ready(&self.segments, StepKind::Segment, scene)
    }

    /// The finished sound.
    pub(super) fn audio(&self) -> Result<&AudioOutput, StepError> {
        self.audio.as_ref().ok_or_else(|| StepError::retry("the sound of the video is not ready"))
    }
}

/// An input a step needs; missing means "not ready yet", which a retry can fix.
fn ready<T>(outputs: &HashMap<i64, T>, step_kind: StepKind, scene: i64) -> Result<&T, StepError> {
    outputs.get(&scene).ok_or_else(|| StepError::retry(format!("the {step_kind} of scene {} is not ready", scene + 1)))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn stored(output: &StepOutput) -> Value {
        serde_json::from_str(&output.to_json()).expect("JSON")
    }

    #[test]
    fn outputs_keep_their_stored_shape() {
        let speech = StepOutput::Speech(SpeechOutput {
            key: "s.wav".into(),
            duration: 1.5,
            cues: vec![Cue { start: 0.0, end: 1.5, text: "Hi.".into() }],
            words: Vec::new(),
        });
        let value = stored(&speech);
        assert_eq!(
            value,
            json!({"key": "s.wav", "duration": 1.5, "cues": [{"start": 0.0, "end": 1.5, "text": "Hi."}]})
        );
        assert_eq!(StepOutput::parse(StepKind::Speech, &value.to_string()), Some(speech));
        let done = StepOutput::Final(FinalOutput { video_key: "v.mp4".into(), duration_ms: 2000 });
        assert_eq!(stored(&done), json!({"video_key": "v.mp4", "duration_ms": 2000}));
        assert_eq!(StepOutput::parse(done.kind(), r#"{"video_key": "v.mp4", "duration_ms": 2000}"#), Some(done));
        assert_eq!(stored(&StepOutput::Image(ImageOutput::picture("i.png".into()))), json!({"key": "i.png"}));
        assert_eq!(
            stored(&StepOutput::Segment(SegmentOutput { key: "g".into(), frames: 9 })),
            json!({"key": "g", "frames": 9})
        );
        let sound = StepOutput::Audio(AudioOutput { key: "a.m4a".into(), integrated: -14.1, true_peak: -1.6 });
        assert_eq!(stored(&sound), json!({"key": "a.m4a", "integrated": -14.1, "true_peak": -1.6}));
        assert_eq!(StepOutput::parse(StepKind::Audio, &stored(&sound).to_string()), Some(sound));
    }

    #[test]
    fn wrong_shapes_and_kinds_do_not_parse() {
        assert_eq!(StepOutput::parse(StepKind::Segment, r#"{"key": "i.png"}"#), None);
        assert!("thumbnail".parse::<StepKind>().is_err());
        assert_eq!(StepOutput::parse(StepKind::Image, "not json"), None);
    }

    #[test]
    fn missing_inputs_are_not_ready() {
        let done = DoneOutputs::from_rows([
            (StepKind::Image, 0, Some(r#"{"key": "a.png"}"#.to_string())),
            (StepKind::Speech, 0, Some("{}".to_string())),
            (StepKind::Segment, 1, None),
        ]);
        assert_eq!(done.image(0).map(|i| i.key.as_str()).ok(), Some("a.png"));
        let err = done.speech(0).err().map(|e| (e.message, e.retryable));
        assert_eq!(err, Some(("the speech of scene 1 is not ready".to_string(), true)));
        assert!(done.image(1).is_err() && done.segment(1).is_err() && done.audio().is_err());
    }
}
