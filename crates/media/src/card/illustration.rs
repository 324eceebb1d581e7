//! Offline illustrations: a scene's keywords matched to a vendored Lucide icon
//! (`assets/icons/`, ISC licence, refreshed by `scripts/vendor-icons.py`) and
//! drawn large on the card's background, with the scene's title under it.
//! When no icon matches, a designed abstract composition seeded by the text.
//! Icons are tagged in English; a scene in another language reaches them
//! through that language's alias list (`assets/icons/aliases/`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::colour::{Backing, Rgb, backing_for};
use super::draw::{Coverage, composite, new_pixmap, write_png};
use super::icons_gen::{ICONS, INDEX};
use super::layout::{fit_text, text_engine};
use super::seed::{SplitMix, fnv1a};
use super::{
    CardStyle, TITLE_MAX_LINES, background_samples, card_background, collapse_whitespace, draw_block, draw_scene_label,
    is_title, shorten, text_scale,
};
use crate::keywords::fold_english;
use crate::{MediaError, MediaResult};

/// Longest title drawn under an illustration.
const ILLUSTRATION_MAX_CHARS: usize = 120;
/// The icon's size relative to the short side of the visible area.
const ICON_SCALE: f32 = 0.42;
/// The bottom of the visible area kept for captions (a two-line caption at
/// the bottom, or a `pop` caption, reaches up to about a fifth): the icon and
/// title are centred in the room above it, and the icon shrinks to fit there.
const CAPTION_BAND: f32 = 0.2;
/// Space kept above the icon, relative to the visible height.
const TOP_MARGIN: f32 = 0.04;

/// The vertical room (`top`, `bottom`) for an illustration's icon and title in
/// a picture `h` high of which every crop position shows the centred
/// `visible` part: below a small margin under that part's top, and above the
/// caption band wherever the motion puts the frame. The frame is `(1 +
/// visible) / 2` of the picture (`render::ALWAYS_VISIBLE`), and its caption
/// band is highest when the frame shows the picture's top.
fn room(h: f32, visible: f32) -> (f32, f32) {
    let shown_top = h * (1.0 - visible) / 2.0;
    let frame = h * (1.0 + visible) / 2.0;
    (shown_top + h * visible * TOP_MARGIN, frame * (1.0 - CAPTION_BAND))
}
/// Stroke width of the icons in their 24-unit box (Lucide draws 2; a little
/// lighter reads better this large).
const ICON_STROKE: &str = "1.75";

/// One vendored icon and its keywords (Lucide's tags, plus a few of ours first).
struct Icon {
    name: &'static str,
    tags: Vec<&'static str>,
}

fn icons() -> &'static [Icon] {
    static TABLE: OnceLock<Vec<Icon>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<Icon> = INDEX
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|line| {
                let (name, tags) = line.split_once('\t')?;
                let tags = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
                ICONS.iter().any(|(n, _)| *n == name).then_some(Icon { name, tags })
            })
            .collect();
        table.sort_by_key(|i| i.name);
        table
    })
}

fn svg_of(name: &str) -> Option<&'static str> {
    ICONS.iter().find(|(n, _)| *n == name).map(|(_, svg)| *svg)
}

/// How well an icon matches a keyword: lower is better; None for no match.
/// 0: the icon's name or a whole tag; 1: a word of a tag or of the name
/// ("cloud" in "cloud-rain"); 2: a stem match ("rainy" ~ "rain", "bake" ~
/// "bakery", "revenues" ~ "revenue"). The second number is the tag's
/// position (earlier tags are the more characteristic ones).
fn match_rank(icon: &Icon, keyword: &str) -> Option<(u8, usize)> {
    if icon.name == keyword {
        return Some((0, 0));
    }
    if let Some(i) = icon.tags.iter().position(|t| *t == keyword) {
        return Some((0, i + 1));
    }
    let words = || {
        std::iter::once(icon.name.split('-').collect::<Vec<_>>())
            .chain(icon.tags.iter().map(|t| t.split([' ', '-']).collect()))
            .enumerate()
    };
    for (i, parts) in words() {
        if parts.len() > 1 && parts.iter().any(|p| p.len() >= 3 && *p == keyword) {
            return Some((1, i));
        }
    }
    let folded = fold_english(keyword);
    let chars = keyword.chars().count();
    for (i, parts) in words() {
        for part in parts {
            let stem_of = |long: &str, short: &str| {
                long.strip_prefix(short).is_some_and(|rest| {
                    ["s", "es", "ed", "ing", "er", "ers", "y", "ry", "ery", "ly", "al"].contains(&rest)
                })
            };
            let hit = part.chars().count() >= 3
                && (fold_english(part) == folded
                    || (chars >= 4 && stem_of(part, keyword))
                    || (part.chars().count() >= 4 && stem_of(keyword, part)));
            if hit {
                return Some((2, i));
            }
        }
    }
    None
}

