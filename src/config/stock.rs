//! Stock photo and footage providers (Pexels, Pixabay): a provider exists
//! exactly when its API key is set. `STOCK_API_BASE_*` points one at another
//! host (a proxy, or a stand-in in tests); downloads are then allowed from
//! that host only.

use url::Url;

use super::source::{ConfigError, Secret, Source, bad};

/// Pexels' API host: `/v1/search` (photos) and `/videos/search`.
pub const PEXELS_BASE: &str = "https://api.pexels.com";
/// Pixabay's API host: `/api/` (photos) and `/api/videos/`.
pub const PIXABAY_BASE: &str = "https://pixabay.com";

/// One stock provider's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockApi {
    /// Sent as Pexels' `Authorization` header or Pixabay's `key=`.
    pub key: Secret,
    /// The API host (scheme, host, port; no path).
    pub base: Url,
    /// Set when `STOCK_API_BASE_*` replaced the provider's own host: files
    /// are then downloaded from that host only.
    pub overridden: bool,
}

/// The stock providers that have a key, and the search limit.
#[derive(Debug, Clone, Default)]
pub struct StockConfig {
    pub pexels: Option<StockApi>,
    pub pixabay: Option<StockApi>,
    /// `STOCK_SEARCHES_PER_MINUTE`: searches one tenant may make per minute
    /// through `GET /api/v1/stock/search`; 0 = unlimited.
    pub searches_per_minute: u32,
}

impl StockConfig {
    /// Whether any stock provider is set up (then an `auto` scene is stock).
    pub fn any(&self) -> bool {
        self.pexels.is_some() || self.pixabay.is_some()
    }

    pub(super) fn parse(src: &Source, production: bool) -> Result<StockConfig, ConfigError> {
        let api = |key_name: &'static str, base_name: &'static str, default: &str| -> Result<_, ConfigError> {
            let overridden = src.get(base_name).is_some();
            let base = src.url_or(base_name, default)?;
            let Some(key) = src.secret(key_name) else { return Ok(None) };
            if production && base.scheme() != "https" {
                return Err(bad(base_name, "must be an https URL when APP_ENV=production"));
            }
            Ok(Some(StockApi { key, base, overridden }))
        };
        Ok(StockConfig {
            pexels: api("PEXELS_API_KEY", "STOCK_API_BASE_PEXELS", PEXELS_BASE)?,
            pixabay: api("PIXABAY_API_KEY", "STOCK_API_BASE_PIXABAY", PIXABAY_BASE)?,
            searches_per_minute: src.parsed("STOCK_SEARCHES_PER_MINUTE", 30, "a whole number")?,
        })
    }
}
