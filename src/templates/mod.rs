//! Brand templates (SPEC 4.8, issue 18 point 5): a tenant's own templates,
//! each built on a built-in one (`base_id`) with some of it overridden:
//! palette, text colour, fonts (the tenant's uploaded TTF/OTF), caption style,
//! logo, music, motion and transition. Built-ins stay read-only data files
//! (`projects::templates`); a tenant template is a row whose `settings` are
//! the checked overrides.
//!
//! A project made with a tenant template keeps a **snapshot**: at creation the
//! template is resolved into a full `Template` (the built-in with the overrides),
//! its fonts and logo are copied under the project (`{project}/template/`), and
//! the whole is stored in `projects.template`. Renders read the snapshot, so
//! editing or deleting the template never changes a render in flight, and a
//! re-render gives the same video. The template's music and caption style
//! become the project's own when the project gives none (a project's own win).

pub mod routes;
pub mod store;

use std::collections::BTreeSet;

use bytes::Bytes;
use reelforge_media::card::fonts;
use reelforge_media::overlay::{CaptionStyle, Corner};
use reelforge_media::render::Motion;
use serde::{Deserialize, Serialize};

use crate::db::rfc3339;
use crate::domain::TenantId;
use crate::error::FieldError;
use crate::library::types::{MediaItem, MediaKind};
use crate::projects::music::{self, Music, MusicInput};
use crate::projects::templates::{self as builtin, Template, TemplateFont, TemplateLogo};
use crate::state::AppState;
use crate::storage::StorageError;
use store::TemplateRow;

/// Templates a tenant may have.
pub const MAX_TEMPLATES: i64 = 50;
/// Longest name, in characters.
const MAX_NAME: usize = 100;
/// Longest description, in characters.
const MAX_DESCRIPTION: usize = 500;
/// Most palette colours.
const MAX_PALETTE: usize = 6;
/// Most motions in the cycle.
const MAX_MOTIONS: usize = 8;
/// Longest crossfade, in seconds.
const MAX_TRANSITION: f64 = 2.0;
/// The prefix of tenant template ids (built-in ids never have it).
pub const ID_PREFIX: &str = "tpl_";

/// Whether `id` names a tenant template (rather than a built-in).
pub fn is_tenant_id(id: &str) -> bool {
    id.starts_with(ID_PREFIX)
}

/// The logo a template puts on its videos: the tenant's brand logo
/// (`"brand"`, the default), none (`"none"`), or a picture of the media library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LogoSetting {
    /// `"brand"` or `"none"`.
    Named(String),
    /// A picture of the tenant's media library, in a corner, with an opacity.
    Image {
        media_id: String,
        /// `top_left`, `top_right`, `bottom_left` or `bottom_right` (default `bottom_right`, as the brand).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        corner: Option<Corner>,
        /// 0 to 1 (default 0.85).
        #[serde(default)]
        opacity: Option<f64>,
    },
}

/// A template's overrides, as stored (each absent one is the base's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub palette: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_font: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_font: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_font: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_style: Option<CaptionStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<LogoSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music: Option<Music>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<Vec<Motion>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_seconds: Option<f64>,
}

impl Settings {
    /// Reads the stored form (an unreadable one, which we never write, is no overrides).
    pub fn from_json(json: &str) -> Settings {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The library items it names: fonts, the logo picture, the music file.
    pub fn media_ids(&self) -> BTreeSet<&str> {
        let mut ids = self.font_ids();
        if let Some(LogoSetting::Image { media_id, .. }) = &self.logo {
            ids.insert(media_id);
        }
        if let Some(id) = self.music.as_ref().and_then(Music::media_id) {
            ids.insert(id);
        }
        ids
    }

    /// The fonts it names (heading, body, caption), once each.
    fn font_ids(&self) -> BTreeSet<&str> {
        [&self.heading_font, &self.body_font, &self.caption_font].into_iter().flatten().map(String::as_str).collect()
    }
}

/// A template as a request gives it (`POST /api/v1/templates`, and the
/// preview); a `PATCH` is merged onto the stored one and checked as this.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The built-in template it is built on (`GET /api/v1/templates`, `builtin: true`).
    pub base_id: String,
    /// 1 to 100 characters.
    pub name: String,
    /// At most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 1 to 6 colours `#rrggbb`: each card's gradient is two of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub palette: Option<Vec<String>>,
    /// `#rrggbb`: the cards' text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    /// A font of your media library (`kind` `font`) for card titles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_font: Option<String>,
    /// A font of your media library for longer card text (and captions unless `caption_font` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_font: Option<String>,
    /// A font of your media library for burned-in captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_font: Option<String>,
    /// `line`, `karaoke` or `pop` (a project's own `caption_style` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_style: Option<String>,
    /// `"brand"` (the account's logo, the default), `"none"`, or `{media_id, corner, opacity}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<LogoSetting>,
    /// As a project's `music` (a project's own music wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music: Option<MusicInput>,
    /// 1 to 8 of `still`, `pan_right`, `pan_left`, `pan_down`, `pan_up`, `diagonal`, cycled scene by scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<Vec<String>>,
    /// Crossfade between scenes, 0 to 2 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_seconds: Option<f64>,
}

