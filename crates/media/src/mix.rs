//! The finished video's sound, made on audio alone before the mux: the
//! narration (22.05 kHz mono) and an optional music bed mixed at 48 kHz
//! stereo, the bed looped or trimmed to the video (one track under the whole
//! video: it never restarts at a scene), faded in and out and ducked under the
//! narration from the known speech spans, and measured (`ebur128`) as it is
//! made; then one gain to the target, with a look-ahead peak limiter when the
//! gain would push the true peak past the aim (the limiter's loss measured on
//! the float mix and made up), one AAC-LC encode, and a check of the encoded
//! result with `ebur128`: a result off the target by more than half a
//! loudness unit, or over the true peak ceiling, is corrected once and
//! encoded again. (`loudnorm` did this in two passes at 192 kHz: 2 s each on
//! a minute of sound, against 0.3 s for a measure.)

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process;
use crate::{MediaError, MediaResult};

/// Sample rate of the finished audio.
pub const SAMPLE_RATE: u32 = 48_000;
/// AAC bit rate of the finished audio (platforms ask for at least 128 kb/s).
pub const BITRATE: &str = "192k";
/// How far the music sits below its own level while a voice speaks.
pub const DUCK_DB: f64 = 12.0;
/// The music's fade-in at the start of the video.
pub const FADE_IN_SECONDS: f64 = 1.0;
/// The music's fade-out at the end of the video.
pub const FADE_OUT_SECONDS: f64 = 2.0;
/// The duck starts this long before speech and lifts this long after it.
pub const DUCK_RAMP_SECONDS: f64 = 0.25;
/// Pauses in speech shorter than this stay ducked (a bed that swells between
/// two sentences pumps).
pub const DUCK_HOLD_SECONDS: f64 = 0.8;
/// The highest true peak of the finished audio, in dBTP.
pub const TRUE_PEAK_CEILING: f64 = -1.0;
/// The peak the limiter holds: below the ceiling, since inter-sample peaks
/// and the AAC encoder's reconstruction overshoot by a few tenths of a dB.
const TRUE_PEAK_AIM: f64 = -2.0;
/// A result further than this from the target is corrected once.
const TOLERANCE_LU: f64 = 0.5;
/// How close the limited float mix is brought to the target before the
/// encode (which moves it by a tenth or two), and in at most how many measures.
const PREDICTION_LU: f64 = 0.2;
const PREDICTION_PASSES: usize = 3;
/// Samples per frame of the bed's gain automation (5 ms at 48 kHz), so a duck
/// ramps in small steps.
const GAIN_FRAME_SAMPLES: u32 = 256;

/// A music bed: a local file, the demuxer it is opened with (forced, with
/// `-protocol_whitelist file`: never guessed), and its level (0-1).
#[derive(Debug, Clone, PartialEq)]
pub struct MusicBed {
    pub path: PathBuf,
    /// `wav`, `mp3`, `aac`, `ogg`, `flac`, `mov`, ... (see `intake::demuxer_for`).
    pub demuxer: &'static str,
    /// Linear gain of the bed before ducking, 0 to 1.
    pub volume: f64,
}

/// What the mix is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSpec {
    /// The whole narration as a WAV file, exactly `duration` long.
    pub narration: PathBuf,
    /// Length of the video in seconds.
    pub duration: f64,
    /// When a voice speaks, in seconds from the start (any order, may overlap).
    pub speech: Vec<(f64, f64)>,
    /// The bed, if any.
    pub music: Option<MusicBed>,
}

