//! A scene's stock photo or clip: the query (given, or the scene's keywords),
//! the best result across the providers (`crate::stock::find`), the smallest
//! file that covers the frame, downloaded from the provider's hosts and
//! checked like an upload (`library::intake`), then fitted like one. A
//! provider that is down is retried by the queue and, on the last try, the
//! scene shows its offline illustration with a warning; no match, or files
//! that fail the checks, show the illustration at once.

use std::time::Duration;

use reelforge_media::intake::Sniffed;
use reelforge_media::render;

use super::fallback::{self, Replacement};
use super::image::image_done;
use super::{ClipSource, Done, ImageOutput, StepContext, StepError, content_key};
use crate::library::intake::{self, IntakeError};
use crate::projects::scene::Scene;
use crate::stock::{self, DownloadError, Found, StockError, StockMedia, StockProvider, Wanted};

/// Results tried, best first, before a scene gives up on stock.
const CANDIDATES: usize = 3;
/// Words a narrator speaks per second (to prefer clips as long as the scene).
const WORDS_PER_SECOND: f64 = 2.5;
/// Containers a stock clip may be stored as (the order reuse looks in).
const CLIP_CONTAINERS: [Sniffed; 4] = [Sniffed::Mp4, Sniffed::QuickTime, Sniffed::WebM, Sniffed::Matroska];

/// What a scene's visual asks of stock.
#[derive(Debug, Clone, Copy)]
pub(super) struct StockScene<'a> {
    pub(super) media: StockMedia,
    pub(super) query: Option<&'a str>,
    pub(super) provider: Option<StockProvider>,
    pub(super) pick: Option<&'a str>,
}

/// Why one result's file was not used: the provider's fault (try the next
/// result) or ours (the step fails and is retried).
enum Unusable {
    Skip(String),
    Step(StepError),
}

impl From<StepError> for Unusable {
    fn from(err: StepError) -> Self {
        Unusable::Step(err)
    }
}

impl From<crate::storage::StorageError> for Unusable {
    fn from(err: crate::storage::StorageError) -> Self {
        Unusable::Step(err.into())
    }
}

impl From<reelforge_media::MediaError> for Unusable {
    fn from(err: reelforge_media::MediaError) -> Self {
        Unusable::Step(err.into())
    }
}

impl From<IntakeError> for Unusable {
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::DiskFull => Unusable::Step(crate::storage::StorageError::Full.into()),
            IntakeError::Internal(detail) => {
                tracing::warn!(%detail, "stock intake failed on our side");
                Unusable::Step(StepError::retry("a working file could not be read or written"))
            }
            IntakeError::Unsupported => Unusable::Skip("the file is not a picture or clip".into()),
            other => Unusable::Skip(other.to_string()),
        }
    }
}

