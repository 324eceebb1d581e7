//! What goes over a segment's picture and where: burnt-in captions in the
//! template's style (`line`: one PNG per sentence near the bottom; `karaoke`:
//! the sentence with the spoken word highlighted, one PNG per word; `pop`: one
//! to three large words at a time, low in the frame) and the Free plan's watermark (top
//! right). Placement is pure arithmetic on sizes, so it is tested without
//! drawing; `draw` renders the PNGs and places them.

use std::path::Path;

use crate::MediaResult;
use serde::{Deserialize, Serialize};

use crate::card::{self, Caption, CaptionLook};
use crate::render::Overlay;
use crate::subtitles::Cue;
use crate::words::{Timing, WordTiming};

/// The watermark's text.
pub const WATERMARK_TEXT: &str = "Made with Reelforge";
/// Seconds a caption stays up after its sentence ends, so the eye can finish it.
const CAPTION_LINGER_SECONDS: f64 = 0.15;
/// Smallest caption text, in pixels, however small the frame or scale.
const MIN_CAPTION_FONT_PX: f32 = 14.0;
/// Smallest watermark height, in pixels.
const MIN_WATERMARK_PX: u32 = 16;

/// How burnt-in captions show the narration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionStyle {
    /// The sentence, near the bottom, while it is spoken.
    #[default]
    Line,
    /// The sentence, near the bottom, the word being spoken highlighted.
    Karaoke,
    /// One to three large words at a time, the spoken one highlighted (the
    /// short-form look).
    Pop,
}

impl CaptionStyle {
    /// Every style, in the order pickers offer them.
    pub const ALL: [CaptionStyle; 3] = [CaptionStyle::Line, CaptionStyle::Karaoke, CaptionStyle::Pop];

    /// The name used in the API and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptionStyle::Line => "line",
            CaptionStyle::Karaoke => "karaoke",
            CaptionStyle::Pop => "pop",
        }
    }

    /// The style of a name (`line`, `karaoke`, `pop`).
    pub fn parse(name: &str) -> Option<CaptionStyle> {
        CaptionStyle::ALL.into_iter().find(|style| style.as_str() == name)
    }
}

/// A caption followed by another one ends this much before it starts
/// (`between` includes both ends: a frame at the handover shows only one).
const HANDOVER: f64 = 0.001;
/// Most words a `pop` caption shows at once.
const POP_MAX_WORDS: usize = 3;
/// Most characters a `pop` caption shows at once (a long word stands alone).
const POP_MAX_CHARS: usize = 18;
/// `pop` text size relative to a sentence caption's.
const POP_FONT_FACTOR: f32 = 1.9;

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
    /// How.
    pub style: CaptionStyle,
    /// The spoken words, in seconds from the start of the segment (karaoke
    /// and pop; a cue whose words are not all there is timed by their letters).
    pub words: &'a [WordTiming],
    /// Add the watermark.
    pub watermark: bool,
    /// The tenant's logo (paid plans).
    pub logo: Option<LogoSpec<'a>>,
    /// The captions' brand font (`card::fonts::register`'s id); None: the bundled face.
    pub font: Option<&'a str>,
}

/// Where a logo goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corner {
    /// Top left.
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right.
    #[default]
    BottomRight,
}

impl Corner {
    /// Every corner.
    pub const ALL: [Corner; 4] = [Corner::TopLeft, Corner::TopRight, Corner::BottomLeft, Corner::BottomRight];

    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Corner::TopLeft => "top_left",
            Corner::TopRight => "top_right",
            Corner::BottomLeft => "bottom_left",
            Corner::BottomRight => "bottom_right",
        }
    }

    /// The corner of a name.
    pub fn parse(name: &str) -> Option<Corner> {
        Corner::ALL.into_iter().find(|corner| corner.as_str() == name)
    }

    fn bottom(self) -> bool {
        matches!(self, Corner::BottomLeft | Corner::BottomRight)
    }
}

/// A logo to place over the video.
#[derive(Debug, Clone, Copy)]
pub struct LogoSpec<'a> {
    /// The stored logo (`logo::normalise`'s PNG).
    pub image: &'a Path,
    /// Where.
    pub corner: Corner,
    /// 0 (invisible) to 1 (opaque).
    pub opacity: f32,
}