impl TemplateInput {
    /// The library items it names, for the checks to look up.
    fn media_ids(&self) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = [&self.heading_font, &self.body_font, &self.caption_font]
            .into_iter()
            .flatten()
            .map(|id| id.trim().to_string())
            .collect();
        if let Some(LogoSetting::Image { media_id, .. }) = &self.logo {
            ids.insert(media_id.trim().to_string());
        }
        if let Some(id) = self.music.as_ref().and_then(MusicInput::media_id) {
            ids.insert(id.to_string());
        }
        ids.retain(|id| !id.is_empty());
        ids
    }
}

/// A template that passed the checks.
#[derive(Debug, Clone)]
pub struct Checked {
    pub base: &'static Template,
    pub name: String,
    pub description: String,
    pub settings: Settings,
}

/// The tenant's library items a template names (kind by id).
pub struct Known(Vec<MediaItem>);

impl Known {
    /// Reads the items `input` names.
    pub async fn load(db: &crate::db::Db, tenant_id: &TenantId, input: &TemplateInput) -> Result<Known, sqlx::Error> {
        let mut items = Vec::new();
        for id in input.media_ids() {
            if let Some(item) = crate::library::store::find(db, tenant_id, &id).await? {
                items.push(item);
            }
        }
        Ok(Known(items))
    }

    fn kind(&self, id: &str) -> Option<MediaKind> {
        self.0.iter().find(|item| item.id == id).map(|item| item.kind)
    }
}

fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Checks every field of `input` and reports all problems at once.
pub fn check(input: TemplateInput, known: &Known) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let base = builtin::find(input.base_id.trim());
    if base.is_none() {
        let ids: Vec<&str> = builtin::all().iter().map(|t| t.id.as_str()).collect();
        errors.push(FieldError::new("base_id", format!("must be a built-in template: {}", ids.join(", "))));
    }
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        errors.push(FieldError::new("name", format!("must be 1 to {MAX_NAME} characters, one line")));
    }
    let description = input.description.as_deref().unwrap_or_default().trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(FieldError::new("description", format!("at most {MAX_DESCRIPTION} characters")));
    }
    let mut settings = Settings::default();
    if let Some(palette) = input.palette {
        let palette: Vec<String> = palette.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
        if palette.is_empty() || palette.len() > MAX_PALETTE || !palette.iter().all(|c| is_hex_colour(c)) {
            errors.push(FieldError::new("palette", format!("must be 1 to {MAX_PALETTE} colours like #1e3a8a")));
        }
        settings.palette = Some(palette);
    }
    if let Some(colour) = input.text_color {
        let colour = colour.trim().to_ascii_lowercase();
        if !is_hex_colour(&colour) {
            errors.push(FieldError::new("text_color", "must be a colour like #ffffff"));
        }
        settings.text_color = Some(colour);
    }
    let mut font = |field: &str, value: Option<String>| -> Option<String> {
        let id = value?.trim().to_string();
        if known.kind(&id) != Some(MediaKind::Font) {
            errors.push(FieldError::new(field, "must be a font of your media library (upload a TTF or OTF file)"));
        }
        Some(id)
    };
    settings.heading_font = font("heading_font", input.heading_font);
    settings.body_font = font("body_font", input.body_font);
    settings.caption_font = font("caption_font", input.caption_font);
    if let Some(style) = input.caption_style {
        match CaptionStyle::parse(style.trim()) {
            Some(style) => settings.caption_style = Some(style),
            None => errors.push(FieldError::new("caption_style", "must be line, karaoke or pop")),
        }
    }
    settings.logo = match input.logo {
        None => None,
        Some(LogoSetting::Named(name)) => match name.trim() {
            "brand" => None,
            "none" => Some(LogoSetting::Named("none".into())),
            _ => {
                errors.push(FieldError::new("logo", "must be \"brand\", \"none\" or {media_id, corner, opacity}"));
                None
            }
        },
        Some(LogoSetting::Image { media_id, corner, opacity }) => {
            let media_id = media_id.trim().to_string();
            if known.kind(&media_id) != Some(MediaKind::Image) {
                errors.push(FieldError::new("logo.media_id", "must be a picture of your media library"));
            }
            let opacity = opacity.unwrap_or(crate::brand::DEFAULT_OPACITY);
            if !(opacity.is_finite() && (0.0..=1.0).contains(&opacity)) {
                errors.push(FieldError::new("logo.opacity", "must be 0 to 1"));
            }
            Some(LogoSetting::Image { media_id, corner: Some(corner.unwrap_or_default()), opacity: Some(opacity) })
        }
    };
    if let Some(input) = input.music {
        let audio: Vec<String> = input
            .media_id()
            .filter(|id| known.kind(id) == Some(MediaKind::Audio))
            .map(String::from)
            .into_iter()
            .collect();
        settings.music = music::check(input, &audio, "music", &mut errors);
    }
    if let Some(names) = input.motion {
        let parsed: Vec<Option<Motion>> =
            names.iter().map(|n| serde_json::from_value(serde_json::Value::String(n.trim().into())).ok()).collect();
        if parsed.is_empty() || parsed.len() > MAX_MOTIONS || parsed.iter().any(Option::is_none) {
            errors.push(FieldError::new(
                "motion",
                format!("must be 1 to {MAX_MOTIONS} of still, pan_right, pan_left, pan_down, pan_up, diagonal"),
            ));
        }
        settings.motion = Some(parsed.into_iter().flatten().collect());
    }
    if let Some(seconds) = input.transition_seconds {
        if !(seconds.is_finite() && (0.0..=MAX_TRANSITION).contains(&seconds)) {
            errors.push(FieldError::new("transition_seconds", format!("must be 0 to {MAX_TRANSITION} seconds")));
        }
        settings.transition_seconds = Some(seconds);
    }
    match base {
        Some(base) if errors.is_empty() => Ok(Checked { base, name, description, settings }),
        _ => Err(errors),
    }
}

/// The built-in `base` with `settings` applied, fonts and logo left out
/// (they need the files: `resolve_assets`).
pub fn apply(base: &Template, id: &str, name: &str, description: &str, settings: &Settings) -> Template {
    let mut template = base.clone();
    template.id = id.to_string();
    template.name = name.to_string();
    if !description.is_empty() {
        template.description = description.to_string();
    }
    template.base_id = Some(base.id.clone());
    if let Some(palette) = &settings.palette {
        template.card.palette = palette.clone();
    }
    if let Some(colour) = &settings.text_color {
        template.card.text_color = colour.clone();
    }
    if let Some(style) = settings.caption_style {
        template.subtitles.style = style;
    }
    if let Some(motion) = &settings.motion {
        template.motion = motion.clone();
    }
    if let Some(seconds) = settings.transition_seconds {
        template.transition_seconds = seconds;
    }
    if matches!(&settings.logo, Some(LogoSetting::Named(name)) if name == "none") {
        template.logo = Some(TemplateLogo::None);
    }
    template
}

/// A tenant template's row as a `Template` (without its files), or `None`
/// when its base is gone from this build.
pub fn template_of(row: &TemplateRow) -> Option<Template> {
    let base = builtin::find(&row.base_id)?;
    Some(apply(base, &row.id, &row.name, &row.description, &Settings::from_json(&row.settings)))
}

/// Why a template's files could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// A file it names is gone or no longer usable (field, reason).
    #[error("{1}")]
    Unusable(String, String),
    #[error("storage is full")]
    StorageFull,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

