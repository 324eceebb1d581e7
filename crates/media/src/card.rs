//! Procedural images drawn with tiny-skia and cosmic-text (bundled fonts).
//!
//! Scene cards, subtitle cue overlays and the watermark. Every image is a pure
//! function of its inputs: the only "randomness" is a generator seeded from a
//! hash of the text, and only the three bundled fonts are used (never the
//! system's), so the same inputs give byte-identical PNGs on any machine.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use cosmic_text::{
    Align, Attrs, Buffer, Ellipsize, EllipsizeHeightLimit, Family, FontSystem, Metrics, Shaping, SwashCache,
    SwashContent, Weight, Wrap, fontdb,
};
use tiny_skia::{
    FillRule, GradientStop, LinearGradient, Paint, Path as SkPath, PathBuilder, Pixmap, Point, RadialGradient, Rect,
    SpreadMode, Transform,
};

use crate::{MediaError, MediaResult};

static FONT_REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
static FONT_FALLBACK: &[u8] = include_bytes!("../../../assets/fonts/DroidSansFallbackFull.ttf");

/// The family of the two main faces; the CJK face is reached by fallback.
const FAMILY: &str = "DejaVu Sans";
/// Line height relative to the font size.
const LINE_HEIGHT: f32 = 1.22;
/// Longest key line `key_line` returns, in characters (including the "…").
const KEY_LINE_MAX_CHARS: usize = 120;
/// Longest text drawn on a card; longer text is cut on a word with "…".
const CARD_MAX_CHARS: usize = 600;
/// Rasterised glyphs kept between calls before the cache is emptied.
const GLYPH_CACHE_LIMIT: usize = 4096;
/// Smallest and largest image side accepted.
const MIN_SIDE: u32 = 16;
const MAX_SIDE: u32 = 8192;

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
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// Draws a designed card for one scene and writes it as PNG to `out`.
/// `width`/`height` in pixels. The background is a smooth linear gradient
/// between two colours of the palette, with an angle and colour choice seeded
/// deterministically from a hash of `text` (same text -> identical bytes), plus a
/// few soft translucent shapes (circles) for depth, also seeded. The scene's key
/// line (`key_line`) is set large, centred, word-wrapped to ~80% of the width,
/// shrinking the font size until it fits within ~70% of the height, with a subtle
/// dark shadow or translucent backing panel so it is legible on any palette (WCAG-ish
/// contrast). Must handle non-Latin text (CJK via the fallback font, Arabic/Cyrillic
/// as DejaVu covers), empty text (draw just the background), and very long text.
///
/// `visible` is the fraction of each side that is on screen at every moment
/// (1.0 for a still; less when a moving crop window shows only part of the
/// card): text and label stay inside that central area.
pub fn render_card(
    key_line: &str,
    scene_number: usize,
    width: u32,
    height: u32,
    visible: f32,
    style: &CardStyle,
    out: &Path,
) -> MediaResult<()> {
    let visible = if visible.is_finite() { visible.clamp(0.2, 1.0) } else { 1.0 };
    check_side("card width", width)?;
    check_side("card height", height)?;
    let palette = style.palette.iter().map(|c| Rgb::parse(c)).collect::<MediaResult<Vec<_>>>()?;
    if palette.is_empty() {
        return Err(MediaError::Invalid("the card palette has no colours".into()));
    }
    let text_color = Rgb::parse(&style.text_color)?;
    let weight = parse_weight(&style.weight);
    let text = shorten(&collapse_whitespace(key_line), CARD_MAX_CHARS);

    let mut pixmap = new_pixmap(width, height)?;
    let (w, h) = (width as f32, height as f32);
    let mut rng = SplitMix::new(fnv1a(text.as_bytes()));

    // Background: gradient between two palette colours, seeded angle.
    let first = rng.below(palette.len());
    let (c1, c2) = if palette.len() == 1 {
        (palette[0], palette[0].mix(Rgb::BLACK, 0.35))
    } else {
        let second = (first + 1 + rng.below(palette.len() - 1)) % palette.len();
        (palette[first], palette[second])
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

    // Depth: two or three big soft circles around the edges, leaving the centre to the text.
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
    // A gentle vignette keeps the eye in the middle.
    vignette(&mut pixmap, 0.2)?;

    let mut engine = text_engine();
    let engine = &mut *engine;

    // Legibility: pick a backing panel when the text alone is not contrasted enough.
    let samples = [c1, c2, c1.mix(Rgb::WHITE, 0.15), c2.mix(Rgb::WHITE, 0.15), c1.mix(Rgb::BLACK, 0.1)];
    let backing = backing_for(text_color, &samples);

    if style.show_scene_number && scene_number > 0 {
        draw_scene_label(engine, &mut pixmap, scene_number, text_color, &backing, visible)?;
    }

    if !text.is_empty() {
        let min_font = (h * 0.028).max(12.0);
        let start = if style.text_scale.is_finite() { style.text_scale.clamp(0.01, 0.3) } else { 0.07 };
        let font = (start * h).max(min_font);
        let block =
            fit_text(engine, &text, weight, font, min_font, (w * visible * 0.8).round(), h * visible * 0.7, None)?;
        if let Some(ext) = block.extent {
            let ox = ((w - (ext.left + ext.right)) / 2.0).round();
            // Optical centre: a touch above the geometric one.
            let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top - h * 0.015).round();
            let font = block.font_px;
            if backing.alpha > 0.0 {
                let (pad_x, pad_y) = (font * 0.6, font * 0.35);
                let path = rounded_rect(
                    ox + ext.left - pad_x,
                    oy + ext.top - pad_y,
                    ext.right - ext.left + 2.0 * pad_x,
                    ext.bottom - ext.top + 2.0 * pad_y,
                    font * 0.4,
                )?;
                fill_path(&mut pixmap, &path, backing.color, backing.alpha);
            }
            let mut cov = Coverage::around(&ext, ox, oy, 2);
            rasterise(engine, &block.buffer, ox, oy, &mut cov);
            let blur = ((font * 0.05).round() as usize).clamp(1, 24);
            let shadow = cov.blurred(blur, 2, 1.0);
            let offset = (font * 0.05).round().max(1.0) as i32;
            let shadow_alpha = if backing.color == Rgb::BLACK { 0.55 } else { 0.35 };
            composite(&mut pixmap, &shadow, 0, offset, backing.color, shadow_alpha);
            composite(&mut pixmap, &cov, 0, 0, text_color, 1.0);
        }
    }
    engine.tidy();
    write_png(&pixmap, out)
}

