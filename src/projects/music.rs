//! A project's music bed (SPEC 4.7 `music`): a bundled bed
//! (`{"bundled": id}`, made by `reelforge_media::music`) or an audio file of
//! the tenant's media library (`{"media_id": id}`), with its `volume` (0-1).
//! Stored as JSON in `projects.music`; `projects.music_media_id` repeats a
//! library file's id so "which projects use this file" is one indexed lookup.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The bed's level when a request gives none: well under the voice.
pub const DEFAULT_VOLUME: f64 = 0.3;

/// Where the bed comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum MusicSource {
    /// One of `GET /api/v1/music`.
    Bundled { bundled: String },
    /// An audio file of the tenant's media library.
    Library { media_id: String },
}

/// A project's music as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Music {
    #[serde(flatten)]
    pub source: MusicSource,
    /// The bed's level before ducking, 0 (silent) to 1 (as the file is).
    pub volume: f64,
}

impl Music {
    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form; `None` for none (or an unreadable value, which we never write).
    pub fn from_json(json: Option<&str>) -> Option<Music> {
        json.and_then(|j| serde_json::from_str(j).ok())
    }

    /// The library file it plays, if any.
    pub fn media_id(&self) -> Option<&str> {
        match &self.source {
            MusicSource::Library { media_id } => Some(media_id),
            MusicSource::Bundled { .. } => None,
        }
    }
}

/// Music as a request gives it: exactly one of `media_id` and `bundled`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MusicInput {
    /// An audio file of your media library (`kind` `audio`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// A bundled bed's id from `GET /api/v1/music`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundled: Option<String>,
    /// 0 to 1; default 0.3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
}

impl MusicInput {
    /// The library file it names, for the checks to look up.
    pub fn media_id(&self) -> Option<&str> {
        self.media_id.as_deref().map(str::trim).filter(|m| !m.is_empty())
    }
}

/// Checks music against the bundled beds and the tenant's audio files
/// (`audio_media`: the named ids that are audio items of the tenant), with
/// errors under `field` (`music`, `music.media_id`, `music.bundled`, `music.volume`).
pub fn check(input: MusicInput, audio_media: &[String], field: &str, errors: &mut Vec<FieldError>) -> Option<Music> {
    let before = errors.len();
    let volume = input.volume.unwrap_or(DEFAULT_VOLUME);
    if !(volume.is_finite() && (0.0..=1.0).contains(&volume)) {
        errors.push(FieldError::new(format!("{field}.volume"), "must be 0 to 1"));
    }
    let media_id = input.media_id().map(String::from);
    let bundled = input.bundled.as_deref().map(str::trim).filter(|b| !b.is_empty()).map(String::from);
    let source = match (media_id, bundled) {
        (Some(_), Some(_)) | (None, None) => {
            errors.push(FieldError::new(field.to_string(), "give either media_id or bundled"));
            None
        }
        (Some(media_id), None) => {
            if !audio_media.contains(&media_id) {
                errors.push(FieldError::new(
                    format!("{field}.media_id"),
                    "must be an audio file of your media library (GET /api/v1/media)",
                ));
            }
            Some(MusicSource::Library { media_id })
        }
        (None, Some(bundled)) => {
            if reelforge_media::music::find(&bundled).is_none() {
                let known: Vec<&str> = reelforge_media::music::BEDS.iter().map(|b| b.id).collect();
                errors.push(FieldError::new(
                    format!("{field}.bundled"),
                    format!("unknown bed; choose one of {}", known.join(", ")),
                ));
            }
            Some(MusicSource::Bundled { bundled })
        }
    };
    if errors.len() > before {
        return None;
    }
    source.map(|source| Music { source, volume })
}

/// A bundled bed as `GET /api/v1/music` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BedView {
    /// Use as `{"music": {"bundled": id}}`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Length of the loop; a longer video loops it seamlessly.
    pub duration_seconds: f64,
    /// The loop as WAV.
    pub preview_url: String,
    /// Made by this project's code; CC0.
    pub licence: String,
}