impl From<StorageError> for AssetError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Full => AssetError::StorageFull,
            other => AssetError::Other(other.to_string()),
        }
    }
}

/// A template's files, read and checked.
pub struct Assets {
    /// (font id, bytes) of each font, once.
    pub fonts: Vec<(String, Bytes)>,
    /// media id -> font id.
    pub font_of: Vec<(String, String)>,
    /// The logo as a normalised PNG, its hash, corner and opacity.
    pub logo: Option<(Bytes, String, Corner, f64)>,
}

impl Assets {
    fn font_id(&self, media_id: Option<&String>) -> Option<String> {
        let media_id = media_id?;
        self.font_of.iter().find(|(m, _)| m == media_id).map(|(_, f)| f.clone())
    }

    /// Sets the card and caption fonts of `template` to the loaded fonts' ids.
    pub fn name_fonts(&self, template: &mut Template, settings: &Settings) {
        template.card.heading_font = self.font_id(settings.heading_font.as_ref());
        template.card.body_font = self.font_id(settings.body_font.as_ref());
        template.caption_font =
            self.font_id(settings.caption_font.as_ref()).or_else(|| template.card.body_font.clone());
    }
}

/// Reads and checks the fonts and the logo picture `settings` names from the
/// tenant's library (a font deleted or changed since is `Unusable`).
pub async fn load_assets(state: &AppState, tenant_id: &TenantId, settings: &Settings) -> Result<Assets, AssetError> {
    let mut assets = Assets { fonts: Vec::new(), font_of: Vec::new(), logo: None };
    for media_id in settings.font_ids() {
        let item = crate::library::store::find(&state.db, tenant_id, media_id)
            .await?
            .filter(|item| item.kind == MediaKind::Font)
            .ok_or_else(|| AssetError::Unusable("template_id".into(), format!("the font {media_id} is gone")))?;
        let bytes = state.storage.get_bytes(&item.file_key).await?;
        let check = bytes.clone();
        let info = tokio::task::spawn_blocking(move || fonts::check(&check))
            .await
            .map_err(|e| AssetError::Other(format!("checking a font stopped: {e}")))?
            .map_err(|e| AssetError::Unusable("template_id".into(), format!("the font {media_id}: {e}")))?;
        assets.font_of.push((media_id.to_string(), info.id.clone()));
        if !assets.fonts.iter().any(|(id, _)| *id == info.id) {
            assets.fonts.push((info.id, bytes));
        }
    }
    if let Some(LogoSetting::Image { media_id, corner, opacity }) = &settings.logo {
        let item = crate::library::store::find(&state.db, tenant_id, media_id)
            .await?
            .filter(|item| item.kind == MediaKind::Image)
            .ok_or_else(|| {
                AssetError::Unusable("template_id".into(), format!("the logo picture {media_id} is gone"))
            })?;
        let picture = state.storage.get_bytes(&item.render_key).await?;
        let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let work = tempfile::tempdir().map_err(|e| e.to_string())?;
            let out = work.path().join("logo.png");
            reelforge_media::logo::normalise(&picture, &out).map_err(|e| e.to_string())?;
            std::fs::read(&out).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AssetError::Other(format!("making the logo stopped: {e}")))?
        .map_err(|reason| AssetError::Unusable("logo.media_id".into(), format!("the logo picture: {reason}")))?;
        let hash = crate::crypto::hash_token(&crate::crypto::to_hex(&png));
        assets.logo = Some((
            Bytes::from(png),
            hash,
            corner.unwrap_or_default(),
            opacity.unwrap_or(crate::brand::DEFAULT_OPACITY),
        ));
    }
    Ok(assets)
}

/// The snapshot of a tenant template for a new project: the template in
/// full, its fonts and logo copied under `prefix` (the project's), so
/// nothing the tenant changes later reaches the project's renders.
pub async fn snapshot(
    state: &AppState,
    tenant_id: &TenantId,
    template: &Template,
    settings: &Settings,
    prefix: &str,
) -> Result<Template, AssetError> {
    let assets = load_assets(state, tenant_id, settings).await?;
    let mut snapshot = template.clone();
    assets.name_fonts(&mut snapshot, settings);
    for (id, bytes) in &assets.fonts {
        let key = format!("{prefix}template/font-{id}.bin");
        state.storage.put_bytes(&key, bytes.clone()).await?;
        snapshot.fonts.push(TemplateFont { id: id.clone(), key });
    }
    if let Some((png, hash, corner, opacity)) = assets.logo {
        let key = format!("{prefix}template/logo-{}.png", &hash[..24.min(hash.len())]);
        state.storage.put_bytes(&key, png).await?;
        snapshot.logo = Some(TemplateLogo::Image { key, hash, corner, opacity });
    }
    Ok(snapshot)
}