/// A transparent PNG holding one subtitle cue, for overlaying on video: white
/// text (size `font_px`) with a dark outline/shadow on a translucent rounded dark
/// box, word-wrapped to at most `max_width` pixels, at most 3 lines (shrink if
/// needed). Returns the PNG's (width, height) so the caller can position it.
/// Width and height must be even numbers (video filters want even sizes).
pub fn render_caption(text: &str, font_px: f32, max_width: u32, out: &Path) -> MediaResult<(u32, u32)> {
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
        let pixmap = new_pixmap(2, 2)?;
        write_png(&pixmap, out)?;
        return Ok((2, 2));
    }
    let font = font_px.clamp(6.0, 400.0).min(max_even as f32 / 2.0);
    let pad_x = (font * 0.7).round();
    let wrap = (max_even as f32 - 2.0 * pad_x).max(font);

    let mut engine = text_engine();
    let engine = &mut *engine;
    let min_font = (font * 0.6).max(6.0);
    let block = fit_text(engine, &text, Weight::BOLD, font, min_font, wrap, f32::INFINITY, Some(3))?;
    let Some(ext) = block.extent else {
        engine.tidy();
        let pixmap = new_pixmap(2, 2)?;
        write_png(&pixmap, out)?;
        return Ok((2, 2));
    };
    let font = block.font_px;
    let pad_x = (font * 0.7).round();
    let pad_y = (font * 0.3).round();
    let width = even_up(ext.right - ext.left + 2.0 * pad_x).min(max_even);
    let height = even_up(ext.bottom - ext.top + 2.0 * pad_y).min(MAX_SIDE);
    let mut pixmap = new_pixmap(width, height)?;
    let (w, h) = (width as f32, height as f32);
    let path = rounded_rect(0.0, 0.0, w, h, (font * 0.35).min(h / 2.0))?;
    fill_path(&mut pixmap, &path, Rgb::BLACK, 0.55);

    let ox = ((w - (ext.left + ext.right)) / 2.0).round();
    let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top).round();
    let mut cov = Coverage::new(0, 0, width as usize, height as usize);
    rasterise(engine, &block.buffer, ox, oy, &mut cov);
    engine.tidy();
    let radius = ((font * 0.06).round() as usize).clamp(1, 12);
    let outline = cov.blurred(radius, 2, 3.0);
    composite(&mut pixmap, &outline, 0, 0, Rgb::BLACK, 0.85);
    composite(&mut pixmap, &cov, 0, 0, Rgb::WHITE, 1.0);
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
        let pixmap = new_pixmap(2, 2)?;
        write_png(&pixmap, out)?;
        return Ok((2, 2));
    }
    let h = height as f32;
    let font = h * 0.5;
    let pad_x = (h * 0.45).round();

    let mut engine = text_engine();
    let engine = &mut *engine;
    let buffer = lay_out(engine, &text, Weight::BOLD, font, None, None, Ellipsize::None);
    let Some(ext) = extent(&buffer) else {
        engine.tidy();
        let pixmap = new_pixmap(2, 2)?;
        write_png(&pixmap, out)?;
        return Ok((2, 2));
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

/// The scene's key line: the first sentence of the scene text, trimmed to at most
/// ~120 characters on a word boundary (add "…" when cut). Works for CJK text
/// (which has no spaces: cut on characters) and for text with no sentence end.
pub fn key_line(scene_text: &str) -> String {
    shorten(&collapse_whitespace(first_sentence(scene_text)), KEY_LINE_MAX_CHARS)
}

// ---------------------------------------------------------------------------
// Text: fonts, layout, rasterisation
// ---------------------------------------------------------------------------

/// The one font system and glyph cache of the process.
struct TextEngine {
    fonts: FontSystem,
    glyphs: SwashCache,
}

impl TextEngine {
    /// Bounds the caches after a drawing.
    fn tidy(&mut self) {
        self.fonts.shape_run_cache.trim(8);
        if self.glyphs.image_cache.len() > GLYPH_CACHE_LIMIT {
            self.glyphs.image_cache.clear();
        }
    }
}

fn text_engine() -> MutexGuard<'static, TextEngine> {
    static ENGINE: OnceLock<Mutex<TextEngine>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let mut db = fontdb::Database::new();
        for data in [FONT_REGULAR, FONT_BOLD, FONT_FALLBACK] {
            db.load_font_data(data.to_vec());
        }
        db.set_sans_serif_family(FAMILY);
        Mutex::new(TextEngine {
            fonts: FontSystem::new_with_locale_and_db("en-US".into(), db),
            glyphs: SwashCache::new(),
        })
    });
    // A panic elsewhere while drawing leaves only caches behind: keep using them.
    engine.lock().unwrap_or_else(PoisonError::into_inner)
}

