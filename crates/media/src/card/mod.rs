//! Procedural images drawn with tiny-skia and cosmic-text (bundled fonts).
//!
//! Scene cards, subtitle cue overlays and the watermark. Every image is a pure
//! function of its inputs: the only "randomness" is a generator seeded from a
//! hash of the text (`seed`), and only the three bundled fonts are used (never
//! the system's, `layout`), so the same inputs give byte-identical PNGs on any
//! machine. `draw` holds the pixel work and `colour` the contrast rules; this
//! module composes them into the three pictures.

mod colour;
mod draw;
pub mod fonts;
mod icons_gen;
mod illustration;
mod layout;
mod seed;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use self::illustration::{pick_icon, pick_icon_in, render_illustration};

use cosmic_text::{Ellipsize, Weight};
use tiny_skia::{Pixmap, Point};

use self::colour::{Backing, Rgb, backing_for};
use self::draw::{
    Coverage, MAX_SIDE, MIN_SIDE, check_side, composite, even_up, fill_linear_gradient, fill_path, new_pixmap,
    rounded_rect, soft_circle, vignette, write_png,
};
use self::layout::{TextEngine, extent, fit_text, lay_out, parse_weight, rasterise, rasterise_bytes, text_engine};
use self::seed::{SplitMix, fnv1a};
use crate::{MediaError, MediaResult};

/// Longest text drawn on a card; longer text is cut on a word with "…".
const CARD_MAX_CHARS: usize = 600;

/// Colours and type of a procedural card, from a template.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct CardStyle {
    /// Two or more "#rrggbb" colours; the gradient is picked from these, seeded by the text.
    pub palette: Vec<String>,
    /// "#rrggbb" colour of the text.
    pub text_color: String,
    /// Text size relative to the image height (e.g. 0.07).
    pub text_scale: f32,
    /// "bold" or "regular".
    pub weight: String,
    /// Optional small label drawn top-left (e.g. "Scene 3"); None = no label.
    #[serde(default)]
    pub show_scene_number: bool,
    /// A brand font (`fonts::register`'s id) for titles; None: the bundled face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_font: Option<String>,
    /// A brand font for longer card text; None: the heading font, else the bundled face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_font: Option<String>,
}

impl CardStyle {
    /// The brand font `text` is set in on a card: a title in the heading
    /// font, a paragraph in the body font, each standing in for the other.
    pub(crate) fn font_for(&self, text: &str) -> Option<&str> {
        let (first, second) =
            if is_title(text) { (&self.heading_font, &self.body_font) } else { (&self.body_font, &self.heading_font) };
        first.as_deref().or(second.as_deref())
    }
}

/// A card style read once for drawing: `visible` clamped, the size checked,
/// the colours parsed (`render_card` and `render_illustration` share it).
struct Drawing {
    visible: f32,
    palette: Vec<Rgb>,
    text_color: Rgb,
    weight: Weight,
}

impl Drawing {
    fn new(what: &str, style: &CardStyle, width: u32, height: u32, visible: f32) -> MediaResult<Drawing> {
        check_side(&format!("{what} width"), width)?;
        check_side(&format!("{what} height"), height)?;
        Ok(Drawing {
            visible: if visible.is_finite() { visible.clamp(0.2, 1.0) } else { 1.0 },
            palette: style.palette.iter().map(|c| Rgb::parse(c)).collect::<MediaResult<Vec<_>>>()?,
            text_color: Rgb::parse(&style.text_color)?,
            weight: parse_weight(&style.weight),
        })
    }
}

