//! Text: the bundled fonts, shaping and wrapping with cosmic-text, fitting a
//! paragraph into a box (shrinking, balancing lines, cutting with "…"), and
//! rasterising the glyphs into a coverage mask.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use cosmic_text::{
    Align, Attrs, Buffer, Ellipsize, EllipsizeHeightLimit, Family, FontSystem, Metrics, Shaping, SwashCache,
    SwashContent, Weight, Wrap, fontdb,
};

use super::draw::Coverage;
use crate::MediaResult;

static FONT_REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");
static FONT_FALLBACK: &[u8] = include_bytes!("../../../../assets/fonts/DroidSansFallbackFull.ttf");

/// The family of the two main faces; the CJK face is reached by fallback.
const FAMILY: &str = "DejaVu Sans";
/// Line height relative to the font size.
pub(super) const LINE_HEIGHT: f32 = 1.22;
/// Rasterised glyphs kept between calls before the cache is emptied.
const GLYPH_CACHE_LIMIT: usize = 4096;

/// The one font system and glyph cache of the process.
pub(super) struct TextEngine {
    pub(super) fonts: FontSystem,
    glyphs: SwashCache,
    /// The family text is set in until the engine is handed out again: a
    /// registered brand font (`fonts`), or the bundled one when `None`.
    pub(super) family: Option<String>,
    /// The weights `family` has, when it is a brand font: text asks for the
    /// nearest, since the shaper takes a face of the family only at the exact
    /// weight asked (a bold title in a font with one regular face would
    /// otherwise fall back to the bundled bold).
    pub(super) weights: Vec<u16>,
    /// Brand fonts loaded into `fonts`, by id (`fonts::register`).
    pub(super) brand_fonts: super::fonts::Registered,
}

impl TextEngine {
    /// Bounds the caches after a drawing.
    pub(super) fn tidy(&mut self) {
        self.fonts.shape_run_cache.trim(8);
        if self.glyphs.image_cache.len() > GLYPH_CACHE_LIMIT {
            self.glyphs.image_cache.clear();
        }
    }
}

pub(super) fn text_engine() -> MutexGuard<'static, TextEngine> {
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
            family: None,
            weights: Vec::new(),
            brand_fonts: super::fonts::Registered::default(),
        })
    });
    // A panic elsewhere while drawing leaves only caches behind: keep using them.
    let mut engine = engine.lock().unwrap_or_else(PoisonError::into_inner);
    // Every drawing starts in the bundled family and picks its own.
    engine.family = None;
    engine.weights.clear();
    engine
}

pub(super) fn parse_weight(weight: &str) -> Weight {
    match weight.trim().to_ascii_lowercase().as_str() {
        "bold" | "semibold" | "extrabold" | "heavy" | "black" | "600" | "700" | "800" | "900" => Weight::BOLD,
        _ => Weight::NORMAL,
    }
}

/// Shapes and lays out `text` (one paragraph, centred).
pub(super) fn lay_out(
    engine: &mut TextEngine,
    text: &str,
    weight: Weight,
    font_px: f32,
    wrap_width: Option<f32>,
    max_height: Option<f32>,
    ellipsize: Ellipsize,
) -> Buffer {
    let wrap = if wrap_width.is_some() { Wrap::WordOrGlyph } else { Wrap::None };
    lay_out_wrapped(engine, text, weight, font_px, wrap_width, max_height, ellipsize, wrap)
}

/// `lay_out` with the wrapping rule given: `Wrap::Word` never breaks inside a
/// word (a word wider than the box sticks out, which `fit_text` sees and
/// shrinks the text for).
#[allow(clippy::too_many_arguments)]
fn lay_out_wrapped(
    engine: &mut TextEngine,
    text: &str,
    weight: Weight,
    font_px: f32,
    wrap_width: Option<f32>,
    max_height: Option<f32>,
    ellipsize: Ellipsize,
    wrap: Wrap,
) -> Buffer {
    let font_px = font_px.max(1.0);
    let family = engine.family.clone();
    let weight = match engine.weights.iter().min_by_key(|w| w.abs_diff(weight.0)) {
        Some(nearest) => Weight(*nearest),
        None => weight,
    };
    let mut buffer = Buffer::new(&mut engine.fonts, Metrics::new(font_px, (font_px * LINE_HEIGHT).ceil()));
    buffer.set_wrap(wrap);
    buffer.set_ellipsize(ellipsize);
    buffer.set_size(wrap_width, max_height);
    let attrs = Attrs::new().family(Family::Name(family.as_deref().unwrap_or(FAMILY))).weight(weight);
    buffer.set_text(text, &attrs, Shaping::Advanced, Some(Align::Center));
    buffer.shape_until_scroll(&mut engine.fonts, false);
    buffer
}

/// The logical box of laid-out text, relative to the buffer's origin.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
    pub(super) left: f32,
    pub(super) right: f32,
    pub(super) top: f32,
    pub(super) bottom: f32,
    pub(super) lines: usize,
}

pub(super) fn extent(buffer: &Buffer) -> Option<Extent> {
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

pub(super) struct TextBlock {
    pub(super) buffer: Buffer,
    pub(super) extent: Option<Extent>,
    pub(super) font_px: f32,
}

/// Lays out `text` centred in `max_w`, shrinking from `font_px` towards `min_font`
/// until it fits in `max_h` (and in `max_lines`, if given) without breaking a word
/// (CJK breaks between characters, as it is written); then balances the lines so
/// the last one is not a lonely word. If it cannot fit even at `min_font`, words
/// may break and the text is cut with an ellipsis.
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_text(
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
        let buffer = lay_out_wrapped(engine, text, weight, font, Some(max_w), None, Ellipsize::None, Wrap::Word);
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
        let candidate = lay_out_wrapped(engine, text, weight, font, Some(mid), None, Ellipsize::None, Wrap::Word);
        match extent(&candidate) {
            Some(c) if c.lines == e.lines && c.right - c.left <= mid + 0.5 => {
                hi = mid;
                best = (candidate, c);
            }
            _ => lo = mid,
        }
    }
    TextBlock { buffer: best.0, extent: Some(best.1), font_px: font }
}

/// Draws the glyphs of `buffer`, its origin at (`ox`, `oy`), into `cov`.
pub(super) fn rasterise(engine: &mut TextEngine, buffer: &Buffer, ox: f32, oy: f32, cov: &mut Coverage) {
    rasterise_bytes(engine, buffer, ox, oy, cov, 0..usize::MAX);
}

/// `rasterise`, only the glyphs of the text's bytes `range` (a highlighted
/// word: the text is one paragraph, so glyph offsets index the whole text).
pub(super) fn rasterise_bytes(
    engine: &mut TextEngine,
    buffer: &Buffer,
    ox: f32,
    oy: f32,
    cov: &mut Coverage,
    range: std::ops::Range<usize>,
) {
    for run in buffer.layout_runs() {
        for glyph in run.glyphs {
            if glyph.start < range.start || glyph.end > range.end {
                continue;
            }
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