/// Height of a logo in a frame `height` high.
pub fn logo_height(height: u32) -> u32 {
    (height / 12).max(MIN_WATERMARK_PX)
}

/// Widest a logo may be in a frame `width` wide (a wide logo is drawn lower).
pub fn logo_max_width(width: u32) -> u32 {
    (width / 5).max(MIN_WATERMARK_PX)
}

/// Top-left corner of a `w` x `h` logo in `corner`, inset by a 40th of the
/// frame height (as the watermark is).
pub fn logo_position(width: u32, height: u32, w: u32, h: u32, corner: Corner) -> (u32, u32) {
    let margin = height / 40;
    let x = match corner {
        Corner::TopLeft | Corner::BottomLeft => margin,
        Corner::TopRight | Corner::BottomRight => width.saturating_sub(w + margin),
    };
    let y = if corner.bottom() { height.saturating_sub(h + margin) } else { margin };
    (x, y)
}

/// Widest a bottom caption may be beside a logo `logo_w` wide in a bottom
/// corner: centred, it keeps clear of the logo on both sides.
pub fn caption_max_width_beside(width: u32, height: u32, logo_w: u32) -> u32 {
    let margin = height / 40;
    caption_max_width(width).min(width.saturating_sub(2 * (logo_w + 2 * margin))).max(MIN_CAPTION_ROOM.min(width))
}

/// Narrowest room left for a caption beside a logo.
const MIN_CAPTION_ROOM: u32 = 160;

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

/// Widest a `pop` caption may be.
pub fn pop_max_width(width: u32) -> u32 {
    width * 80 / 100
}

/// Top-left corner of a `w` x `h` pop caption. In a vertical frame it is
/// centred across with its middle at four fifths of the height: below the
/// picture's subject and a card's or illustration's title, above the phone
/// app's controls. In a wide or square frame, where the picture's title
/// reaches lower, it sits where sentence captions do.
pub fn pop_position(width: u32, height: u32, w: u32, h: u32) -> (u32, u32) {
    if height <= width {
        return caption_position(width, height, w, h);
    }
    (width.saturating_sub(w) / 2, (height * 4 / 5).saturating_sub(h / 2).min(height.saturating_sub(h)))
}

/// The words of `cue` with their times: `words` that fall inside the cue when
/// they match its words one for one, otherwise the cue's span shared out by
/// the words' lengths. One entry per `card::caption_words` of the cue's text.
pub fn cue_words(cue: &Cue, words: &[WordTiming]) -> Vec<WordTiming> {
    const SLACK: f64 = 0.05;
    let text = cue.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown = card::caption_words(&text);
    let inside: Vec<&WordTiming> =
        words.iter().filter(|w| w.start >= cue.start - SLACK && w.end <= cue.end + SLACK).collect();
    if inside.len() == shown.len() && !shown.is_empty() {
        let mut last = cue.start;
        return shown
            .iter()
            .zip(inside)
            .map(|((_, text), w)| {
                let start = w.start.max(last).clamp(cue.start, cue.end);
                let end = w.end.clamp(start, cue.end.max(start));
                last = end;
                WordTiming { text: (*text).to_string(), start, end, timing: w.timing }
            })
            .collect();
    }
    let weight = |w: &str| w.chars().filter(|c| c.is_alphanumeric()).count().max(1) as f64;
    let total: f64 = shown.iter().map(|(_, w)| weight(w)).sum();
    let span = (cue.end - cue.start).max(0.0);
    let mut at = cue.start;
    shown
        .iter()
        .map(|(_, w)| {
            let length = if total > 0.0 { span * weight(w) / total } else { 0.0 };
            let word = WordTiming { text: (*w).to_string(), start: at, end: at + length, timing: Timing::Estimated };
            at += length;
            word
        })
        .collect()
}