/// Draws a designed card for one scene and writes it as PNG to `out`.
/// `width`/`height` in pixels. The background is a smooth linear gradient
/// between two colours of the palette, with an angle and colour choice seeded
/// deterministically from a hash of `title` (same text -> identical bytes), plus a
/// few soft translucent shapes (circles) for depth, also seeded. `title` is what
/// the card says: the scene's own title, or `short_title` of its text (the
/// caption already carries the sentence). A title of up to ~48 characters is set
/// large (1.6x the template's `text_scale`) with a short rule under it; longer
/// text is set as a paragraph at the template's size. Either is centred,
/// word-wrapped to ~80% of the width, shrinking the font size until it fits
/// within ~70% of the height, with a subtle dark shadow or translucent backing
/// panel so it is legible on any palette (WCAG-ish contrast). Must handle
/// non-Latin text (CJK via the fallback font, Arabic/Cyrillic as DejaVu covers),
/// empty text (draw just the background), and very long text.
///
/// `visible` is the fraction of each side that is on screen at every moment
/// (1.0 for a still; less when a moving crop window shows only part of the
/// card): text and label stay inside that central area.
pub fn render_card(
    title: &str,
    scene_number: usize,
    width: u32,
    height: u32,
    visible: f32,
    style: &CardStyle,
    out: &Path,
) -> MediaResult<()> {
    let Drawing { visible, palette, text_color, weight } = Drawing::new("card", style, width, height, visible)?;
    let text = shorten(&collapse_whitespace(title), CARD_MAX_CHARS);

    let (w, h) = (width as f32, height as f32);
    let (mut pixmap, c1, c2) = card_background(&palette, &text, width, height)?;

    let mut engine = text_engine();
    let engine = &mut *engine;
    fonts::select(engine, style.font_for(&text))?;

    // Legibility: pick a backing panel when the text alone is not contrasted enough.
    let backing = backing_for(text_color, &background_samples(c1, c2));

    if style.show_scene_number && scene_number > 0 {
        draw_scene_label(engine, &mut pixmap, scene_number, text_color, &backing, visible)?;
    }

    if !text.is_empty() {
        let min_font = (h * 0.028).max(12.0);
        let font = (text_scale(&text, style.text_scale) * h).max(min_font);
        // A title keeps to two lines, so it stays a title (and clear of the label).
        let lines = is_title(&text).then_some(TITLE_MAX_LINES);
        let block =
            fit_text(engine, &text, weight, font, min_font, (w * visible * 0.8).round(), h * visible * 0.7, lines)?;
        if let Some(ext) = &block.extent {
            let ox = ((w - (ext.left + ext.right)) / 2.0).round();
            // Optical centre: a touch above the geometric one.
            let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top - h * 0.015).round();
            let rule = is_title(&text).then_some(h * (1.0 + visible) / 2.0);
            draw_block(engine, &mut pixmap, &block, ext, (ox, oy), text_color, &backing, rule)?;
        }
    }
    engine.tidy();
    write_png(&pixmap, out)
}

/// The card's background: a gradient between two palette colours at an angle
/// seeded by `text`, two or three big soft circles around the edges (the
/// centre is left to the text) and a gentle vignette. Returns the picture and
/// the gradient's two colours.
fn card_background(palette: &[Rgb], text: &str, width: u32, height: u32) -> MediaResult<(Pixmap, Rgb, Rgb)> {
    let mut pixmap = new_pixmap(width, height)?;
    let (w, h) = (width as f32, height as f32);
    let mut rng = SplitMix::new(fnv1a(text.as_bytes()));
    let first = rng.below(palette.len());
    let (c1, c2) = match palette {
        [] => return Err(MediaError::Invalid("the card palette has no colours".into())),
        [only] => (*only, only.mix(Rgb::BLACK, 0.35)),
        _ => {
            let second = (first + 1 + rng.below(palette.len() - 1)) % palette.len();
            (palette[first], palette[second])
        }
    };
    let angle = rng.unit() * std::f32::consts::TAU;
    let (dx, dy) = (angle.cos(), angle.sin());
    let half = (w * dx.abs() + h * dy.abs()) / 2.0;
    let (cx, cy) = (w / 2.0, h / 2.0);
    fill_linear_gradient(
        &mut pixmap,
        Point::from_xy(cx - dx * half, cy - dy * half),
        Point::from_xy(cx + dx * half, cy + dy * half),
        c1,
        c2,
    )?;

    let circles = 2 + rng.below(2);
    let base = rng.unit() * std::f32::consts::TAU;
    for k in 0..circles {
        let theta = base + k as f32 * std::f32::consts::TAU / circles as f32 + (rng.unit() - 0.5) * 0.8;
        let reach = 0.35 + rng.unit() * 0.25;
        let (px, py) = (cx + theta.cos() * w * reach, cy + theta.sin() * h * reach);
        let radius = h * (0.38 + rng.unit() * 0.4);
        let alpha = 0.08 + rng.unit() * 0.07;
        // One darker circle (lighter touch: black reads stronger than white).
        let (color, alpha) = if k == 1 { (Rgb::BLACK, alpha * 0.7) } else { (Rgb::WHITE, alpha) };
        soft_circle(&mut pixmap, px, py, radius, color, alpha)?;
    }
    vignette(&mut pixmap, 0.2)?;
    Ok((pixmap, c1, c2))
}