/// Every bundled bed.
pub fn beds() -> Vec<BedView> {
    reelforge_media::music::BEDS
        .iter()
        .map(|bed| BedView {
            id: bed.id.to_string(),
            name: bed.name.to_string(),
            description: bed.description.to_string(),
            duration_seconds: reelforge_media::music::LOOP_SECONDS,
            preview_url: format!("/api/v1/music/{}/preview", bed.id),
            licence: "CC0-1.0".to_string(),
        })
        .collect()
}

/// Where a bundled bed is kept once made (shared by every tenant; it is the
/// same file for all).
pub fn bed_key(id: &str) -> String {
    format!("bundled/music/{id}-{}.wav", reelforge_media::music::VERSION)
}

/// The storage key of a bundled bed, made and stored at its first use.
pub async fn ensure_bed(
    storage: &crate::storage::Storage,
    id: &str,
) -> Result<Option<String>, crate::storage::StorageError> {
    if reelforge_media::music::find(id).is_none() {
        return Ok(None);
    }
    let key = bed_key(id);
    if storage.size(&key).await?.is_none() {
        let owned = id.to_string();
        let pcm = tokio::task::spawn_blocking(move || reelforge_media::music::synthesise(&owned))
            .await
            .map_err(|_| crate::storage::StorageError::Other("making a music bed stopped".into()))?;
        let Some(pcm) = pcm else { return Ok(None) };
        storage.put_bytes(&key, bytes::Bytes::from(pcm.to_bytes())).await?;
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: serde_json::Value, audio: &[&str]) -> Result<Music, Vec<String>> {
        let input: MusicInput = serde_json::from_value(input).map_err(|e| vec![e.to_string()])?;
        let audio: Vec<String> = audio.iter().map(|s| s.to_string()).collect();
        let mut errors = Vec::new();
        match check(input, &audio, "music", &mut errors) {
            Some(music) if errors.is_empty() => Ok(music),
            _ => Err(errors.into_iter().map(|e| e.field).collect()),
        }
    }

    #[test]
    fn music_is_a_bundled_bed_or_a_library_audio_file_with_a_volume() {
        let bed = fields(serde_json::json!({"bundled": "calm-pad"}), &[]).expect("valid");
        assert_eq!(bed.volume, DEFAULT_VOLUME);
        assert_eq!(bed.to_json(), r#"{"bundled":"calm-pad","volume":0.3}"#);
        assert_eq!(Music::from_json(Some(&bed.to_json())), Some(bed));
        let track = fields(serde_json::json!({"media_id": "m1", "volume": 1}), &["m1"]).expect("valid");
        assert_eq!(track.media_id(), Some("m1"));
        assert_eq!(Music::from_json(Some(&track.to_json())), Some(track));

        assert_eq!(fields(serde_json::json!({"bundled": "nope"}), &[]), Err(vec!["music.bundled".into()]));
        assert_eq!(fields(serde_json::json!({"media_id": "m2"}), &["m1"]), Err(vec!["music.media_id".into()]));
        assert_eq!(
            fields(serde_json::json!({"bundled": "calm-pad", "volume": 1.5}), &[]),
            Err(vec!["music.volume".into()])
        );
        assert_eq!(
            fields(serde_json::json!({"bundled": "calm-pad", "volume": -0.1}), &[]),
            Err(vec!["music.volume".into()])
        );
        assert_eq!(fields(serde_json::json!({}), &[]), Err(vec!["music".into()]));
        assert_eq!(
            fields(serde_json::json!({"bundled": "calm-pad", "media_id": "m1"}), &["m1"]),
            Err(vec!["music".into()])
        );
        assert!(fields(serde_json::json!({"bundled": "calm-pad", "url": "http://x"}), &[]).is_err());
    }
}