/// The name of the vendored icon that best matches `keywords` (best keyword
/// first): an exact name or tag match of any keyword before a word-of-a-tag
/// match, before a stem or prefix match; ties go to the earlier keyword, then
/// the earlier tag, then the name. None when nothing matches. Deterministic.
pub fn pick_icon(keywords: &[String]) -> Option<&'static str> {
    let keywords: Vec<String> =
        keywords.iter().map(|k| k.trim().to_lowercase()).filter(|k| k.chars().count() >= 2).collect();
    let mut best: Option<((u8, usize, usize), &'static str)> = None;
    for (k, keyword) in keywords.iter().enumerate() {
        for icon in icons() {
            if let Some((stage, tag)) = match_rank(icon, keyword) {
                let rank = (stage, k, tag);
                if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                    best = Some((rank, icon.name));
                }
            }
        }
    }
    best.map(|(_, name)| name)
}

/// The alias lists, one per language (ISO 639-1): native word<TAB>English
/// word or icon name that `pick_icon` matches; written for Reelforge (see
/// `assets/icons/README.md`).
const ALIAS_LISTS: &[(&str, &str)] = &[
    ("de", include_str!("../../assets/icons/aliases/de.txt")),
    ("es", include_str!("../../assets/icons/aliases/es.txt")),
    ("fr", include_str!("../../assets/icons/aliases/fr.txt")),
    ("it", include_str!("../../assets/icons/aliases/it.txt")),
    ("nl", include_str!("../../assets/icons/aliases/nl.txt")),
    ("pt", include_str!("../../assets/icons/aliases/pt.txt")),
];

/// The primary subtag of a language tag, lower-cased: "de-AT" -> "de",
/// "pt_BR" -> "pt".
fn primary_subtag(language: &str) -> String {
    language.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

/// The alias list of `language` (native word -> English word or icon name),
/// or None for a language without one (English among them).
fn aliases(language: &str) -> Option<&'static HashMap<&'static str, &'static str>> {
    static TABLES: OnceLock<HashMap<&'static str, HashMap<&'static str, &'static str>>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        ALIAS_LISTS
            .iter()
            .map(|(language, list)| {
                let table = list
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(native, target)| (native.trim(), target.trim()))
                    .filter(|(native, target)| !native.is_empty() && !target.is_empty())
                    .collect();
                (*language, table)
            })
            .collect()
    });
    tables.get(primary_subtag(language).as_str())
}

/// A keyword through an alias list: its alias, else (for an elided article
/// or preposition, "l'école", "dell'acqua") the alias of the word after the
/// apostrophe or that word itself, else the keyword as it is.
fn translate(table: &HashMap<&'static str, &'static str>, keyword: &str) -> String {
    if let Some(target) = table.get(keyword) {
        return (*target).to_string();
    }
    if let Some((head, tail)) = keyword.rsplit_once('\'')
        && (1..=5).contains(&head.chars().count())
        && tail.chars().count() >= 3
    {
        return table.get(tail).map_or(tail, |t| *t).to_string();
    }
    keyword.to_string()
}

/// `pick_icon` for keywords in `language` (an ISO 639-1 code, "de", "de-AT",
/// "pt-BR": the primary subtag counts): each keyword is first mapped through
/// the language's alias list ("stürme" -> "storm", "tempêtes" -> "storm"),
/// keeping the keywords' order; a word without an alias stays as it is
/// (names and loanwords often match as they are). A language without a list
/// (English, Japanese, ...) is matched as by `pick_icon`.
pub fn pick_icon_in(keywords: &[String], language: &str) -> Option<&'static str> {
    let Some(table) = aliases(language) else {
        return pick_icon(keywords);
    };
    let mapped: Vec<String> = keywords.iter().map(|k| translate(table, &k.trim().to_lowercase())).collect();
    pick_icon(&mapped)
}