fn parse_weight(weight: &str) -> Weight {
    match weight.trim().to_ascii_lowercase().as_str() {
        "bold" | "semibold" | "extrabold" | "heavy" | "black" | "600" | "700" | "800" | "900" => Weight::BOLD,
        _ => Weight::NORMAL,
    }
}

/// Shapes and lays out `text` (one paragraph, centred).
fn lay_out(
    engine: &mut TextEngine,
    text: &str,
    weight: Weight,
    font_px: f32,
    wrap_width: Option<f32>,
    max_height: Option<f32>,
    ellipsize: Ellipsize,
) -> Buffer {
    let font_px = font_px.max(1.0);
    let mut buffer = Buffer::new(&mut engine.fonts, Metrics::new(font_px, (font_px * LINE_HEIGHT).ceil()));
    buffer.set_wrap(if wrap_width.is_some() { Wrap::WordOrGlyph } else { Wrap::None });
    buffer.set_ellipsize(ellipsize);
    buffer.set_size(wrap_width, max_height);
    let attrs = Attrs::new().family(Family::Name(FAMILY)).weight(weight);
    buffer.set_text(text, &attrs, Shaping::Advanced, Some(Align::Center));
    buffer.shape_until_scroll(&mut engine.fonts, false);
    buffer
}

/// The logical box of laid-out text, relative to the buffer's origin.
#[derive(Debug, Clone, Copy)]
struct Extent {
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
    lines: usize,
}

fn extent(buffer: &Buffer) -> Option<Extent> {
    let mut ext: Option<Extent> = None;
    for run in buffer.layout_runs() {
        let (mut left, mut right) = (f32::INFINITY, f32::NEG_INFINITY);
        for g in run.glyphs {
            left = left.min(g.x);
            right = right.max(g.x + g.w);
        }
        let bottom = run.line_top + run.line_height;
        ext = Some(match ext {
            None => Extent { left, right, top: run.line_top, bottom, lines: 1 },
            Some(e) => Extent {
                left: e.left.min(left),
                right: e.right.max(right),
                top: e.top.min(run.line_top),
                bottom: e.bottom.max(bottom),
                lines: e.lines + 1,
            },
        });
    }
    ext.filter(|e| e.left.is_finite() && e.right.is_finite() && e.right > e.left)
}

struct TextBlock {
    buffer: Buffer,
    extent: Option<Extent>,
    font_px: f32,
}

/// Lays out `text` centred in `max_w`, shrinking from `font_px` towards `min_font`
/// until it fits in `max_h` (and in `max_lines`, if given); then balances the lines
/// so the last one is not a lonely word. If it cannot fit even at `min_font`, the
/// text is cut with an ellipsis.
#[allow(clippy::too_many_arguments)]
fn fit_text(
    engine: &mut TextEngine,
    text: &str,
    weight: Weight,
    font_px: f32,
    min_font: f32,
    max_w: f32,
    max_h: f32,
    max_lines: Option<usize>,
) -> MediaResult<TextBlock> {
    let min_font = min_font.min(font_px).max(1.0);
    let mut font = font_px.max(min_font);
    let fits = |e: &Option<Extent>| match e {
        None => true,
        Some(e) => {
            e.bottom - e.top <= max_h && e.right - e.left <= max_w + 0.5 && max_lines.is_none_or(|n| e.lines <= n)
        }
    };
    for _ in 0..24 {
        let buffer = lay_out(engine, text, weight, font, Some(max_w), None, Ellipsize::None);
        let ext = extent(&buffer);
        if fits(&ext) {
            return Ok(balance(engine, text, weight, font, max_w, buffer, ext));
        }
        if font <= min_font {
            break;
        }
        let ratio = match ext {
            Some(e) => {
                let by_h = (max_h / (e.bottom - e.top)).sqrt();
                let by_lines = max_lines.map_or(1.0, |n| (n as f32 / e.lines as f32).sqrt());
                let by_w = max_w / (e.right - e.left);
                by_h.min(by_lines).min(by_w).clamp(0.5, 0.95)
            }
            None => 0.9,
        };
        font = (font * ratio).max(min_font);
    }
    // Too long even at the smallest size: keep what fits and end it with "…".
    let limit = match max_lines {
        Some(n) => EllipsizeHeightLimit::Lines(n.max(1)),
        None => EllipsizeHeightLimit::Height(max_h),
    };
    let height = max_h.is_finite().then_some(max_h);
    let buffer = lay_out(engine, text, weight, font, Some(max_w), height, Ellipsize::End(limit));
    // The buffer's height limit also stops layout runs past it, so nothing spills.
    let ext = extent(&buffer);
    Ok(TextBlock { buffer, extent: ext, font_px: font })
}

/// Narrows the wrap width as far as the line count allows, so the lines of a
/// wrapped paragraph have similar lengths.
fn balance(
    engine: &mut TextEngine,
    text: &str,
    weight: Weight,
    font: f32,
    max_w: f32,
    buffer: Buffer,
    ext: Option<Extent>,
) -> TextBlock {
    let Some(e) = ext else { return TextBlock { buffer, extent: ext, font_px: font } };
    if e.lines < 2 || e.lines > 8 {
        return TextBlock { buffer, extent: ext, font_px: font };
    }
    let (mut lo, mut hi) = (max_w * 0.45, max_w);
    let mut best = (buffer, e);
    for _ in 0..7 {
        let mid = ((lo + hi) / 2.0).round();
        let candidate = lay_out(engine, text, weight, font, Some(mid), None, Ellipsize::None);
        match extent(&candidate) {
            Some(c) if c.lines == e.lines => {
                hi = mid;
                best = (candidate, c);
            }
            _ => lo = mid,
        }
    }
    TextBlock { buffer: best.0, extent: Some(best.1), font_px: font }
}

