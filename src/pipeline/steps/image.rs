//! The image step: a picture per scene at the motion size (larger than the
//! frame, so a crop window can pan across it). An `auto` scene is a stock
//! photo when a stock provider is set up (`stock.rs`), else a picture of the
//! remote image service when one is configured, else (or when it keeps
//! failing) the offline illustration; an `ai` scene falls back to the
//! designed card.

use std::time::Duration;

use reelforge_media::{card, keywords, render};

use super::fallback::{self, Replacement};
use super::stock::StockScene;
use super::{ClipSource, Done, ImageOutput, StepContext, StepError, StepOutput, blocking, content_key};
use crate::config::ImageProvider;
use crate::library::{self, MediaKind};
use crate::pipeline::providers;
use crate::projects::scene::Visual;
use crate::stock::StockMedia;
use crate::storage::StorageError;
use reelforge_media::intake;

impl StepContext<'_> {
    pub(super) async fn image(&self) -> Result<Done, StepError> {
        let scene = self.scene_row().await?;
        let (width, height, _) = self.frame_size();
        let (mw, mh) = render::motion_size(width, height);
        let title = scene.title.clone().unwrap_or_else(|| card::short_title(&scene.text));
        let prompt = match &scene.visual {
            Visual::Card => return self.procedural_image(&title, mw, mh).await,
            Visual::Illustration => return self.illustration(&title, &scene.text, mw, mh).await,
            Visual::Upload { media_id } => return self.uploaded_image(media_id, mw, mh).await,
            Visual::Stock { media, query, provider, pick } => {
                let wanted =
                    StockScene { media: *media, query: query.as_deref(), provider: *provider, pick: pick.as_deref() };
                return self.stock_image(&scene, wanted, &title, mw, mh).await;
            }
            Visual::Auto if self.config().stock.any() => {
                let wanted = StockScene { media: StockMedia::Photo, query: None, provider: None, pick: None };
                return self.stock_image(&scene, wanted, &title, mw, mh).await;
            }
            Visual::Ai { prompt: Some(prompt) } => prompt.clone(),
            Visual::Auto | Visual::Ai { prompt: None } => self.template.image_prompt(&scene.text),
        };
        let ImageProvider::OpenAi(api) = &self.config().providers.image else {
            if matches!(scene.visual, Visual::Auto) {
                return self.illustration(&title, &scene.text, mw, mh).await;
            }
            let card = self.procedural_image(&title, mw, mh).await?;
            return Ok(match scene.visual {
                Visual::Ai { .. } => card.with_warning(Some(format!(
                    "scene {}: no images provider is configured, so it shows its title card",
                    self.scene() + 1
                ))),
                _ => card,
            });
        };
        let model = api.model.clone().unwrap_or_default();
        let hash = content_key(&["image:openai:v2", &model, &prompt, &mw.to_string(), &mh.to_string()]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_some() {
            return Ok(image_done(hash, ImageOutput::picture(key)));
        }
        match providers::generate_image(&self.state.http, self.config(), &prompt, width > height, height > width).await
        {
            Ok(bytes) => {
                let raw = self.work.join("remote-image");
                tokio::fs::write(&raw, &bytes).await.map_err(|e| StepError::from(StorageError::from(e)))?;
                let fitted = self.work.join("fitted.png");
                let timeout = Duration::from_secs(self.config().media.image_timeout_seconds);
                render::fit_image(&self.config().media.ffmpeg_path, &raw, mw, mh, &fitted, timeout)
                    .await
                    .map_err(|_| StepError::retry("the image service sent a picture that could not be read"))?;
                self.state.storage.put_file(&key, &fitted).await?;
                Ok(image_done(hash, ImageOutput::picture(key)))
            }
            Err(err) => {
                let (replacement, done) = if matches!(scene.visual, Visual::Auto) {
                    let note = fallback::decide(Replacement::Illustration, self.step.into(), &err.to_string())?;
                    (note, self.illustration(&title, &scene.text, mw, mh).await?)
                } else {
                    let note = fallback::decide(Replacement::DesignedCard, self.step.into(), &err.to_string())?;
                    (note, self.procedural_image(&title, mw, mh).await?)
                };
                Ok(done.with_warning(fallback::warning(self.scene(), &[replacement])))
            }
        }
    }

    /// The designed card of the scene: its title (given, or its first words)
    /// on the template's colours; the caption below carries the sentence.
    async fn procedural_image(&self, title: &str, mw: u32, mh: u32) -> Result<Done, StepError> {
        let title = title.to_string();
        let index = self.scene() as usize;
        let style = serde_json::to_string(&self.template.card).unwrap_or_default();
        let hash =
            content_key(&["image:procedural:v3", &title, &index.to_string(), &mw.to_string(), &mh.to_string(), &style]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_none() {
            let out = self.work.join("card.png");
            let (style, out_path) = (self.template.card.clone(), out.clone());
            let fonts = self.brand_fonts().await?;
            blocking("drawing the image", move || {
                super::register_fonts(&fonts)?;
                card::render_card(&title, index + 1, mw, mh, render::ALWAYS_VISIBLE, &style, &out_path)
            })
            .await?;
            self.state.storage.put_file(&key, &out).await?;
        }
        Ok(image_done(hash, ImageOutput::card(key)))
    }
}

impl StepContext<'_> {
    /// The offline illustration of the scene: an icon matched to the keywords
    /// of its words (and title), with the title under it, on the template's
    /// colours. A picture, not a card: captions burn as on any picture.
    pub(super) async fn illustration(&self, title: &str, text: &str, mw: u32, mh: u32) -> Result<Done, StepError> {
        let words = keywords::keywords(&format!("{title}. {text}"), &self.project.language);
        let title = title.to_string();
        let index = self.scene() as usize;
        let style = serde_json::to_string(&self.template.card).unwrap_or_default();
        let hash = content_key(&[
            "image:illustration:v3",
            &self.project.language,
            &title,
            &words.join(","),
            &index.to_string(),
            &mw.to_string(),
            &mh.to_string(),
            &style,
        ]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_none() {
            let out = self.work.join("illustration.png");
            let (style, out_path, language) = (self.template.card.clone(), out.clone(), self.project.language.clone());
            let fonts = self.brand_fonts().await?;
            blocking("drawing the illustration", move || {
                super::register_fonts(&fonts)?;
                card::render_illustration(
                    &title,
                    &words,
                    &language,
                    index + 1,
                    mw,
                    mh,
                    render::ALWAYS_VISIBLE,
                    &style,
                    &out_path,
                )
            })
            .await?;
            self.state.storage.put_file(&key, &out).await?;
        }
        Ok(image_done(hash, ImageOutput::picture(key)))
    }

    /// The scene's uploaded picture fitted to the motion size; for a clip, its
    /// first frame at the frame size (the storyboard's picture) and the clip
    /// itself, which the segment plays.
    async fn uploaded_image(&self, media_id: &str, mw: u32, mh: u32) -> Result<Done, StepError> {
        let file = library::store::find(&self.state.db, &self.project.tenant_id, media_id)
            .await?
            .ok_or_else(|| StepError::fatal("the scene's uploaded file is no longer in the media library"))?;
        let hash = content_key(&["image:upload:v2", media_id, &file.render_key, &mw.to_string(), &mh.to_string()]);
        let key = format!("{}images/{hash}.png", self.prefix);
        let clip = match file.kind {
            MediaKind::Video => {
                let demuxer = intake::demuxer_for(&file.content_type)
                    .and_then(render::Demuxer::for_container)
                    .ok_or_else(|| StepError::fatal("the scene's clip is of a kind that cannot be played"))?;
                Some(ClipSource { key: file.render_key.clone(), demuxer })
            }
            MediaKind::Image => None,
            MediaKind::Audio => return Err(StepError::fatal("the scene's uploaded file is a sound, not a picture")),
            MediaKind::Font => return Err(StepError::fatal("the scene's uploaded file is a font, not a picture")),
        };
        let output = ImageOutput {
            media_id: Some(media_id.to_string()),
            clip: clip.clone(),
            ..ImageOutput::picture(key.clone())
        };
        if self.state.storage.size(&key).await?.is_some() {
            return Ok(image_done(hash, output));
        }
        let source = self.local(&file.render_key, "upload").await?;
        let fitted = self.work.join("fitted.png");
        let timeout = Duration::from_secs(self.config().media.image_timeout_seconds);
        let ffmpeg = &self.config().media.ffmpeg_path;
        match &clip {
            Some(clip) => {
                let (width, height, _) = self.frame_size();
                render::clip_still(ffmpeg, &source, clip.demuxer, width, height, &fitted, timeout).await?
            }
            None => render::fit_picture(ffmpeg, &source, mw, mh, &fitted, timeout).await?,
        }
        self.state.storage.put_file(&key, &fitted).await?;
        Ok(image_done(hash, output))
    }
}

pub(super) fn image_done(hash: String, output: ImageOutput) -> Done {
    Done::new(hash, StepOutput::Image(output))
}
