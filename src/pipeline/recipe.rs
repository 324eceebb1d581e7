//! Recipes: what each step of a project would make, as a hash of everything it
//! reads. A step's own inputs (its scene's text, title, visual and voice; the
//! project's template, size and language) go in with the recipes of the steps
//! it reads (the render graph's `inputs`), so a recipe changes exactly when
//! the step's output would. A render after an edit keeps every done step
//! whose recipe is unchanged and runs the others: "what does this edit
//! invalidate" is "which recipes changed", computed from the scenes alone,
//! before anything runs.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::pipeline::graph::{self, Scope, StepKind, StepRef};
use crate::projects::scene::{Scene, Visual};

/// Bumped when a step's code changes what it makes from the same inputs.
const RECIPE_VERSION: &str = "recipe:v1";

/// The project-wide inputs of its steps.
#[derive(Debug, Clone)]
pub struct ProjectInputs<'a> {
    pub template_id: &'a str,
    pub language: &'a str,
    /// The project's voice (a scene's own voice wins).
    pub voice: Option<&'a str>,
    /// The project's caption style, else its template's.
    pub caption_style: reelforge_media::overlay::CaptionStyle,
    /// The music bed (stored JSON): only the final step reads it.
    pub music: Option<&'a str>,
    pub width: i64,
    pub height: i64,
    pub fps: i64,
    pub watermark: bool,
}

/// The recipe of every step of a project of `scenes` in `scope`.
pub fn recipes(project: &ProjectInputs<'_>, scenes: &[Scene], scope: Scope) -> BTreeMap<StepRef, String> {
    let count = scenes.len();
    let mut made: BTreeMap<StepRef, String> = BTreeMap::new();
    // `steps` lists every step after the steps it reads.
    for step in graph::steps(count, scope) {
        let mut parts = vec![RECIPE_VERSION.to_string(), step.kind.as_str().to_string()];
        parts.extend(own_inputs(project, scenes, step));
        for input in graph::inputs(step, count) {
            parts.push(made.get(&input).cloned().unwrap_or_default());
        }
        made.insert(step, hash(&parts));
    }
    made
}

/// What a step reads besides other steps.
fn own_inputs(project: &ProjectInputs<'_>, scenes: &[Scene], step: StepRef) -> Vec<String> {
    let frame = format!("{}x{}@{}", project.width, project.height, project.fps);
    let scene = usize::try_from(step.scene).ok().and_then(|i| scenes.get(i));
    match (step.kind, scene) {
        (StepKind::Image, Some(scene)) => {
            let mut parts = vec![scene.visual.to_json(), project.template_id.to_string(), frame];
            parts.extend(picture_words(scene));
            // The card and the illustration (a stock scene's fallback too) show their scene's number.
            if matches!(scene.visual, Visual::Auto | Visual::Card | Visual::Illustration | Visual::Stock { .. }) {
                parts.push(step.scene.to_string());
            }
            // The illustration's keywords and a stock query from the words
            // depend on the language's stop words.
            if matches!(scene.visual, Visual::Auto | Visual::Illustration | Visual::Stock { query: None, .. }) {
                parts.push(project.language.to_string());
            }
            parts
        }
        (StepKind::Speech, Some(scene)) => {
            let voice = scene.voice.as_deref().or(project.voice).unwrap_or("default");
            vec![scene.text.clone(), voice.to_string(), project.language.to_string()]
        }
        // Its place decides its motion and whether it fades into a next scene.
        (StepKind::Segment, _) => vec![
            step.scene.to_string(),
            scenes.len().to_string(),
            project.template_id.to_string(),
            frame,
            project.watermark.to_string(),
            project.caption_style.as_str().to_string(),
        ],
        // Each scene's narration is padded to whole frames.
        (StepKind::Audio, _) => vec![project.fps.to_string(), project.music.unwrap_or_default().to_string()],
        (StepKind::Final, _) => vec![project.template_id.to_string(), frame, project.watermark.to_string()],
        (_, None) => Vec::new(),
    }
}