/// An 8-bit coverage mask over a rectangle of the image.
#[derive(Debug, Clone)]
struct Coverage {
    x0: i32,
    y0: i32,
    w: usize,
    h: usize,
    data: Vec<u8>,
}

impl Coverage {
    fn new(x0: i32, y0: i32, w: usize, h: usize) -> Self {
        Coverage { x0, y0, w, h, data: vec![0; w * h] }
    }

    /// A mask around a text extent drawn at (`ox`, `oy`), with room for ink
    /// outside the logical box (`margin_lines` half line heights, plus 4 px).
    fn around(ext: &Extent, ox: f32, oy: f32, margin_lines: usize) -> Self {
        let line = (ext.bottom - ext.top) / ext.lines.max(1) as f32;
        let margin = (line * 0.5 * margin_lines as f32).ceil() as i32 + 4;
        let x0 = (ox + ext.left).floor() as i32 - margin;
        let y0 = (oy + ext.top).floor() as i32 - margin;
        let w = (ext.right - ext.left).ceil() as i32 + 2 * margin;
        let h = (ext.bottom - ext.top).ceil() as i32 + 2 * margin;
        Coverage::new(x0, y0, w.max(1) as usize, h.max(1) as usize)
    }

    fn add(&mut self, x: i32, y: i32, a: u8) {
        let (cx, cy) = (x - self.x0, y - self.y0);
        if cx < 0 || cy < 0 || cx as usize >= self.w || cy as usize >= self.h || a == 0 {
            return;
        }
        let p = &mut self.data[cy as usize * self.w + cx as usize];
        // Union of two coverages: a + b - ab.
        *p = (u32::from(*p) + u32::from(a) - mul255(u32::from(*p), u32::from(a))).min(255) as u8;
    }

    /// A box-blurred copy (`passes` times, `radius` px), grown to hold the blur,
    /// with coverage scaled by `gain` (>1 thickens it into an outline).
    fn blurred(&self, radius: usize, passes: usize, gain: f32) -> Coverage {
        let m = radius * passes;
        let mut out = Coverage::new(self.x0 - m as i32, self.y0 - m as i32, self.w + 2 * m, self.h + 2 * m);
        for y in 0..self.h {
            let src = &self.data[y * self.w..(y + 1) * self.w];
            let start = (y + m) * out.w + m;
            out.data[start..start + self.w].copy_from_slice(src);
        }
        let mut tmp = vec![0u8; out.data.len()];
        for _ in 0..passes {
            box_blur(&out.data, &mut tmp, out.w, out.h, radius, 1, out.w);
            box_blur(&tmp, &mut out.data, out.h, out.w, radius, out.w, 1);
        }
        if gain != 1.0 {
            for v in &mut out.data {
                *v = (f32::from(*v) * gain).round().min(255.0) as u8;
            }
        }
        out
    }
}

/// One box-blur pass along lines of `len` samples spaced `step` apart; `count`
/// lines, each starting `line_step` after the previous one.
fn box_blur(src: &[u8], dst: &mut [u8], len: usize, count: usize, r: usize, step: usize, line_step: usize) {
    let div = (2 * r + 1) as u32;
    for line in 0..count {
        let base = line * line_step;
        let at = |i: usize| base + i * step;
        let mut sum: u32 = (0..=r.min(len.saturating_sub(1))).map(|i| u32::from(src[at(i)])).sum();
        for i in 0..len {
            dst[at(i)] = ((sum + div / 2) / div) as u8;
            if i + r + 1 < len {
                sum += u32::from(src[at(i + r + 1)]);
            }
            if i >= r {
                sum -= u32::from(src[at(i - r)]);
            }
        }
    }
}

/// Draws the glyphs of `buffer`, its origin at (`ox`, `oy`), into `cov`.
fn rasterise(engine: &mut TextEngine, buffer: &Buffer, ox: f32, oy: f32, cov: &mut Coverage) {
    for run in buffer.layout_runs() {
        for glyph in run.glyphs {
            let physical = glyph.physical((ox, oy + run.line_y), 1.0);
            let Some(image) = engine.glyphs.get_image(&mut engine.fonts, physical.cache_key) else {
                continue;
            };
            let (stride, channel) = match image.content {
                SwashContent::Mask => (1, 0),
                SwashContent::Color => (4, 3),
                SwashContent::SubpixelMask => (4, 1),
            };
            let left = physical.x + image.placement.left;
            let top = physical.y - image.placement.top;
            let gw = image.placement.width as usize;
            for (i, px) in image.data.chunks_exact(stride).enumerate() {
                cov.add(left + (i % gw.max(1)) as i32, top + (i / gw.max(1)) as i32, px[channel]);
            }
        }
    }
}

/// Paints `color` at `opacity` through `cov`, shifted by (`dx`, `dy`), over the
/// (premultiplied) pixmap.
fn composite(pixmap: &mut Pixmap, cov: &Coverage, dx: i32, dy: i32, color: Rgb, opacity: f32) {
    let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
    let op = (opacity.clamp(0.0, 1.0) * 255.0).round() as u32;
    let data = pixmap.data_mut();
    for cy in 0..cov.h {
        let y = cov.y0 + dy + cy as i32;
        if y < 0 || y >= ph {
            continue;
        }
        for cx in 0..cov.w {
            let c = u32::from(cov.data[cy * cov.w + cx]);
            if c == 0 {
                continue;
            }
            let x = cov.x0 + dx + cx as i32;
            if x < 0 || x >= pw {
                continue;
            }
            let a = mul255(c, op);
            let i = (y as usize * pw as usize + x as usize) * 4;
            let inv = 255 - a;
            for (k, channel) in [color.r, color.g, color.b].into_iter().enumerate() {
                data[i + k] = (mul255(u32::from(channel), a) + mul255(u32::from(data[i + k]), inv)).min(255) as u8;
            }
            data[i + 3] = (a + mul255(u32::from(data[i + 3]), inv)).min(255) as u8;
        }
    }
}

