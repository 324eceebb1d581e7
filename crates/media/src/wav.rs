//! 16-bit PCM WAV: reading, writing, durations measured from the samples.

use std::path::Path;

use crate::{MediaError, MediaResult};

/// Mono or stereo 16-bit PCM audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels (interleaved).
    pub channels: u16,
    /// Interleaved signed 16-bit samples.
    pub samples: Vec<i16>,
}

impl Pcm {
    /// Silence of `seconds` in this format.
    pub fn silence(sample_rate: u32, channels: u16, seconds: f64) -> Pcm {
        let frames = (seconds.max(0.0) * f64::from(sample_rate)).round() as usize;
        Pcm { sample_rate, channels, samples: vec![0; frames * usize::from(channels)] }
    }

    /// Duration measured from the sample count.
    pub fn duration_seconds(&self) -> f64 {
        let frames = self.samples.len() / usize::from(self.channels.max(1));
        frames as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Appends `other`, which must have the same format.
    pub fn append(&mut self, other: &Pcm) -> MediaResult<()> {
        if other.sample_rate != self.sample_rate || other.channels != self.channels {
            return Err(MediaError::Invalid(format!(
                "audio formats differ ({} Hz x{} vs {} Hz x{})",
                self.sample_rate, self.channels, other.sample_rate, other.channels
            )));
        }
        self.samples.extend_from_slice(&other.samples);
        Ok(())
    }

    /// Pads with silence (or cuts) to exactly `seconds`.
    pub fn fit_to(&mut self, seconds: f64) {
        let frames = (seconds.max(0.0) * f64::from(self.sample_rate)).round() as usize;
        self.samples.resize(frames * usize::from(self.channels), 0);
    }

    /// Parses a RIFF/WAVE file holding 16-bit PCM.
    pub fn parse(bytes: &[u8]) -> MediaResult<Pcm> {
        let bad = |why: &str| MediaError::Invalid(format!("not a usable WAV file: {why}"));
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(bad("no RIFF/WAVE header"));
        }
        let mut pos = 12;
        let mut format: Option<(u16, u16, u32, u16)> = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let declared =
                u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
            let body_start = pos + 8;
            // espeak-ng streams write 0xFFFFFFFF-ish sizes; clamp to what is there.
            let body_end = body_start.saturating_add(declared).min(bytes.len());
            let body = &bytes[body_start..body_end];
            match id {
                b"fmt " if body.len() >= 16 => {
                    let tag = u16::from_le_bytes([body[0], body[1]]);
                    let channels = u16::from_le_bytes([body[2], body[3]]);
                    let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                    let bits = u16::from_le_bytes([body[14], body[15]]);
                    format = Some((tag, channels, rate, bits));
                }
                b"data" => {
                    let (tag, channels, sample_rate, bits) = format.ok_or_else(|| bad("data before fmt"))?;
                    if !(tag == 1 || tag == 0xFFFE) || bits != 16 || channels == 0 || sample_rate == 0 {
                        return Err(bad("only 16-bit PCM is supported"));
                    }
                    let samples = body.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
                    return Ok(Pcm { sample_rate, channels, samples });
                }
                _ => {}
            }
            pos = body_start.saturating_add(declared + (declared & 1));
        }
        Err(bad("no data chunk"))
    }

    /// Reads a WAV file.
    pub fn read(path: &Path) -> MediaResult<Pcm> {
        let bytes = std::fs::read(path).map_err(|e| MediaError::io(format!("reading {}", path.display()), e))?;
        Pcm::parse(&bytes)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let block_align = self.channels * 2;
        let mut out = Vec::with_capacity(44 + self.samples.len() * 2);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&self.channels.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&(self.sample_rate * u32::from(block_align)).to_le_bytes());
        out.extend_from_slice(&block_align.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for sample in &self.samples {
            out.extend_from_slice(&sample.to_le_bytes());
        }
        out
    }

    /// Writes a WAV file.
    pub fn write(&self, path: &Path) -> MediaResult<()> {
        std::fs::write(path, self.to_bytes()).map_err(|e| MediaError::io(format!("writing {}", path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_duration() {
        let mut pcm = Pcm { sample_rate: 22050, channels: 1, samples: vec![1, -2, 3] };
        pcm.append(&Pcm::silence(22050, 1, 1.0)).expect("same format");
        assert_eq!(pcm.samples.len(), 3 + 22050);
        let parsed = Pcm::parse(&pcm.to_bytes()).expect("parses");
        assert_eq!(parsed, pcm);
        assert!((parsed.duration_seconds() - (22053.0 / 22050.0)).abs() < 1e-9);
        pcm.fit_to(0.5);
        assert_eq!(pcm.samples.len(), 11025);
        assert!(pcm.append(&Pcm::silence(44100, 1, 0.1)).is_err());
    }

    #[test]
    fn refuses_garbage() {
        assert!(Pcm::parse(b"").is_err());
        assert!(Pcm::parse(b"RIFF\0\0\0\0WAVEjunk").is_err());
        let mut bytes = Pcm::silence(8000, 1, 0.1).to_bytes();
        bytes[34] = 8; // 8-bit
        assert!(Pcm::parse(&bytes).is_err());
    }

    #[test]
    fn tolerates_streamed_sizes() {
        let mut bytes = Pcm { sample_rate: 22050, channels: 1, samples: vec![5; 100] }.to_bytes();
        bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Pcm::parse(&bytes).expect("parses").samples.len(), 100);
    }
}
