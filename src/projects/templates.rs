//! Video templates: data files in `templates/`, embedded in the binary.

use std::sync::OnceLock;

use reelforge_media::card::CardStyle;
use reelforge_media::render::Motion;
use serde::{Deserialize, Serialize};

use crate::billing::Plan;

/// How subtitles look.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubtitleStyle {
    /// Burn captions into the picture (WebVTT/SRT files are made either way).
    pub burn_in: bool,
    /// Caption text size relative to the frame height.
    pub font_scale: f32,
    /// Burn captions over title-card scenes too (`false`: the card's title
    /// stands alone and captions show over pictures and clips only).
    #[serde(default = "yes")]
    pub on_cards: bool,
    /// How captions show the narration, unless a project says otherwise.
    #[serde(default)]
    pub style: reelforge_media::overlay::CaptionStyle,
}

fn yes() -> bool {
    true
}

fn default_image_style() -> String {
    "illustration".into()
}

/// One template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    pub aspect: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub premium: bool,
    pub card: CardStyle,
    /// Motions cycled scene by scene.
    pub motion: Vec<Motion>,
    /// How the images provider is asked to draw a scene with no prompt of its own.
    #[serde(default = "default_image_style")]
    pub image_style: String,
    pub transition_seconds: f64,
    pub subtitles: SubtitleStyle,
    /// A tenant template: the built-in it is built on (`src/templates/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_id: Option<String>,
    /// The captions' brand font (`card::fonts` id; one of `fonts`); None: the bundled face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_font: Option<String>,
    /// The brand fonts the card and captions name, stored with the project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fonts: Vec<TemplateFont>,
    /// The logo over its videos; None: the tenant's brand logo (paid plans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<TemplateLogo>,
}

/// A brand font of a project's template snapshot: its id (what drawings name)
/// and the storage key of its copy under the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateFont {
    pub id: String,
    pub key: String,
}

/// A template's own logo, instead of the tenant's brand logo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateLogo {
    /// No logo at all.
    None,
    /// A normalised PNG stored with the project (`hash` names its version).
    Image { key: String, hash: String, corner: reelforge_media::overlay::Corner, opacity: f64 },
}

const SOURCES: [&str; 4] = [
    include_str!("../../templates/explainer.json"),
    include_str!("../../templates/short.json"),
    include_str!("../../templates/square.json"),
    include_str!("../../templates/cinematic.json"),
];

/// Every template, parsed once (a malformed file fails the tests, not a request).
pub fn all() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        SOURCES
            .iter()
            .filter_map(|source| match serde_json::from_str::<Template>(source) {
                Ok(template) => Some(template),
                Err(err) => {
                    tracing::error!(error = %err, "a template file is invalid");
                    None
                }
            })
            .collect()
    })
}

/// A template by id.
pub fn find(id: &str) -> Option<&'static Template> {
    all().iter().find(|t| t.id == id)
}

impl Template {
    /// The images provider's prompt for a scene's words, in the template's style.
    pub fn image_prompt(&self, scene_text: &str) -> String {
        format!("{}, showing: {} No words or letters in the picture.", self.image_style, scene_text.trim())
    }

    /// The template a project renders with: its snapshot (a tenant
    /// template, resolved at creation), else the built-in it names.
    pub fn of_project(template_id: &str, snapshot: Option<&str>) -> Option<Template> {
        match snapshot.map(serde_json::from_str::<Template>) {
            Some(Ok(template)) => Some(template),
            Some(Err(err)) => {
                tracing::error!(error = %err, "a project's template snapshot is unreadable");
                None
            }
            None => find(template_id).cloned(),
        }
    }

    /// Frame size for a plan: Free renders at 720p (shorter side 720), paid
    /// plans at the template's full size.
    pub fn render_size(&self, plan: Plan) -> (u32, u32) {
        if plan != Plan::Free {
            return (self.width, self.height);
        }
        let short = self.width.min(self.height);
        if short <= 720 {
            return (self.width, self.height);
        }
        let scale = |v: u32| ((f64::from(v) * 720.0 / f64::from(short) / 2.0).round() as u32) * 2;
        (scale(self.width), scale(self.height))
    }

    /// The motion of scene `index`.
    pub fn motion_for(&self, index: usize) -> Motion {
        if self.motion.is_empty() { Motion::Still } else { self.motion[index % self.motion.len()] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_parses_and_the_set_is_complete() {
        assert_eq!(all().len(), SOURCES.len(), "a template failed to parse");
        for aspect in ["16:9", "9:16", "1:1"] {
            assert!(all().iter().any(|t| t.aspect == aspect && !t.premium), "free {aspect}");
        }
        let premium: Vec<_> = all().iter().filter(|t| t.premium).collect();
        assert!(!premium.is_empty() && premium.iter().all(|t| t.width.min(t.height) >= 1080));
        for t in all() {
            assert!(t.width % 2 == 0 && t.height % 2 == 0 && t.fps > 0 && !t.motion.is_empty(), "{}", t.id);
            let (w, h) = (t.width as f64, t.height as f64);
            let ratio = match t.aspect.as_str() {
                "16:9" => 16.0 / 9.0,
                "9:16" => 9.0 / 16.0,
                "1:1" => 1.0,
                other => panic!("unknown aspect {other}"),
            };
            assert!((w / h - ratio).abs() < 0.01, "{}", t.id);
        }
    }

    #[test]
    fn free_renders_at_720p() {
        let explainer = find("explainer").expect("explainer");
        assert_eq!(explainer.render_size(Plan::Free), (1280, 720));
        assert_eq!(explainer.render_size(Plan::Pro), (1920, 1080));
        assert_eq!(find("short").expect("short").render_size(Plan::Free), (720, 1280));
        assert_eq!(find("square").expect("square").render_size(Plan::Free), (720, 720));
    }
}