/// a * b / 255, rounded.
fn mul255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    (t + (t >> 8)) >> 8
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

// ---------------------------------------------------------------------------
// Colour and shapes
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rgb {
    r: u8,
    g: u8,
    b: u8,
}

impl Rgb {
    const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };
    const WHITE: Rgb = Rgb { r: 255, g: 255, b: 255 };

    /// "#rrggbb" or "#rgb" (the "#" is optional).
    fn parse(s: &str) -> MediaResult<Rgb> {
        let bad = || MediaError::Invalid(format!("{s:?} is not a colour: expected \"#rrggbb\""));
        let hex = s.trim().strip_prefix('#').unwrap_or(s.trim());
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).map_err(|_| bad());
        match hex.len() {
            6 => {
                let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
                Ok(Rgb { r: byte(0)?, g: byte(2)?, b: byte(4)? })
            }
            3 => Ok(Rgb { r: digit(0)? * 17, g: digit(1)? * 17, b: digit(2)? * 17 }),
            _ => Err(bad()),
        }
    }

    fn mix(self, other: Rgb, t: f32) -> Rgb {
        let f = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round().clamp(0.0, 255.0) as u8;
        Rgb { r: f(self.r, other.r), g: f(self.g, other.g), b: f(self.b, other.b) }
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f32 {
        let lin = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * lin(self.r) + 0.7152 * lin(self.g) + 0.0722 * lin(self.b)
    }

    fn skia(self, alpha: f32) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, (alpha.clamp(0.0, 1.0) * 255.0).round() as u8)
    }
}

/// WCAG contrast ratio.
fn contrast(a: Rgb, b: Rgb) -> f32 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// What goes behind the text: shadow colour and panel (alpha 0 = no panel).
struct Backing {
    color: Rgb,
    alpha: f32,
}

/// The lightest panel that gives `text` a contrast of 4.5 on every background sample.
fn backing_for(text: Rgb, samples: &[Rgb]) -> Backing {
    let color = if contrast(text, Rgb::BLACK) >= contrast(text, Rgb::WHITE) { Rgb::BLACK } else { Rgb::WHITE };
    let worst = |alpha: f32| samples.iter().map(|s| contrast(text, s.mix(color, alpha))).fold(f32::INFINITY, f32::min);
    if worst(0.0) >= 4.5 {
        return Backing { color, alpha: 0.0 };
    }
    let alpha = (1..=13).map(|k| k as f32 * 0.05).find(|&a| worst(a) >= 4.5).unwrap_or(0.65);
    Backing { color, alpha: alpha.max(0.22) }
}

fn new_pixmap(width: u32, height: u32) -> MediaResult<Pixmap> {
    Pixmap::new(width, height).ok_or_else(|| MediaError::Draw(format!("cannot allocate a {width}x{height} image")))
}

fn check_side(what: &str, v: u32) -> MediaResult<()> {
    if (MIN_SIDE..=MAX_SIDE).contains(&v) {
        Ok(())
    } else {
        Err(MediaError::Invalid(format!("{what} {v} px is outside {MIN_SIDE}..={MAX_SIDE}")))
    }
}

/// The even integer at or above `v` (at least 2).
fn even_up(v: f32) -> u32 {
    let n = v.ceil().max(2.0) as u32;
    n + (n & 1)
}

