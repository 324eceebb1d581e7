//! Times the brand template preview's drawing (`overlay::template_still`, what
//! `POST /api/v1/templates/preview` runs): a 640 x 360 title card with a
//! caption and a brand font. `cargo run --release -p reelforge-media --example template_still`

use std::time::{Duration, Instant};

use reelforge_media::card::{CardStyle, fonts};
use reelforge_media::overlay::{CaptionStyle, TemplateStill, template_still};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let font = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/fonts/DejaVuSans.ttf"))?;
    let work = std::env::temp_dir().join(format!("rf-template-still-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let mut times: Vec<Duration> = Vec::new();
    for i in 0..30 {
        let started = Instant::now();
        // As the route does: load the font (a no-op once loaded), then draw.
        let id = fonts::register(&font)?.id;
        let card = CardStyle {
            palette: vec![format!("#{:02x}3a8a", (i * 8) % 256), "#0f766e".into()],
            text_color: "#ffffff".into(),
            text_scale: 0.075,
            weight: "bold".into(),
            show_scene_number: true,
            heading_font: Some(id.clone()),
            body_font: None,
        };
        let still = TemplateStill {
            card: &card,
            title: "Your story, your brand",
            caption: "Every scene speaks in your colours and your type.",
            style: if i % 2 == 0 { CaptionStyle::Line } else { CaptionStyle::Karaoke },
            font_scale: 0.042,
            caption_font: Some(&id),
            logo: None,
            width: 640,
            height: 360,
        };
        template_still(&still, &work, &work.join("still.png"))?;
        times.push(started.elapsed());
    }
    let _ = std::fs::remove_dir_all(&work);
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort();
    println!(
        "template still 640x360: first {:.1} ms (font loaded), then median {:.1} ms, max {:.1} ms over {} draws",
        first.as_secs_f64() * 1000.0,
        rest[rest.len() / 2].as_secs_f64() * 1000.0,
        rest[rest.len() - 1].as_secs_f64() * 1000.0,
        rest.len()
    );
    Ok(())
}
