//! The final step: joins the segments by stream copy under the finished
//! sound (the audio step's, also copied), and writes the captions (WebVTT,
//! SRT, sentence by sentence from each narration's cues, offset by the
//! scenes before) and a thumbnail.

use std::time::Duration;

use bytes::Bytes;
use reelforge_media::render;
use reelforge_media::subtitles::{self, Cue};

use super::{Done, FinalOutput, StepContext, StepError, StepOutput, content_key};
use crate::pipeline::queue::ProjectOutputs;

impl StepContext<'_> {
    pub(super) async fn finish(&self) -> Result<Done, StepError> {
        let outputs = self.outputs().await?;
        let (width, _, fps) = self.frame_size();
        let scenes = self.scene_count().await?;
        let mut segments = Vec::new();
        let mut speeches = Vec::new();
        for index in 0..scenes {
            segments.push(outputs.segment(index)?);
            speeches.push(outputs.speech(index)?);
        }
        let sound = outputs.audio()?;
        let mut parts: Vec<&str> = vec!["final:v3", &sound.key];
        parts.extend(segments.iter().map(|s| s.key.as_str()));
        parts.extend(speeches.iter().map(|s| s.key.as_str()));
        let hash = content_key(&parts);
        let base = format!("{}output/{hash}/", self.prefix);
        let keys = ProjectOutputs {
            video_key: format!("{base}video.mp4"),
            thumbnail_key: format!("{base}thumbnail.jpg"),
            captions_key: format!("{base}captions.vtt"),
            srt_key: format!("{base}captions.srt"),
            duration_ms: 0,
            bytes_stored: 0,
        };
        let total_frames: u32 = segments.iter().map(|s| s.frames).sum();
        let duration_ms = (f64::from(total_frames) * 1000.0 / f64::from(fps)).round() as i64;

        let all_exist = {
            let storage = &self.state.storage;
            storage.size(&keys.video_key).await?.is_some()
                && storage.size(&keys.thumbnail_key).await?.is_some()
                && storage.size(&keys.captions_key).await?.is_some()
                && storage.size(&keys.srt_key).await?.is_some()
        };
        if !all_exist {
            let mut cues = Vec::new();
            let mut offset = 0.0;
            for (speech, segment) in speeches.iter().zip(&segments) {
                cues.extend(speech.cues.iter().map(|c| Cue {
                    start: c.start + offset,
                    end: c.end + offset,
                    text: c.text.clone(),
                }));
                offset += f64::from(segment.frames) / f64::from(fps);
            }
            let mut segment_paths = Vec::new();
            for (index, segment) in segments.iter().enumerate() {
                segment_paths.push(self.local(&segment.key, &format!("segment-{index}.mp4")).await?);
            }
            let audio = self.local(&sound.key, "audio.m4a").await?;
            let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
            let ffmpeg = &self.config().media.ffmpeg_path;
            let video = self.work.join("video.mp4");
            // The thumbnail is a frame of the first scene (at most 1.5 s in;
            // a scene lasts at least 2 s), taken from its segment while the
            // segments are joined.
            let thumb = self.work.join("thumbnail.jpg");
            let at = (duration_ms as f64 / 1000.0 / 3.0).min(1.5);
            let first = segment_paths.first().ok_or_else(|| StepError::fatal("the project has no scenes"))?;
            tokio::try_join!(
                render::join(ffmpeg, &segment_paths, &audio, &video, self.work, timeout),
                render::thumbnail(ffmpeg, first, at, width.min(640), &thumb, timeout),
            )?;
            let storage = &self.state.storage;
            // The video goes last: its presence means the set is complete.
            storage.put_bytes(&keys.captions_key, Bytes::from(subtitles::to_vtt(&cues))).await?;
            storage.put_bytes(&keys.srt_key, Bytes::from(subtitles::to_srt(&cues))).await?;
            storage.put_file(&keys.thumbnail_key, &thumb).await?;
            storage.put_file(&keys.video_key, &video).await?;
        }
        let bytes_stored = self.state.storage.prefix_size(self.prefix).await? as i64;
        let output = StepOutput::Final(FinalOutput { video_key: keys.video_key.clone(), duration_ms });
        Ok(Done {
            project_outputs: Some(ProjectOutputs { duration_ms, bytes_stored, ..keys }),
            ..Done::new(hash, output)
        })
    }
}
