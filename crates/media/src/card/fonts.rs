//! Brand fonts: a tenant's uploaded TrueType or OpenType font, checked (it
//! parses, names a family, draws basic Latin) and loaded into the one text
//! engine under a private family name (`Reelforge Brand <id>`), so two
//! tenants' fonts that call themselves the same never mix, and a font can
//! never stand in for the bundled faces. A drawing names a loaded font by
//! its id (`CardStyle::heading_font`, `Caption::font`); one that is not
//! loaded is an error, never a silent fallback to the bundled face.

use std::sync::Arc;

use cosmic_text::{Ellipsize, Weight, fontdb};
use sha2::{Digest, Sha256};

use super::colour::Rgb;
use super::draw::{Coverage, composite, new_pixmap, write_png};
use super::layout::{TextEngine, extent, lay_out, rasterise, text_engine};
use crate::{MediaError, MediaResult};

/// The largest font accepted.
pub const MAX_FONT_BYTES: usize = 5 * 1024 * 1024;
/// Brand fonts kept loaded at once; past it the least recently loaded goes.
const MAX_LOADED: usize = 32;
/// What a font must draw: basic Latin letters and digits.
const REQUIRED: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A font file's format, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontFormat {
    /// TrueType outlines (`00 01 00 00` or `true`).
    TrueType,
    /// OpenType with CFF outlines (`OTTO`).
    OpenType,
}

impl FontFormat {
    /// The media type stored and served for it.
    pub fn content_type(self) -> &'static str {
        match self {
            FontFormat::TrueType => "font/ttf",
            FontFormat::OpenType => "font/otf",
        }
    }

    /// The stored original's extension.
    pub fn extension(self) -> &'static str {
        match self {
            FontFormat::TrueType => "ttf",
            FontFormat::OpenType => "otf",
        }
    }
}

/// The format of a font file by its magic bytes; `None` for anything else.
pub fn sniff(head: &[u8]) -> Option<FontFormat> {
    match head.get(..4)? {
        [0x00, 0x01, 0x00, 0x00] | b"true" => Some(FontFormat::TrueType),
        b"OTTO" => Some(FontFormat::OpenType),
        _ => None,
    }
}

/// Why a font-like file that is not TTF/OTF is refused (WOFF, WOFF2, a
/// collection), for the person who uploaded it; `None` when it is not one.
pub fn refused_kind(head: &[u8]) -> Option<&'static str> {
    match head.get(..4)? {
        b"wOFF" => Some("WOFF fonts are not accepted: upload the TTF or OTF file"),
        b"wOF2" => Some("WOFF2 fonts are not accepted: upload the TTF or OTF file"),
        b"ttcf" => Some("font collections (TTC) are not accepted: upload one TTF or OTF face"),
        _ => None,
    }
}

/// What checking a font found.
#[derive(Debug, Clone, PartialEq)]
pub struct FontInfo {
    pub format: FontFormat,
    /// Its family name as the font gives it (shown, never used to look it up).
    pub family: String,
    /// The id drawings name it by: a hash of its bytes.
    pub id: String,
}

/// The id of a font's bytes (16 hex digits of their SHA-256).
pub fn font_id(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `bytes` as a brand font: at most `MAX_FONT_BYTES`, TTF or OTF by
/// its bytes, parses, names a family and has glyphs for a-z, A-Z and 0-9.
/// `Invalid` says what is wrong in words a person can act on.
pub fn check(bytes: &[u8]) -> MediaResult<FontInfo> {
    if bytes.len() > MAX_FONT_BYTES {
        return Err(MediaError::Invalid(format!("the font is larger than {} MB", MAX_FONT_BYTES / 1024 / 1024)));
    }
    if let Some(reason) = refused_kind(bytes) {
        return Err(MediaError::Invalid(reason.into()));
    }
    let format = sniff(bytes).ok_or_else(|| MediaError::Invalid("not a TrueType or OpenType font".into()))?;
    let face = ttf_parser::Face::parse(bytes, 0)
        .map_err(|e| MediaError::Invalid(format!("the font could not be read ({e})")))?;
    let family = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::TYPOGRAPHIC_FAMILY || n.name_id == ttf_parser::name_id::FAMILY)
        .filter_map(|n| n.to_string())
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
        .ok_or_else(|| MediaError::Invalid("the font names no family".into()))?;
    let missing: String = REQUIRED.chars().filter(|c| face.glyph_index(*c).is_none()).collect();
    if !missing.is_empty() {
        return Err(MediaError::Invalid(format!("the font has no letters or digits for: {missing}")));
    }
    Ok(FontInfo { format, family: family.chars().take(100).collect(), id: font_id(bytes) })
}