/// A template as the API shows it: a built-in (read-only) or the tenant's own.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `16:9`, `9:16` or `1:1`.
    pub aspect: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Needs a paid plan (a tenant template is premium when its base is).
    pub premium: bool,
    /// How its captions show the narration (`line`, `karaoke`, `pop`), unless a project says otherwise.
    pub caption_style: String,
    /// A built-in template (read-only); false for the tenant's own.
    pub builtin: bool,
    /// The built-in a tenant template is built on; null for a built-in.
    pub base_id: Option<String>,
    /// The cards' colours.
    pub palette: Vec<String>,
    /// The cards' text colour.
    pub text_color: String,
    /// Media ids of the fonts (null: the bundled face).
    pub heading_font: Option<String>,
    pub body_font: Option<String>,
    pub caption_font: Option<String>,
    /// `"brand"`, `"none"` or `{media_id, corner, opacity}`.
    pub logo: LogoSetting,
    /// Music projects made with it get unless they give their own.
    pub music: Option<Music>,
    /// Motions cycled scene by scene.
    #[schema(value_type = Vec<String>)]
    pub motion: Vec<Motion>,
    /// Crossfade between scenes, in seconds.
    pub transition_seconds: f64,
    /// RFC 3339; null for a built-in.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl TemplateView {
    /// A built-in's view.
    pub fn builtin(template: &Template) -> TemplateView {
        TemplateView {
            id: template.id.clone(),
            name: template.name.clone(),
            description: template.description.clone(),
            aspect: template.aspect.clone(),
            width: template.width,
            height: template.height,
            fps: template.fps,
            premium: template.premium,
            caption_style: template.subtitles.style.as_str().to_string(),
            builtin: true,
            base_id: None,
            palette: template.card.palette.clone(),
            text_color: template.card.text_color.clone(),
            heading_font: None,
            body_font: None,
            caption_font: None,
            logo: LogoSetting::Named("brand".into()),
            music: None,
            motion: template.motion.clone(),
            transition_seconds: template.transition_seconds,
            created_at: None,
            updated_at: None,
        }
    }

    /// A tenant template's view; `None` when its base is gone from this build.
    pub fn tenant(row: &TemplateRow) -> Option<TemplateView> {
        let template = template_of(row)?;
        let settings = Settings::from_json(&row.settings);
        Some(TemplateView {
            builtin: false,
            base_id: Some(row.base_id.clone()),
            heading_font: settings.heading_font.clone(),
            body_font: settings.body_font.clone(),
            caption_font: settings.caption_font.clone(),
            logo: settings.logo.clone().unwrap_or_else(|| LogoSetting::Named("brand".into())),
            music: settings.music.clone(),
            created_at: Some(rfc3339(row.created_at)),
            updated_at: Some(rfc3339(row.updated_at)),
            description: row.description.clone(),
            ..TemplateView::builtin(&template)
        })
    }
}

/// The stored row's fields as a create body (what a PATCH is merged onto).
pub fn input_of(row: &TemplateRow) -> TemplateInput {
    let settings = Settings::from_json(&row.settings);
    TemplateInput {
        base_id: row.base_id.clone(),
        name: row.name.clone(),
        description: (!row.description.is_empty()).then(|| row.description.clone()),
        palette: settings.palette,
        text_color: settings.text_color,
        heading_font: settings.heading_font,
        body_font: settings.body_font,
        caption_font: settings.caption_font,
        caption_style: settings.caption_style.map(|s| s.as_str().to_string()),
        logo: settings.logo,
        music: settings.music.map(|m| MusicInput {
            media_id: m.media_id().map(String::from),
            bundled: match m.source {
                music::MusicSource::Bundled { bundled } => Some(bundled),
                music::MusicSource::Library { .. } => None,
            },
            volume: Some(m.volume),
        }),
        motion: settings.motion.map(|m| {
            m.iter().filter_map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(String::from))).collect()
        }),
        transition_seconds: settings.transition_seconds,
    }
}

