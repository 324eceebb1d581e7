//! The audio step: the finished sound of the whole video, made on audio
//! alone (`reelforge_media::mix::master`) as soon as every narration is done,
//! so it overlaps encoding the last segments: each scene's speech padded to
//! exactly its scene's length (the narration decides it: `scene_frames`), so
//! picture and sound cannot drift, under the project's music, at 48 kHz
//! stereo, normalised to `LOUDNESS_TARGET_LUFS` with the true peak at most
//! -1 dBTP, as AAC-LC. The final step copies it under the joined segments.

use std::time::Duration;

use reelforge_media::intake;
use reelforge_media::mix::{self, MixSpec, MusicBed};
use reelforge_media::tts;
use reelforge_media::wav::Pcm;

use super::{AudioOutput, Done, StepContext, StepError, StepOutput, content_key, scene_frames};
use crate::library::types::MediaKind;
use crate::projects::music::{self, Music, MusicSource};

/// A project's music, found: the stored file it plays and how.
struct MusicFile {
    key: String,
    demuxer: &'static str,
    volume: f64,
}

impl StepContext<'_> {
    pub(super) async fn audio(&self) -> Result<Done, StepError> {
        let outputs = self.outputs().await?;
        let (_, _, fps) = self.frame_size();
        let scenes = self.scene_count().await?;
        let mut speeches = Vec::new();
        for index in 0..scenes {
            speeches.push(outputs.speech(index)?);
        }
        let loudness = format!("{:.1}", self.config().media.loudness_target_lufs);
        let music = self.music().await?;
        let music_part = music.as_ref().map(|m| format!("{}@{:.4}", m.key, m.volume)).unwrap_or_default();
        let rate = fps.to_string();
        let mut parts: Vec<&str> = vec!["audio:v1", &loudness, &music_part, &rate];
        parts.extend(speeches.iter().map(|s| s.key.as_str()));
        let hash = content_key(&parts);
        let key = format!("{}audio/{hash}.m4a", self.prefix);
        let storage = &self.state.storage;
        let done = |integrated: f64, true_peak: f64| {
            let output = AudioOutput { key: key.clone(), integrated, true_peak };
            Done::new(hash.clone(), StepOutput::Audio(output))
        };
        let timeout = Duration::from_secs(self.config().media.render_timeout_seconds);
        let ffmpeg = &self.config().media.ffmpeg_path;
        // Made before (a retry after the upload, the same sound in a re-render): measured, not made again.
        if storage.size(&key).await?.is_some() {
            let path = self.local(&key, "audio.m4a").await?;
            let loudness = mix::measure(ffmpeg, &path, Some("mov"), timeout).await?;
            return Ok(done(loudness.integrated, loudness.true_peak));
        }

        // Narration: each scene's speech padded to exactly its segment.
        let mut narration = Pcm { sample_rate: tts::SAMPLE_RATE, channels: 1, samples: Vec::new() };
        let mut spoken = Vec::new();
        let mut offset = 0.0;
        for (index, speech) in speeches.iter().enumerate() {
            let path = self.local(&speech.key, &format!("speech-{index}.wav")).await?;
            let mut pcm = Pcm::read(&path)?;
            let seconds = f64::from(scene_frames(speech.duration, fps)) / f64::from(fps);
            pcm.fit_to(seconds);
            narration.append(&pcm)?;
            spoken.extend(speech.cues.iter().map(|c| (c.start + offset, (c.end + offset).min(offset + seconds))));
            offset += seconds;
        }
        let narration_path = self.work.join("narration.wav");
        narration.write(&narration_path)?;
        let bed = match &music {
            Some(file) => Some(MusicBed {
                path: self.local(&file.key, "music").await?,
                demuxer: file.demuxer,
                volume: file.volume,
            }),
            None => None,
        };
        let spec = MixSpec { narration: narration_path, duration: offset, speech: spoken, music: bed };
        let target = self.config().media.loudness_target_lufs;
        let sound = mix::master(ffmpeg, &spec, target, self.work, timeout).await?;
        tracing::info!(
            integrated = sound.loudness.integrated,
            true_peak = sound.loudness.true_peak,
            normalisation = ?sound.normalisation,
            gain_db = sound.gain.gain_db,
            limit_db = ?sound.gain.limit_db,
            "finished audio"
        );
        storage.put_file(&key, &sound.path).await?;
        Ok(done(sound.loudness.integrated, sound.loudness.true_peak))
    }

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