/// Draws an illustration slide for one scene and writes it as PNG to `out`:
/// the card's background (`render_card`'s gradient and soft shapes, seeded by
/// the text), the icon `pick_icon_in(keywords, language)` finds drawn large
/// (about 42% of the visible short side) in the template's text colour on a
/// translucent disc, and `title` (the scene's short title) under it.
/// `keywords` are the scene's, as `keywords::keywords` gives them for the
/// project's `language` (an ISO 639-1 code, "de" or "pt-BR"). With no matching
/// icon, a designed abstract composition (discs, rings and dots in the
/// palette's colours, seeded by the text) with the title over it: never an
/// empty picture. `visible` as for `render_card`.
#[allow(clippy::too_many_arguments)]
pub fn render_illustration(
    title: &str,
    keywords: &[String],
    language: &str,
    scene_number: usize,
    width: u32,
    height: u32,
    visible: f32,
    style: &CardStyle,
    out: &Path,
) -> MediaResult<()> {
    let super::Drawing { visible, palette, text_color, weight } =
        super::Drawing::new("illustration", style, width, height, visible)?;
    let text = shorten(&collapse_whitespace(title), ILLUSTRATION_MAX_CHARS);
    let seed_text = format!("{text}\u{1f}{}", keywords.join(","));
    let (mut pixmap, c1, c2) = card_background(&palette, &seed_text, width, height)?;
    let (w, h) = (width as f32, height as f32);
    let icon = pick_icon_in(keywords, language).and_then(svg_of);

    let mut samples = background_samples(c1, c2).to_vec();
    if icon.is_none() {
        samples.extend(abstract_shapes(&mut pixmap, &palette, text_color, &seed_text)?);
    }
    let backing = backing_for(text_color, &samples);

    let mut engine = text_engine();
    let engine = &mut *engine;
    super::fonts::select(engine, style.font_for(title))?;
    if style.show_scene_number && scene_number > 0 {
        draw_scene_label(engine, &mut pixmap, scene_number, text_color, &backing, visible)?;
    }

    let min_font = (h * 0.028).max(12.0);
    let lines = is_title(&text).then_some(TITLE_MAX_LINES);
    let wrap = (w * visible * 0.8).round();
    let (room_top, room_bottom) = room(h, visible);
    match icon {
        Some(svg) => {
            let short = w.min(h) * visible;
            let gap = short * 0.07;
            let font = (text_scale(&text, style.text_scale) * h * 0.8).max(min_font);
            let block = if text.is_empty() {
                None
            } else {
                Some(fit_text(engine, &text, weight, font, min_font, wrap, h * visible * 0.22, lines)?)
            };
            let text_h = block.as_ref().and_then(|b| b.extent.as_ref()).map_or(0.0, |e| e.bottom - e.top);
            let below = if text_h > 0.0 { gap + text_h } else { 0.0 };
            // As large as ICON_SCALE asks, smaller when the title would
            // otherwise reach the captions (never under a fifth of the side).
            let disc = (short * ICON_SCALE * 1.4).min(room_bottom - room_top - below).max(short * 0.2).round();
            let icon_px = (disc / 1.4).round();
            let group = disc + below;
            let top = ((room_top + room_bottom - group) / 2.0).max(room_top).round();
            let (cx, cy) = (w / 2.0, top + disc / 2.0);
            draw_medallion(&mut pixmap, svg, cx, cy, disc, icon_px, text_color, &backing)?;
            if let Some(block) = &block
                && let Some(ext) = &block.extent
            {
                let ox = ((w - (ext.left + ext.right)) / 2.0).round();
                let oy = (top + disc + gap - ext.top).round();
                draw_block(engine, &mut pixmap, block, ext, (ox, oy), text_color, &backing, None)?;
            }
        }
        None if !text.is_empty() => {
            let font = (text_scale(&text, style.text_scale) * h).max(min_font);
            let block = fit_text(engine, &text, weight, font, min_font, wrap, h * visible * 0.6, lines)?;
            if let Some(ext) = &block.extent {
                let ox = ((w - (ext.left + ext.right)) / 2.0).round();
                let oy = (((room_top + room_bottom - (ext.bottom - ext.top)) / 2.0).max(room_top) - ext.top).round();
                let rule = is_title(&text).then_some(h * (1.0 + visible) / 2.0);
                draw_block(engine, &mut pixmap, &block, ext, (ox, oy), text_color, &backing, rule)?;
            }
        }
        None => {}
    }
    engine.tidy();
    write_png(&pixmap, out)
}