/// Colours the text may stand on, for the contrast rule.
fn background_samples(c1: Rgb, c2: Rgb) -> [Rgb; 5] {
    [c1, c2, c1.mix(Rgb::WHITE, 0.15), c2.mix(Rgb::WHITE, 0.15), c1.mix(Rgb::BLACK, 0.1)]
}

/// Draws a fitted text block at (`ox`, `oy`): its backing panel when the
/// colours need one, a soft shadow, the text, and when `rule` is given a
/// short rule under it (if the rule ends above `rule`, in pixels).
#[allow(clippy::too_many_arguments)]
fn draw_block(
    engine: &mut TextEngine,
    pixmap: &mut Pixmap,
    block: &layout::TextBlock,
    ext: &layout::Extent,
    (ox, oy): (f32, f32),
    text_color: Rgb,
    backing: &Backing,
    rule: Option<f32>,
) -> MediaResult<()> {
    let font = block.font_px;
    let w = pixmap.width() as f32;
    if backing.alpha > 0.0 {
        let (pad_x, pad_y) = (font * 0.6, font * 0.35);
        let path = rounded_rect(
            ox + ext.left - pad_x,
            oy + ext.top - pad_y,
            ext.right - ext.left + 2.0 * pad_x,
            ext.bottom - ext.top + 2.0 * pad_y,
            font * 0.4,
        )?;
        fill_path(pixmap, &path, backing.color, backing.alpha);
    }
    let mut cov = Coverage::around(ext, ox, oy, 2);
    rasterise(engine, &block.buffer, ox, oy, &mut cov);
    let blur = ((font * 0.05).round() as usize).clamp(1, 24);
    let shadow = cov.blurred(blur, 2, 1.0);
    let offset = (font * 0.05).round().max(1.0) as i32;
    let shadow_alpha = if backing.color == Rgb::BLACK { 0.55 } else { 0.35 };
    composite(pixmap, &shadow, 0, offset, backing.color, shadow_alpha);
    composite(pixmap, &cov, 0, 0, text_color, 1.0);
    if let Some(limit) = rule {
        // A short rule under a title, as on a designed title card.
        let (bar_w, bar_h) = ((font * 1.6).round(), (font * 0.09).round().max(2.0));
        let below = if backing.alpha > 0.0 { font * 0.35 + font * 0.45 } else { font * 0.4 };
        let top = (oy + ext.bottom + below).round();
        if top + bar_h < limit {
            let bar = rounded_rect(((w - bar_w) / 2.0).round(), top, bar_w, bar_h, bar_h / 2.0)?;
            fill_path(pixmap, &bar, text_color, 0.85);
        }
    }
    Ok(())
}

/// A transparent PNG holding one subtitle cue, for overlaying on video: white
/// text (size `font_px`) with a dark outline/shadow on a translucent rounded dark
/// box, word-wrapped to at most `max_width` pixels, at most 3 lines (shrink if
/// needed). Returns the PNG's (width, height) so the caller can position it.
/// Width and height must be even numbers (video filters want even sizes).
pub fn render_caption(text: &str, font_px: f32, max_width: u32, out: &Path) -> MediaResult<(u32, u32)> {
    render_styled_caption(
        &Caption { text, font_px, max_width, highlight: None, look: CaptionLook::Boxed, font: None },
        out,
    )
}

/// How a caption picture looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionLook {
    /// Up to three lines on a translucent dark box (sentence captions).
    Boxed,
    /// Large bold words with a heavy outline and no box, up to two lines (the
    /// short-form "pop" look).
    Bold,
}

/// One caption picture to draw.
#[derive(Debug, Clone, Copy)]
pub struct Caption<'a> {
    /// The words shown (whitespace is collapsed).
    pub text: &'a str,
    /// Text size in pixels (shrunk when the text does not fit).
    pub font_px: f32,
    /// Widest the picture may be.
    pub max_width: u32,
    /// The `n`th word of `text` (by `caption_words`) is drawn in the highlight colour.
    pub highlight: Option<usize>,
    /// Box or bold.
    pub look: CaptionLook,
    /// A brand font (`fonts::register`'s id); None: the bundled face.
    pub font: Option<&'a str>,
}

/// The colour of the word being spoken (karaoke and pop captions): a warm
/// yellow, legible on the dark box and the outline alike.
const HIGHLIGHT: Rgb = Rgb { r: 255, g: 214, b: 10 };

