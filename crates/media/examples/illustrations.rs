//! Draws sample illustration slides (at the motion size, as the pipeline
//! does; and the title card of the same scene, for comparison) into a
//! directory, to look at:
//! `cargo run -p reelforge-media --example illustrations -- /tmp/illus`

use std::path::PathBuf;

use reelforge_media::card::{CardStyle, pick_icon_in, render_card, render_illustration, short_title};
use reelforge_media::keywords::keywords;
use reelforge_media::render::{ALWAYS_VISIBLE, MOTION_SCALE};

/// A side at the motion size (even, as the pipeline makes it).
fn motion(side: u32) -> u32 {
    ((f64::from(side) * MOTION_SCALE / 2.0).round() as u32) * 2
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "illustrations".into()));
    std::fs::create_dir_all(&dir)?;
    let styles = [
        ("explainer", ["#4c1d95", "#7c3aed", "#2563eb", "#0f766e"].as_slice(), "#ffffff", 0.075, 1920, 1080),
        ("cinematic", ["#111827", "#312e81", "#7c2d12", "#1e3a8a", "#581c87"].as_slice(), "#fde68a", 0.08, 1920, 1080),
        ("short", ["#db2777", "#7c3aed", "#f97316", "#4338ca"].as_slice(), "#ffffff", 0.05, 1080, 1920),
    ];
    let scenes = [
        ("en", "Storms were the hardest nights. Wind shook the glass."),
        ("en", "Our bakery opens at six."),
        ("en", "Quarterly revenue grew by ten percent."),
        ("en", "The team met in Berlin."),
        ("en", "Nevertheless, the outcome remained ambiguous."),
        ("de", "Die Bäckerei öffnet um sechs Uhr."),
        ("de", "Der Sturm rüttelte an den Fenstern."),
        ("fr", "La tempête secouait les vitres."),
    ];
    for (name, palette, text, scale, w, h) in styles {
        let style = CardStyle {
            palette: palette.iter().map(|c| c.to_string()).collect(),
            text_color: text.into(),
            text_scale: scale,
            weight: "bold".into(),
            show_scene_number: true,
            heading_font: None,
            body_font: None,
        };
        for (i, (language, sentence)) in scenes.iter().enumerate() {
            let words = keywords(sentence, language);
            let title = short_title(sentence);
            println!("{name} {i}: {sentence:?} -> {words:?} -> {:?}", pick_icon_in(&words, language));
            // As the pipeline draws it: at the motion size, the text inside
            // what every crop position shows.
            render_illustration(
                &title,
                &words,
                language,
                i + 1,
                motion(w),
                motion(h),
                ALWAYS_VISIBLE,
                &style,
                &dir.join(format!("{name}-{i}.png")),
            )?;
            render_card(&title, i + 1, w, h, 1.0, &style, &dir.join(format!("{name}-{i}-card.png")))?;
        }
    }
    Ok(())
}