/// Sorts speech spans and joins those closer than `DUCK_HOLD_SECONDS`.
pub fn merge_spans(spans: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> =
        spans.iter().copied().filter(|(a, b)| a.is_finite() && b.is_finite() && b > a).collect();
    sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match merged.last_mut() {
            Some(last) if start - last.1 < DUCK_HOLD_SECONDS => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The bed's gain over time as an ffmpeg expression of `t`: 1 in the gaps,
/// `DUCK_DB` lower while a voice speaks, with ramps of `DUCK_RAMP_SECONDS`
/// before and after each span. Merged spans are at least
/// `DUCK_HOLD_SECONDS` apart, so the ramps never overlap.
pub fn duck_expression(spans: &[(f64, f64)]) -> String {
    let merged = merge_spans(spans);
    if merged.is_empty() {
        return "1".into();
    }
    let ducked = 10f64.powf(-DUCK_DB / 20.0);
    let r = DUCK_RAMP_SECONDS;
    let mut sum = String::new();
    for (i, (start, end)) in merged.iter().enumerate() {
        if i > 0 {
            sum.push('+');
        }
        let _ = write!(sum, "clip((t-{:.3})/{r},0,1)*clip(({:.3}-t)/{r},0,1)", start - r, end + r);
    }
    format!("1-{:.6}*min(1,{sum})", 1.0 - ducked)
}

/// The mix's filter graph (`[mix]` out: 48 kHz stereo float, measured by
/// `ebur128` on its way out).
pub fn mix_graph(spec: &MixSpec) -> MediaResult<String> {
    if !(spec.duration.is_finite() && spec.duration > 0.0) {
        return Err(MediaError::Invalid("the mix needs a length".into()));
    }
    let d = spec.duration;
    let format = format!("aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo");
    // The narration is mono: the same signal on both sides.
    let mut graph =
        format!("[0:a]aresample={SAMPLE_RATE},pan=stereo|c0=c0|c1=c0,{format},apad,atrim=end={d:.6},asetpts=N/SR/TB");
    let Some(music) = &spec.music else {
        let _ = write!(graph, ",{EBUR128}[mix]");
        return Ok(graph);
    };
    if !(music.volume.is_finite() && (0.0..=1.0).contains(&music.volume)) {
        return Err(MediaError::Invalid("the music's volume must be 0 to 1".into()));
    }
    let fade_in = FADE_IN_SECONDS.min(d / 2.0);
    let fade_out = FADE_OUT_SECONDS.min(d / 2.0);
    // One input, looped by the demuxer (`-stream_loop -1`) and cut at the
    // video's end: the bed runs on under every scene boundary.
    let _ = write!(
        graph,
        "[voice];[1:a:0]aresample={SAMPLE_RATE},{format},atrim=end={d:.6},asetpts=N/SR/TB,\
asetnsamples=n={GAIN_FRAME_SAMPLES}:p=0,volume={vol:.4},volume='{duck}':eval=frame,\
afade=t=in:st=0:d={fade_in:.3},afade=t=out:st={out:.6}:d={fade_out:.3}[bed];\
[voice][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0,{format},{EBUR128}[mix]",
        vol = music.volume,
        duck = duck_expression(&spec.speech),
        out = d - fade_out,
    );
    Ok(graph)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// ffmpeg arguments of the mix: the graph is read from `graph_file` (a long
/// narration has many spans), the result is 48 kHz stereo float WAV; its
/// loudness is in the stderr (`parse_ebur128`).
pub fn mix_args(spec: &MixSpec, graph_file: &Path, out: &Path) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-nostats", "-loglevel", "info", "-nostdin", "-y"]);
    args.extend(strings(&["-protocol_whitelist", "file", "-f", "wav", "-i"]));
    args.push(format!("file:{}", spec.narration.display()));
    if let Some(music) = &spec.music {
        args.extend(strings(&["-stream_loop", "-1", "-protocol_whitelist", "file", "-f", music.demuxer, "-i"]));
        args.push(format!("file:{}", music.path.display()));
    }
    args.extend(strings(&["-filter_complex_script"]));
    args.push(graph_file.display().to_string());
    args.extend(strings(&["-map", "[mix]", "-c:a", "pcm_f32le", "-f", "wav"]));
    args.push(out.display().to_string());
    args
}

/// How the finished audio was brought to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalisation {
    /// One gain for the whole file (its true peak allowed it).
    Linear,
    /// A gain and a look-ahead peak limiter (speech raised to -14 LUFS
    /// usually needs one: its peaks sit far above its average).
    Limited,
    /// The file is silent: nothing to normalise.
    Silent,
}

/// What is applied to the mix before the encode: a gain, and a peak limit
/// when the gain would push the peaks past the aim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gain {
    /// dB.
    pub gain_db: f64,
    /// The limiter's ceiling in dBFS (sample peak), if any.
    pub limit_db: Option<f64>,
}

impl Gain {
    const NONE: Gain = Gain { gain_db: 0.0, limit_db: None };

    /// The gain that takes `measured` to `target`, limited when the true
    /// peak would pass the aim.
    pub fn towards(target: f64, measured: &Loudness) -> Gain {
        if measured.is_silent() {
            return Gain::NONE;
        }
        let gain_db = target - measured.integrated;
        let limit_db = (measured.true_peak + gain_db > TRUE_PEAK_AIM).then_some(TRUE_PEAK_AIM);
        Gain { gain_db, limit_db }
    }

