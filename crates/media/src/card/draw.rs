//! Pixels: coverage masks (text ink, blurred shadows and outlines), compositing
//! them onto the image, gradients, soft shapes, rounded boxes and PNG output.

use std::path::Path;

use tiny_skia::{
    FillRule, GradientStop, LinearGradient, Paint, Path as SkPath, PathBuilder, Pixmap, Point, RadialGradient, Rect,
    SpreadMode, Transform,
};

use super::colour::Rgb;
use super::layout::Extent;
use crate::{MediaError, MediaResult};

/// Smallest and largest image side accepted.
pub(super) const MIN_SIDE: u32 = 16;
pub(super) const MAX_SIDE: u32 = 8192;

/// An 8-bit coverage mask over a rectangle of the image.
#[derive(Debug, Clone)]
pub(super) struct Coverage {
    x0: i32,
    y0: i32,
    w: usize,
    h: usize,
    data: Vec<u8>,
}

impl Coverage {
    pub(super) fn new(x0: i32, y0: i32, w: usize, h: usize) -> Self {
        Coverage { x0, y0, w, h, data: vec![0; w * h] }
    }

    /// A mask around a text extent drawn at (`ox`, `oy`), with room for ink
    /// outside the logical box (`margin_lines` half line heights, plus 4 px).
    pub(super) fn around(ext: &Extent, ox: f32, oy: f32, margin_lines: usize) -> Self {
        let line = (ext.bottom - ext.top) / ext.lines.max(1) as f32;
        let margin = (line * 0.5 * margin_lines as f32).ceil() as i32 + 4;
        let x0 = (ox + ext.left).floor() as i32 - margin;
        let y0 = (oy + ext.top).floor() as i32 - margin;
        let w = (ext.right - ext.left).ceil() as i32 + 2 * margin;
        let h = (ext.bottom - ext.top).ceil() as i32 + 2 * margin;
        Coverage::new(x0, y0, w.max(1) as usize, h.max(1) as usize)
    }

    /// The alpha of `pixmap` as a mask whose top-left corner is at (`x0`, `y0`).
    pub(super) fn from_alpha(pixmap: &Pixmap, x0: i32, y0: i32) -> Self {
        let data = pixmap.pixels().iter().map(|p| p.alpha()).collect();
        Coverage { x0, y0, w: pixmap.width() as usize, h: pixmap.height() as usize, data }
    }

    pub(super) fn add(&mut self, x: i32, y: i32, a: u8) {
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
    pub(super) fn blurred(&self, radius: usize, passes: usize, gain: f32) -> Coverage {
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

/// Paints `color` at `opacity` through `cov`, shifted by (`dx`, `dy`), over the
/// (premultiplied) pixmap.
pub(super) fn composite(pixmap: &mut Pixmap, cov: &Coverage, dx: i32, dy: i32, color: Rgb, opacity: f32) {
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

pub(super) fn new_pixmap(width: u32, height: u32) -> MediaResult<Pixmap> {
    Pixmap::new(width, height).ok_or_else(|| MediaError::Draw(format!("cannot allocate a {width}x{height} image")))
}

pub(super) fn check_side(what: &str, v: u32) -> MediaResult<()> {
    if (MIN_SIDE..=MAX_SIDE).contains(&v) {
        Ok(())
    } else {
        Err(MediaError::Invalid(format!("{what} {v} px is outside {MIN_SIDE}..={MAX_SIDE}")))
    }
}

/// The even integer at or above `v` (at least 2).
pub(super) fn even_up(v: f32) -> u32 {
    let n = v.ceil().max(2.0) as u32;
    n + (n & 1)
}

pub(super) fn fill_linear_gradient(pixmap: &mut Pixmap, start: Point, end: Point, c1: Rgb, c2: Rgb) -> MediaResult<()> {
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

pub(super) fn soft_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, color: Rgb, alpha: f32) -> MediaResult<()> {
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

pub(super) fn vignette(pixmap: &mut Pixmap, strength: f32) -> MediaResult<()> {
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

pub(super) fn rounded_rect(x: f32, y: f32, w: f32, h: f32, r: f32) -> MediaResult<SkPath> {
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

pub(super) fn fill_path(pixmap: &mut Pixmap, path: &SkPath, color: Rgb, alpha: f32) {
    let mut paint = Paint::default();
    paint.set_color(color.skia(alpha));
    paint.anti_alias = true;
    pixmap.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
}

pub(super) fn write_png(pixmap: &Pixmap, out: &Path) -> MediaResult<()> {
    let bytes = encode_png(pixmap).map_err(|e| MediaError::Draw(format!("encoding {}: {e}", out.display())))?;
    std::fs::write(out, bytes).map_err(|e| MediaError::io(format!("writing {}", out.display()), e))
}

/// `pixmap` as an 8-bit RGBA PNG, like `Pixmap::encode_png` but with the png
/// crate's `Fast` compression (fdeflate) instead of its default (miniz at
/// level 6). Cards, illustrations and captions are drawn for ffmpeg to read
/// back, and the default level spent about half of a picture's drawing time
/// compressing it (miniz was 3% of a whole 720p render's CPU). Measured with
/// the `illustrations` example (48 pictures at 1080p's motion size): 9.8 CPU-s
/// and 18.9 MB before, 5.3 CPU-s and 25.8 MB with `Fast`; miniz at level 1
/// was both slower (6.4 CPU-s) and larger (32.8 MB) than fdeflate.
fn encode_png(pixmap: &Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let pixels = pixmap.clone().take_demultiplied();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pngs_hold_the_same_pixels_as_tiny_skias_own() -> Result<(), Box<dyn std::error::Error>> {
        // Opaque, translucent and empty pixels: the demultiplication must match.
        let mut pixmap = new_pixmap(64, 48)?;
        pixmap.fill(tiny_skia::Color::from_rgba8(20, 40, 200, 255));
        let path = rounded_rect(8.0, 6.0, 40.0, 30.0, 9.0)?;
        fill_path(&mut pixmap, &path, Rgb { r: 250, g: 200, b: 10 }, 0.35);
        let mut clear = new_pixmap(64, 48)?;
        fill_path(&mut clear, &path, Rgb::WHITE, 0.6);
        for source in [&pixmap, &clear] {
            let ours = Pixmap::decode_png(&encode_png(source)?)?;
            let theirs = Pixmap::decode_png(&source.encode_png()?)?;
            assert_eq!(ours.data(), theirs.data());
            assert_eq!((ours.width(), ours.height()), (64, 48));
        }
        Ok(())
    }
}
