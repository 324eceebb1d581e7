//! A tenant's brand logo: an uploaded PNG or SVG checked and turned into one
//! known-good PNG (`normalise`), and that PNG drawn at a height and opacity
//! for overlaying on a video (`overlay`).
//!
//! An SVG is hostile until rendered: it is parsed with every external
//! reference refused (`xlink:href` to files or data is resolved to nothing, so
//! a logo cannot read the server's files into a video), its text is not drawn
//! (no fonts are loaded), and it is rasterised at a bounded size.

use std::path::Path;

use resvg::usvg;
use tiny_skia::{Pixmap, PixmapPaint, Transform};

use crate::{MediaError, MediaResult};

/// Largest logo file accepted.
pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;
/// Largest side of an uploaded PNG logo, read from its header before decoding.
const MAX_PNG_SIDE: u32 = 4096;
/// Height a normalised logo is stored at (at most; a smaller PNG keeps its size).
pub const STORED_HEIGHT: u32 = 512;
/// Widest a stored logo may be relative to its height (a banner logo is cut down).
const MAX_ASPECT: f32 = 6.0;

/// What an uploaded logo turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoFormat {
    /// A PNG picture.
    Png,
    /// An SVG drawing.
    Svg,
}

/// The format of a logo file, by its content (never its name or declared type).
pub fn sniff(bytes: &[u8]) -> Option<LogoFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(LogoFormat::Png);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    (head.starts_with("<?xml") || head.starts_with("<svg") || head.starts_with("<!--")).then_some(())?;
    head.contains("<svg").then_some(LogoFormat::Svg)
}

/// Checks an uploaded logo and writes it to `out` as a PNG at most
/// `STORED_HEIGHT` high; returns its (width, height). Errors say, for a
/// person, what is wrong with the file.
pub fn normalise(bytes: &[u8], out: &Path) -> MediaResult<(u32, u32)> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(MediaError::Invalid(format!("the logo is larger than {} MB", MAX_LOGO_BYTES / 1024 / 1024)));
    }
    let picture = match sniff(bytes) {
        Some(LogoFormat::Png) => decode_png(bytes)?,
        Some(LogoFormat::Svg) => render_svg(bytes)?,
        None => return Err(MediaError::Invalid("the logo must be a PNG or an SVG file".into())),
    };
    let fitted = fit(&picture, STORED_HEIGHT)?;
    if !fitted.pixels().iter().any(|p| p.alpha() > 0) {
        return Err(MediaError::Invalid("the logo has nothing visible in it".into()));
    }
    write(&fitted, out)?;
    Ok((fitted.width(), fitted.height()))
}

fn decode_png(bytes: &[u8]) -> MediaResult<Pixmap> {
    // The header's size first, so a decompression bomb is refused unread.
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return Err(MediaError::Invalid("the PNG file is damaged".into()));
    }
    let side = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let (width, height) = (side(16), side(20));
    if width == 0 || height == 0 || width > MAX_PNG_SIDE || height > MAX_PNG_SIDE {
        return Err(MediaError::Invalid(format!("the logo must be at most {MAX_PNG_SIDE} pixels on each side")));
    }
    Pixmap::decode_png(bytes).map_err(|_| MediaError::Invalid("the PNG file could not be read".into()))
}

/// Parses an uploaded SVG with nothing outside it: linked files and embedded
/// pictures resolve to nothing (usvg's default reads any path it is given).
fn parse_svg(bytes: &[u8]) -> MediaResult<usvg::Tree> {
    let options = usvg::Options {
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|_, _| None),
        },
        resources_dir: None,
        ..usvg::Options::default()
    };
    usvg::Tree::from_data(bytes, &options)
        .map_err(|e| MediaError::Invalid(format!("the SVG file could not be read: {e}")))
}