    /// The filter: gain, limiter (compensating its look-ahead, so the sound
    /// stays in sync), 48 kHz stereo float.
    pub fn filter(&self) -> String {
        let mut filter = String::new();
        if self.gain_db != 0.0 {
            let _ = write!(filter, "volume={:.2}dB,", self.gain_db);
        }
        if let Some(limit) = self.limit_db {
            let linear = 10f64.powf(limit / 20.0).clamp(0.0625, 1.0);
            let _ = write!(filter, "alimiter=limit={linear:.4}:attack=5:release=80:level=false:latency=1,");
        }
        filter.push_str(&format!("aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"));
        filter
    }

    /// The next gain after `measured` came out of this one, if it missed the
    /// target by more than `TOLERANCE_LU` or passed the true peak ceiling:
    /// a limited result is raised or lowered freely (the limiter holds the
    /// peaks; an overshoot lowers its ceiling by as much), a linear one only
    /// as far as the ceiling allows before it takes a limiter too.
    pub fn refine(&self, target: f64, measured: &Loudness) -> Option<Gain> {
        let over = measured.true_peak > TRUE_PEAK_CEILING;
        let off = (measured.integrated - target).abs() > TOLERANCE_LU;
        if !(over || off) || measured.is_silent() {
            return None;
        }
        let step = target - measured.integrated;
        let mut next = Gain { gain_db: self.gain_db + step, limit_db: self.limit_db };
        match self.limit_db {
            Some(limit) if over => next.limit_db = Some(limit - (measured.true_peak - TRUE_PEAK_CEILING) - 0.3),
            Some(_) => {}
            None if measured.true_peak + step > TRUE_PEAK_CEILING - 0.3 => next.limit_db = Some(TRUE_PEAK_AIM),
            None => {}
        }
        ((next.gain_db - self.gain_db).abs() >= 0.05 || next.limit_db != self.limit_db).then_some(next)
    }
}

/// The encode: the gain applied, AAC-LC at 48 kHz stereo, `BITRATE`, in an MP4 (M4A) file.
pub fn encode_args(input: &Path, filter: &str, out: &Path) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-nostats", "-loglevel", "info", "-nostdin", "-y"]);
    args.extend(strings(&["-protocol_whitelist", "file", "-f", "wav", "-i"]));
    args.push(format!("file:{}", input.display()));
    args.extend(strings(&[
        "-af",
        filter,
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        // The fast coder: half the time of the default on a minute of sound,
        // no audible loss at this rate.
        "-aac_coder",
        "fast",
        "-b:a",
        BITRATE,
        "-ar",
        &SAMPLE_RATE.to_string(),
        "-ac",
        "2",
        "-f",
        "mp4",
    ]));
    args.push(out.display().to_string());
    args
}

/// Loudness of a file as `ebur128` measures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loudness {
    /// Integrated loudness, LUFS.
    pub integrated: f64,
    /// True peak, dBTP (the highest of the channels).
    pub true_peak: f64,
}

impl Loudness {
    /// Too quiet to measure (digital silence or nearly; ebur128 reports
    /// -70 LUFS, its floor): normalising would only raise noise.
    pub fn is_silent(&self) -> bool {
        !(self.integrated.is_finite() && self.integrated > -70.0)
    }
}

/// The measuring filter: integrated loudness and true peak, the summary
/// alone printed (`metadata=1` moves the per-frame log to the verbose level).
const EBUR128: &str = "ebur128=peak=true:metadata=1";
/// Integrated loudness alone: half the cost (the true peak oversamples 4x).
const EBUR128_LOUDNESS: &str = "ebur128=metadata=1";

/// `ebur128` arguments for any file ffmpeg reads (`demuxer` forces the
/// container), measured after `filter` when given.
pub fn ebur128_args(input: &Path, demuxer: Option<&str>, filter: Option<&str>) -> Vec<String> {
    measure_with(input, demuxer, filter, EBUR128)
}

/// `ebur128_args` for the integrated loudness alone (the peak reads -inf).
pub fn loudness_args(input: &Path, demuxer: Option<&str>, filter: Option<&str>) -> Vec<String> {
    measure_with(input, demuxer, filter, EBUR128_LOUDNESS)
}

