//! Stock photos and footage from Pexels and Pixabay (SPEC 4.7): the
//! providers' wire formats (`pexels.rs`, `pixabay.rs`), the client with its
//! shared day-long cache, rate-limit backoff and checked downloads
//! (`client.rs`, `store.rs`), the picker's search (`routes.rs`), and
//! [`find`], which picks a scene's photo or clip across the providers.

pub mod client;
mod pexels;
mod pixabay;
pub mod routes;
pub mod store;
pub mod types;

use std::time::Duration;

pub use client::{DownloadError, StockClient, StockError};
pub use types::{Credit, Found, Orientation, Rendition, Search, StockMedia, StockProvider};

use crate::config::StockConfig;
use crate::db::Db;

/// The longest a scene's search waits for a provider's rate limit before
/// trying the next provider.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// How long a provider's API may take to answer: `IMAGE_TIMEOUT_SECONDS`,
/// at most 10 s.
pub fn search_timeout(config: &crate::config::Config) -> Duration {
    Duration::from_secs(config.media.image_timeout_seconds.min(10))
}

/// What a scene wants from stock.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub query: String,
    pub media: StockMedia,
    /// Tried first (then the others).
    pub provider: Option<StockProvider>,
    /// The provider's id of the photo or clip chosen in the picker.
    pub pick: Option<String>,
    /// The size a file must cover without being enlarged.
    pub width: u32,
    pub height: u32,
    /// Clips at least this long are preferred (the narration's estimate).
    pub seconds: f64,
}

/// The results for a scene, best first, from the first provider (in order,
/// `wanted.provider` first) that has any; empty when none matched. A
/// provider that is down or limiting us is skipped for the next one; the
/// error is returned only when no provider answered.
pub async fn find(
    client: &StockClient,
    db: &Db,
    config: &StockConfig,
    wanted: &Wanted,
    timeout: Duration,
) -> Result<Vec<Found>, StockError> {
    let providers = StockClient::providers(config, wanted.provider);
    if providers.is_empty() {
        return Err(StockError::NotConfigured);
    }
    let orientation = Orientation::of(wanted.width, wanted.height);
    let search = Search { query: wanted.query.clone(), media: wanted.media, orientation, page: 1 };
    let search = &search;
    let answer = first_with_results(&providers, |provider| async move {
        if let (Some(id), Some(chosen)) = (&wanted.pick, wanted.provider)
            && chosen == provider
            && let Some(picked) = patiently(|| client.lookup(db, config, provider, wanted.media, id, timeout)).await?
        {
            return Ok(vec![picked]);
        }
        patiently(|| client.search(db, config, provider, search, timeout)).await
    })
    .await?;
    Ok(answer.map(|(_, found)| rank(found, wanted)).unwrap_or_default())
}

/// Asks `providers` in order and returns the first answer with results, with
/// the provider that gave it; `None` when every provider answered with none.
/// A provider that fails (down, limiting us) is skipped for the next one; its
/// error is returned only when no provider had results.
pub async fn first_with_results<F, Fut>(
    providers: &[StockProvider],
    mut ask: F,
) -> Result<Option<(StockProvider, Vec<Found>)>, StockError>
where
    F: FnMut(StockProvider) -> Fut,
    Fut: Future<Output = Result<Vec<Found>, StockError>>,
{
    let mut failure = None;
    for &provider in providers {
        match ask(provider).await {
            Ok(found) if !found.is_empty() => return Ok(Some((provider, found))),
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(provider = provider.as_str(), error = %err, "stock provider skipped");
                failure = Some(err);
            }
        }
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(None),
    }
}

/// Runs a provider call, waiting once for a short rate-limit backoff.
async fn patiently<T, F, Fut>(call: F) -> Result<T, StockError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StockError>>,
{
    match call().await {
        Err(StockError::Busy { wait, .. }) if wait <= MAX_WAIT => {
            tokio::time::sleep(wait).await;
            call().await
        }
        other => other,
    }
}

/// The provider's order (its relevance), with results of the wrong shape,
/// too small for the frame, or (clips) shorter than the narration moved back.
fn rank(mut found: Vec<Found>, wanted: &Wanted) -> Vec<Found> {
    let orientation = Orientation::of(wanted.width, wanted.height);
    found.sort_by_key(|f| {
        let shape = !orientation.fits(f.width, f.height);
        let small = !f.covers(wanted.width, wanted.height);
        let short = wanted.media == StockMedia::Video && f.duration_seconds.is_some_and(|d| d < wanted.seconds);
        (shape, small, short)
    });
    found
}

/// The query a scene searches with when it gives none: its keywords (names
/// and nouns first, stop words of its language out), at most three.
pub fn query_for(text: &str, title: Option<&str>, language: &str) -> String {
    let words = reelforge_media::keywords::keywords(&format!("{}. {text}", title.unwrap_or_default()), language);
    let mut query = words.into_iter().take(3).collect::<Vec<_>>().join(" ");
    if query.is_empty() {
        query = text.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    }
    query.chars().take(types::MAX_QUERY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, width: u32, height: u32, seconds: f64) -> Found {
        Found {
            provider: StockProvider::Pexels,
            id: id.into(),
            media: StockMedia::Video,
            width,
            height,
            duration_seconds: Some(seconds),
            author: "A".into(),
            author_url: None,
            page_url: String::new(),
            thumbnail: None,
            renditions: vec![Rendition { url: String::new(), width, height }],
        }
    }

    #[test]
    fn clips_long_enough_of_the_right_shape_come_first() {
        let wanted = Wanted {
            query: "storm".into(),
            media: StockMedia::Video,
            provider: None,
            pick: None,
            width: 1280,
            height: 720,
            seconds: 6.0,
        };
        let ranked = rank(
            vec![
                found("portrait", 1080, 1920, 20.0),
                found("short", 1920, 1080, 3.0),
                found("small", 640, 360, 20.0),
                found("good", 1920, 1080, 12.0),
            ],
            &wanted,
        );
        let ids: Vec<&str> = ranked.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["good", "short", "small", "portrait"]);
    }

    #[test]
    fn the_storm_scene_searches_for_storms() {
        let query = query_for("Storms were the hardest nights. Wind shook the glass.", None, "en");
        assert!(query.contains("storm"), "{query}");
        assert!(query.split(' ').count() <= 3, "{query}");
        assert!(!query.contains("the"), "{query}");
        let german = query_for("Der Sturm war die härteste Nacht.", None, "de");
        assert!(german.contains("sturm") && !german.contains("die"), "{german}");
    }
}
