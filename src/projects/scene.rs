//! The scene as a resource (SPEC 4.7): its narration, its short title, its
//! visual and its voice, how a request describes one, and the checks every
//! path that writes scenes (creation, edit, insert) shares.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::projects::script;
use crate::stock::{StockMedia, StockProvider};

/// Longest narration of one scene, in characters.
pub const MAX_SCENE_TEXT_CHARS: usize = 2_000;
/// Longest scene title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest AI prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 1_000;
/// Longest provider id a stock `pick` may be.
pub const MAX_PICK_CHARS: usize = 40;

/// What a scene shows. Stored as JSON in `scenes.visual`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Visual {
    /// The images provider when one is configured, else (or when it keeps
    /// failing) the offline illustration.
    #[default]
    Auto,
    /// The designed title card: the scene's title (or its first words).
    Card,
    /// An offline illustration: an icon matched to the scene's keywords, with
    /// its title (or first words), on the template's colours.
    Illustration,
    /// A picture or clip from the tenant's media library.
    Upload { media_id: String },
    /// The images provider, with the prompt written from the words when absent.
    Ai {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
    },
    /// A stock photo or clip (Pexels, Pixabay) matching `query`, or the
    /// scene's words when absent; `pick` is a result chosen in the picker
    /// (the provider's id; needs `provider`).
    Stock {
        media: StockMedia,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<StockProvider>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pick: Option<String>,
    },
}

impl Visual {
    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        // An enum of strings always serialises.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"kind":"auto"}"#.into())
    }

    /// Reads the stored form; an unreadable value is `Auto` (it was written by us).
    pub fn from_json(json: &str) -> Visual {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The library file this visual shows, if any.
    pub fn media_id(&self) -> Option<&str> {
        match self {
            Visual::Upload { media_id } => Some(media_id),
            _ => None,
        }
    }
}

/// A scene as a request gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SceneInput {
    /// What the narrator says (1 to 2,000 characters).
    pub text: String,
    /// A short title for the card (at most 80 characters); default: the first words.
    pub title: Option<String>,
    /// Default `{"kind":"auto"}`.
    pub visual: Option<Visual>,
    /// A voice id from `/api/v1/voices`; default: the project's voice.
    pub voice: Option<String>,
    /// A picture prompt (at most 1,000 characters), as `POST /api/v1/scripts`
    /// writes one beside a stock visual: it becomes the prompt of an `ai`
    /// visual that has none, and is not kept otherwise.
    #[serde(default)]
    pub prompt: Option<String>,
}

/// A scene as stored: validated, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene {
    pub text: String,
    pub title: Option<String>,
    pub visual: Visual,
    pub voice: Option<String>,
}

impl Scene {
    /// A scene of a split script: its text, everything else default.
    pub fn from_text(text: String) -> Scene {
        Scene { text, title: None, visual: Visual::Auto, voice: None }
    }
}

/// A partial edit of a scene (`PATCH`); absent fields stay. `title` and
/// `voice` can be cleared with `null`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenePatch {
    pub text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    pub visual: Option<Visual>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub voice: Option<Option<String>>,
}

/// `Some(value)` for a field that is present, even as `null`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl ScenePatch {
    /// The scene after this edit (not yet checked).
    pub fn apply(self, scene: &Scene) -> SceneInput {
        SceneInput {
            text: self.text.unwrap_or_else(|| scene.text.clone()),
            title: self.title.unwrap_or_else(|| scene.title.clone()),
            visual: Some(self.visual.unwrap_or_else(|| scene.visual.clone())),
            voice: self.voice.unwrap_or_else(|| scene.voice.clone()),
            prompt: None,
        }
    }
}

/// What a scene's checks need to know from outside: the voices on offer and
/// which library files the tenant has.
pub struct SceneRules<'a> {
    pub offered_voices: &'a [String],
    /// The tenant's library files among those the scenes name.
    pub known_media: &'a [String],
}