fn measure_with(input: &Path, demuxer: Option<&str>, filter: Option<&str>, measure: &str) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-nostats", "-loglevel", "info", "-nostdin"]);
    if let Some(demuxer) = demuxer {
        args.extend(strings(&["-protocol_whitelist", "file", "-f", demuxer]));
    }
    args.push("-i".into());
    args.push(format!("file:{}", input.display()));
    let chain = match filter {
        Some(filter) => format!("{filter},{measure}"),
        None => measure.to_string(),
    };
    args.extend(strings(&["-map", "0:a:0", "-af", &chain, "-f", "null", "-"]));
    args
}
/// The summary `ebur128` prints at the end.
pub fn parse_ebur128(stderr: &str) -> MediaResult<Loudness> {
    let summary = stderr
        .rfind("Summary:")
        .map(|at| &stderr[at..])
        .ok_or_else(|| MediaError::Invalid("ebur128 printed no summary".into()))?;
    let value_after = |label: &str| -> Option<f64> {
        let at = summary.find(label)? + label.len();
        summary[at..].split_whitespace().next()?.parse::<f64>().ok()
    };
    let integrated = value_after("I:").ok_or_else(|| MediaError::Invalid("no integrated loudness".into()))?;
    let true_peak = value_after("Peak:").unwrap_or(f64::NEG_INFINITY);
    Ok(Loudness { integrated, true_peak })
}

/// Measures a file's integrated loudness and true peak.
pub async fn measure(ffmpeg: &str, input: &Path, demuxer: Option<&str>, timeout: Duration) -> MediaResult<Loudness> {
    let done = process::run(ffmpeg, &ebur128_args(input, demuxer, None), timeout, None).await?;
    parse_ebur128(&done.stderr)
}

/// The gain to add to `point`'s to reach `target`, from the slope between
/// two (gain, loudness) points (kept between a fifth and one: a limiter never
/// makes loudness grow faster than the gain, and a slope near zero would ask
/// for an absurd gain).
pub fn secant_step(last: (f64, f64), point: (f64, f64), target: f64) -> f64 {
    let run = point.0 - last.0;
    let slope = if run.abs() < 1e-6 { 1.0 } else { ((point.1 - last.1) / run).clamp(0.2, 1.0) };
    (target - point.1) / slope
}

/// The finished audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Mastered {
    /// AAC-LC in MP4, ready to mux by stream copy.
    pub path: PathBuf,
    /// Measured on the encoded file.
    pub loudness: Loudness,
    pub normalisation: Normalisation,
    /// What was applied to the mix.
    pub gain: Gain,
}