/// The words of a caption's text as `render_styled_caption` counts them (for
/// `Caption::highlight`), with their byte ranges in the collapsed text: the
/// whitespace-separated words, and each CJK character on its own (CJK is
/// written, and spoken, without spaces).
pub fn caption_words(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(s..i);
            }
        } else if is_cjk(c) {
            if let Some(s) = start.take() {
                words.push(s..i);
            }
            words.push(i..i + c.len_utf8());
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    // Punctuation standing alone (a CJK full stop) belongs to the word before.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in words {
        let alone = text[range.clone()].chars().all(|c| !c.is_alphanumeric());
        match merged.last_mut() {
            Some(last) if alone && last.end == range.start => last.end = range.end,
            _ => merged.push(range),
        }
    }
    merged.into_iter().map(|r| (r.clone(), &text[r])).collect()
}

/// Draws `caption` as a transparent PNG (see `CaptionLook`); returns its
/// (width, height), both even.
pub fn render_styled_caption(caption: &Caption<'_>, out: &Path) -> MediaResult<(u32, u32)> {
    let Caption { text, font_px, max_width, highlight, look, font: brand_font } = *caption;
    if !font_px.is_finite() || font_px <= 0.0 {
        return Err(MediaError::Invalid(format!("caption font size {font_px} is not a positive number")));
    }
    if !(MIN_SIDE..=MAX_SIDE).contains(&max_width) {
        return Err(MediaError::Invalid(format!(
            "caption max width {max_width} px is outside {MIN_SIDE}..={MAX_SIDE}"
        )));
    }
    let text = shorten(&collapse_whitespace(text), 400);
    let max_even = max_width & !1;
    if text.is_empty() {
        return blank_overlay(out);
    }
    let boxed = look == CaptionLook::Boxed;
    let font = font_px.clamp(6.0, 400.0).min(max_even as f32 / 2.0);
    let pad_x = (font * if boxed { 0.7 } else { 0.25 }).round();
    let wrap = (max_even as f32 - 2.0 * pad_x).max(font);

    let mut engine = text_engine();
    let engine = &mut *engine;
    fonts::select(engine, brand_font)?;
    let min_font = (font * 0.6).max(6.0);
    let lines = if boxed { 3 } else { 2 };
    let block = fit_text(engine, &text, Weight::BOLD, font, min_font, wrap, f32::INFINITY, Some(lines))?;
    let Some(ext) = block.extent else {
        engine.tidy();
        return blank_overlay(out);
    };
    let font = block.font_px;
    let pad_x = (font * if boxed { 0.7 } else { 0.25 }).round();
    let pad_y = (font * if boxed { 0.3 } else { 0.2 }).round();
    let width = even_up(ext.right - ext.left + 2.0 * pad_x).min(max_even);
    let height = even_up(ext.bottom - ext.top + 2.0 * pad_y).min(MAX_SIDE);
    let mut pixmap = new_pixmap(width, height)?;
    let (w, h) = (width as f32, height as f32);
    if boxed {
        let path = rounded_rect(0.0, 0.0, w, h, (font * 0.35).min(h / 2.0))?;
        fill_path(&mut pixmap, &path, Rgb::BLACK, 0.55);
    }

    let ox = ((w - (ext.left + ext.right)) / 2.0).round();
    let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top).round();
    let mut cov = Coverage::new(0, 0, width as usize, height as usize);
    rasterise(engine, &block.buffer, ox, oy, &mut cov);
    let highlighted = highlight.and_then(|n| caption_words(&text).into_iter().nth(n)).map(|(range, _)| {
        let mut word = Coverage::new(0, 0, width as usize, height as usize);
        rasterise_bytes(engine, &block.buffer, ox, oy, &mut word, range);
        word
    });
    engine.tidy();
    // The bold look has no box behind it: a wider, denser outline keeps it
    // legible on any picture.
    let (radius, opacity) = if boxed { ((font * 0.06).round(), 0.85) } else { ((font * 0.1).round(), 1.0) };
    let outline = cov.blurred((radius as usize).clamp(1, 16), 2, 3.0);
    composite(&mut pixmap, &outline, 0, 0, Rgb::BLACK, opacity);
    if !boxed {
        // A second, tighter pass makes the edge crisp.
        let edge = cov.blurred(((font * 0.04).round() as usize).clamp(1, 8), 1, 4.0);
        composite(&mut pixmap, &edge, 0, 0, Rgb::BLACK, 1.0);
    }
    composite(&mut pixmap, &cov, 0, 0, Rgb::WHITE, 1.0);
    if let Some(word) = highlighted {
        composite(&mut pixmap, &word, 0, 0, HIGHLIGHT, 1.0);
    }
    write_png(&pixmap, out)?;
    Ok((width, height))
}