/// Checks one scene; errors name `{field_prefix}.text` etc.
pub fn check(input: SceneInput, rules: &SceneRules<'_>, field_prefix: &str, errors: &mut Vec<FieldError>) -> Scene {
    let field = |name: &str| {
        if field_prefix.is_empty() { name.to_string() } else { format!("{field_prefix}.{name}") }
    };
    let text = input.text.trim().to_string();
    let length = text.chars().count();
    if text.is_empty() || !text.chars().any(char::is_alphanumeric) {
        errors.push(FieldError::new(field("text"), "must have words to narrate"));
    } else if length > MAX_SCENE_TEXT_CHARS {
        errors.push(FieldError::new(
            field("text"),
            format!("is {length} characters long; a scene holds at most {MAX_SCENE_TEXT_CHARS}"),
        ));
    }
    let title = input.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if title.as_ref().is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS || t.chars().any(char::is_control)) {
        errors
            .push(FieldError::new(field("title"), format!("must be at most {MAX_TITLE_CHARS} characters on one line")));
    }
    let prompt = input.prompt.map(|p| p.trim().to_string());
    if prompt.as_ref().is_some_and(|p| p.is_empty() || p.chars().count() > MAX_PROMPT_CHARS) {
        errors.push(FieldError::new(field("prompt"), format!("must be 1 to {MAX_PROMPT_CHARS} characters")));
    }
    let visual = match input.visual.unwrap_or_default() {
        Visual::Ai { prompt: None } => Visual::Ai { prompt },
        visual => visual,
    };
    match &visual {
        Visual::Upload { media_id } if !rules.known_media.iter().any(|m| m == media_id) => {
            errors.push(FieldError::new(field("visual.media_id"), "no such file in your media library"));
        }
        Visual::Ai { prompt: Some(prompt) }
            if prompt.trim().is_empty() || prompt.chars().count() > MAX_PROMPT_CHARS =>
        {
            errors.push(FieldError::new(field("visual.prompt"), format!("must be 1 to {MAX_PROMPT_CHARS} characters")));
        }
        Visual::Stock { query, provider, pick, .. } => {
            let max = crate::stock::types::MAX_QUERY_CHARS;
            if query
                .as_ref()
                .is_some_and(|q| q.trim().is_empty() || q.chars().count() > max || q.chars().any(char::is_control))
            {
                errors
                    .push(FieldError::new(field("visual.query"), format!("must be 1 to {max} characters on one line")));
            }
            if let Some(pick) = pick {
                if pick.is_empty()
                    || pick.len() > MAX_PICK_CHARS
                    || !pick.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    errors.push(FieldError::new(field("visual.pick"), "must be a provider's id from a stock search"));
                } else if provider.is_none() {
                    errors.push(FieldError::new(field("visual.provider"), "is required with pick (pexels or pixabay)"));
                }
            }
        }
        _ => {}
    }
    let voice = input.voice.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if voice.as_ref().is_some_and(|v| !rules.offered_voices.contains(v)) {
        errors.push(FieldError::new(field("voice"), "must be a voice id from /api/v1/voices"));
    }
    Scene { text, title, visual, voice }
}

/// The number of scenes a project may have.
pub fn check_count(count: usize, field: &str, errors: &mut Vec<FieldError>) {
    if count == 0 || count > script::MAX_SCENES {
        errors.push(FieldError::new(field, format!("a project has 1 to {} scenes", script::MAX_SCENES)));
    }
}

/// Total narration across scenes (the script limit applies to it too).
pub fn check_total_length(scenes: &[Scene], field: &str, errors: &mut Vec<FieldError>) {
    let total: usize = scenes.iter().map(|s| s.text.chars().count()).sum();
    if total > script::MAX_SCRIPT_CHARS {
        errors.push(FieldError::new(
            field,
            format!("the scenes hold {total} characters; the limit is {}", script::MAX_SCRIPT_CHARS),
        ));
    }
}