/// The icon on a translucent disc with a thin ring, centred at (`cx`, `cy`),
/// with a soft shadow so it stands off the background.
#[allow(clippy::too_many_arguments)]
fn draw_medallion(
    pixmap: &mut Pixmap,
    svg: &str,
    cx: f32,
    cy: f32,
    disc: f32,
    icon_px: f32,
    color: Rgb,
    backing: &Backing,
) -> MediaResult<()> {
    let r = disc / 2.0;
    fill_circle(pixmap, cx, cy + r * 0.04, r, backing.color, 0.12)?;
    fill_circle(pixmap, cx, cy, r, color, 0.12)?;
    stroke_circle(pixmap, cx, cy, r, (disc * 0.012).max(1.5), color, 0.45)?;

    let side = icon_px.max(1.0) as u32;
    let svg = svg
        .replace("currentColor", "#ffffff")
        .replace("stroke-width=\"2\"", &format!("stroke-width=\"{ICON_STROKE}\""));
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default())
        .map_err(|e| MediaError::Draw(format!("reading an icon: {e}")))?;
    let mut layer = new_pixmap(side, side)?;
    let scale = side as f32 / tree.size().width().max(1.0);
    resvg::render(&tree, Transform::from_scale(scale, scale), &mut layer.as_mut());
    let (x0, y0) = ((cx - side as f32 / 2.0).round() as i32, (cy - side as f32 / 2.0).round() as i32);
    let ink = Coverage::from_alpha(&layer, x0, y0);
    let blur = ((icon_px * 0.02).round() as usize).clamp(1, 24);
    let shadow = ink.blurred(blur, 2, 1.0);
    let offset = (icon_px * 0.015).round().max(1.0) as i32;
    composite(pixmap, &shadow, 0, offset, backing.color, if backing.color == Rgb::BLACK { 0.45 } else { 0.3 });
    composite(pixmap, &ink, 0, 0, color, 1.0);
    Ok(())
}

/// The abstract composition of an illustration without an icon: big discs in
/// the palette's colours around the centre, rings and a few small dots in the
/// text colour, all seeded by `seed`. Returns the colours the text may now
/// stand on (for the contrast rule).
fn abstract_shapes(pixmap: &mut Pixmap, palette: &[Rgb], text: Rgb, seed: &str) -> MediaResult<Vec<Rgb>> {
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    let short = w.min(h);
    let mut rng = SplitMix::new(fnv1a(format!("abstract\u{1f}{seed}").as_bytes()));
    let mut under = Vec::new();
    let discs = 3 + rng.below(3);
    let base = rng.unit() * std::f32::consts::TAU;
    for k in 0..discs {
        let theta = base + k as f32 * std::f32::consts::TAU / discs as f32 + (rng.unit() - 0.5) * 0.9;
        let reach = 0.18 + rng.unit() * 0.3;
        let (x, y) = (w / 2.0 + theta.cos() * w * reach, h / 2.0 + theta.sin() * h * reach);
        let r = short * (0.1 + rng.unit() * 0.22);
        let color = palette.get(rng.below(palette.len())).copied().unwrap_or(Rgb::WHITE).mix(Rgb::WHITE, 0.25);
        let alpha = 0.3 + rng.unit() * 0.3;
        fill_circle(pixmap, x, y, r, color, alpha)?;
        under.push(color);
    }
    let rings = 2 + rng.below(2);
    for _ in 0..rings {
        let (x, y) = (w * (0.15 + rng.unit() * 0.7), h * (0.15 + rng.unit() * 0.7));
        let r = short * (0.12 + rng.unit() * 0.25);
        stroke_circle(pixmap, x, y, r, (short * 0.008).max(1.5), text, 0.22 + rng.unit() * 0.15)?;
    }
    let dots = 6 + rng.below(6);
    for _ in 0..dots {
        let (x, y) = (w * (0.06 + rng.unit() * 0.88), h * (0.06 + rng.unit() * 0.88));
        fill_circle(pixmap, x, y, short * (0.006 + rng.unit() * 0.012), text, 0.35 + rng.unit() * 0.3)?;
    }
    Ok(under)
}

fn circle(x: f32, y: f32, r: f32) -> MediaResult<tiny_skia::Path> {
    PathBuilder::from_circle(x, y, r.max(0.5)).ok_or_else(|| MediaError::Draw("cannot build a circle".into()))
}