/// Groups a sentence's words into `pop` captions: at most three words and
/// eighteen characters each, ending a group after a word that ends a clause.
pub fn pop_groups(words: &[WordTiming]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut chars = 0;
    for (i, word) in words.iter().enumerate() {
        let length = word.text.chars().count();
        if i > start && (i - start >= POP_MAX_WORDS || chars + 1 + length > POP_MAX_CHARS) {
            groups.push(start..i);
            start = i;
            chars = 0;
        }
        chars += length + usize::from(i > start);
        if word.text.ends_with([',', '.', '!', '?', ';', ':', '。', '，', '！', '？', '、']) {
            groups.push(start..i + 1);
            start = i + 1;
            chars = 0;
        }
    }
    if start < words.len() {
        groups.push(start..words.len());
    }
    groups
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
    let mut caption_width = caption_max_width(width);
    let mut logo = None;
    if let Some(brand) = spec.logo {
        let image = work.join("logo.png");
        let (w, h) =
            crate::logo::overlay(brand.image, logo_height(height), logo_max_width(width), brand.opacity, &image)?;
        let (x, y) = logo_position(width, height, w, h, brand.corner);
        if brand.corner.bottom() {
            caption_width = caption_max_width_beside(width, height, w);
        }
        logo = Some(Overlay { image, x, y, between: None });
    }
    if spec.captions {
        let font_px = caption_font_px(height, spec.font_scale);
        for (i, cue) in spec.cues.iter().enumerate() {
            let linger = cue.end + CAPTION_LINGER_SECONDS;
            match spec.style {
                CaptionStyle::Line => {
                    let image = work.join(format!("caption-{i}.png"));
                    let caption = boxed(&cue.text, font_px, caption_width, None, spec.font);
                    let (w, h) = card::render_styled_caption(&caption, &image)?;
                    let (x, y) = caption_position(width, height, w, h);
                    overlays.push(Overlay { image, x, y, between: Some((cue.start, linger)) });
                }
                CaptionStyle::Karaoke => {
                    let words = cue_words(cue, spec.words);
                    for (j, word) in words.iter().enumerate() {
                        let image = work.join(format!("caption-{i}-{j}.png"));
                        let caption = boxed(&cue.text, font_px, caption_width, Some(j), spec.font);
                        let (w, h) = card::render_styled_caption(&caption, &image)?;
                        let (x, y) = caption_position(width, height, w, h);
                        // From the cue's start (first word) to the next word's start.
                        let from = if j == 0 { cue.start } else { word.start };
                        let to = words.get(j + 1).map_or(linger, |next| next.start - HANDOVER);
                        overlays.push(Overlay { image, x, y, between: Some((from, to.max(from))) });
                    }
                }
                CaptionStyle::Pop => {
                    let words = cue_words(cue, spec.words);
                    let groups = pop_groups(&words);
                    let pop_px = font_px * POP_FONT_FACTOR;
                    for (g, group) in groups.iter().enumerate() {
                        let text: Vec<&str> = words[group.clone()].iter().map(|w| w.text.as_str()).collect();
                        let text = text.join(" ");
                        let group_end = groups.get(g + 1).map_or(linger, |next| words[next.start].start - HANDOVER);
                        for j in group.clone() {
                            let image = work.join(format!("caption-{i}-{j}.png"));
                            let caption = Caption {
                                text: &text,
                                font_px: pop_px,
                                max_width: pop_max_width(width).min(caption_width),
                                highlight: Some(j - group.start),
                                look: CaptionLook::Bold,
                                font: spec.font,
                            };
                            let (w, h) = card::render_styled_caption(&caption, &image)?;
                            let (x, y) = pop_position(width, height, w, h);
                            let from = if j == 0 { cue.start } else { words[j].start };
                            let to = if j + 1 < group.end { words[j + 1].start - HANDOVER } else { group_end };
                            overlays.push(Overlay { image, x, y, between: Some((from, to.max(from))) });
                        }
                    }
                }
            }
        }
    }
    if spec.watermark {
        let image = work.join("watermark.png");
        let (w, _) = card::render_watermark(WATERMARK_TEXT, watermark_height(height), &image)?;
        let (x, y) = watermark_position(width, height, w);
        overlays.push(Overlay { image, x, y, between: None });
    }
    overlays.extend(logo);
    Ok(overlays)
}