/// The library files named by `scenes`' visuals.
pub fn media_named<'a>(scenes: impl IntoIterator<Item = &'a SceneInput>) -> Vec<String> {
    let mut ids: Vec<String> =
        scenes.into_iter().filter_map(|s| s.visual.as_ref().and_then(Visual::media_id)).map(String::from).collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules<'a>(voices: &'a [String], media: &'a [String]) -> SceneRules<'a> {
        SceneRules { offered_voices: voices, known_media: media }
    }

    #[test]
    fn visuals_read_and_write_their_json() {
        let upload: Visual = serde_json::from_str(r#"{"kind":"upload","media_id":"m1"}"#).expect("upload");
        assert_eq!(upload, Visual::Upload { media_id: "m1".into() });
        assert_eq!(Visual::from_json(&upload.to_json()), upload);
        assert_eq!(Visual::Auto.to_json(), r#"{"kind":"auto"}"#);
        assert_eq!(Visual::Illustration.to_json(), r#"{"kind":"illustration"}"#);
        assert_eq!(Visual::from_json(r#"{"kind":"illustration"}"#), Visual::Illustration);
        assert!(serde_json::from_str::<Visual>(r#"{"kind":"upload"}"#).is_err(), "media_id is required");
        assert!(serde_json::from_str::<Visual>(r#"{"kind":"hologram"}"#).is_err());
        let stock: Visual =
            serde_json::from_str(r#"{"kind":"stock","media":"video","query":"storm","provider":"pexels","pick":"42"}"#)
                .expect("stock");
        assert_eq!(Visual::from_json(&stock.to_json()), stock);
        let bare = Visual::Stock { media: StockMedia::Photo, query: None, provider: None, pick: None };
        assert_eq!(bare.to_json(), r#"{"kind":"stock","media":"photo"}"#);
        assert!(serde_json::from_str::<Visual>(r#"{"kind":"stock"}"#).is_err(), "media is required");
        assert!(serde_json::from_str::<Visual>(r#"{"kind":"stock","media":"gif"}"#).is_err());
        assert!(serde_json::from_str::<Visual>(r#"{"kind":"stock","media":"photo","provider":"unsplash"}"#).is_err());
    }

    #[test]
    fn stock_visuals_are_checked() {
        let check_visual = |visual: Visual| {
            let mut errors = Vec::new();
            let input =
                SceneInput { text: "Storms.".into(), title: None, visual: Some(visual), voice: None, prompt: None };
            check(input, &rules(&[], &[]), "scenes[0]", &mut errors);
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        let stock = |query: Option<&str>, provider: Option<StockProvider>, pick: Option<&str>| Visual::Stock {
            media: StockMedia::Photo,
            query: query.map(String::from),
            provider,
            pick: pick.map(String::from),
        };
        assert!(check_visual(stock(Some("storm"), Some(StockProvider::Pexels), Some("123"))).is_empty());
        assert!(check_visual(stock(None, None, None)).is_empty());
        assert_eq!(check_visual(stock(Some(" "), None, None)), ["scenes[0].visual.query"]);
        assert_eq!(check_visual(stock(Some(&"q".repeat(101)), None, None)), ["scenes[0].visual.query"]);
        assert_eq!(check_visual(stock(None, None, Some("123"))), ["scenes[0].visual.provider"]);
        assert_eq!(check_visual(stock(None, Some(StockProvider::Pixabay), Some("../1"))), ["scenes[0].visual.pick"]);
    }

    #[test]
    fn a_scene_is_checked_field_by_field() {
        let voices = vec!["espeak:de".to_string()];
        let media = vec!["m1".to_string()];
        let mut errors = Vec::new();
        let scene = check(
            SceneInput {
                text: "  Hello there.  ".into(),
                title: Some(" Hi ".into()),
                visual: Some(Visual::Upload { media_id: "m1".into() }),
                voice: Some("espeak:de".into()),
                prompt: Some("A harbour at dawn".into()),
            },
            &rules(&voices, &media),
            "scenes[0]",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(scene.text, "Hello there.");
        assert_eq!(scene.title.as_deref(), Some("Hi"));
        assert_eq!(
            scene.visual,
            Visual::Upload { media_id: "m1".into() },
            "a prompt beside another visual is not kept"
        );

        let bad = SceneInput {
            text: "...".into(),
            title: Some("x".repeat(81)),
            visual: Some(Visual::Upload { media_id: "other-tenants".into() }),
            voice: Some("piper:/etc/passwd".into()),
            prompt: None,
        };
        check(bad, &rules(&voices, &media), "scenes[2]", &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scenes[2].text", "scenes[2].title", "scenes[2].visual.media_id", "scenes[2].voice"]);
    }

    #[test]
    fn a_written_prompt_becomes_the_prompt_of_an_ai_visual_without_one() {
        let scene = |visual: Visual, prompt: &str| {
            let input = SceneInput {
                text: "Tides.".into(),
                title: None,
                visual: Some(visual),
                voice: None,
                prompt: Some(prompt.into()),
            };
            let mut errors = Vec::new();
            let scene = check(input, &rules(&[], &[]), "scenes[1]", &mut errors);
            (scene.visual, errors.into_iter().map(|e| e.field).collect::<Vec<_>>())
        };
        assert_eq!(
            scene(Visual::Ai { prompt: None }, " The moon over the sea "),
            (Visual::Ai { prompt: Some("The moon over the sea".into()) }, vec![])
        );
        let own = Visual::Ai { prompt: Some("Its own".into()) };
        assert_eq!(scene(own.clone(), "Written"), (own, vec![]));
        assert_eq!(scene(Visual::Card, " ").1, ["scenes[1].prompt"]);
        assert_eq!(scene(Visual::Card, &"p".repeat(1001)).1, ["scenes[1].prompt"]);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let scene = Scene { text: "One.".into(), title: Some("T".into()), visual: Visual::Card, voice: None };
        let patch: ScenePatch = serde_json::from_str(r#"{"text":"Two.","title":null}"#).expect("patch");
        let input = patch.apply(&scene);
        assert_eq!(input.text, "Two.");
        assert_eq!(input.title, None, "null clears the title");
        assert_eq!(input.visual, Some(Visual::Card));
        let untouched: ScenePatch = serde_json::from_str("{}").expect("empty");
        assert_eq!(untouched.apply(&scene).title.as_deref(), Some("T"));
        assert!(serde_json::from_str::<ScenePatch>(r#"{"txt":"typo"}"#).is_err());
    }
}
