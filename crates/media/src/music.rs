//! The bundled music beds: a few short loops this project makes itself, by
//! arithmetic (sines, a little deterministic noise, envelopes), so nothing is
//! downloaded and the licence is ours to give: they are released under CC0.
//!
//! Every bed is `LOOP_SECONDS` long and loops seamlessly: each sustained tone
//! completes a whole number of cycles in the loop, chord changes crossfade
//! around the loop's end as anywhere else, and the tails of notes struck near
//! the end are folded back onto its start.

use std::f64::consts::{PI, TAU};

use crate::wav::Pcm;

/// Length of every bed, in seconds.
pub const LOOP_SECONDS: f64 = 16.0;
/// Sample rate of the beds (the finished audio's).
pub const SAMPLE_RATE: u32 = 48_000;
/// Changes whenever a bed's sound changes (it names the cached file).
pub const VERSION: &str = "v1";

/// A bundled bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bed {
    /// Stable id (`{"bundled": id}`).
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// Every bundled bed.
pub const BEDS: &[Bed] = &[
    Bed { id: "calm-pad", name: "Calm pad", description: "Slow, warm chords; for explainers and stories." },
    Bed { id: "bright-pluck", name: "Bright pluck", description: "A light arpeggio over soft chords; upbeat." },
    Bed {
        id: "steady-pulse",
        name: "Steady pulse",
        description: "A soft beat at 120 BPM with bass; for tips and lists.",
    },
];

/// The bed with this id.
pub fn find(id: &str) -> Option<&'static Bed> {
    BEDS.iter().find(|bed| bed.id == id)
}

/// Semitones from A4 to a frequency, rounded to a whole number of cycles in
/// the loop (at most 1/32 Hz off: inaudible), so a sustained tone loops
/// without a click.
fn note(semitones_from_a4: f64) -> f64 {
    let hz = 440.0 * 2f64.powf(semitones_from_a4 / 12.0);
    (hz * LOOP_SECONDS).round() / LOOP_SECONDS
}

/// The progression every bed follows, a chord every 4 s: C maj7, A min7,
/// F maj7, G6 (semitones from A4; roots an octave or two down).
const CHORDS: [[f64; 4]; 4] = [
    [-21.0, -17.0, -14.0, -10.0], // C3 E3 G3 B3
    [-24.0, -21.0, -17.0, -14.0], // A2 C3 E3 G3
    [-28.0, -24.0, -21.0, -17.0], // F2 A2 C3 E3
    [-26.0, -22.0, -19.0, -17.0], // G2 B2 D3 E3
];
const CHORD_SECONDS: f64 = 4.0;

/// How much chord `index` sounds at time `t` (0-1): fully inside its 4 s,
/// crossfaded (raised cosine, 1 s) with its neighbours around the changes,
/// around the loop's end too.
fn chord_weight(index: usize, t: f64) -> f64 {
    let start = index as f64 * CHORD_SECONDS;
    let mut x = (t - start).rem_euclid(LOOP_SECONDS);
    if x > LOOP_SECONDS - 0.5 {
        x -= LOOP_SECONDS;
    }
    let rise = |u: f64| 0.5 - 0.5 * (PI * u.clamp(0.0, 1.0)).cos();
    if x < 0.5 {
        rise(x + 0.5)
    } else if x <= CHORD_SECONDS - 0.5 {
        1.0
    } else {
        1.0 - rise(x - (CHORD_SECONDS - 0.5))
    }
}

/// A stereo buffer of one loop, with room for tails that are folded back.
struct Buffer {
    left: Vec<f64>,
    right: Vec<f64>,
}

impl Buffer {
    fn new() -> Buffer {
        let frames = (LOOP_SECONDS * f64::from(SAMPLE_RATE)) as usize;
        Buffer { left: vec![0.0; frames], right: vec![0.0; frames] }
    }

    fn frames(&self) -> usize {
        self.left.len()
    }

    /// Adds a struck sound at `at` seconds: `voice(seconds since the strike)`
    /// for `length` seconds, panned (-1 left .. 1 right); what runs past the
    /// loop's end wraps to its start.
    fn strike(&mut self, at: f64, length: f64, pan: f64, voice: impl Fn(f64) -> f64) {
        let rate = f64::from(SAMPLE_RATE);
        let first = (at * rate).round() as usize;
        let count = (length * rate) as usize;
        let frames = self.frames();
        let (gl, gr) = ((1.0 - pan).sqrt() * 0.707, (1.0 + pan).sqrt() * 0.707);
        for i in 0..count {
            let v = voice(i as f64 / rate);
            let at = (first + i) % frames;
            self.left[at] += v * gl;
            self.right[at] += v * gr;
        }
    }

    /// Adds a sustained pad of the progression: two slightly detuned sines
    /// per note (left and right apart, for width), an octave-down root.
    fn pad(&mut self, level: f64) {
        let rate = f64::from(SAMPLE_RATE);
        let chords: Vec<Vec<f64>> = CHORDS.iter().map(|chord| chord.iter().map(|&s| note(s)).collect()).collect();
        let roots: Vec<f64> = CHORDS.iter().map(|chord| note(chord[0] - 12.0)).collect();
        for i in 0..self.frames() {
            let t = i as f64 / rate;
            let (mut l, mut r) = (0.0, 0.0);
            for (index, freqs) in chords.iter().enumerate() {
                let w = chord_weight(index, t);
                if w == 0.0 {
                    continue;
                }
                for f in freqs {
                    // 0.25 Hz apart: four whole cycles of beating a loop.
                    l += w * ((TAU * (f - 0.25) * t).sin() + 0.25 * (TAU * 2.0 * f * t).sin());
                    r += w * ((TAU * (f + 0.25) * t).sin() + 0.25 * (TAU * 2.0 * f * t).sin());
                }
                let bass = w * 0.8 * (TAU * roots[index] * t).sin();
                l += bass;
                r += bass;
            }
            // A slow swell, twice a loop.
            let swell = 0.85 + 0.15 * (TAU * t * 2.0 / LOOP_SECONDS).sin();
            self.left[i] += l * level * swell;
            self.right[i] += r * level * swell;
        }
    }