fn fill_linear_gradient(pixmap: &mut Pixmap, start: Point, end: Point, c1: Rgb, c2: Rgb) -> MediaResult<()> {
    let shader = LinearGradient::new(
        start,
        end,
        vec![GradientStop::new(0.0, c1.skia(1.0)), GradientStop::new(1.0, c2.skia(1.0))],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .ok_or_else(|| MediaError::Draw("cannot build the background gradient".into()))?;
    let paint = Paint { shader, anti_alias: false, ..Paint::default() };
    let rect = Rect::from_xywh(0.0, 0.0, pixmap.width() as f32, pixmap.height() as f32)
        .ok_or_else(|| MediaError::Draw("empty background".into()))?;
    pixmap.fill_rect(rect, &paint, Transform::identity(), None);
    Ok(())
}

fn soft_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, color: Rgb, alpha: f32) -> MediaResult<()> {
    let shader = RadialGradient::new(
        Point::from_xy(x, y),
        0.0,
        Point::from_xy(x, y),
        r,
        vec![
            GradientStop::new(0.0, color.skia(alpha)),
            GradientStop::new(0.75, color.skia(alpha * 0.85)),
            GradientStop::new(1.0, color.skia(0.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .ok_or_else(|| MediaError::Draw("cannot build a circle gradient".into()))?;
    let path = PathBuilder::from_circle(x, y, r).ok_or_else(|| MediaError::Draw("cannot build a circle".into()))?;
    let paint = Paint { shader, anti_alias: true, ..Paint::default() };
    pixmap.fill_path(&path, &paint, FillRule::Winding, Transform::identity(), None);
    Ok(())
}

fn vignette(pixmap: &mut Pixmap, strength: f32) -> MediaResult<()> {
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    let r = (w * w + h * h).sqrt() / 2.0;
    let shader = RadialGradient::new(
        Point::from_xy(w / 2.0, h / 2.0),
        0.0,
        Point::from_xy(w / 2.0, h / 2.0),
        r,
        vec![GradientStop::new(0.5, Rgb::BLACK.skia(0.0)), GradientStop::new(1.0, Rgb::BLACK.skia(strength))],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .ok_or_else(|| MediaError::Draw("cannot build the vignette".into()))?;
    let paint = Paint { shader, anti_alias: false, ..Paint::default() };
    let rect = Rect::from_xywh(0.0, 0.0, w, h).ok_or_else(|| MediaError::Draw("empty image".into()))?;
    pixmap.fill_rect(rect, &paint, Transform::identity(), None);
    Ok(())
}

fn rounded_rect(x: f32, y: f32, w: f32, h: f32, r: f32) -> MediaResult<SkPath> {
    let r = r.min(w / 2.0).min(h / 2.0).max(0.0);
    // Cubic approximation of a quarter circle.
    let k = r * 0.552_284_8;
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.cubic_to(x + w - r + k, y, x + w, y + r - k, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.cubic_to(x + w, y + h - r + k, x + w - r + k, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.cubic_to(x + r - k, y + h, x, y + h - r + k, x, y + h - r);
    pb.line_to(x, y + r);
    pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
    pb.close();
    pb.finish().ok_or_else(|| MediaError::Draw(format!("cannot build a {w}x{h} rounded box")))
}

fn fill_path(pixmap: &mut Pixmap, path: &SkPath, color: Rgb, alpha: f32) {
    let mut paint = Paint::default();
    paint.set_color(color.skia(alpha));
    paint.anti_alias = true;
    pixmap.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
}

fn write_png(pixmap: &Pixmap, out: &Path) -> MediaResult<()> {
    let bytes = pixmap.encode_png().map_err(|e| MediaError::Draw(format!("encoding {}: {e}", out.display())))?;
    std::fs::write(out, bytes).map_err(|e| MediaError::io(format!("writing {}", out.display()), e))
}

// ---------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// SplitMix64: a tiny deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

// ---------------------------------------------------------------------------
// Key line
// ---------------------------------------------------------------------------

/// All runs of whitespace become one space; the ends are trimmed.
fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»' | '」' | '』' | '）' | '】' | '》')
}

/// Abbreviations whose "." does not end a sentence.
fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_start_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let single = w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
    single
        || matches!(w.as_str(), "mr" | "mrs" | "ms" | "dr" | "prof" | "st" | "sr" | "jr" | "vs" | "e.g" | "i.e" | "fig")
}

/// The first sentence of `text`, trimmed; the whole text when it has no sentence end.
fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_after = |k: usize| -> usize {
        // Include closing quotes and brackets right after the terminator.
        let mut j = k + 1;
        while j < chars.len() && is_closing(chars[j].1) {
            j += 1;
        }
        j
    };
    let byte = |j: usize| chars.get(j).map_or(text.len(), |&(i, _)| i);
    for (k, &(i, c)) in chars.iter().enumerate() {
        match c {
            // Full-width terminators need no space after them.
            '。' | '！' | '？' | '｡' => return text[..byte(end_after(k))].trim(),
            '\n' => {
                // A line break ends the sentence unless the next line visibly continues it.
                let next = text[i..].trim_start().chars().next();
                if next.is_none_or(|n| !n.is_lowercase()) {
                    return text[..i].trim();
                }
            }
            '.' | '!' | '?' | '…' | '؟' | '।' => {
                let j = end_after(k);
                let next = chars.get(j).map(|&(_, n)| n);
                if next.is_some_and(|n| !n.is_whitespace()) {
                    continue;
                }
                if c == '.' {
                    let word = text[..i].rsplit(char::is_whitespace).next().unwrap_or("");
                    let following = text[byte(j)..].trim_start().chars().next();
                    if is_abbreviation(word) || following.is_some_and(char::is_lowercase) {
                        continue;
                    }
                }
                return text[..byte(j)].trim();
            }
            _ => {}
        }
    }
    text
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

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> CardStyle {
        CardStyle {
            palette: vec!["#1e3c72".into(), "#2a5298".into(), "#e94e77".into(), "#f4a261".into()],
            text_color: "#ffffff".into(),
            text_scale: 0.08,
            weight: "bold".into(),
            show_scene_number: true,
        }
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    /// Pixels (RGBA) in the central box that differ between two images.
    fn differing_in_centre(a: &Pixmap, b: &Pixmap, frac: f32) -> usize {
        let (w, h) = (a.width(), a.height());
        let (x0, x1) = ((w as f32 * (0.5 - frac / 2.0)) as u32, (w as f32 * (0.5 + frac / 2.0)) as u32);
        let (y0, y1) = ((h as f32 * (0.5 - frac / 2.0)) as u32, (h as f32 * (0.5 + frac / 2.0)) as u32);
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                if a.pixel(x, y) != b.pixel(x, y) {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn card_has_requested_size() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("card.png");
        render_card("The ocean covers seventy percent of Earth.", 3, 1600, 900, 1.0, &style(), &out).unwrap();
        assert_eq!(png_size(&out), (1600, 900));
        let pm = Pixmap::load_png(&out).unwrap();
        assert_eq!((pm.width(), pm.height()), (1600, 900));
        // Opaque everywhere.
        assert!(pm.pixels().iter().all(|p| p.alpha() == 255));
    }

    #[test]
    fn card_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        render_card("Same text, same bytes.", 1, 640, 360, 1.0, &style(), &a).unwrap();
        render_card("Same text, same bytes.", 1, 640, 360, 1.0, &style(), &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn different_text_gives_different_background() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        render_card("First scene about mountains.", 1, 640, 360, 1.0, &style(), &a).unwrap();
        render_card("Second scene about rivers.", 1, 640, 360, 1.0, &style(), &b).unwrap();
        let (pa, pb) = (Pixmap::load_png(&a).unwrap(), Pixmap::load_png(&b).unwrap());
        // Compare corners, away from the text.
        let corners = [(2, 2), (637, 2), (2, 357), (637, 357), (320, 350)];
        let differ = corners.iter().filter(|&&(x, y)| pa.pixel(x, y) != pb.pixel(x, y)).count();
        assert!(differ >= 3, "backgrounds too similar ({differ} of 5 corners differ)");
    }

    #[test]
    fn cjk_uses_the_fallback_font() {
        // Shaping picks the Droid face, with real glyphs (not .notdef).
        let mut engine = text_engine();
        let buffer =
            lay_out(&mut engine, "東京の夜景はとても美しい", Weight::BOLD, 40.0, Some(800.0), None, Ellipsize::None);
        let mut glyphs = 0;
        for run in buffer.layout_runs() {
            for g in run.glyphs {
                glyphs += 1;
                assert_ne!(g.glyph_id, 0, "missing glyph");
                let face = engine.fonts.db().face(g.font_id).unwrap();
                assert!(face.families.iter().any(|(f, _)| f.contains("Droid")), "used {:?}", face.families);
            }
        }
        assert!(glyphs >= 10);
        drop(engine);

        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("cjk.png"), dir.path().join("empty.png"));
        // A dark one-colour palette: the (text-seeded) backgrounds differ only in
        // angle and circles, and never reach the brightness of the white text.
        let mut st = style();
        st.palette = vec!["#334455".into()];
        st.show_scene_number = false;
        render_card("東京の夜景はとても美しい", 1, 800, 450, 1.0, &st, &a).unwrap();
        render_card("", 1, 800, 450, 1.0, &st, &b).unwrap();
        let (pa, pb) = (Pixmap::load_png(&a).unwrap(), Pixmap::load_png(&b).unwrap());
        // Count bright (text) pixels in the centre: the background is dark.
        let bright = |p: &Pixmap| {
            let mut n = 0;
            for y in 150..300 {
                for x in 100..700 {
                    if p.pixel(x, y).unwrap().red() > 200 {
                        n += 1;
                    }
                }
            }
            n
        };
        assert_eq!(bright(&pb), 0);
        assert!(bright(&pa) > 2000, "only {} text pixels", bright(&pa));
        assert!(differing_in_centre(&pa, &pb, 0.5) > 2000);
    }

    #[test]
    fn arabic_and_cyrillic_render() {
        let dir = tempfile::tempdir().unwrap();
        for (i, text) in ["مرحبا بالعالم، هذه تجربة", "Привет, мир! Это проверка."].iter().enumerate()
        {
            let out = dir.path().join(format!("t{i}.png"));
            render_card(text, 2, 800, 450, 1.0, &style(), &out).unwrap();
            assert_eq!(png_size(&out), (800, 450));
        }
        let mut engine = text_engine();
        let buffer = lay_out(&mut engine, "مرحبا Привет", Weight::NORMAL, 30.0, Some(800.0), None, Ellipsize::None);
        let ids: Vec<u16> = buffer.layout_runs().flat_map(|r| r.glyphs.iter().map(|g| g.glyph_id)).collect();
        assert!(!ids.is_empty() && ids.iter().all(|&g| g != 0));
    }

    #[test]
    fn empty_text_draws_background_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("empty.png");
        let mut st = style();
        st.show_scene_number = false;
        render_card("", 0, 320, 180, 1.0, &st, &out).unwrap();
        assert_eq!(png_size(&out), (320, 180));
        render_card("   \n\t ", 0, 320, 180, 1.0, &st, &out).unwrap();
    }

    #[test]
    fn very_long_text_fits() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("long.png");
        let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
        let mut text = String::new();
        let mut i = 0;
        while text.len() < 5000 {
            text.push_str(words[i % words.len()]);
            text.push(' ');
            i += 1;
        }
        let mut st = style();
        st.show_scene_number = false;
        st.palette = vec!["#102030".into()];
        render_card(&text, 1, 800, 450, 1.0, &st, &out).unwrap();
        let pm = Pixmap::load_png(&out).unwrap();
        // Nothing bright outside the central text box (80% x 70% plus a margin for the shadow).
        for y in 0..450 {
            for x in 0..800 {
                let inside = (60..740).contains(&x) && (50..400).contains(&y);
                if !inside {
                    assert!(pm.pixel(x, y).unwrap().red() < 150, "text outside the box at ({x},{y})");
                }
            }
        }
        // A 5,000-character run with no spaces, too.
        let blob: String = "字".repeat(5000);
        render_card(&blob, 1, 640, 360, 1.0, &st, &out).unwrap();
        assert_eq!(png_size(&out), (640, 360));
    }

    #[test]
    fn bad_colours_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.png");
        let mut st = style();
        st.palette = vec!["#123456".into(), "blue-ish".into()];
        let err = render_card("x", 1, 320, 180, 1.0, &st, &out).unwrap_err();
        assert!(matches!(&err, MediaError::Invalid(m) if m.contains("blue-ish")), "{err}");
        let mut st = style();
        st.text_color = "#12345".into();
        let err = render_card("x", 1, 320, 180, 1.0, &st, &out).unwrap_err();
        assert!(matches!(&err, MediaError::Invalid(m) if m.contains("#12345")), "{err}");
        st = style();
        st.palette.clear();
        assert!(matches!(render_card("x", 1, 320, 180, 1.0, &st, &out), Err(MediaError::Invalid(_))));
        assert!(matches!(render_card("x", 1, 0, 180, 1.0, &style(), &out), Err(MediaError::Invalid(_))));
        assert_eq!(Rgb::parse("#FFF").unwrap(), Rgb::WHITE);
        assert_eq!(Rgb::parse("00ff7f").unwrap(), Rgb { r: 0, g: 255, b: 127 });
        assert!(Rgb::parse("#ééé").is_err());
    }

    #[test]
    fn light_text_on_light_palette_gets_a_panel() {
        let b = backing_for(Rgb::WHITE, &[Rgb::parse("#fff5cc").unwrap()]);
        assert_eq!(b.color, Rgb::BLACK);
        assert!(b.alpha > 0.2);
        let b = backing_for(Rgb::WHITE, &[Rgb::parse("#101020").unwrap()]);
        assert_eq!(b.alpha, 0.0);
        let b = backing_for(Rgb::parse("#111111").unwrap(), &[Rgb::parse("#202020").unwrap()]);
        assert_eq!(b.color, Rgb::WHITE);
    }

    #[test]
    fn write_errors_are_io_errors() {
        let err = render_card("x", 1, 320, 180, 1.0, &style(), Path::new("/nonexistent-dir/x.png")).unwrap_err();
        assert!(matches!(err, MediaError::Io { .. }));
    }

    #[test]
    fn caption_sizes_are_even_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cap.png");
        let cases: [(&str, f32, u32); 6] = [
            ("Hello there", 48.0, 1000),
            ("A much longer subtitle line that will certainly need to wrap onto more than one line", 48.0, 900),
            (&"word ".repeat(200), 48.0, 801),
            ("東京の夜景はとても美しい。東京の夜景はとても美しい。東京の夜景はとても美しい。", 40.0, 500),
            ("x", 13.0, 17),
            ("", 40.0, 600),
        ];
        for (text, px, max) in cases {
            let (w, h) = render_caption(text, px, max, &out).unwrap();
            assert!(w % 2 == 0 && h % 2 == 0, "{w}x{h} for {text:?}");
            assert!(w <= max, "{w} > {max}");
            assert_eq!(png_size(&out), (w, h));
        }
        // At most three lines: height bounded by ~3 line heights plus padding.
        let (_, h) = render_caption(&"word ".repeat(200), 48.0, 801, &out).unwrap();
        assert!(h as f32 <= 3.0 * 48.0 * LINE_HEIGHT + 48.0, "caption too tall: {h}");
        // Transparent outside the rounded box corner, opaque-ish inside.
        let (w, h) = render_caption("Hello there", 48.0, 1000, &out).unwrap();
        let pm = Pixmap::load_png(&out).unwrap();
        assert_eq!(pm.pixel(0, 0).unwrap().alpha(), 0);
        assert!(pm.pixel(w / 2, h - 3).unwrap().alpha() > 100);
        assert!(render_caption("x", f32::NAN, 600, &out).is_err());
        assert!(render_caption("x", 40.0, 4, &out).is_err());
    }

    #[test]
    fn caption_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        render_caption("Deterministic captions", 40.0, 700, &a).unwrap();
        render_caption("Deterministic captions", 40.0, 700, &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn watermark_sizes_are_even() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("wm.png");
        for h in [8, 27, 36, 51] {
            let (w, hh) = render_watermark("Made with Reelforge", h, &out).unwrap();
            assert!(w % 2 == 0 && hh % 2 == 0);
            assert!(hh >= h && hh <= h + 1);
            assert!(w > hh);
            assert_eq!(png_size(&out), (w, hh));
        }
        assert!(render_watermark("x", 0, &out).is_err());
    }

    #[test]
    fn key_line_first_sentence() {
        assert_eq!(key_line("Hello world. Second sentence."), "Hello world.");
        assert_eq!(key_line("   \n  Leading space matters! Then more."), "Leading space matters!");
        assert_eq!(key_line("Is it? Yes."), "Is it?");
        assert_eq!(key_line("Dr. Smith arrived at 3.30 today. He left."), "Dr. Smith arrived at 3.30 today.");
        assert_eq!(key_line("He said \"stop.\" Then left."), "He said \"stop.\"");
        assert_eq!(key_line("A heading\nThe body text."), "A heading");
        assert_eq!(key_line("a line that\ncontinues here. Next."), "a line that continues here.");
        assert_eq!(key_line(""), "");
        assert_eq!(key_line("   "), "");
    }

    #[test]
    fn key_line_no_punctuation() {
        assert_eq!(key_line("no punctuation at all here"), "no punctuation at all here");
        assert_eq!(key_line("ends with e.g"), "ends with e.g");
    }

    #[test]
    fn key_line_cjk() {
        assert_eq!(key_line("東京は大きい。大阪も大きい。"), "東京は大きい。");
        let long: String = "あ".repeat(300);
        let k = key_line(&long);
        assert_eq!(k.chars().count(), 120);
        assert!(k.ends_with('…'));
        assert!(k.starts_with("あああ"));
    }

    #[test]
    fn key_line_long_cuts_on_words() {
        let text = "This sentence keeps going and going with many words that add up to far more than one \
                    hundred and twenty characters in total so that it must be shortened somewhere sensible";
        let k = key_line(text);
        assert!(k.chars().count() <= 120, "{}", k.chars().count());
        assert!(k.ends_with('…'));
        let body = k.trim_end_matches('…');
        assert!(text.starts_with(body));
        // Cut at a word end: the next character of the original is a space.
        assert!(text[body.len()..].starts_with(' '), "cut mid-word: {k}");
        // A single enormous word is cut on characters.
        let word = "x".repeat(500);
        assert_eq!(key_line(&word).chars().count(), 120);
    }
}
