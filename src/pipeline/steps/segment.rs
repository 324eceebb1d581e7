//! The segment step: one scene's video (no sound), its picture moving under a
//! crop window, crossfading into the next scene at its end, with captions
//! and the watermark over it. Its length comes from the measured speech.

use std::time::Duration;

use reelforge_media::overlay::{self, CaptionStyle, OverlaySpec};
use reelforge_media::render::{self, SegmentSpec, Visual};

use super::{Done, ImageOutput, SegmentOutput, StepContext, StepError, StepOutput, blocking, content_key};
use crate::projects::templates::{SubtitleStyle, TemplateLogo};

/// Seconds of picture after the last word of a scene.
const SCENE_TAIL_SECONDS: f64 = 0.4;
/// Shortest scene.
const MIN_SCENE_SECONDS: f64 = 2.0;

/// Frames a scene with `speech_seconds` of narration lasts.
pub fn scene_frames(speech_seconds: f64, fps: u32) -> u32 {
    let seconds = (speech_seconds + SCENE_TAIL_SECONDS).max(MIN_SCENE_SECONDS);
    (seconds * f64::from(fps)).ceil() as u32
}

/// Encoder and decoder threads of a segment. Two segments sharing two cores
/// run best single-threaded (frame threads cost CPU to keep in step), but
/// the project's last segment usually runs alone: the queue claims it last,
/// after the sound, and the final step waits for it. Single-threaded, it left
/// a core idle for its whole length; with two threads `bench/stock.sh`
/// renders 0.7 s (espeak-ng) to 1.4 s (Piper) sooner, of 17-19 s.
pub fn segment_threads(workers: usize, last: bool) -> u32 {
    if workers > 1 && !last { 1 } else { 2 }
}

/// Whether captions are burned over a scene showing `image`: as the template
/// says, except over title cards when it keeps cards caption-free.
pub fn burns_captions(subtitles: &SubtitleStyle, image: &ImageOutput) -> bool {
    subtitles.burn_in && (subtitles.on_cards || !image.card)
}