/// A still of a caption style as a viewer sees it (the picker's preview): a
/// `width` x `height` frame with a sample sentence's caption drawn by `draw`,
/// as it shows while the sentence's fourth word is spoken. Written to `out`
/// as PNG; `work` holds the caption pictures.
pub fn style_preview(style: CaptionStyle, width: u32, height: u32, work: &Path, out: &Path) -> MediaResult<()> {
    use tiny_skia::{Color, GradientStop, LinearGradient, Paint, Pixmap, Point, Rect, SpreadMode, Transform};
    let cue = Cue { start: 0.0, end: 3.0, text: "Storms were the hardest nights of the year.".into() };
    let spec = OverlaySpec {
        width,
        height,
        // Larger than in a video: the still is shown small, beside its name.
        font_scale: 0.08,
        cues: std::slice::from_ref(&cue),
        captions: true,
        style,
        words: &[],
        watermark: false,
        logo: None,
        font: None,
    };
    let words = cue_words(&cue, &[]);
    let at = words.get(3).map_or(1.0, |w| (w.start + w.end) / 2.0);
    let mut frame = Pixmap::new(width, height).ok_or_else(|| crate::MediaError::Draw("an empty preview".into()))?;
    let shader = LinearGradient::new(
        Point::from_xy(0.0, 0.0),
        Point::from_xy(width as f32, height as f32),
        vec![
            GradientStop::new(0.0, Color::from_rgba8(0x4c, 0x1d, 0x95, 255)),
            GradientStop::new(1.0, Color::from_rgba8(0x0f, 0x76, 0x6e, 255)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .ok_or_else(|| crate::MediaError::Draw("the preview's background".into()))?;
    let paint = Paint { shader, ..Paint::default() };
    let whole = Rect::from_xywh(0.0, 0.0, width as f32, height as f32)
        .ok_or_else(|| crate::MediaError::Draw("the preview's size".into()))?;
    frame.fill_rect(whole, &paint, Transform::identity(), None);
    overlays_at(&mut frame, work, &spec, at)?;
    let bytes = frame.encode_png().map_err(|e| crate::MediaError::Draw(format!("encoding the preview: {e}")))?;
    std::fs::write(out, bytes).map_err(|e| crate::MediaError::io("writing the preview", e))
}

/// Draws what `draw` places for `spec` that shows at `at` seconds onto `frame`.
fn overlays_at(frame: &mut tiny_skia::Pixmap, work: &Path, spec: &OverlaySpec<'_>, at: f64) -> MediaResult<()> {
    use tiny_skia::{Pixmap, PixmapPaint, Transform};
    for overlay in draw(work, spec)? {
        if overlay.between.is_some_and(|(from, to)| at < from || at > to) {
            continue;
        }
        let picture = Pixmap::load_png(&overlay.image)
            .map_err(|e| crate::MediaError::Draw(format!("reading an overlay picture: {e}")))?;
        let (x, y) = (overlay.x as i32, overlay.y as i32);
        frame.draw_pixmap(x, y, picture.as_ref(), &PixmapPaint::default(), Transform::identity(), None);
    }
    Ok(())
}

/// A brand template's still (the template editor's live preview).
#[derive(Debug, Clone, Copy)]
pub struct TemplateStill<'a> {
    /// The template's card (palette, text colour, fonts).
    pub card: &'a crate::card::CardStyle,
    /// What the title card says.
    pub title: &'a str,
    /// The sample caption burned in.
    pub caption: &'a str,
    pub style: CaptionStyle,
    /// Caption size relative to the frame height.
    pub font_scale: f32,
    /// The captions' brand font.
    pub caption_font: Option<&'a str>,
    /// The logo, as a render places it.
    pub logo: Option<LogoSpec<'a>>,
    pub width: u32,
    pub height: u32,
}

/// Draws `still` with the render's own code: the title card (`card::render_card`),
/// the caption and logo overlays (`draw`) as they show while the caption's
/// fourth word is spoken. Written to `out` as PNG; `work` holds the pieces.
pub fn template_still(still: &TemplateStill<'_>, work: &Path, out: &Path) -> MediaResult<()> {
    let card = work.join("still-card.png");
    card::render_card(still.title, 1, still.width, still.height, 1.0, still.card, &card)?;
    let mut frame = tiny_skia::Pixmap::load_png(&card)
        .map_err(|e| crate::MediaError::Draw(format!("reading the card picture: {e}")))?;
    let cue = Cue { start: 0.0, end: 3.0, text: still.caption.to_string() };
    let spec = OverlaySpec {
        width: still.width,
        height: still.height,
        font_scale: still.font_scale,
        cues: std::slice::from_ref(&cue),
        captions: true,
        style: still.style,
        words: &[],
        watermark: false,
        logo: still.logo,
        font: still.caption_font,
    };
    let words = cue_words(&cue, &[]);
    let at = words.get(3).or(words.last()).map_or(1.0, |w| (w.start + w.end) / 2.0);
    overlays_at(&mut frame, work, &spec, at)?;
    let bytes = frame.encode_png().map_err(|e| crate::MediaError::Draw(format!("encoding the preview: {e}")))?;
    std::fs::write(out, bytes).map_err(|e| crate::MediaError::io("writing the preview", e))
}

/// A sentence caption at most `max_width` wide.
fn boxed<'a>(
    text: &'a str,
    font_px: f32,
    max_width: u32,
    highlight: Option<usize>,
    font: Option<&'a str>,
) -> Caption<'a> {
    Caption { text, font_px, max_width, highlight, look: CaptionLook::Boxed, font }
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
        let spec = OverlaySpec {
            width: 1280,
            height: 720,
            font_scale: 0.042,
            cues: &cues,
            captions: true,
            style: CaptionStyle::Line,
            words: &[],
            watermark: true,
            logo: None,
            font: None,
        };
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

    fn word(text: &str, start: f64, end: f64) -> WordTiming {
        WordTiming { text: text.into(), start, end, timing: Timing::Measured }
    }

    #[test]
    fn cue_words_follow_the_timings_or_share_out_the_span() {
        let cue = Cue { start: 1.0, end: 3.0, text: "Wind  shook the glass.".into() };
        let timed = [
            word("Before", 0.2, 0.8),
            word("Wind", 1.0, 1.4),
            word("shook", 1.45, 1.9),
            word("the", 1.95, 2.1),
            word("glass.", 2.1, 2.9),
        ];
        let words = cue_words(&cue, &timed);
        assert_eq!(words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["Wind", "shook", "the", "glass."]);
        assert_eq!(words[1], word("shook", 1.45, 1.9));
        // No timings (or not one per word): shared out by letters, end to end.
        let estimated = cue_words(&cue, &[]);
        assert_eq!(estimated.len(), 4);
        assert!((estimated[0].start - 1.0).abs() < 1e-9 && (estimated[3].end - 3.0).abs() < 1e-9);
        assert!(estimated[1].end - estimated[1].start > estimated[2].end - estimated[2].start, "shook > the");
        for pair in estimated.windows(2) {
            assert!((pair[0].end - pair[1].start).abs() < 1e-9);
        }
        // CJK: a word per character, the full stop with the last one.
        let cjk = Cue { start: 0.0, end: 1.0, text: "你好世界。".into() };
        let words = cue_words(&cjk, &[]);
        assert_eq!(words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["你", "好", "世", "界。"]);
    }

    #[test]
    fn pop_groups_hold_up_to_three_short_words_and_break_at_clauses() {
        let words: Vec<WordTiming> = "Storms were the hardest nights, wind shook the extraordinarily old glass."
            .split(' ')
            .enumerate()
            .map(|(i, w)| word(w, i as f64, i as f64 + 0.5))
            .collect();
        let groups = pop_groups(&words);
        let texts: Vec<String> = groups
            .iter()
            .map(|g| words[g.clone()].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(texts, ["Storms were the", "hardest nights,", "wind shook the", "extraordinarily", "old glass."]);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), words.len());
    }

    /// Windows of the caption overlays: in order, never two at once.
    fn windows(overlays: &[Overlay]) -> Vec<(f64, f64)> {
        overlays.iter().filter_map(|o| o.between).collect()
    }

    #[test]
    fn karaoke_and_pop_show_one_picture_per_word_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let cues = [
            Cue { start: 0.0, end: 1.2, text: "Storms were hard.".into() },
            Cue { start: 1.4, end: 2.6, text: "Wind shook the glass.".into() },
        ];
        let words = [
            word("Storms", 0.0, 0.4),
            word("were", 0.45, 0.7),
            word("hard.", 0.75, 1.2),
            word("Wind", 1.4, 1.7),
            word("shook", 1.75, 2.0),
            word("the", 2.0, 2.1),
            word("glass.", 2.15, 2.6),
        ];
        for style in [CaptionStyle::Karaoke, CaptionStyle::Pop] {
            let spec = OverlaySpec {
                width: 1080,
                height: 1920,
                font_scale: 0.03,
                cues: &cues,
                captions: true,
                style,
                words: &words,
                watermark: true,
                logo: None,
                font: None,
            };
            let overlays = draw(dir.path(), &spec).unwrap();
            assert_eq!(overlays.len(), words.len() + 1, "{style:?}: a picture per word and the watermark");
            let spans = windows(&overlays);
            for pair in spans.windows(2) {
                assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{style:?}: {spans:?}");
            }
            assert_eq!(spans[1].0, 0.45, "{style:?}: the second word from its start");
            let watermark = overlays.last().unwrap();
            let wm = tiny_skia::Pixmap::load_png(&watermark.image).unwrap();
            let wm_box = rect(watermark.x, watermark.y, wm.width(), wm.height());
            for overlay in &overlays[..words.len()] {
                let png = tiny_skia::Pixmap::load_png(&overlay.image).unwrap();
                let r = rect(overlay.x, overlay.y, png.width(), png.height());
                // Inside the title-safe area (5% margins) and clear of the watermark.
                assert!(r.0 >= 54 && r.2 <= 1080 - 54 && r.1 >= 96 && r.3 <= 1920 - 96, "{style:?}: {r:?}");
                assert!(!overlap(r, wm_box), "{style:?}: {r:?} {wm_box:?}");
            }
            if style == CaptionStyle::Pop {
                // Below the middle, above the bottom fifth's controls.
                let first = &overlays[0];
                let png = tiny_skia::Pixmap::load_png(&first.image).unwrap();
                let middle = first.y + png.height() / 2;
                assert!((1500..1580).contains(&middle), "pop at four fifths: {middle}");
            }
        }
    }

    #[test]
    fn a_logo_sits_in_its_corner_clear_of_the_captions() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join("stored.png");
        let mut wide = tiny_skia::Pixmap::new(600, 100).unwrap();
        wide.fill(tiny_skia::Color::from_rgba8(200, 30, 30, 255));
        std::fs::write(&stored, wide.encode_png().unwrap()).unwrap();
        let long = "A caption long enough to fill the whole width of the frame and wrap onto more lines. ".repeat(2);
        let cues = [Cue { start: 0.0, end: 2.0, text: long }];
        // Karaoke is placed as line captions are.
        for (width, height) in [(1280, 720), (720, 1280), (1080, 1080), (320, 180)] {
            for corner in Corner::ALL {
                for style in [CaptionStyle::Line, CaptionStyle::Pop] {
                    let spec = OverlaySpec {
                        width,
                        height,
                        font_scale: 0.042,
                        cues: &cues,
                        captions: true,
                        style,
                        words: &[],
                        watermark: false,
                        logo: Some(LogoSpec { image: &stored, corner, opacity: 0.8 }),
                        font: None,
                    };
                    let overlays = draw(dir.path(), &spec).unwrap();
                    let boxes: Vec<_> = overlays
                        .iter()
                        .map(|o| {
                            let png = tiny_skia::Pixmap::load_png(&o.image).unwrap();
                            rect(o.x, o.y, png.width(), png.height())
                        })
                        .collect();
                    let (logo, captions) = boxes.split_last().unwrap();
                    assert!(logo.2 <= width && logo.3 <= height, "{width}x{height} {corner:?}: {logo:?}");
                    assert_eq!(logo.1 < height / 2, !corner.bottom(), "{corner:?}");
                    assert_eq!(logo.0 < width / 2, matches!(corner, Corner::TopLeft | Corner::BottomLeft));
                    for caption in captions {
                        assert!(
                            !overlap(*caption, *logo),
                            "{width}x{height} {corner:?} {style:?}: {caption:?} {logo:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_style_has_a_preview_that_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut previews = Vec::new();
        for style in CaptionStyle::ALL {
            let out = dir.path().join(format!("{}.png", style.as_str()));
            style_preview(style, 640, 360, dir.path(), &out).unwrap();
            let png = tiny_skia::Pixmap::load_png(&out).unwrap();
            assert_eq!((png.width(), png.height()), (640, 360));
            let yellow = png
                .pixels()
                .iter()
                .filter(|p| {
                    let c = p.demultiply();
                    c.red() > 230 && c.green() > 180 && c.green() < 240 && c.blue() < 80
                })
                .count();
            previews.push((style, yellow, std::fs::read(&out).unwrap()));
        }
        assert_eq!(previews[0].1, 0, "line captions highlight nothing");
        assert!(previews[1].1 > 50 && previews[2].1 > 50, "karaoke and pop highlight the word");
        assert!(previews[0].2 != previews[1].2 && previews[1].2 != previews[2].2);
    }
}