fn render_svg(bytes: &[u8]) -> MediaResult<Pixmap> {
    let tree = parse_svg(bytes)?;
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    if !(w.is_finite() && h.is_finite()) || w <= 0.0 || h <= 0.0 {
        return Err(MediaError::Invalid("the SVG file has no size".into()));
    }
    // Drawn at the stored height (or narrower when very wide), never larger.
    let scale = (STORED_HEIGHT as f32 / h).min(STORED_HEIGHT as f32 * MAX_ASPECT / w);
    let (pw, ph) = (((w * scale).round() as u32).max(1), ((h * scale).round() as u32).max(1));
    let mut pixmap =
        Pixmap::new(pw, ph).ok_or_else(|| MediaError::Invalid("the SVG file has an impossible size".into()))?;
    resvg::render(&tree, Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// `picture` scaled down (never up) to at most `height` high and
/// `MAX_ASPECT` times as wide, keeping its shape, even-sided.
fn fit(picture: &Pixmap, height: u32) -> MediaResult<Pixmap> {
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let scale = (height as f32 / h).min(height as f32 * MAX_ASPECT / w).min(1.0);
    let even = |v: f32| (((v * scale).round() as u32).max(2) + 1) & !1;
    scaled(picture, even(w), even(h), 1.0)
}

/// `picture` drawn into a `width` x `height` pixmap, its alpha times `opacity`.
fn scaled(picture: &Pixmap, width: u32, height: u32, opacity: f32) -> MediaResult<Pixmap> {
    let mut out = Pixmap::new(width, height).ok_or_else(|| MediaError::Draw("an empty logo".into()))?;
    let (sx, sy) = (width as f32 / picture.width() as f32, height as f32 / picture.height() as f32);
    let paint = PixmapPaint { opacity, quality: tiny_skia::FilterQuality::Bicubic, ..PixmapPaint::default() };
    out.draw_pixmap(0, 0, picture.as_ref(), &paint, Transform::from_scale(sx, sy), None);
    Ok(out)
}

fn write(pixmap: &Pixmap, out: &Path) -> MediaResult<()> {
    let bytes = pixmap.encode_png().map_err(|e| MediaError::Draw(format!("encoding the logo: {e}")))?;
    std::fs::write(out, bytes).map_err(|e| MediaError::io(format!("writing {}", out.display()), e))
}

/// Draws a normalised logo (`normalise`'s PNG) `height_px` high at `opacity`
/// (0-1) into `out`; returns its (width, height), both even, at most
/// `max_width` wide.
pub fn overlay(logo: &Path, height_px: u32, max_width: u32, opacity: f32, out: &Path) -> MediaResult<(u32, u32)> {
    let bytes = std::fs::read(logo).map_err(|e| MediaError::io("reading the logo", e))?;
    let picture = decode_png(&bytes)?;
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let scale = (height_px.max(2) as f32 / h).min(max_width.max(2) as f32 / w);
    let even = |v: f32| (((v * scale).round() as u32).max(2) + 1) & !1;
    let drawn = scaled(&picture, even(w), even(h), opacity.clamp(0.0, 1.0))?;
    write(&drawn, out)?;
    Ok((drawn.width(), drawn.height()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50">
        <rect x="0" y="0" width="100" height="50" fill="#e11d48"/></svg>"##;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut pixmap = Pixmap::new(width, height).unwrap();
        pixmap.fill(tiny_skia::Color::from_rgba8(20, 120, 220, 255));
        pixmap.encode_png().unwrap()
    }

    #[test]
    fn logos_are_sniffed_by_content() {
        assert_eq!(sniff(&png(4, 4)), Some(LogoFormat::Png));
        assert_eq!(sniff(SQUARE_SVG.as_bytes()), Some(LogoFormat::Svg));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<svg/>"), Some(LogoFormat::Svg));
        for other in [&b"GIF89a"[..], b"<html><body>", b"\xff\xd8\xff\xe0", b"", b"<?xml version=\"1.0\"?><x/>"] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn png_and_svg_logos_become_bounded_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("logo.png");
        assert_eq!(normalise(&png(2000, 1000), &out).unwrap(), (1024, 512));
        assert_eq!(normalise(&png(120, 60), &out).unwrap(), (120, 60), "small logos keep their size");
        assert_eq!(normalise(SQUARE_SVG.as_bytes(), &out).unwrap(), (1024, 512));
        let drawn = Pixmap::load_png(&out).unwrap();
        let middle = drawn.pixel(512, 256).unwrap().demultiply();
        assert_eq!((middle.red(), middle.green(), middle.blue(), middle.alpha()), (0xe1, 0x1d, 0x48, 255));
    }

    #[test]
    fn bad_logos_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("logo.png");
        let reason = |bytes: &[u8]| normalise(bytes, &out).unwrap_err().to_string();
        assert!(reason(b"GIF89a....").contains("PNG or an SVG"));
        assert!(reason(&png(5000, 10)).contains("4096"));
        assert!(reason(&vec![b' '; MAX_LOGO_BYTES + 1]).contains("larger than 2 MB"));
        let mut damaged = png(10, 10);
        damaged.truncate(40);
        assert!(reason(&damaged).contains("could not be read"));
        assert!(reason(b"<svg xmlns='http://www.w3.org/2000/svg'><rect").contains("SVG file could not be read"));
        let empty = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'></svg>";
        assert!(reason(empty.as_bytes()).contains("nothing visible"));
    }

    #[test]
    fn an_svg_cannot_read_files_or_embedded_pictures() {
        let dir = tempfile::tempdir().unwrap();
        // A picture on disk the SVG points at, and the same picture inline.
        let secret = dir.path().join("secret.png");
        std::fs::write(&secret, png(50, 50)).unwrap();
        let inline = format!("data:image/png;base64,{}", base64(&png(50, 50)));
        for href in [secret.display().to_string(), inline] {
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="50">
                <image width="50" height="50" xlink:href="{href}"/></svg>"#
            );
            // usvg on its own reads the file or the data into the drawing...
            let default = usvg::Tree::from_data(svg.as_bytes(), &usvg::Options::default()).unwrap();
            assert!(has_image(default.root()), "the control reads {href:.40}");
            // ...the logo's parser does not, and nothing is drawn.
            assert!(!has_image(parse_svg(svg.as_bytes()).unwrap().root()), "{href:.40}");
            let out = dir.path().join("logo.png");
            let err = normalise(svg.as_bytes(), &out).unwrap_err().to_string();
            assert!(err.contains("nothing visible"), "the picture was not drawn: {err}");
        }
    }

    fn has_image(group: &usvg::Group) -> bool {
        group.children().iter().any(|node| match node {
            usvg::Node::Image(_) => true,
            usvg::Node::Group(group) => has_image(group),
            _ => false,
        })
    }

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_overlay_has_the_height_and_opacity_asked() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join("logo.png");
        normalise(&png(400, 200), &stored).unwrap();
        let out = dir.path().join("overlay.png");
        assert_eq!(overlay(&stored, 72, 1000, 0.5, &out).unwrap(), (144, 72));
        let drawn = Pixmap::load_png(&out).unwrap();
        let alpha = drawn.pixel(72, 36).unwrap().alpha();
        assert!((120..=135).contains(&alpha), "half opaque: {alpha}");
        // Too wide for the room: narrowed, keeping its shape.
        assert_eq!(overlay(&stored, 72, 100, 1.0, &out).unwrap(), (100, 50));
    }
}