impl StepContext<'_> {
    pub(super) async fn stock_image(
        &self,
        scene: &Scene,
        wanted: StockScene<'_>,
        title: &str,
        mw: u32,
        mh: u32,
    ) -> Result<Done, StepError> {
        let (width, height, _) = self.frame_size();
        let query = wanted
            .query
            .map(str::to_string)
            .unwrap_or_else(|| stock::query_for(&scene.text, scene.title.as_deref(), &self.project.language));
        // A photo is panned across, so it must cover the motion size; a clip the frame.
        let (need_w, need_h) = match wanted.media {
            StockMedia::Photo => (mw, mh),
            StockMedia::Video => (width, height),
        };
        let words = scene.text.split_whitespace().count() as f64;
        let search = Wanted {
            query: query.clone(),
            media: wanted.media,
            provider: wanted.provider,
            pick: wanted.pick.map(str::to_string),
            width: need_w,
            height: need_h,
            seconds: words / WORDS_PER_SECOND + 0.5,
        };
        let config = self.config();
        let timeout = stock::search_timeout(config);
        let illustrated = |note: String| async move {
            let done = self.illustration(title, &scene.text, mw, mh).await?;
            Ok::<Done, StepError>(done.with_warning(fallback::warning(self.scene(), &[note])))
        };
        let found = match stock::find(&self.state.stock, &self.state.db, &config.stock, &search, timeout).await {
            Ok(found) => found,
            Err(StockError::Database(err)) => return Err(err.into()),
            Err(StockError::NotConfigured) => {
                return illustrated("no stock provider is set up on this server, so an illustration was used".into())
                    .await;
            }
            Err(err) => {
                let note = fallback::decide(Replacement::Illustration, self.step.into(), &err.to_string())?;
                return illustrated(note).await;
            }
        };
        if found.is_empty() {
            let note = format!("no stock {} matched \"{query}\", so an illustration was used", wanted.media.as_str());
            return illustrated(note).await;
        }
        let mut reasons = Vec::new();
        for candidate in found.iter().take(CANDIDATES) {
            match self.stock_file(candidate, need_w, need_h, mw, mh).await {
                Ok(done) => return Ok(done),
                Err(Unusable::Step(err)) => return Err(err),
                Err(Unusable::Skip(reason)) => {
                    tracing::warn!(provider = candidate.provider.as_str(), id = %candidate.id, %reason, "stock file skipped");
                    reasons.push(reason);
                }
            }
        }
        reasons.dedup();
        let note =
            format!("the stock files found could not be used ({}), so an illustration was used", reasons.join("; "));
        illustrated(note).await
    }

    /// Downloads, checks and fits one result's file.
    async fn stock_file(&self, found: &Found, need_w: u32, need_h: u32, mw: u32, mh: u32) -> Result<Done, Unusable> {
        let rendition =
            found.rendition_for(need_w, need_h).ok_or_else(|| Unusable::Skip("the result offers no file".into()))?;
        let hash = content_key(&[
            "image:stock:v2",
            found.provider.as_str(),
            &found.id,
            &rendition.url,
            &mw.to_string(),
            &mh.to_string(),
        ]);
        let key = format!("{}images/{hash}.png", self.prefix);
        let output = |clip: Option<ClipSource>| ImageOutput {
            clip,
            credit: Some(found.credit()),
            ..ImageOutput::picture(key.clone())
        };
        if let Some(done) = self.stored_stock(found.media, &hash, &key).await? {
            return Ok(image_done(hash, output(done)));
        }
        let config = self.config();
        let timeout = Duration::from_secs(config.media.image_timeout_seconds);
        let download = self.work.join("stock-download");
        let received = self
            .state
            .stock
            .download(found.provider, &rendition.url, &download, config.media.media_max_mb, timeout)
            .await
            .map_err(|err| match err {
                DownloadError::Intake(err) => Unusable::from(err),
                other => Unusable::Skip(other.to_string()),
            })?;
        let sniffed = intake::sniff(&received)?;
        if sniffed.is_audio() || sniffed.is_image() != (found.media == StockMedia::Photo) {
            return Err(Unusable::Skip(format!("the file is not the {} its answer promised", found.media.as_str())));
        }
        let prepared = intake::prepare(&config.media, &received, sniffed, self.work, intake::Thumbnail::Skip).await?;
        let fitted = self.work.join("stock-fitted.png");
        let render_timeout = Duration::from_secs(config.media.image_timeout_seconds);
        let ffmpeg = &config.media.ffmpeg_path;
        let clip = match prepared.render {
            Some(picture) => {
                render::fit_picture(ffmpeg, &picture, mw, mh, &fitted, render_timeout).await?;
                None
            }
            None => {
                let demuxer = clip_demuxer(sniffed)?;
                // The storyboard's picture of a clip: its first frame at the
                // frame size (the clip itself is played, never panned).
                render::clip_still(ffmpeg, &received.path, demuxer, need_w, need_h, &fitted, render_timeout).await?;
                let clip_key = format!("{}images/{hash}.{}", self.prefix, sniffed.extension());
                self.state.storage.put_file(&clip_key, &received.path).await?;
                Some(ClipSource { key: clip_key, demuxer })
            }
        };
        self.state.storage.put_file(&key, &fitted).await?;
        Ok(image_done(hash, output(clip)))
    }

    /// What an earlier run stored for this file, when both its picture and
    /// (for a clip) the clip are still there: `Some(clip)`.
    async fn stored_stock(
        &self,
        media: StockMedia,
        hash: &str,
        key: &str,
    ) -> Result<Option<Option<ClipSource>>, Unusable> {
        if self.state.storage.size(key).await?.is_none() {
            return Ok(None);
        }
        if media == StockMedia::Photo {
            return Ok(Some(None));
        }
        for container in CLIP_CONTAINERS {
            let clip_key = format!("{}images/{hash}.{}", self.prefix, container.extension());
            if self.state.storage.size(&clip_key).await?.is_some() {
                return Ok(Some(Some(ClipSource { key: clip_key, demuxer: clip_demuxer(container)? })));
            }
        }
        Ok(None)
    }
}

/// The demuxer a sniffed clip is opened with.
fn clip_demuxer(sniffed: Sniffed) -> Result<render::Demuxer, Unusable> {
    reelforge_media::intake::demuxer_for(sniffed.content_type())
        .and_then(render::Demuxer::for_container)
        .ok_or_else(|| Unusable::Skip("the clip is of a kind that cannot be played".into()))
}