impl StepContext<'_> {
    pub(super) async fn segment(&self) -> Result<Done, StepError> {
        let outputs = self.outputs().await?;
        let index = self.scene();
        let (width, height, fps) = self.frame_size();
        let image = outputs.image(index)?;
        let speech = outputs.speech(index)?;
        // The next scene's inputs are required whenever there is a next scene:
        // a missing output means "not ready", never "last scene".
        let has_next = index + 1 < self.scene_count().await?;
        let next_image = if has_next { Some(outputs.image(index + 1)?) } else { None };
        let next_speech = if has_next { Some(outputs.speech(index + 1)?) } else { None };

        let frames = scene_frames(speech.duration, fps);
        let next_frames = next_speech.as_ref().map(|s| scene_frames(s.duration, fps));
        let wanted = (self.template.transition_seconds * f64::from(fps)).round() as u32;
        let transition = |a: u32, b: u32| wanted.min(a / 2).min(b / 2);
        let incoming = if index > 0 {
            let previous = outputs.speech(index - 1)?;
            transition(scene_frames(previous.duration, fps), frames)
        } else {
            0
        };
        let outgoing = next_frames.map(|n| transition(frames, n)).unwrap_or(0);
        let motion = self.template.motion_for(index as usize);
        let next_motion = self.template.motion_for(index as usize + 1);
        let burn = burns_captions(&self.template.subtitles, image);
        let watermark = self.project.watermark != 0;
        let style = crate::projects::types::caption_style(
            &self.project.template_id,
            self.project.template.as_deref(),
            self.project.caption_style.as_deref(),
        );
        // Word-by-word styles read the words' times.
        let words = if burn && style != CaptionStyle::Line { speech.words.clone() } else { Vec::new() };
        let words_text = words.iter().map(|w| format!("{}@{:.3}-{:.3}", w.text, w.start, w.end)).collect::<Vec<_>>();
        // A paid tenant's logo: the template's own (kept with the project), or
        // the tenant's brand logo as the brand is when the segment is made.
        let logo = match (&self.template.logo, watermark) {
            (_, true) | (Some(TemplateLogo::None), false) => None,
            (Some(TemplateLogo::Image { key, hash, corner, opacity }), false) => {
                Some((key.clone(), hash.clone(), *corner, *opacity))
            }
            (None, false) => {
                let brand = crate::brand::get(&self.state.db, &self.project.tenant_id).await?;
                match (brand.logo_key, brand.logo_hash) {
                    (Some(key), hash) => Some((key, hash.unwrap_or_default(), brand.corner, brand.opacity)),
                    (None, _) => None,
                }
            }
        };
        let logo_text = logo
            .as_ref()
            .map(|(_, hash, corner, opacity)| format!("{hash}:{}:{opacity:.3}", corner.as_str()))
            .unwrap_or_default();
        let caption_font = if burn { self.template.caption_font.clone() } else { None };

        let cues_text = serde_json::to_string(&speech.cues).unwrap_or_default();
        let frame_text = format!("{width}x{height}@{fps}:{frames}:{incoming}:{outgoing}:{:?}", next_frames);
        let motion_text =
            format!("{motion:?}:{next_motion:?}:{burn}:{watermark}:{}", self.template.subtitles.font_scale);
        let words_joined = words_text.join(" ");
        let mut parts = vec![
            "segment:v4",
            &image.key,
            next_image.as_ref().map(|i| i.key.as_str()).unwrap_or("-"),
            &frame_text,
            &motion_text,
            if burn { &cues_text } else { "" },
            if burn { style.as_str() } else { "" },
            &words_joined,
            &logo_text,
        ];
        // Only a brand font adds a part: the keys of earlier segments stay.
        if let Some(font) = &caption_font {
            parts.push(font);
        }
        let hash = content_key(&parts);
        let key = format!("{}segments/{hash}.mp4", self.prefix);
        let done = Done::new(hash, StepOutput::Segment(SegmentOutput { key: key.clone(), frames }));
        if self.state.storage.size(&key).await?.is_some() {
            return Ok(done);
        }

        // A clip plays from the frame after those the previous segment's
        // crossfade showed; the next scene's clip fades in from its start.
        let scene = self.visual(image, "scene", motion, frames + incoming, incoming).await?;
        let next = match (&next_image, next_frames, outgoing > 0) {
            (Some(next_image), Some(next_frames), true) => {
                Some(self.visual(next_image, "next", next_motion, next_frames + outgoing, 0).await?)
            }
            _ => None,
        };
        let logo_path = match logo.as_ref() {
            Some((key, ..)) => Some(self.local(key, "brand-logo.png").await?),
            None => None,
        };
        let placement = logo.as_ref().map(|(_, _, corner, opacity)| (*corner, *opacity as f32));
        let fonts = if caption_font.is_some() { self.brand_fonts().await? } else { Vec::new() };
        let (work, cues) = (self.work.to_path_buf(), speech.cues.clone());
        let font_scale = self.template.subtitles.font_scale;
        let overlays = blocking("drawing captions", move || {
            super::register_fonts(&fonts)?;
            let spec = OverlaySpec {
                width,
                height,
                font_scale,
                cues: &cues,
                captions: burn,
                style,
                words: &words,
                watermark,
                logo: logo_path.as_deref().zip(placement).map(|(image, (corner, opacity))| overlay::LogoSpec {
                    image,
                    corner,
                    opacity,
                }),
                font: caption_font.as_deref(),
            };
            overlay::draw(&work, &spec)
        })
        .await?;
        let spec = SegmentSpec {
            width,
            height,
            fps,
            frames,
            scene,
            next,
            transition_frames: outgoing,
            overlays,
            threads: segment_threads(self.config().queue.worker_concurrency, !has_next),
        };
        let out = self.work.join("segment.mp4");
        let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
        render::render_segment(&self.config().media.ffmpeg_path, &spec, &out, timeout).await?;
        self.state.storage.put_file(&key, &out).await?;
        Ok(done)
    }

    /// What a scene's image step made, as the segment shows it: its clip
    /// (no motion) or its picture under the template's motion, starting
    /// `first` frames in.
    async fn visual(
        &self,
        image: &ImageOutput,
        name: &str,
        motion: reelforge_media::render::Motion,
        motion_frames: u32,
        first: u32,
    ) -> Result<Visual, StepError> {
        Ok(match &image.clip {
            Some(clip) => Visual::Clip {
                path: self.local(&clip.key, &format!("{name}-clip")).await?,
                demuxer: clip.demuxer,
                first_frame: first,
            },
            None => Visual::Still {
                image: self.local(&image.key, &format!("{name}.png")).await?,
                motion,
                motion_frames,
                first_motion_frame: first,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_segment_takes_two_threads_when_segments_share_the_cores() {
        assert_eq!(segment_threads(2, false), 1);
        assert_eq!(segment_threads(2, true), 2);
        assert_eq!(segment_threads(1, false), 2, "a lone worker has the machine to itself");
        assert_eq!(segment_threads(1, true), 2);
    }

    #[test]
    fn a_template_can_keep_title_cards_free_of_captions() {
        let style = |on_cards| SubtitleStyle { burn_in: true, font_scale: 0.04, on_cards, style: Default::default() };
        let card = ImageOutput::card("c.png".into());
        let picture = ImageOutput::picture("p.png".into());
        assert!(burns_captions(&style(true), &card));
        assert!(!burns_captions(&style(false), &card));
        assert!(burns_captions(&style(false), &picture));
        assert!(!burns_captions(&SubtitleStyle { burn_in: false, ..style(true) }, &picture));
        let square = crate::projects::templates::find("square").expect("square");
        assert!(!square.subtitles.on_cards, "the square template keeps its cards caption-free");
    }
}