/// A small translucent watermark PNG ("Made with Reelforge" style text given by
/// `text`) of height about `height_px`; returns (width, height), both even.
pub fn render_watermark(text: &str, height_px: u32, out: &Path) -> MediaResult<(u32, u32)> {
    if !(8..=1024).contains(&height_px) {
        return Err(MediaError::Invalid(format!("watermark height {height_px} px is outside 8..=1024")));
    }
    let text = shorten(&collapse_whitespace(text), 80);
    let height = even_up(height_px as f32);
    if text.is_empty() {
        return blank_overlay(out);
    }
    let h = height as f32;
    let font = h * 0.5;
    let pad_x = (h * 0.45).round();

    let mut engine = text_engine();
    let engine = &mut *engine;
    let buffer = lay_out(engine, &text, Weight::BOLD, font, None, None, Ellipsize::None);
    let Some(ext) = extent(&buffer) else {
        engine.tidy();
        return blank_overlay(out);
    };
    let width = even_up(ext.right - ext.left + 2.0 * pad_x).min(MAX_SIDE);
    let mut pixmap = new_pixmap(width, height)?;
    let w = width as f32;
    let path = rounded_rect(0.0, 0.0, w, h, h / 2.0)?;
    fill_path(&mut pixmap, &path, Rgb::BLACK, 0.3);

    let ox = ((w - (ext.left + ext.right)) / 2.0).round();
    let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top).round();
    let mut cov = Coverage::new(0, 0, width as usize, height as usize);
    rasterise(engine, &buffer, ox, oy, &mut cov);
    engine.tidy();
    let shadow = cov.blurred(((font * 0.06).round() as usize).max(1), 2, 1.5);
    composite(&mut pixmap, &shadow, 0, 1, Rgb::BLACK, 0.45);
    composite(&mut pixmap, &cov, 0, 0, Rgb::WHITE, 0.82);
    write_png(&pixmap, out)?;
    Ok((width, height))
}

/// Text this short is a title (`short_title`, or a scene's own title) and is
/// set large; longer text is set as a paragraph at the template's size.
const TITLE_MAX_CHARS: usize = 48;
/// How much larger than the template's text size a title starts (it still
/// shrinks to fit).
const TITLE_SCALE: f32 = 1.6;
/// Most lines a title is set on.
const TITLE_MAX_LINES: usize = 2;

fn is_title(text: &str) -> bool {
    text.chars().count() <= TITLE_MAX_CHARS
}

/// The size (relative to the card's height) text starts at before shrinking
/// to fit: the template's `text_scale`, or larger for a title.
fn text_scale(text: &str, template: f32) -> f32 {
    let scale = if template.is_finite() { template.clamp(0.01, 0.3) } else { 0.07 };
    if is_title(text) { (scale * TITLE_SCALE).min(0.3) } else { scale }
}

/// Most words in a `short_title`: one more is kept when the whole sentence
/// then fits, so a seven-word sentence is not cut before its last word.
const TITLE_MAX_WORDS: usize = 6;
/// Widest `short_title`, in Latin characters; a CJK character counts three (so
/// about 14 of them fit), a space one.
const TITLE_MAX_WIDTH: usize = 42;

/// Small words a cut title must not end on ("… percent of", "… täglich ein").
const DANGLING: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "for", "with", "from", "by", "as",
    "into", "than", "that", "which", "who", "is", "are", "was", "were", "be", "its", "their", "his", "her", "our",
    "your", "my", "this", "these", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer",
    "und", "oder", "aber", "von", "zu", "zum", "zur", "mit", "im", "am", "an", "auf", "für", "aus", "bei", "nach",
    "über", "ist", "sind", "war", "dass", "le", "la", "les", "de", "des", "du", "et", "un", "une", "el", "los", "las",
    "y", "en", "con", "por", "para",
];

/// Han, kana and the CJK punctuation: written without spaces, so a title may
/// be cut (and a caption highlighted) between any two of them.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3001}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FF60}' | '\u{FF61}'..='\u{FF9F}' | '\u{20000}'..='\u{2FFFF}')
}