/// The brand fonts loaded into the engine, oldest first.
#[derive(Debug, Default)]
pub(super) struct Registered {
    /// Font id, its faces in the engine, their weights.
    loaded: Vec<(String, Vec<fontdb::ID>, Vec<u16>)>,
}

fn family_alias(id: &str) -> String {
    format!("Reelforge Brand {id}")
}

/// Checks `bytes` and loads them into the text engine (once: a font already
/// loaded is not loaded again); returns the font's id for drawings to name.
pub fn register(bytes: &[u8]) -> MediaResult<FontInfo> {
    let info = check(bytes)?;
    let mut engine = text_engine();
    load(&mut engine, &info.id, bytes)?;
    Ok(info)
}

fn load(engine: &mut TextEngine, id: &str, bytes: &[u8]) -> MediaResult<()> {
    if engine.brand_fonts.loaded.iter().any(|(loaded, ..)| loaded == id) {
        return Ok(());
    }
    let mut parsed = fontdb::Database::new();
    let ids = parsed.load_font_source(fontdb::Source::Binary(Arc::new(bytes.to_vec())));
    let alias = family_alias(id);
    let faces: Vec<fontdb::FaceInfo> = ids
        .iter()
        .filter_map(|face| parsed.face(*face).cloned())
        .map(|mut face| {
            face.families = vec![(alias.clone(), fontdb::Language::English_UnitedStates)];
            face
        })
        .collect();
    if faces.is_empty() {
        return Err(MediaError::Invalid("the font has no face the text engine can use".into()));
    }
    if engine.brand_fonts.loaded.len() >= MAX_LOADED {
        let (_, old, _) = engine.brand_fonts.loaded.remove(0);
        let db = engine.fonts.db_mut();
        for face in old {
            db.remove_face(face);
        }
    }
    let weights = faces.iter().map(|face| face.weight.0).collect();
    let db = engine.fonts.db_mut();
    let pushed = faces.into_iter().map(|face| db.push_face_info(face)).collect();
    engine.brand_fonts.loaded.push((id.to_string(), pushed, weights));
    Ok(())
}

/// Loads the font file at `path` (`register`): what a render step does with
/// a template's fonts before it draws.
pub fn register_file(path: &std::path::Path) -> MediaResult<FontInfo> {
    let bytes = std::fs::read(path).map_err(|e| MediaError::io("reading a brand font", e))?;
    register(&bytes)
}

/// Sets the family of what `engine` lays out next: the brand font `id`, or
/// the bundled family for `None`.
pub(super) fn select(engine: &mut TextEngine, id: Option<&str>) -> MediaResult<()> {
    let Some(id) = id else {
        engine.family = None;
        engine.weights.clear();
        return Ok(());
    };
    let Some((_, _, weights)) = engine.brand_fonts.loaded.iter().find(|(loaded, ..)| loaded == id) else {
        return Err(MediaError::Invalid(format!("the brand font {id} is not loaded")));
    };
    engine.weights = weights.clone();
    engine.family = Some(family_alias(id));
    Ok(())
}