/// The names of the tenant's templates that use library item `media_id`
/// (a font, the logo picture or the music), inside the deletion's transaction.
pub async fn using_media(
    tx: &mut crate::db::Tx,
    tenant_id: &TenantId,
    media_id: &str,
) -> Result<Vec<TemplateRef>, sqlx::Error> {
    let rows = store::list_in(tx, tenant_id).await?;
    Ok(rows
        .into_iter()
        .filter(|row| Settings::from_json(&row.settings).media_ids().contains(media_id))
        .map(|row| TemplateRef { id: row.id, name: row.name })
        .collect())
}

/// A template named in a 409.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateRef {
    pub id: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Known {
        Known(Vec::new())
    }

    fn input() -> TemplateInput {
        TemplateInput { base_id: "explainer".into(), name: "Acme".into(), ..TemplateInput::default() }
    }

    #[test]
    fn overrides_apply_and_the_rest_is_the_base() {
        let checked = check(
            TemplateInput {
                palette: Some(vec!["#FF0000".into()]),
                text_color: Some("#000000".into()),
                caption_style: Some("karaoke".into()),
                motion: Some(vec!["still".into()]),
                transition_seconds: Some(1.5),
                ..input()
            },
            &none(),
        )
        .expect("valid");
        let template = apply(checked.base, "tpl_x", &checked.name, &checked.description, &checked.settings);
        let base = builtin::find("explainer").expect("explainer");
        assert_eq!(template.card.palette, vec!["#ff0000"]);
        assert_eq!(template.card.text_color, "#000000");
        assert_eq!(template.subtitles.style, CaptionStyle::Karaoke);
        assert_eq!(template.motion, vec![Motion::Still]);
        assert_eq!(template.transition_seconds, 1.5);
        assert_eq!((template.width, template.fps, template.premium), (base.width, base.fps, base.premium));
        assert_eq!(template.description, base.description);
        assert_eq!(template.base_id.as_deref(), Some("explainer"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = check(
            TemplateInput {
                base_id: "tpl_other".into(),
                name: " ".into(),
                palette: Some(vec!["red".into()]),
                text_color: Some("#12345".into()),
                heading_font: Some("missing".into()),
                caption_style: Some("wavy".into()),
                logo: Some(LogoSetting::Named("mine".into())),
                motion: Some(vec!["spin".into()]),
                transition_seconds: Some(3.0),
                ..TemplateInput::default()
            },
            &none(),
        )
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "base_id",
                "name",
                "palette",
                "text_color",
                "heading_font",
                "caption_style",
                "logo",
                "motion",
                "transition_seconds"
            ]
        );
        let too_many = check(TemplateInput { palette: Some(vec!["#000000".into(); 7]), ..input() }, &none());
        assert!(too_many.is_err());
        let empty_motion = check(TemplateInput { motion: Some(vec![]), ..input() }, &none());
        assert!(empty_motion.is_err());
    }

    #[test]
    fn the_stored_form_reads_back_as_the_input() {
        let checked = check(
            TemplateInput {
                palette: Some(vec!["#112233".into(), "#445566".into()]),
                motion: Some(vec!["pan_up".into(), "diagonal".into()]),
                logo: Some(LogoSetting::Named("none".into())),
                ..input()
            },
            &none(),
        )
        .expect("valid");
        let row = TemplateRow {
            id: "tpl_1".into(),
            tenant_id: TenantId::generate(),
            base_id: "explainer".into(),
            name: checked.name.clone(),
            description: String::new(),
            settings: serde_json::to_string(&checked.settings).expect("json"),
            created_at: 0,
            updated_at: 0,
        };
        let again = check(input_of(&row), &none()).expect("still valid");
        assert_eq!(again.settings, checked.settings);
        let view = TemplateView::tenant(&row).expect("view");
        assert_eq!(view.logo, LogoSetting::Named("none".into()));
        assert!(!view.builtin);
        assert_eq!(template_of(&row).and_then(|t| t.logo), Some(TemplateLogo::None));
    }
}