/// Width of text in Latin characters: full-width (CJK, Hangul) ones count three.
fn title_width(s: &str) -> usize {
    s.chars().map(|c| if is_cjk(c) || ('\u{AC00}'..='\u{D7AF}').contains(&c) { 3 } else { 1 }).sum()
}

/// A short title for a scene's card: the first words of its first sentence,
/// at most ~6 words or ~42 characters (~14 CJK characters), cut between
/// words (between characters in CJK text). A cut title ends on a word, not on
/// punctuation, a dangling "of"/"und", or an unclosed quote or bracket; an
/// uncut one keeps its "?" or "!" but not its full stop. Only a single word
/// longer than the limit is cut inside, with "…". Empty only for blank text.
pub fn short_title(scene_text: &str) -> String {
    let sentence = crate::sentences::first(scene_text);
    let sentence =
        sentence.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | '•' | '*' | '·'));
    // Tokens: words between spaces, and every CJK character on its own.
    let mut tokens: Vec<(&str, bool)> = Vec::new(); // (text, space before)
    let mut start: Option<usize> = None;
    let mut space = false;
    for (i, c) in sentence.char_indices() {
        if c.is_whitespace() || is_cjk(c) {
            if let Some(s) = start.take() {
                tokens.push((&sentence[s..i], space));
                space = false;
            }
            if is_cjk(c) {
                tokens.push((&sentence[i..i + c.len_utf8()], space));
            }
            space = c.is_whitespace();
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        tokens.push((&sentence[s..], space));
    }
    let is_word = |t: &str| !t.chars().any(is_cjk) && t.chars().any(char::is_alphanumeric);
    let words = tokens.iter().filter(|(t, _)| is_word(t)).count();
    let whole = title_width(sentence);
    let title = if whole <= TITLE_MAX_WIDTH && words <= TITLE_MAX_WORDS + 1 {
        sentence.trim_end_matches(['.', '。', '｡', '…', ',', ';', ':']).to_string()
    } else {
        match tokens.first() {
            Some((first, _)) if title_width(first) > TITLE_MAX_WIDTH => {
                let cut: String = first.chars().take(TITLE_MAX_WIDTH - 1).collect();
                format!("{}…", cut.trim_end_matches(|c: char| !c.is_alphanumeric()))
            }
            _ => cut_title(&tokens, is_word),
        }
    };
    if title.chars().any(char::is_alphanumeric) {
        title
    } else {
        // Punctuation only ("..."): show it rather than nothing.
        shorten(&collapse_whitespace(scene_text), TITLE_MAX_WIDTH)
    }
}

/// The longest run of whole tokens within the limits, without what a title
/// must not end on.
fn cut_title(tokens: &[(&str, bool)], is_word: impl Fn(&str) -> bool) -> String {
    let (mut kept, mut width, mut words) = (0, 0, 0);
    for (i, (token, space)) in tokens.iter().enumerate() {
        let w = title_width(token) + usize::from(*space && i > 0);
        let more_words = words + usize::from(is_word(token));
        if width + w > TITLE_MAX_WIDTH || more_words > TITLE_MAX_WORDS {
            break;
        }
        (kept, width, words) = (i + 1, width + w, more_words);
    }
    let mut kept = &tokens[..kept];
    // Trailing punctuation on the last token is dropped below; a dangling
    // small word goes as a whole, if a word is left before it.
    while let Some(((last, _), rest)) = kept.split_last() {
        let bare = last.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        let dangling = DANGLING.contains(&bare.as_str()) || bare.is_empty();
        if dangling && rest.iter().any(|(t, _)| t.chars().any(char::is_alphanumeric)) {
            kept = rest;
        } else {
            break;
        }
    }
    let mut title = String::new();
    for (i, (token, space)) in kept.iter().enumerate() {
        if *space && i > 0 {
            title.push(' ');
        }
        title.push_str(token);
    }
    let title = drop_unclosed(&title);
    let title = title.trim_end_matches(|c: char| !c.is_alphanumeric() && !is_closer(c));
    // A title that is one quotation is the quotation, without its last comma.
    let mut chars = title.chars();
    let (first, last) = (chars.next(), chars.next_back());
    let quoted = first.is_some_and(|c| matches!(c, '"' | '“' | '„' | '«' | '‘' | '「' | '『'))
        && last.is_some_and(is_closer)
        && !chars.as_str().contains(['"', '“', '”', '„', '«', '»', '「', '」', '『', '』']);
    let title = if quoted { chars.as_str() } else { title };
    title.trim_end_matches(|c: char| !c.is_alphanumeric() && !is_closer(c)).to_string()
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '”' | '“' | '’' | '»' | '›' | ')' | ']' | '」' | '』' | '）')
}