/// A specimen of the font ("Aa Bb 123" in dark grey on white), `width` x
/// `height`, as PNG: a font's picture in the media library.
pub fn specimen(bytes: &[u8], width: u32, height: u32, out: &std::path::Path) -> MediaResult<FontInfo> {
    let info = check(bytes)?;
    let mut pixmap = new_pixmap(width, height)?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let mut engine = text_engine();
    let engine = &mut *engine;
    load(engine, &info.id, bytes)?;
    select(engine, Some(&info.id))?;
    let buffer = lay_out(engine, "Aa Bb 123", Weight::NORMAL, height as f32 * 0.42, None, None, Ellipsize::None);
    if let Some(ext) = extent(&buffer) {
        let (w, h) = (width as f32, height as f32);
        let ox = ((w - (ext.left + ext.right)) / 2.0).round();
        let oy = ((h - (ext.bottom - ext.top)) / 2.0 - ext.top).round();
        let mut cov = Coverage::new(0, 0, width as usize, height as usize);
        rasterise(engine, &buffer, ox, oy, &mut cov);
        composite(&mut pixmap, &cov, 0, 0, Rgb { r: 0x1f, g: 0x29, b: 0x37 }, 1.0);
    }
    engine.tidy();
    write_png(&pixmap, out)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEJAVU: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(sniff(DEJAVU), Some(FontFormat::TrueType));
        assert_eq!(sniff(b"OTTO\0\0"), Some(FontFormat::OpenType));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), None);
        assert!(refused_kind(b"wOF2....").is_some_and(|r| r.contains("WOFF2")));
        assert!(refused_kind(b"ttcf....").is_some());
    }

    #[test]
    fn a_real_font_passes_and_a_lying_one_does_not() {
        let info = check(DEJAVU).expect("DejaVu checks");
        assert_eq!(info.family, "DejaVu Sans");
        assert_eq!(info.id.len(), 16);
        // A TrueType header with nothing after it.
        assert!(matches!(check(&DEJAVU[..64]), Err(MediaError::Invalid(_))));
        let mut png_named_ttf = b"\x89PNG\r\n\x1a\n".to_vec();
        png_named_ttf.extend_from_slice(&[0; 64]);
        assert!(matches!(check(&png_named_ttf), Err(MediaError::Invalid(_))));
    }

    #[test]
    fn a_brand_font_changes_the_card_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("dir");
        let style = super::super::CardStyle {
            palette: vec!["#1e3a8a".into(), "#0f766e".into()],
            text_color: "#ffffff".into(),
            text_scale: 0.08,
            weight: "bold".into(),
            show_scene_number: false,
            heading_font: None,
            body_font: None,
        };
        let draw = |style: &super::super::CardStyle, name: &str| {
            let out = dir.path().join(name);
            super::super::render_card("Bakery at six", 1, 640, 360, 1.0, style, &out).expect("card");
            std::fs::read(out).expect("png")
        };
        let bundled = draw(&style, "bundled.png");
        assert_eq!(bundled, draw(&style, "again.png"), "deterministic");
        let info = register(DEJAVU).expect("registers");
        // The regular face as the heading font: a bold title is set in it
        // (the nearest weight it has), not in the bundled bold.
        let branded = super::super::CardStyle { heading_font: Some(info.id.clone()), ..style.clone() };
        assert_ne!(bundled, draw(&branded, "branded.png"));
        let unloaded = super::super::CardStyle { heading_font: Some("ffffffffffffffff".into()), ..style };
        let out = dir.path().join("unloaded.png");
        assert!(super::super::render_card("Bakery", 1, 640, 360, 1.0, &unloaded, &out).is_err());
    }

    #[test]
    fn an_unloaded_font_is_an_error_and_a_loaded_one_draws() {
        let mut engine = text_engine();
        assert!(select(&mut engine, Some("0000000000000000")).is_err());
        drop(engine);
        let info = register(DEJAVU).expect("registers");
        let mut engine = text_engine();
        select(&mut engine, Some(&info.id)).expect("selects");
        assert_eq!(engine.family.as_deref(), Some(family_alias(&info.id).as_str()));
        drop(engine);
        // Handing the engine out again starts from the bundled family.
        assert_eq!(text_engine().family, None);
    }
}
