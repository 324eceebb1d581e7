//! What goes over a segment's picture and where: burnt-in captions (one PNG
//! per cue, centred near the bottom) and the Free plan's watermark (top
//! right). Placement is pure arithmetic on sizes, so it is tested without
//! drawing; `draw` renders the PNGs and places them.

use std::path::Path;

use crate::MediaResult;
use crate::card;
use crate::render::Overlay;
use crate::subtitles::Cue;

/// The watermark's text.
pub const WATERMARK_TEXT: &str = "Made with Reelforge";
/// Seconds a caption stays up after its sentence ends, so the eye can finish it.
const CAPTION_LINGER_SECONDS: f64 = 0.15;
/// Smallest caption text, in pixels, however small the frame or scale.
const MIN_CAPTION_FONT_PX: f32 = 14.0;
/// Smallest watermark height, in pixels.
const MIN_WATERMARK_PX: u32 = 16;

/// What to draw over one segment.
#[derive(Debug, Clone, Copy)]
pub struct OverlaySpec<'a> {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Caption text size relative to the frame height (the template's).
    pub font_scale: f32,
    /// The scene's cues, in seconds from the start of the segment.
    pub cues: &'a [Cue],
    /// Burn the cues in as captions.
    pub captions: bool,
    /// Add the watermark.
    pub watermark: bool,
}

/// Caption text size in pixels for a frame `height` high.
pub fn caption_font_px(height: u32, font_scale: f32) -> f32 {
    (height as f32 * font_scale).max(MIN_CAPTION_FONT_PX)
}

/// Widest a caption may be: the frame less a margin each side.
pub fn caption_max_width(width: u32) -> u32 {
    width * 86 / 100
}

/// Top-left corner of a `w` x `h` caption: centred, its bottom a 14th of the
/// frame height above the bottom edge (clear of phone UI and the frame edge).
pub fn caption_position(width: u32, height: u32, w: u32, h: u32) -> (u32, u32) {
    (width.saturating_sub(w) / 2, height.saturating_sub(h + height / 14))
}

/// Height of the watermark for a frame `height` high.
pub fn watermark_height(height: u32) -> u32 {
    (height / 28).max(MIN_WATERMARK_PX)
}

/// Top-left corner of a watermark `w` wide: the top-right corner, inset by a
/// 40th of the frame height, away from the captions at the bottom.
pub fn watermark_position(width: u32, height: u32, w: u32) -> (u32, u32) {
    let margin = height / 40;
    (width.saturating_sub(w + margin), margin)
}

/// Draws the captions and watermark of `spec` as PNGs in `work` and places them.
pub fn draw(work: &Path, spec: &OverlaySpec<'_>) -> MediaResult<Vec<Overlay>> {
    let (width, height) = (spec.width, spec.height);
    let mut overlays = Vec::new();
    if spec.captions {
        let font_px = caption_font_px(height, spec.font_scale);
        for (i, cue) in spec.cues.iter().enumerate() {
            let image = work.join(format!("caption-{i}.png"));
            let (w, h) = card::render_caption(&cue.text, font_px, caption_max_width(width), &image)?;
            let (x, y) = caption_position(width, height, w, h);
            overlays.push(Overlay { image, x, y, between: Some((cue.start, cue.end + CAPTION_LINGER_SECONDS)) });
        }
    }
    if spec.watermark {
        let image = work.join("watermark.png");
        let (w, _) = card::render_watermark(WATERMARK_TEXT, watermark_height(height), &image)?;
        let (x, y) = watermark_position(width, height, w);
        overlays.push(Overlay { image, x, y, between: None });
    }
    Ok(overlays)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frame sizes of the templates on both plans, and small odd ones.
    const FRAMES: [(u32, u32); 7] =
        [(1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (1080, 1080), (720, 720), (320, 180)];
    /// Caption scales of the templates, and a large one.
    const SCALES: [f32; 4] = [0.03, 0.04, 0.042, 0.06];

    /// (left, top, right, bottom) of a box.
    fn rect(x: u32, y: u32, w: u32, h: u32) -> (u32, u32, u32, u32) {
        (x, y, x + w, y + h)
    }

    fn overlap(a: (u32, u32, u32, u32), b: (u32, u32, u32, u32)) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    #[test]
    fn captions_stay_inside_the_frame_and_clear_of_the_watermark() {
        for (width, height) in FRAMES {
            for scale in SCALES {
                let font = caption_font_px(height, scale);
                // The tallest caption: three lines plus padding, as `render_caption` draws it.
                let (w, h) = (caption_max_width(width), (3.0 * font * 1.22 + font).ceil() as u32);
                let (x, y) = caption_position(width, height, w, h);
                let caption = rect(x, y, w, h);
                assert!(caption.2 <= width && caption.3 <= height, "{width}x{height} at {scale}: {caption:?}");
                assert!(caption.3 < height, "lifted off the bottom edge");
                assert!(x.abs_diff(width - caption.2) <= 1, "centred");
                let wm_h = watermark_height(height);
                let wm_w = wm_h * 8;
                let (wx, wy) = watermark_position(width, height, wm_w);
                let watermark = rect(wx, wy, wm_w, wm_h);
                assert!(watermark.2 < width && wy > 0, "inset from the top-right corner: {watermark:?}");
                assert!(!overlap(caption, watermark), "{width}x{height} at {scale}: {caption:?} {watermark:?}");
            }
        }
    }

    #[test]
    fn drawn_overlays_are_placed_in_the_frame() {
        let dir = tempfile::tempdir().unwrap();
        let cues = [
            Cue { start: 0.0, end: 1.0, text: "Short.".into() },
            Cue {
                start: 1.2,
                end: 4.0,
                text: "A much longer caption that has to wrap over more than one line. ".repeat(4),
            },
        ];
        let spec =
            OverlaySpec { width: 1280, height: 720, font_scale: 0.042, cues: &cues, captions: true, watermark: true };
        let overlays = draw(dir.path(), &spec).unwrap();
        assert_eq!(overlays.len(), 3);
        let mut boxes = Vec::new();
        for overlay in &overlays {
            let png = tiny_skia::Pixmap::load_png(&overlay.image).unwrap();
            let r = rect(overlay.x, overlay.y, png.width(), png.height());
            assert!(r.2 <= 1280 && r.3 <= 720, "{r:?} outside the frame");
            boxes.push(r);
        }
        assert_eq!(overlays[1].between, Some((1.2, 4.0 + CAPTION_LINGER_SECONDS)));
        assert_eq!(overlays[2].between, None, "the watermark is always shown");
        assert!(boxes[2].0 > 640 && boxes[2].1 < 60, "watermark top right: {:?}", boxes[2]);
        assert!(!overlap(boxes[1], boxes[2]) && !overlap(boxes[0], boxes[2]));

        let none = OverlaySpec { captions: false, watermark: false, ..spec };
        assert!(draw(dir.path(), &none).unwrap().is_empty());
    }
}