/// Mixes, normalises to `target` LUFS and encodes the finished audio in `work`.
pub async fn master(
    ffmpeg: &str,
    spec: &MixSpec,
    target: f64,
    work: &Path,
    timeout: Duration,
) -> MediaResult<Mastered> {
    let graph_file = work.join("mix.graph");
    std::fs::write(&graph_file, mix_graph(spec)?).map_err(|e| MediaError::io("writing the mix graph", e))?;
    let mixed = work.join("mix.wav");
    // The mix is measured as it is made.
    let done = process::run(ffmpeg, &mix_args(spec, &graph_file, &mixed), timeout, None).await?;
    let before = parse_ebur128(&done.stderr)?;
    let mut gain = Gain::towards(target, &before);
    // A limiter takes some loudness off with the peaks, more the harder it
    // works: measured on the float mix (a quarter of an encode's cost) and
    // made up before the encode, until within `PREDICTION_LU`.
    // The loudness out of the limiter grows more slowly than its gain, so
    // each next gain comes from the slope of the last two (the secant; the
    // first point is the mix itself, where the limiter has nothing to do).
    if gain.limit_db.is_some() {
        let mut last = (0.0, before.integrated);
        for _ in 0..PREDICTION_PASSES {
            // The limiter holds the peaks: only the loudness is measured.
            let args = loudness_args(&mixed, Some("wav"), Some(&gain.filter()));
            let limited = parse_ebur128(&process::run(ffmpeg, &args, timeout, None).await?.stderr)?;
            if (limited.integrated - target).abs() <= PREDICTION_LU {
                break;
            }
            let point = (gain.gain_db, limited.integrated);
            gain.gain_db += secant_step(last, point, target);
            last = point;
        }
    }
    let out = work.join("audio.m4a");
    let encode = |gain: Gain| {
        let args = encode_args(&mixed, &gain.filter(), &out);
        async move { process::run(ffmpeg, &args, timeout, None).await }
    };
    encode(gain).await?;
    // Checked on the encoded file (the encoder moves the true peak a little);
    // one more encode when it missed.
    let mut loudness = measure(ffmpeg, &out, Some("mov"), timeout).await?;
    if let Some(next) = gain.refine(target, &loudness) {
        encode(next).await?;
        loudness = measure(ffmpeg, &out, Some("mov"), timeout).await?;
        gain = next;
    }
    let _ = std::fs::remove_file(&mixed);
    let normalisation = match gain.limit_db {
        _ if before.is_silent() => Normalisation::Silent,
        Some(_) => Normalisation::Limited,
        None => Normalisation::Linear,
    };
    Ok(Mastered { path: out, loudness, normalisation, gain })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAU_F32: f32 = std::f32::consts::TAU;

    #[test]
    fn spans_merge_across_short_pauses() {
        let merged = merge_spans(&[(5.0, 6.0), (0.5, 2.0), (2.18, 3.0), (f64::NAN, 1.0), (9.0, 8.0)]);
        assert_eq!(merged, vec![(0.5, 3.0), (5.0, 6.0)]);
        assert!(merge_spans(&[]).is_empty());
    }

    #[test]
    fn the_duck_is_twelve_db_while_speaking_and_none_in_gaps() {
        let expr = duck_expression(&[(1.0, 2.0), (4.0, 5.0)]);
        assert!(expr.starts_with("1-0.748811*min(1,"), "{expr}");
        assert!(expr.contains("clip((t-0.750)/0.25,0,1)*clip((2.250-t)/0.25,0,1)"), "{expr}");
        assert!(expr.contains("+clip((t-3.750)/0.25,0,1)*clip((5.250-t)/0.25,0,1)"), "{expr}");
        assert_eq!(duck_expression(&[]), "1");
    }

    fn spec(music: Option<MusicBed>) -> MixSpec {
        MixSpec { narration: "n.wav".into(), duration: 30.0, speech: vec![(1.0, 4.0), (10.0, 12.0)], music }
    }

    #[test]
    fn the_bed_is_one_looped_input_under_the_whole_video() {
        let bed = MusicBed { path: "bed.mp3".into(), demuxer: "mp3", volume: 0.3 };
        let graph = mix_graph(&spec(Some(bed.clone()))).expect("graph");
        // One music input, cut at the video's end, never split or restarted per scene.
        assert_eq!(graph.matches("[1:a:0]").count(), 1);
        assert!(!graph.contains("concat") && !graph.contains("asplit"));
        assert!(graph.contains("atrim=end=30.000000,asetpts=N/SR/TB"));
        assert!(graph.contains("volume=0.3000,volume='1-0.748811*min(1,"));
        assert!(graph.contains("afade=t=in:st=0:d=1.000,afade=t=out:st=28.000000:d=2.000[bed]"));
        assert!(graph.contains("amix=inputs=2:duration=first:dropout_transition=0:normalize=0"));
        let args = mix_args(&spec(Some(bed)), Path::new("g"), Path::new("out.wav"));
        let joined = args.join(" ");
        assert!(joined.contains("-stream_loop -1 -protocol_whitelist file -f mp3 -i file:bed.mp3"), "{joined}");
        assert!(joined.contains("-protocol_whitelist file -f wav -i file:n.wav"));
        assert_eq!(args.iter().filter(|a| *a == "-i").count(), 2);
        assert_eq!(args.iter().filter(|a| *a == "-stream_loop").count(), 1);
    }

    #[test]
    fn without_music_the_narration_is_made_stereo_at_48_khz() {
        let graph = mix_graph(&spec(None)).expect("graph");
        assert!(graph.starts_with("[0:a]aresample=48000,pan=stereo|c0=c0|c1=c0,"));
        assert!(graph.ends_with(",ebur128=peak=true:metadata=1[mix]") && !graph.contains("[1:a"));
        let bad = MusicBed { path: "b".into(), demuxer: "wav", volume: 1.5 };
        assert!(mix_graph(&spec(Some(bad))).is_err());
        assert!(mix_graph(&MixSpec { duration: 0.0, ..spec(None) }).is_err());
    }

    #[test]
    fn ebur128_output_is_read() {
        let summary = "[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -13.7 LUFS\n    Threshold: -23.9 LUFS\n\n  True peak:\n    Peak:       -1.2 dBFS\n";
        let loudness = parse_ebur128(summary).expect("parsed");
        assert_eq!(loudness, Loudness { integrated: -13.7, true_peak: -1.2 });
        assert!(!loudness.is_silent());
        let silence = "Summary:\n  I:         -70.0 LUFS\n  Peak:       -inf dBFS\n";
        assert!(parse_ebur128(silence).expect("parsed").is_silent());
        assert!(parse_ebur128("no").is_err());
        let args = ebur128_args(Path::new("m.wav"), Some("wav"), Some("volume=2.00dB")).join(" ");
        assert!(
            args.contains("-f wav -i file:m.wav -map 0:a:0 -af volume=2.00dB,ebur128=peak=true:metadata=1"),
            "{args}"
        );
        let args = loudness_args(Path::new("m.wav"), None, None).join(" ");
        assert!(args.ends_with("-i file:m.wav -map 0:a:0 -af ebur128=metadata=1 -f null -"), "{args}");
    }

    #[test]
    fn the_gain_is_linear_when_the_peaks_allow_else_limited() {
        let at = |integrated, true_peak| Loudness { integrated, true_peak };
        // 4 dB up leaves the peak at -3 dBTP: one gain.
        let linear = Gain::towards(-14.0, &at(-18.0, -7.0));
        assert_eq!(linear, Gain { gain_db: 4.0, limit_db: None });
        assert_eq!(linear.filter(), "volume=4.00dB,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo");
        // 6 dB up would put the peak at +4 dBTP: limited at the aim.
        let limited = Gain::towards(-14.0, &at(-20.0, -2.0));
        assert_eq!(limited, Gain { gain_db: 6.0, limit_db: Some(TRUE_PEAK_AIM) });
        assert!(
            limited.filter().contains("volume=6.00dB,alimiter=limit=0.7943:attack=5:release=80:level=false:latency=1,")
        );
        // Silence is left alone.
        assert_eq!(Gain::towards(-14.0, &at(-70.0, f64::NEG_INFINITY)), Gain::NONE);
        assert_eq!(Gain::NONE.filter(), "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo");
    }

    #[test]
    fn the_limiters_loss_is_made_up_along_the_secant() {
        // 6 dB of gain raised the loudness by 3 only: the slope is a half, so
        // the missing 3 LU takes 6 dB more.
        assert!((secant_step((0.0, -20.0), (6.0, -17.0), -14.0) - 6.0).abs() < 1e-9);
        // A slope over one (noise) counts as one; a flat one as a fifth.
        assert!((secant_step((0.0, -20.0), (2.0, -16.0), -14.0) - 2.0).abs() < 1e-9);
        assert!((secant_step((4.0, -15.0), (5.0, -15.0), -14.0) - 5.0).abs() < 1e-9);
        assert!((secant_step((5.0, -15.0), (5.0, -15.0), -14.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn refinements_aim_at_the_target_under_the_ceiling() {
        let at = |integrated, true_peak| Loudness { integrated, true_peak };
        let linear = Gain { gain_db: 2.0, limit_db: None };
        assert_eq!(linear.refine(-14.0, &at(-14.2, -1.5)), None);
        // Quiet with room under the ceiling: raised.
        assert_eq!(linear.refine(-14.0, &at(-15.5, -3.0)), Some(Gain { gain_db: 3.5, limit_db: None }));
        // Quiet without room: raised and limited.
        assert_eq!(linear.refine(-14.0, &at(-15.5, -1.8)), Some(Gain { gain_db: 3.5, limit_db: Some(TRUE_PEAK_AIM) }));
        // A limiter lost loudness: made up, the limit kept.
        let limited = Gain { gain_db: 6.0, limit_db: Some(-2.0) };
        let made_up = limited.refine(-14.0, &at(-14.75, -1.9)).expect("raised");
        assert_eq!((made_up.gain_db, made_up.limit_db), (6.75, Some(-2.0)));
        // Over the ceiling on target: the limit comes down by the overshoot and a margin.
        let lowered = limited.refine(-14.0, &at(-14.0, -0.6)).expect("lowered");
        assert!((lowered.gain_db - 6.0).abs() < 1e-9);
        assert!((lowered.limit_db.expect("limited") + 2.7).abs() < 1e-9, "{lowered:?}");
        assert_eq!(limited.refine(-14.0, &at(-70.0, -99.0)), None);
    }

    /// Narration with a gap: `speech` seconds of espeak-ng, silence, the
    /// same again, padded to `total`; the spans where it speaks.
    fn narration_with_a_gap(dir: &Path, gap: f64, total: f64) -> (PathBuf, Vec<(f64, f64)>) {
        let text = "Every morning the harbour wakes before the town does, and the boats go out in a long line.";
        let out = std::process::Command::new("espeak-ng")
            .args(["-v", "en", "-s", "165", "--stdout", text])
            .output()
            .expect("espeak-ng runs");
        let speech = crate::wav::Pcm::parse(&out.stdout).expect("a WAV");
        let length = speech.duration_seconds();
        let mut narration = speech.clone();
        narration.append(&crate::wav::Pcm::silence(speech.sample_rate, 1, gap)).expect("same format");
        narration.append(&speech).expect("same format");
        narration.fit_to(total);
        let path = dir.join("narration.wav");
        narration.write(&path).expect("written");
        (path, vec![(0.0, length), (length + gap, 2.0 * length + gap)])
    }

    fn bed(dir: &Path, volume: f64) -> MusicBed {
        let path = dir.join("bed.wav");
        crate::music::synthesise("calm-pad").expect("a bed").write(&path).expect("written");
        MusicBed { path, demuxer: "wav", volume }
    }

    fn master_now(spec: &MixSpec, target: f64, work: &Path) -> Mastered {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(master("ffmpeg", spec, target, work, Duration::from_secs(120))).expect("mastered")
    }

    /// (codec, profile, sample rate, channels, bit rate) of the first audio stream.
    fn audio_format(path: &Path) -> (String, String, u64, u64, u64) {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
            .args(["stream=codec_name,profile,sample_rate,channels,bit_rate", "-of", "json"])
            .arg(path)
            .output()
            .expect("ffprobe runs");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let s = &json["streams"][0];
        let number = |k: &str| s[k].as_str().and_then(|v| v.parse().ok()).or(s[k].as_u64()).unwrap_or(0);
        let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
        (text("codec_name"), text("profile"), number("sample_rate"), number("channels"), number("bit_rate"))
    }

    #[test]
    fn the_finished_audio_meets_the_target_with_and_without_music() {
        let dir = tempfile::tempdir().expect("dir");
        let (narration, speech) = narration_with_a_gap(dir.path(), 1.0, 14.0);
        for (music, target) in [(None, -14.0), (Some(bed(dir.path(), 0.3)), -14.0), (Some(bed(dir.path(), 0.3)), -23.0)]
        {
            let spec = MixSpec { narration: narration.clone(), duration: 14.0, speech: speech.clone(), music };
            let done = master_now(&spec, target, dir.path());
            // Measured again here, independently of what `master` reports.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let measured =
                runtime.block_on(measure("ffmpeg", &done.path, None, Duration::from_secs(60))).expect("measured");
            assert!((measured.integrated - target).abs() <= 1.0, "{measured:?} for {target} ({done:?})");
            assert!(measured.true_peak <= TRUE_PEAK_CEILING, "{measured:?}");
            let (codec, profile, rate, channels, bitrate) = audio_format(&done.path);
            assert_eq!((codec.as_str(), profile.as_str(), rate, channels), ("aac", "LC", 48_000, 2));
            assert!(bitrate >= 128_000, "{bitrate} b/s");
        }
    }

    /// Short-term loudness (LUFS) every 100 ms of a file, by `ebur128`.
    fn short_term(path: &Path, dir: &Path) -> Vec<(f64, f64)> {
        let log = dir.join("short-term.txt");
        let status = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
            .arg(path)
            .arg("-af")
            .arg(format!("ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.S:file={}", log.display()))
            .args(["-f", "null", "-"])
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        let text = std::fs::read_to_string(&log).expect("log");
        let mut at = 0.0;
        let mut series = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.split("pts_time:").nth(1) {
                at = rest.trim().parse().unwrap_or(at);
            } else if let Some(value) = line.strip_prefix("lavfi.r128.S=") {
                series.push((at, value.trim().parse().unwrap_or(f64::NEG_INFINITY)));
            }
        }
        series
    }

    #[test]
    fn the_bed_ducks_twelve_db_under_the_voice() {
        let dir = tempfile::tempdir().expect("dir");
        // About 5 s of speech, 6 s of gap, 5 s of speech, 2 s more.
        let (narration, speech) = narration_with_a_gap(dir.path(), 6.0, 20.0);
        let (first, second) = (speech[0], speech[1]);
        assert!(first.1 > 4.0, "the sentence is long enough for a 3 s window: {first:?}");
        // The music's contribution: the same mix with the voice silenced.
        let silent = dir.path().join("silent.wav");
        crate::wav::Pcm::silence(22_050, 1, 20.0).write(&silent).expect("written");
        let graph = dir.path().join("graph");
        let bed_only = dir.path().join("bed-only.wav");
        let spec =
            MixSpec { narration: silent, duration: 20.0, speech: speech.clone(), music: Some(bed(dir.path(), 0.3)) };
        std::fs::write(&graph, mix_graph(&spec).expect("graph")).expect("written");
        let status = std::process::Command::new("ffmpeg")
            .args(mix_args(&spec, &graph, &bed_only))
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        let series = short_term(&bed_only, dir.path());
        // Short-term loudness is over the last 3 s: while the voice speaks
        // (a window inside the first sentence, after the fade-in) and in the
        // gap (a window that starts after the release).
        let at = |t: f64| series.iter().find(|(s, _)| (*s - t).abs() < 0.051).map(|(_, v)| *v).expect("measured");
        let speaking = at(first.1 - 0.1);
        let gap = at(second.0 - 0.2);
        assert!(first.1 - 0.1 - 3.0 >= FADE_IN_SECONDS, "the speaking window is past the fade-in");
        assert!(second.0 - 0.2 - 3.0 >= first.1 + DUCK_RAMP_SECONDS, "the gap window is past the release");
        assert!(gap - speaking >= 8.0, "ducked by {:.1} dB only ({speaking:.1} vs {gap:.1} LUFS)", gap - speaking);
        assert!(gap - speaking <= 13.0, "ducked by {:.1} dB", gap - speaking);

        // The whole mix: the same bed under the real voice, normalised.
        let spec = MixSpec { narration, speech, ..spec };
        let done = master_now(&spec, -14.0, dir.path());
        assert!((done.loudness.integrated + 14.0).abs() <= 1.0, "{done:?}");
    }

    #[test]
    fn a_bed_runs_on_across_scene_boundaries() {
        // A steady 440 Hz tone as the bed, a video of many scenes: the mix's
        // bed is one continuous tone, so the sample-to-sample step never
        // jumps (a restart would start the sine again mid-cycle).
        let dir = tempfile::tempdir().expect("dir");
        let tone = dir.path().join("tone.wav");
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000:duration=2.5",
            ])
            .arg(&tone)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        let silent = dir.path().join("silent.wav");
        crate::wav::Pcm::silence(22_050, 1, 8.0).write(&silent).expect("written");
        let spec = MixSpec {
            narration: silent,
            duration: 8.0,
            speech: Vec::new(),
            music: Some(MusicBed { path: tone, demuxer: "wav", volume: 1.0 }),
        };
        let graph = dir.path().join("graph");
        std::fs::write(&graph, mix_graph(&spec).expect("graph")).expect("written");
        let out = dir.path().join("out.wav");
        let status = std::process::Command::new("ffmpeg").args(mix_args(&spec, &graph, &out)).status().expect("ffmpeg");
        assert!(status.success());
        let bytes = std::fs::read(&out).expect("read");
        let data = bytes.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
        let left: Vec<f32> = bytes[data..]
            .chunks_exact(8)
            .map(|frame| f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]))
            .collect();
        assert_eq!(left.len(), 8 * 48_000);
        // The tone (amplitude 1/8, 1100 whole cycles in its 2.5 s, so its
        // own loop is seamless) is whole from start to end: no step between
        // two samples is larger than the sine's steepest, where a bed
        // restarted at a scene would jump.
        let steepest = 0.125 * TAU_F32 * 440.0 / 48_000.0 * 1.1;
        let largest = left.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
        assert!(largest <= steepest, "a jump of {largest} (a whole tone steps at most {steepest})");
        assert!(left[4 * 48_000..4 * 48_000 + 200].iter().any(|v| v.abs() > 0.05), "the tone sounds");
    }
}