fn fill_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, color: Rgb, alpha: f32) -> MediaResult<()> {
    let mut paint = Paint::default();
    paint.set_color(color.skia(alpha));
    paint.anti_alias = true;
    pixmap.fill_path(&circle(x, y, r)?, &paint, FillRule::Winding, Transform::identity(), None);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn stroke_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, width: f32, color: Rgb, alpha: f32) -> MediaResult<()> {
    let mut paint = Paint::default();
    paint.set_color(color.skia(alpha));
    paint.anti_alias = true;
    let stroke = Stroke { width, ..Stroke::default() };
    pixmap.stroke_path(&circle(x, y, r)?, &paint, &stroke, Transform::identity(), None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::render_card;
    use crate::keywords::keywords;

    fn style() -> CardStyle {
        CardStyle {
            palette: vec!["#1e3c72".into(), "#2a5298".into(), "#e94e77".into()],
            text_color: "#ffffff".into(),
            text_scale: 0.08,
            weight: "bold".into(),
            show_scene_number: false,
            heading_font: None,
            body_font: None,
        }
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn tags_of(name: &str) -> Vec<&'static str> {
        icons().iter().find(|i| i.name == name).map(|i| i.tags.clone()).unwrap_or_default()
    }

    #[test]
    fn every_indexed_icon_has_an_svg_that_renders() {
        assert!(icons().len() >= 300, "{} icons", icons().len());
        for icon in icons() {
            let svg = svg_of(icon.name).unwrap();
            assert!(resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).is_ok(), "{}", icon.name);
        }
    }

    #[test]
    fn pick_icon_finds_weather_for_storm_and_rain() {
        let weather = |name: &str| name.starts_with("cloud") || ["tornado", "umbrella", "wind"].contains(&name);
        for w in ["storm", "rain", "storms", "rainy"] {
            let icon = pick_icon(&words(&[w])).unwrap_or_default();
            assert!(weather(icon), "{w} -> {icon}");
        }
        let k = keywords("Storms were the hardest nights. Wind shook the glass.", "en");
        let icon = pick_icon(&k).unwrap_or_default();
        assert!(weather(icon), "{k:?} -> {icon}");
    }

    #[test]
    fn pick_icon_finds_food_for_bakery_and_bread() {
        for w in ["bakery", "bread"] {
            let icon = pick_icon(&words(&[w])).unwrap_or_default();
            let tags = tags_of(icon);
            assert!(tags.contains(&"food") || tags.contains(&"bakery"), "{w} -> {icon} {tags:?}");
        }
    }

    #[test]
    fn pick_icon_prefers_exact_matches_and_is_deterministic() {
        // "revenue" is an exact tag somewhere; "hardest" only looks like "hard-hat".
        let k = words(&["hardest", "revenue"]);
        assert_eq!(pick_icon(&k), Some("trending-up"));
        assert_eq!(pick_icon(&k), pick_icon(&k));
        assert_eq!(pick_icon(&words(&["coffee"])), Some("coffee"));
    }

    #[test]
    fn pick_icon_without_a_match_is_none() {
        assert_eq!(pick_icon(&words(&["nevertheless", "ambiguous"])), None);
        assert_eq!(pick_icon(&[]), None);
        assert_eq!(pick_icon(&words(&["東京"])), None);
    }

    fn centre_differs(pm: &Pixmap) -> usize {
        let (w, h) = (pm.width(), pm.height());
        // The background at the left edge, halfway down (the scene label
        // is above it, the icon and title are centred).
        let corner = pm.pixel(w / 20, h / 2).unwrap();
        let mut n = 0;
        for y in h * 2 / 5..h * 3 / 5 {
            for x in w * 2 / 5..w * 3 / 5 {
                let p = pm.pixel(x, y).unwrap();
                if (i32::from(p.red()) - i32::from(corner.red())).abs() > 40 {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn render_illustration_draws_the_icon_large() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("storm.png");
        let k = keywords("Storms were the hardest nights.", "en");
        render_illustration("Storms were the hardest nights", &k, "en", 1, 960, 540, 1.0, &style(), &out).unwrap();
        let pm = Pixmap::load_png(&out).unwrap();
        assert_eq!((pm.width(), pm.height()), (960, 540));
        assert!(pm.pixels().iter().all(|p| p.alpha() == 255));
        // White icon strokes in the middle fifth across, above the title, on
        // a dark blue background.
        let white = |x: u32, y: u32| pm.pixel(x, y).is_some_and(|p| p.red() > 200 && p.green() > 200);
        let strokes = (60..260).flat_map(|y| (384..576).map(move |x| (x, y))).filter(|&(x, y)| white(x, y)).count();
        assert!(strokes > 1000, "{strokes} icon pixels");
        // Deterministic.
        let again = dir.path().join("again.png");
        render_illustration("Storms were the hardest nights", &k, "en", 1, 960, 540, 1.0, &style(), &again).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    }

    /// The icon and title stay out of the caption band at the bottom of the
    /// visible frame (they overlapped a two-line caption at 720p), in every
    /// aspect, with or without the motion's margin, icon or not.
    #[test]
    fn an_illustrations_title_stays_above_the_captions() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("title.png");
        for (title, text) in [
            ("Storms were the hardest nights", "Storms were the hardest nights."),
            ("Nevertheless the committee postponed everything again", "nevertheless"),
        ] {
            let k = keywords(text, "en");
            for (width, height) in [(1280, 720), (1080, 1920), (1080, 1080)] {
                for visible in [1.0f32, crate::render::ALWAYS_VISIBLE] {
                    render_illustration(title, &k, "en", 1, width, height, visible, &style(), &out).unwrap();
                    let pm = Pixmap::load_png(&out).unwrap();
                    // The caption band at its highest: the frame (the
                    // picture's (1 + visible) / 2) at the picture's top.
                    let frame = height as f32 * (1.0 + visible) / 2.0;
                    let band_top = (frame * (1.0 - CAPTION_BAND)).ceil() as u32;
                    let band_bottom = frame as u32;
                    let white = (band_top..band_bottom)
                        .flat_map(|y| (0..width).map(move |x| (x, y)))
                        .filter(|&(x, y)| pm.pixel(x, y).is_some_and(|p| p.red() > 200 && p.green() > 200))
                        .count();
                    assert_eq!(white, 0, "{title:?} at {width}x{height}, visible {visible}: text in the caption band");
                    // And the title is drawn: white pixels above the band.
                    let above = (0..band_top)
                        .flat_map(|y| (0..width).map(move |x| (x, y)))
                        .filter(|&(x, y)| pm.pixel(x, y).is_some_and(|p| p.red() > 200 && p.green() > 200))
                        .count();
                    assert!(above > 1000, "{title:?} at {width}x{height}: {above} white pixels");
                }
            }
        }
    }

    #[test]
    fn render_illustration_without_an_icon_is_not_flat() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("abstract.png");
        let k = words(&["nevertheless", "ambiguous"]);
        render_illustration("", &k, "en", 2, 640, 640, 1.0, &style(), &out).unwrap();
        let pm = Pixmap::load_png(&out).unwrap();
        let mut colours: Vec<[u8; 3]> = pm.pixels().iter().map(|p| [p.red(), p.green(), p.blue()]).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 200, "{} colours", colours.len());
        // The shapes are more than the card's background: the two differ.
        let card = dir.path().join("card.png");
        render_card("", 2, 640, 640, 1.0, &style(), &card).unwrap();
        assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(&card).unwrap());
        // With a title, the title is drawn over the shapes.
        let titled = dir.path().join("titled.png");
        render_illustration("Nevertheless", &k, "en", 2, 640, 640, 1.0, &style(), &titled).unwrap();
        assert!(centre_differs(&Pixmap::load_png(&titled).unwrap()) > 500);
    }

    #[test]
    fn render_illustration_rejects_bad_sizes_and_colours() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.png");
        assert!(render_illustration("T", &[], "en", 1, 8, 540, 1.0, &style(), &out).is_err());
        let bad = CardStyle { palette: vec![], ..style() };
        assert!(render_illustration("T", &[], "en", 1, 960, 540, 1.0, &bad, &out).is_err());
    }
    /// The lines of an alias list: (native word, target).
    fn alias_lines(list: &str) -> Vec<(&str, &str)> {
        list.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_once('\t').unwrap_or((l, "")))
            .collect()
    }

    #[test]
    fn alias_lists_are_well_formed_and_every_target_picks_an_icon() {
        for (language, list) in ALIAS_LISTS {
            let lines = alias_lines(list);
            assert!(lines.len() >= 150, "{language}: {} aliases", lines.len());
            let mut seen = std::collections::HashSet::new();
            for (native, target) in lines {
                assert!(!target.is_empty() && !target.contains('\t'), "{language}: {native:?} -> {target:?}");
                assert_eq!(native, native.trim().to_lowercase(), "{language}: {native:?}");
                assert_eq!(target, target.trim().to_lowercase(), "{language}: {target:?}");
                // keywords() keeps words of three characters or more.
                assert!(native.chars().count() >= 3, "{language}: {native:?}");
                assert_ne!(native, target, "{language}: {native:?} maps to itself");
                assert!(seen.insert(native), "{language}: {native:?} twice");
                assert!(pick_icon(&words(&[target])).is_some(), "{language}: {native:?} -> {target:?} picks no icon");
            }
            assert_eq!(aliases(language).map(HashMap::len), Some(seen.len()), "{language}");
        }
    }

    #[test]
    fn pick_icon_in_finds_the_english_storm_in_six_languages() {
        let en = keywords("Storms were the hardest nights. Wind shook the glass.", "en");
        let storm = pick_icon(&en).unwrap();
        assert_eq!(pick_icon_in(&en, "en"), Some(storm));
        for (language, text) in [
            ("de", "Die Stürme waren die schwersten Nächte. Der Wind rüttelte am Glas."),
            ("fr", "Les tempêtes étaient les nuits les plus dures. Le vent secouait les vitres."),
            ("es", "Las tormentas fueron las noches más duras. El viento sacudía los cristales."),
            ("it", "Le tempeste furono le notti più dure. Il vento scuoteva i vetri."),
            ("nl", "Stormen waren de zwaarste nachten. De wind deed het glas trillen."),
            ("pt", "As tempestades foram as noites mais difíceis. O vento sacudia os vidros."),
        ] {
            let k = keywords(text, language);
            assert_eq!(pick_icon_in(&k, language), Some(storm), "{language}: {k:?}");
        }
        // Scenes that had no icon before the aliases.
        for (language, text) in
            [("de", "Der Sturm rüttelte an den Fenstern."), ("fr", "La tempête secouait les vitres.")]
        {
            let k = keywords(text, language);
            assert_eq!(pick_icon(&k), None, "{language}: {k:?}");
            assert_eq!(pick_icon_in(&k, language), Some(storm), "{language}: {k:?}");
        }
    }

    #[test]
    fn pick_icon_in_finds_everyday_things_in_each_language() {
        let cases = [
            ("de", "Die Katze schläft auf dem Sofa.", "cat"),
            ("de", "Frisches Brot liegt im Korb.", "croissant"),
            ("de", "Der Zug fährt pünktlich ab.", "train-front"),
            ("de", "Das Geld reicht nicht.", "banknote"),
            ("de", "Der Arzt hört das Herz ab.", "stethoscope"),
            ("de", "Die Ärztin untersucht den Patienten im Krankenhaus.", "hospital"),
            ("de", "Die Schule beginnt um acht.", "school"),
            ("fr", "Le chat dort.", "cat"),
            ("fr", "Le pain sort du four.", "croissant"),
            ("fr", "Le train part de la gare à midi.", "train-front"),
            ("fr", "Il n'avait plus d'argent.", "banknote"),
            ("fr", "Le médecin écoute son cœur.", "stethoscope"),
            ("fr", "Elle est à l'hôpital.", "hospital"),
            ("fr", "L'école ouvre ses portes.", "school"),
            ("es", "El gato duerme en el sofá.", "cat"),
            ("es", "El pan está recién hecho.", "croissant"),
            ("es", "El tren llega tarde.", "train-front"),
            ("es", "No tenemos dinero.", "banknote"),
            ("es", "La médica trabaja de noche.", "stethoscope"),
            ("es", "Lo llevaron al hospital.", "hospital"),
            ("es", "La escuela abre en septiembre.", "school"),
            ("it", "Il gatto dorme al sole.", "cat"),
            ("it", "Il pane è buono.", "croissant"),
            ("it", "Il treno parte dalla stazione.", "train-front"),
            ("it", "Non abbiamo più soldi.", "banknote"),
            ("it", "Il medico arriva presto.", "stethoscope"),
            ("it", "Corre all'ospedale.", "hospital"),
            ("it", "La scuola inizia domani.", "school"),
            ("nl", "De kat slaapt.", "cat"),
            ("nl", "Het brood is vers.", "croissant"),
            ("nl", "De trein vertrekt om acht uur.", "train-front"),
            ("nl", "We hebben geen geld meer.", "banknote"),
            ("nl", "De dokter komt morgen.", "stethoscope"),
            ("nl", "Hij ligt in het ziekenhuis.", "hospital"),
            ("nl", "De school begint om negen uur.", "school"),
            ("pt", "O gato dorme no sofá.", "cat"),
            ("pt", "O pão está quente.", "croissant"),
            ("pt", "O trem chegou atrasado.", "train-front"),
            ("pt", "Não temos dinheiro.", "banknote"),
            ("pt", "O médico chegou cedo.", "stethoscope"),
            ("pt", "Ela está no hospital.", "hospital"),
            ("pt", "A escola abre amanhã.", "school"),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|&(language, text, icon)| {
                let k = keywords(text, language);
                let got = pick_icon_in(&k, language);
                (got != Some(icon)).then(|| format!("{language}: {text:?} -> {k:?} -> {got:?}, not {icon}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn pick_icon_in_reads_regional_tags_and_false_friends() {
        // The primary subtag counts, in any case.
        for language in ["de", "de-AT", "de_CH", "DE"] {
            assert_eq!(pick_icon_in(&words(&["katze"]), language), Some("cat"), "{language}");
        }
        assert_eq!(pick_icon_in(&words(&["ônibus"]), "pt-BR"), Some("bus"));
        // Words that are English words too mean the language's thing.
        assert_eq!(pick_icon_in(&words(&["chat"]), "fr"), Some("cat"));
        assert_eq!(pick_icon(&words(&["chat"])), Some("message-circle"));
        assert_eq!(pick_icon_in(&words(&["gift"]), "de"), Some("skull"));
        assert_eq!(pick_icon_in(&words(&["beer"]), "nl"), pick_icon(&words(&["bear"])));
        // An elided article: the word after the apostrophe.
        assert_eq!(pick_icon_in(&words(&["l'école"]), "fr"), Some("school"));
        assert_eq!(pick_icon_in(&words(&["l'hotel"]), "it"), Some("hotel"));
        // A word without an alias is matched as it is (names, loanwords).
        assert_eq!(pick_icon_in(&words(&["pizza"]), "it"), Some("pizza"));
        // The keywords' order is kept: the first matching keyword wins.
        assert_eq!(pick_icon_in(&words(&["hund", "katze"]), "de"), Some("dog"));
        assert_eq!(pick_icon_in(&words(&["katze", "hund"]), "de"), Some("cat"));
    }

    #[test]
    fn pick_icon_in_a_language_without_aliases_is_pick_icon() {
        let sets = [
            keywords("東京の天気は雨です。", "ja"),
            words(&["storm", "night"]),
            words(&["hardest", "revenue"]),
            words(&["tempête", "katze"]),
            words(&["nevertheless"]),
            vec![],
        ];
        for k in &sets {
            for language in ["ja", "en", "en-GB", "pl", ""] {
                assert_eq!(pick_icon_in(k, language), pick_icon(k), "{language}: {k:?}");
            }
        }
        assert_eq!(pick_icon_in(&words(&["tempête"]), "ja"), None);
        assert_eq!(pick_icon_in(&words(&["tempête"]), "fr"), pick_icon(&words(&["storm"])));
    }

    #[test]
    fn render_illustration_uses_the_language() {
        let dir = tempfile::tempdir().unwrap();
        let k = keywords("Der Sturm rüttelte an den Fenstern.", "de");
        let draw = |language: &str| {
            let out = dir.path().join(format!("{language}.png"));
            render_illustration("Der Sturm", &k, language, 1, 640, 360, 1.0, &style(), &out).unwrap();
            Pixmap::load_png(&out).unwrap()
        };
        // White icon strokes in the upper third, where the title is not.
        let strokes = |pm: &Pixmap| {
            (40..110)
                .flat_map(|y| (256..384).map(move |x| (x, y)))
                .filter(|&(x, y)| pm.pixel(x, y).is_some_and(|p| p.red() > 200 && p.green() > 200))
                .count()
        };
        let (de, ja) = (draw("de"), draw("ja"));
        // German draws the storm icon; a language without aliases, the
        // abstract shapes (and only the title's top may reach up there).
        let (de, ja) = (strokes(&de), strokes(&ja));
        assert!(de > 1000 && de > 3 * ja, "{de} {ja}");
    }
}
