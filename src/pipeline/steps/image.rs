//! The image step: a picture per scene at the motion size (larger than the
//! frame, so a crop window can pan across it). From the remote image service
//! when one is configured, else (or when it keeps failing) the designed card.

use std::time::Duration;

use reelforge_media::{card, render};

use super::fallback::{self, Replacement};
use super::{Done, ImageOutput, StepContext, StepError, StepOutput, blocking, content_key};
use crate::config::ImageProvider;
use crate::pipeline::providers;
use crate::storage::StorageError;

impl StepContext<'_> {
    pub(super) async fn image(&self) -> Result<Done, StepError> {
        let text = self.scene_text().await?;
        let (width, height, _) = self.frame_size();
        let (mw, mh) = render::motion_size(width, height);
        let ImageProvider::OpenAi(api) = &self.config().providers.image else {
            return self.procedural_image(&text, mw, mh).await;
        };
        let model = api.model.clone().unwrap_or_default();
        let hash = content_key(&["image:openai:v1", &model, &text, &mw.to_string(), &mh.to_string()]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_some() {
            return Ok(image_done(hash, key));
        }
        let prompt = format!("An illustration for a narrated video scene: {text}");
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
                Ok(image_done(hash, key))
            }
            Err(err) => {
                let note = fallback::decide(Replacement::DesignedCard, self.step.into(), &err.to_string())?;
                let card = self.procedural_image(&text, mw, mh).await?;
                Ok(card.with_warning(fallback::warning(self.scene(), &[note])))
            }
        }
    }

    /// The designed card of the scene: its key line on the template's colours.
    async fn procedural_image(&self, text: &str, mw: u32, mh: u32) -> Result<Done, StepError> {
        let key_line = card::key_line(text);
        let index = self.scene() as usize;
        let style = serde_json::to_string(&self.template.card).unwrap_or_default();
        let hash = content_key(&[
            "image:procedural:v2",
            &key_line,
            &index.to_string(),
            &mw.to_string(),
            &mh.to_string(),
            &style,
        ]);
        let key = format!("{}images/{hash}.png", self.prefix);
        if self.state.storage.size(&key).await?.is_none() {
            let out = self.work.join("card.png");
            let (style, out_path) = (self.template.card.clone(), out.clone());
            blocking("drawing the image", move || {
                card::render_card(&key_line, index + 1, mw, mh, render::ALWAYS_VISIBLE, &style, &out_path)
            })
            .await?;
            self.state.storage.put_file(&key, &out).await?;
        }
        Ok(image_done(hash, key))
    }
}

fn image_done(hash: String, key: String) -> Done {
    Done::new(hash, StepOutput::Image(ImageOutput { key }))
}