    /// Scales to a peak of -3 dBFS and makes 16-bit stereo PCM.
    fn into_pcm(self) -> Pcm {
        let peak = self.left.iter().chain(&self.right).fold(0.0f64, |p, v| p.max(v.abs())).max(1e-9);
        let gain = 0.708 / peak;
        let mut samples = Vec::with_capacity(self.left.len() * 2);
        for (l, r) in self.left.iter().zip(&self.right) {
            samples.push((l * gain * 32767.0).round() as i16);
            samples.push((r * gain * 32767.0).round() as i16);
        }
        Pcm { sample_rate: SAMPLE_RATE, channels: 2, samples }
    }
}

/// A plucked note: a few harmonics under a fast attack and an exponential decay.
fn pluck(freq: f64, decay: f64) -> impl Fn(f64) -> f64 {
    move |s: f64| {
        let attack = (s / 0.004).min(1.0);
        let env = attack * (-s / decay).exp();
        env * ((TAU * freq * s).sin()
            + 0.4 * (TAU * 2.0 * freq * s).sin() * (-s / (decay * 0.5)).exp()
            + 0.15 * (TAU * 3.0 * freq * s).sin() * (-s / (decay * 0.3)).exp())
    }
}

/// A small deterministic noise source (xorshift), -1..1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Makes one loop of bed `id` (48 kHz stereo, 16 s); `None` for an unknown id.
pub fn synthesise(id: &str) -> Option<Pcm> {
    let bed = find(id)?;
    let mut buffer = Buffer::new();
    match bed.id {
        "calm-pad" => buffer.pad(0.18),
        "bright-pluck" => {
            buffer.pad(0.07);
            // Eighth notes at 120 BPM up and down the chord, two octaves up.
            let pattern = [0usize, 1, 2, 3, 2, 1, 2, 3];
            for step in 0..64 {
                let at = step as f64 * 0.25;
                let chord = &CHORDS[(at / CHORD_SECONDS) as usize % CHORDS.len()];
                let tone = note(chord[pattern[step % pattern.len()]] + 24.0);
                let pan = if step % 2 == 0 { -0.35 } else { 0.35 };
                let accent = if step % 4 == 0 { 0.32 } else { 0.22 };
                let voice = pluck(tone, 0.28);
                buffer.strike(at, 1.5, pan, move |s| accent * voice(s));
            }
        }
        "steady-pulse" => {
            buffer.pad(0.05);
            let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
            for beat in 0..32 {
                let at = beat as f64 * 0.5;
                // A soft kick: a sine falling from 110 to 45 Hz.
                buffer.strike(at, 0.45, 0.0, |s| {
                    let phase = TAU * (45.0 * s + 65.0 * 0.04 * (1.0 - (-s / 0.04).exp()));
                    0.9 * (-s / 0.12).exp() * phase.sin()
                });
                // A hat on the off-beat: differenced noise, short.
                let hiss: Vec<f64> = (0..2400).map(|_| noise.next()).collect();
                let rate = f64::from(SAMPLE_RATE);
                buffer.strike(at + 0.25, 0.05, 0.2, move |s| {
                    let i = ((s * rate) as usize).min(hiss.len() - 2);
                    0.12 * (-s / 0.012).exp() * (hiss[i + 1] - hiss[i])
                });
                // Bass on every beat, the chord's root.
                let chord = &CHORDS[(at / CHORD_SECONDS) as usize % CHORDS.len()];
                let root = note(chord[0] - 12.0);
                buffer.strike(at, 0.5, 0.0, move |s| {
                    0.45 * (s / 0.01).min(1.0) * (-s / 0.18).exp() * (TAU * root * s).sin()
                });
            }
        }
        _ => return None,
    }
    Some(buffer.into_pcm())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bed_is_a_seamless_stereo_loop() {
        for bed in BEDS {
            let pcm = synthesise(bed.id).expect("a bed");
            assert_eq!((pcm.sample_rate, pcm.channels), (48_000, 2));
            assert!((pcm.duration_seconds() - LOOP_SECONDS).abs() < 1e-6);
            let peak = pcm.samples.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0);
            assert!((22_000..=23_300).contains(&peak), "{} peaks at {peak}", bed.id);
            // Across the loop point the signal moves no more than it does
            // anywhere else: no click.
            let frames = pcm.samples.len() / 2;
            let step = |a: usize, b: usize| (i32::from(pcm.samples[a * 2]) - i32::from(pcm.samples[b * 2])).abs();
            let largest = (1..frames).map(|i| step(i, i - 1)).max().unwrap_or(0);
            assert!(step(0, frames - 1) <= largest, "{}: a click at the loop point", bed.id);
        }
        assert!(synthesise("nope").is_none());
        assert!(find("calm-pad").is_some() && find("../x").is_none());
    }

    #[test]
    fn beds_are_the_same_every_time() {
        assert_eq!(synthesise("steady-pulse"), synthesise("steady-pulse"));
    }

    #[test]
    fn chords_crossfade_to_a_constant_sum() {
        for i in 0..1600 {
            let t = i as f64 * 0.01;
            let sum: f64 = (0..CHORDS.len()).map(|c| chord_weight(c, t)).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{t}: {sum}");
        }
    }
}