/// Removes opening quotes and brackets that nothing closes (a cut inside
/// a quotation), and closing ones nothing opened.
fn drop_unclosed(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    let mut open: Vec<usize> = Vec::new();
    let mut drop = vec![false; chars.len()];
    for (i, &c) in chars.iter().enumerate() {
        let opener = matches!(c, '“' | '„' | '‘' | '«' | '‹' | '(' | '[' | '「' | '『' | '（');
        let closer = matches!(c, '”' | '’' | '»' | '›' | ')' | ']' | '」' | '』' | '）');
        if c == '"' {
            // Straight quotes pair with the previous straight quote.
            match open.iter().rposition(|&k| chars[k] == '"') {
                Some(at) => {
                    open.remove(at);
                }
                None => open.push(i),
            }
        } else if c == '“' && open.last().is_some_and(|&k| chars[k] == '„') {
            open.pop(); // German „…“
        } else if opener {
            open.push(i);
        } else if closer {
            // An apostrophe inside a word is not a quote.
            if c == '’' && i > 0 && chars[i - 1].is_alphanumeric() {
                continue;
            }
            if open.pop().is_none() {
                drop[i] = true;
            }
        }
    }
    for k in open {
        drop[k] = true;
    }
    chars.iter().zip(drop).filter(|(_, d)| !d).map(|(c, _)| c).collect()
}

fn draw_scene_label(
    engine: &mut TextEngine,
    pixmap: &mut Pixmap,
    scene_number: usize,
    text_color: Rgb,
    backing: &Backing,
    visible: f32,
) -> MediaResult<()> {
    // Sized on the short side, so a portrait card does not get a huge label.
    let h = pixmap.height().min(pixmap.width()) as f32 * visible;
    let (inset_x, inset_y) =
        (pixmap.width() as f32 * (1.0 - visible) / 2.0, pixmap.height() as f32 * (1.0 - visible) / 2.0);
    let font = (h * 0.034).max(12.0);
    let buffer = lay_out(engine, &format!("Scene {scene_number}"), Weight::BOLD, font, None, None, Ellipsize::None);
    let Some(ext) = extent(&buffer) else { return Ok(()) };
    let margin = (h * 0.045).round();
    let (pad_x, pad_y) = ((font * 0.7).round(), (font * 0.2).round());
    let pill_h = ext.bottom - ext.top + 2.0 * pad_y;
    let pill_w = ext.right - ext.left + 2.0 * pad_x;
    let (left, top) = ((inset_x + margin).round(), (inset_y + margin).round());
    let path = rounded_rect(left, top, pill_w, pill_h, pill_h / 2.0)?;
    fill_path(pixmap, &path, backing.color, backing.alpha.max(0.35));
    let ox = (left + pad_x - ext.left).round();
    let oy = (top + pad_y - ext.top).round();
    let mut cov = Coverage::around(&ext, ox, oy, 1);
    rasterise(engine, &buffer, ox, oy, &mut cov);
    composite(pixmap, &cov, 0, 0, text_color, 0.95);
    Ok(())
}

/// A fully transparent 2x2 PNG: an overlay with nothing to show still has to
/// be a picture ffmpeg can read, with even sides.
fn blank_overlay(out: &Path) -> MediaResult<(u32, u32)> {
    write_png(&new_pixmap(2, 2)?, out)?;
    Ok((2, 2))
}

/// All runs of whitespace become one space; the ends are trimmed.
fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` characters, on a word boundary when there is one in
/// the second half, ending with "…" when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let limit = max.saturating_sub(1).max(1);
    let end = s.char_indices().nth(limit).map_or(s.len(), |(i, _)| i);
    let head = &s[..end];
    let cut = if s[end..].starts_with(char::is_whitespace) {
        head
    } else {
        match head.rfind(char::is_whitespace) {
            Some(pos) if head[..pos].chars().count() >= limit / 2 => &head[..pos],
            _ => head,
        }
    };
    let cut = cut.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–' | '—' | '、' | '，' | '(' | '"' | '“')
    });
    format!("{cut}…")
}
