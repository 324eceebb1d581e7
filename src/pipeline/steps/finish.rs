//! The final step: joins the segments by stream copy under the finished
//! audio, and writes the captions (WebVTT, SRT) and a thumbnail. The audio is
//! made first, on its own (`reelforge_media::mix::master`): the whole
//! narration (each scene's speech padded to its segment, so picture and sound
//! cannot drift) at 48 kHz stereo, normalised to `LOUDNESS_TARGET_LUFS` with
//! the true peak at most -1 dBTP, as AAC-LC; the join then copies both streams.

use std::time::Duration;

use bytes::Bytes;
use reelforge_media::intake;
use reelforge_media::mix::{self, MixSpec, MusicBed};
use reelforge_media::render;
use reelforge_media::subtitles::{self, Cue};
use reelforge_media::tts;
use reelforge_media::wav::Pcm;

use super::{Done, FinalOutput, StepContext, StepError, StepOutput, content_key};
use crate::library::types::MediaKind;
use crate::pipeline::queue::ProjectOutputs;
use crate::projects::music::{self, Music, MusicSource};

/// A project's music, found: the stored file it plays and how.
struct MusicFile {
    key: String,
    demuxer: &'static str,
    volume: f64,
}

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
        let loudness = format!("{:.1}", self.config().media.loudness_target_lufs);
        let music = self.music().await?;
        let music_part = music.as_ref().map(|m| format!("{}@{:.4}", m.key, m.volume)).unwrap_or_default();
        let mut parts: Vec<&str> = vec!["final:v2", &loudness, &music_part];
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
            // Narration: each scene's speech padded to exactly its segment.
            let mut narration = Pcm { sample_rate: tts::SAMPLE_RATE, channels: 1, samples: Vec::new() };
            let mut cues = Vec::new();
            let mut spoken = Vec::new();
            let mut offset = 0.0;
            for (index, (speech, segment)) in speeches.iter().zip(&segments).enumerate() {
                let path = self.local(&speech.key, &format!("speech-{index}.wav")).await?;
                let mut pcm = Pcm::read(&path)?;
                let seconds = f64::from(segment.frames) / f64::from(fps);
                pcm.fit_to(seconds);
                narration.append(&pcm)?;
                spoken.extend(speech.cues.iter().map(|c| (c.start + offset, (c.end + offset).min(offset + seconds))));
                cues.extend(speech.cues.iter().map(|c| Cue {
                    start: c.start + offset,
                    end: c.end + offset,
                    text: c.text.clone(),
                }));
                offset += seconds;
            }
            let narration_path = self.work.join("narration.wav");
            narration.write(&narration_path)?;
            let mut segment_paths = Vec::new();
            for (index, segment) in segments.iter().enumerate() {
                segment_paths.push(self.local(&segment.key, &format!("segment-{index}.mp4")).await?);
            }
            let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
            let ffmpeg = &self.config().media.ffmpeg_path;
            let video = self.work.join("video.mp4");
            // The thumbnail is a frame of the first scene (at most 1.5 s in;
            // a scene lasts at least 2 s), taken from its segment while the
            // segments are joined.
            let thumb = self.work.join("thumbnail.jpg");
            let at = (duration_ms as f64 / 1000.0 / 3.0).min(1.5);
            let first = segment_paths.first().ok_or_else(|| StepError::fatal("the project has no scenes"))?;
            let bed = match &music {
                Some(file) => Some(MusicBed {
                    path: self.local(&file.key, "music").await?,
                    demuxer: file.demuxer,
                    volume: file.volume,
                }),
                None => None,
            };
            let spec = MixSpec {
                narration: narration_path,
                duration: f64::from(total_frames) / f64::from(fps),
                speech: spoken,
                music: bed,
            };
            let target = self.config().media.loudness_target_lufs;
            let (audio, ()) = tokio::try_join!(
                mix::master(ffmpeg, &spec, target, self.work, timeout),
                render::thumbnail(ffmpeg, first, at, width.min(640), &thumb, timeout),
            )?;
            tracing::info!(
                integrated = audio.loudness.integrated,
                true_peak = audio.loudness.true_peak,
                normalisation = ?audio.normalisation,
                correction_db = audio.correction_db,
                "finished audio"
            );
            render::join(ffmpeg, &segment_paths, &audio.path, &video, self.work, timeout).await?;
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

impl StepContext<'_> {
    /// The project's music: a bundled bed (made and stored at its first use)
    /// or an audio file of the tenant's library, opened with the demuxer of
    /// the type intake found.
    async fn music(&self) -> Result<Option<MusicFile>, StepError> {
        let Some(music) = Music::from_json(self.project.music.as_deref()) else { return Ok(None) };
        match &music.source {
            MusicSource::Bundled { bundled } => {
                let key = music::ensure_bed(&self.state.storage, bundled)
                    .await?
                    .ok_or_else(|| StepError::fatal("the project's music is no longer offered: choose another"))?;
                Ok(Some(MusicFile { key, demuxer: "wav", volume: music.volume }))
            }
            MusicSource::Library { media_id } => {
                let item = crate::library::store::find(&self.state.db, &self.project.tenant_id, media_id)
                    .await?
                    .filter(|item| item.kind == MediaKind::Audio)
                    .ok_or_else(|| StepError::fatal("the project's music is no longer in the media library"))?;
                let demuxer = intake::demuxer_for(&item.content_type)
                    .ok_or_else(|| StepError::fatal("the project's music is of a kind that cannot be played"))?;
                Ok(Some(MusicFile { key: item.render_key, demuxer, volume: music.volume }))
            }
        }
    }
}