/// The words a scene's picture is made from: a card shows its title (the
/// text's first words without one), an illustration its title and the
/// keywords of its text, an AI picture is prompted with the text (`auto` may
/// be an AI picture or an illustration); an upload or a given prompt reads no
/// words.
fn picture_words(scene: &Scene) -> Vec<String> {
    match &scene.visual {
        Visual::Card => vec![scene.title.clone().unwrap_or_else(|| scene.text.clone())],
        Visual::Auto | Visual::Illustration => vec![scene.text.clone(), scene.title.clone().unwrap_or_default()],
        Visual::Ai { prompt: None } => vec![scene.text.clone()],
        // The query comes from the words when none is given; the narration's
        // length (from the text) chooses among clips, and the fallback
        // illustration shows the title.
        Visual::Stock { .. } => vec![scene.text.clone(), scene.title.clone().unwrap_or_default()],
        Visual::Ai { prompt: Some(_) } | Visual::Upload { .. } => Vec::new(),
    }
}

fn hash(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    crate::crypto::to_hex(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectInputs<'static> {
        ProjectInputs {
            template_id: "explainer",
            language: "en",
            voice: None,
            caption_style: reelforge_media::overlay::CaptionStyle::Line,
            music: None,
            width: 1280,
            height: 720,
            fps: 25,
            watermark: true,
        }
    }

    fn scenes(texts: &[&str]) -> Vec<Scene> {
        texts.iter().map(|t| Scene::from_text(t.to_string())).collect()
    }

    fn changed(before: &BTreeMap<StepRef, String>, after: &BTreeMap<StepRef, String>) -> Vec<StepRef> {
        after.iter().filter(|(step, recipe)| before.get(step) != Some(recipe)).map(|(step, _)| *step).collect()
    }

    fn step(kind: StepKind, scene: i64) -> StepRef {
        StepRef::new(kind, scene)
    }

    #[test]
    fn a_text_edit_changes_its_speech_its_picture_the_neighbouring_segments_the_sound_and_the_final_step() {
        let texts = ["One.", "Two.", "Three.", "Four.", "Five."];
        let before = recipes(&project(), &scenes(&texts), Scope::Video);
        let mut edited = scenes(&texts);
        edited[2].text = "Three, again.".into();
        let after = recipes(&project(), &edited, Scope::Video);
        let expected = vec![
            step(StepKind::Image, 2),
            step(StepKind::Speech, 2),
            step(StepKind::Segment, 1),
            step(StepKind::Segment, 2),
            step(StepKind::Segment, 3),
            StepRef::AUDIO,
            StepRef::FINAL,
        ];
        assert_eq!(changed(&before, &after), expected);
    }

    #[test]
    fn a_new_picture_makes_no_speech() {
        let texts = ["One.", "Two.", "Three."];
        let before = recipes(&project(), &scenes(&texts), Scope::Video);
        let mut edited = scenes(&texts);
        edited[1].visual = Visual::Upload { media_id: "m1".into() };
        let after = recipes(&project(), &edited, Scope::Video);
        let stale = changed(&before, &after);
        assert!(!stale.iter().any(|s| s.kind == StepKind::Speech), "{stale:?}");
        assert!(stale.contains(&step(StepKind::Image, 1)) && stale.contains(&step(StepKind::Segment, 0)));
        assert!(!stale.contains(&step(StepKind::Segment, 2)), "the next scene does not read this picture");

        // An uploaded picture does not depend on the words: a text edit keeps it.
        let mut reworded = edited.clone();
        reworded[1].text = "Two, reworded.".into();
        let again = recipes(&project(), &reworded, Scope::Video);
        assert_eq!(after[&step(StepKind::Image, 1)], again[&step(StepKind::Image, 1)]);
    }

    #[test]
    fn a_titled_card_keeps_its_picture_when_the_words_change() {
        let mut titled = scenes(&["One.", "Two."]);
        titled[0].visual = Visual::Card;
        titled[0].title = Some("Hello".into());
        let before = recipes(&project(), &titled, Scope::Video);
        titled[0].text = "One, reworded.".into();
        let after = recipes(&project(), &titled, Scope::Video);
        assert_eq!(before[&step(StepKind::Image, 0)], after[&step(StepKind::Image, 0)]);
        assert_ne!(before[&step(StepKind::Speech, 0)], after[&step(StepKind::Speech, 0)]);
        titled[0].title = Some("Hello again".into());
        let retitled = recipes(&project(), &titled, Scope::Video);
        assert_ne!(after[&step(StepKind::Image, 0)], retitled[&step(StepKind::Image, 0)]);
    }

    #[test]
    fn an_illustration_reads_its_words_and_the_language() {
        let mut illustrated = scenes(&["Storms were the hardest nights.", "Two."]);
        illustrated[0].visual = Visual::Illustration;
        let before = recipes(&project(), &illustrated, Scope::Video);
        let german = ProjectInputs { language: "de", ..project() };
        let other_language = recipes(&german, &illustrated, Scope::Video);
        assert_ne!(before[&step(StepKind::Image, 0)], other_language[&step(StepKind::Image, 0)]);
        illustrated[0].text = "Rain fell all night.".into();
        let reworded = recipes(&project(), &illustrated, Scope::Video);
        assert_ne!(before[&step(StepKind::Image, 0)], reworded[&step(StepKind::Image, 0)]);
        // A card of the same words is another picture.
        illustrated[0].visual = Visual::Card;
        let card = recipes(&project(), &illustrated, Scope::Video);
        assert_ne!(reworded[&step(StepKind::Image, 0)], card[&step(StepKind::Image, 0)]);
    }

    #[test]
    fn a_caption_style_changes_the_segments_and_the_video_only() {
        let texts = ["One.", "Two.", "Three."];
        let before = recipes(&project(), &scenes(&texts), Scope::Video);
        let pop = ProjectInputs { caption_style: reelforge_media::overlay::CaptionStyle::Pop, ..project() };
        let after = recipes(&pop, &scenes(&texts), Scope::Video);
        let stale = changed(&before, &after);
        assert_eq!(stale.len(), 4, "three segments and the final video: {stale:?}");
        assert!(stale.iter().all(|s| matches!(s.kind, StepKind::Segment | StepKind::Final)), "{stale:?}");
    }

    #[test]
    fn a_scene_voice_changes_only_its_speech_and_what_reads_it() {
        let texts = ["One.", "Two.", "Three."];
        let before = recipes(&project(), &scenes(&texts), Scope::Video);
        let mut edited = scenes(&texts);
        edited[0].voice = Some("espeak:de".into());
        let after = recipes(&project(), &edited, Scope::Video);
        let stale = changed(&before, &after);
        assert!(stale.contains(&step(StepKind::Speech, 0)) && !stale.contains(&step(StepKind::Image, 0)));
    }

    #[test]
    fn the_storyboard_has_the_same_recipes_as_the_video_for_its_steps() {
        let texts = ["One.", "Two."];
        let storyboard = recipes(&project(), &scenes(&texts), Scope::Storyboard);
        let video = recipes(&project(), &scenes(&texts), Scope::Video);
        assert_eq!(storyboard.len(), 4);
        for (step, recipe) in &storyboard {
            assert_eq!(video.get(step), Some(recipe));
        }
    }

    #[test]
    fn the_same_scene_elsewhere_keeps_its_speech() {
        let before = recipes(&project(), &scenes(&["One.", "Two.", "Three."]), Scope::Video);
        let after = recipes(&project(), &scenes(&["Two.", "One.", "Three."]), Scope::Video);
        assert_eq!(before[&step(StepKind::Speech, 0)], after[&step(StepKind::Speech, 1)]);
        assert_ne!(before[&step(StepKind::Segment, 0)], after[&step(StepKind::Segment, 1)]);
    }

    #[test]
    fn music_changes_only_the_sound_and_the_final_step() {
        let texts = ["One.", "Two.", "Three."];
        let before = recipes(&project(), &scenes(&texts), Scope::Video);
        let bed = r#"{"bundled":"calm-pad","volume":0.3}"#;
        let with_music = recipes(&ProjectInputs { music: Some(bed), ..project() }, &scenes(&texts), Scope::Video);
        assert_eq!(changed(&before, &with_music), vec![StepRef::AUDIO, StepRef::FINAL]);
        let louder = r#"{"bundled":"calm-pad","volume":0.5}"#;
        let after = recipes(&ProjectInputs { music: Some(louder), ..project() }, &scenes(&texts), Scope::Video);
        assert_eq!(changed(&with_music, &after), vec![StepRef::AUDIO, StepRef::FINAL]);
        let storyboard = recipes(&project(), &scenes(&texts), Scope::Storyboard);
        let storyboard_music =
            recipes(&ProjectInputs { music: Some(bed), ..project() }, &scenes(&texts), Scope::Storyboard);
        assert_eq!(storyboard, storyboard_music, "a storyboard has no music");
    }
}
