//! Colours of a card: parsing template colours, mixing, and the WCAG
//! contrast rule that decides whether text needs a backing panel.

use crate::{MediaError, MediaResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rgb {
    pub(super) r: u8,
    pub(super) g: u8,
    pub(super) b: u8,
}

impl Rgb {
    pub(super) const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };
    pub(super) const WHITE: Rgb = Rgb { r: 255, g: 255, b: 255 };

    /// "#rrggbb" or "#rgb" (the "#" is optional).
    pub(super) fn parse(s: &str) -> MediaResult<Rgb> {
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

    pub(super) fn mix(self, other: Rgb, t: f32) -> Rgb {
        let f = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round().clamp(0.0, 255.0) as u8;
        Rgb { r: f(self.r, other.r), g: f(self.g, other.g), b: f(self.b, other.b) }
    }

    /// WCAG relative luminance.
    pub(super) fn luminance(self) -> f32 {
        let lin = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * lin(self.r) + 0.7152 * lin(self.g) + 0.0722 * lin(self.b)
    }

    pub(super) fn skia(self, alpha: f32) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, (alpha.clamp(0.0, 1.0) * 255.0).round() as u8)
    }
}

/// WCAG contrast ratio.
pub(super) fn contrast(a: Rgb, b: Rgb) -> f32 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// What goes behind the text: shadow colour and panel (alpha 0 = no panel).
pub(super) struct Backing {
    pub(super) color: Rgb,
    pub(super) alpha: f32,
}

/// The lightest panel that gives `text` a contrast of 4.5 on every background sample.
pub(super) fn backing_for(text: Rgb, samples: &[Rgb]) -> Backing {
    let color = if contrast(text, Rgb::BLACK) >= contrast(text, Rgb::WHITE) { Rgb::BLACK } else { Rgb::WHITE };
    let worst = |alpha: f32| samples.iter().map(|s| contrast(text, s.mix(color, alpha))).fold(f32::INFINITY, f32::min);
    if worst(0.0) >= 4.5 {
        return Backing { color, alpha: 0.0 };
    }
    let alpha = (1..=13).map(|k| k as f32 * 0.05).find(|&a| worst(a) >= 4.5).unwrap_or(0.65);
    Backing { color, alpha: alpha.max(0.22) }
}
