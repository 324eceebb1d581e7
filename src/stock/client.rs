//! Talking to the stock providers: searches and lookups through the day-long
//! shared cache, each provider's rate limit obeyed (Pexels'
//! `X-Ratelimit-Remaining`/`-Reset`, Pixabay's `X-RateLimit-*`, HTTP 429 with
//! or without `Retry-After`), and files downloaded only from the hosts the
//! provider serves them from, over HTTPS, with few redirects, a size cap and
//! a time limit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use super::types::{Found, Search, StockMedia, StockProvider};
use super::{pexels, pixabay, store};
use crate::config::{StockApi, StockConfig};
use crate::crypto;
use crate::library::intake::{self, IntakeError, Received};

/// The largest provider answer read (a page of results is a few tens of KB).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// The longest a provider is left alone after a 429 without `Retry-After`,
/// or after saying no requests remain.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Redirects followed by a download (each to an allowed host).
const MAX_REDIRECTS: usize = 3;

/// Why a provider gave no answer. The messages are safe to show.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// No stock provider has a key.
    #[error("no stock provider is set up on this server")]
    NotConfigured,
    /// The provider asked us to wait (rate limit).
    #[error("{} is limiting our requests for {} s", .provider.name(), .wait.as_secs().max(1))]
    Busy { provider: StockProvider, wait: Duration },
    /// Down, slow, or an answer we cannot use.
    #[error("{} {reason}", .provider.name())]
    Failed { provider: StockProvider, reason: String },
    #[error("the stock search cache failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why a file was not downloaded. The messages are safe to show.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Not a host the provider serves files from, not HTTPS, or too many redirects.
    #[error("the file's address is not one of the provider's file hosts")]
    Refused,
    #[error("the file could not be downloaded: {0}")]
    Failed(String),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

#[derive(Debug, Default, Clone, Copy)]
struct Backoff {
    until: Option<Instant>,
    /// 429s in a row without `Retry-After`: the wait doubles with each.
    strikes: u32,
}

/// The providers' clients and their rate-limit state (per process: each
/// process backs off on its own, and the cache keeps their searches few).
pub struct StockClient {
    api: reqwest::Client,
    files: reqwest::Client,
    /// Where files may come from (from the configuration, which does not change).
    hosts: FileHosts,
    backoff: Mutex<HashMap<StockProvider, Backoff>>,
}

/// Where each provider may serve files from: its own file hosts over HTTPS,
/// or only the overriding base's scheme, host and port.
#[derive(Debug, Clone)]
struct FileHosts {
    pexels: Option<StockApi>,
    pixabay: Option<StockApi>,
}

impl FileHosts {
    fn allows(&self, provider: StockProvider, url: &Url) -> bool {
        let (api, hosts) = match provider {
            StockProvider::Pexels => (&self.pexels, pexels::FILE_HOSTS),
            StockProvider::Pixabay => (&self.pixabay, pixabay::FILE_HOSTS),
        };
        let Some(api) = api else { return false };
        if api.overridden {
            return url.scheme() == api.base.scheme()
                && url.host_str() == api.base.host_str()
                && url.port_or_known_default() == api.base.port_or_known_default();
        }
        url.scheme() == "https"
            && url.port_or_known_default() == Some(443)
            && url.host_str().is_some_and(|host| hosts.contains(&host))
    }

    fn allows_any(&self, url: &Url) -> bool {
        StockProvider::ALL.iter().any(|p| self.allows(*p, url))
    }
}

impl StockClient {
    /// Clients for the configured providers.
    pub fn new(config: &StockConfig) -> anyhow::Result<StockClient> {
        let agent = concat!("reelforge/", env!("CARGO_PKG_VERSION"));
        let api = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(agent)
            .build()?;
        let hosts = FileHosts { pexels: config.pexels.clone(), pixabay: config.pixabay.clone() };
        let redirect_hosts = hosts.clone();
        let files = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS || !redirect_hosts.allows_any(attempt.url()) {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(agent)
            .build()?;
        Ok(StockClient { api, files, hosts, backoff: Mutex::new(HashMap::new()) })
    }

    /// The configured providers, `preferred` first.
    pub fn providers(config: &StockConfig, preferred: Option<StockProvider>) -> Vec<StockProvider> {
        let mut order: Vec<StockProvider> =
            StockProvider::ALL.into_iter().filter(|p| api_of(config, *p).is_some()).collect();
        if let Some(first) = preferred
            && let Some(at) = order.iter().position(|p| *p == first)
        {
            order.remove(at);
            order.insert(0, first);
        }
        order
    }

    /// One provider's results for `search`, from the cache when it was asked
    /// within a day.
    pub async fn search(
        &self,
        db: &crate::db::Db,
        config: &StockConfig,
        provider: StockProvider,
        search: &Search,
        timeout: Duration,
    ) -> Result<Vec<Found>, StockError> {
        let api = api_of(config, provider).ok_or(StockError::NotConfigured)?;
        let query: String = search.query.trim().to_lowercase();
        let key = cache_key(&[
            "search:v1",
            provider.as_str(),
            search.media.as_str(),
            search.orientation.as_str(),
            &search.page.to_string(),
            &query,
        ]);
        if let Some(found) = self.cached(db, &key).await? {
            return Ok(found);
        }
        let search = Search { query, ..search.clone() };
        let request = match provider {
            StockProvider::Pexels => pexels::search(&self.api, api, &search),
            StockProvider::Pixabay => pixabay::search(&self.api, api, &search),
        };
        let body = self.call(provider, request, timeout).await?.unwrap_or_default();
        let found = match provider {
            StockProvider::Pexels => pexels::parse_search(search.media, &body),
            StockProvider::Pixabay => pixabay::parse_search(search.media, &body),
        }
        .map_err(|err| unreadable(provider, &err))?;
        self.keep(db, &key, provider, &found).await?;
        Ok(found)
    }

    /// One result by the provider's id (a scene's `pick`); `None` when the
    /// provider has no such photo or clip.
    pub async fn lookup(
        &self,
        db: &crate::db::Db,
        config: &StockConfig,
        provider: StockProvider,
        media: StockMedia,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Found>, StockError> {
        let api = api_of(config, provider).ok_or(StockError::NotConfigured)?;
        let key = cache_key(&["lookup:v1", provider.as_str(), media.as_str(), id]);
        if let Some(found) = self.cached(db, &key).await? {
            return Ok(found.into_iter().next());
        }
        let request = match provider {
            StockProvider::Pexels => pexels::lookup(&self.api, api, media, id),
            StockProvider::Pixabay => pixabay::lookup(&self.api, api, media, id),
        };
        let found = match self.call(provider, request, timeout).await? {
            None => Vec::new(),
            Some(body) => match provider {
                StockProvider::Pexels => pexels::parse_lookup(media, &body).map(|f| vec![f]),
                StockProvider::Pixabay => pixabay::parse_search(media, &body),
            }
            .map_err(|err| unreadable(provider, &err))?,
        };
        let found: Vec<Found> = found.into_iter().filter(|f| f.id == id).take(1).collect();
        self.keep(db, &key, provider, &found).await?;
        Ok(found.into_iter().next())
    }

    async fn cached(&self, db: &crate::db::Db, key: &str) -> Result<Option<Vec<Found>>, StockError> {
        let since = crate::db::now_ms() - store::CACHE_MS;
        Ok(store::cached(db, key, since).await?.and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn keep(
        &self,
        db: &crate::db::Db,
        key: &str,
        provider: StockProvider,
        found: &[Found],
    ) -> Result<(), StockError> {
        let json = serde_json::to_string(found).unwrap_or_else(|_| "[]".into());
        store::remember(db, key, provider.as_str(), &json, crate::db::now_ms()).await?;
        Ok(())
    }

    /// How long `provider` must be left alone, if it must.
    pub fn blocked_for(&self, provider: StockProvider) -> Option<Duration> {
        let backoff = self.backoff.lock().ok()?.get(&provider).copied()?;
        backoff.until.and_then(|until| until.checked_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }

    fn block(&self, provider: StockProvider, wait: Option<Duration>) -> Duration {
        let Ok(mut all) = self.backoff.lock() else { return Duration::from_secs(1) };
        let backoff = all.entry(provider).or_default();
        let wait = wait.unwrap_or_else(|| {
            backoff.strikes = backoff.strikes.saturating_add(1);
            Duration::from_secs(1u64 << backoff.strikes.min(6))
        });
        let wait = wait.min(MAX_BACKOFF);
        backoff.until = Some(Instant::now() + wait);
        wait
    }

    fn cleared(&self, provider: StockProvider) {
        if let Ok(mut all) = self.backoff.lock() {
            all.remove(&provider);
        }
    }

    /// Sends an API request; the body of a success, `None` for a 404, the
    /// rate limit's wait for a 429.
    async fn call(
        &self,
        provider: StockProvider,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, StockError> {
        if let Some(wait) = self.blocked_for(provider) {
            return Err(StockError::Busy { provider, wait });
        }
        let failed = |reason: String| StockError::Failed { provider, reason };
        let response = request.timeout(timeout).send().await.map_err(|err| failed(describe(err, timeout)))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = self.block(provider, retry_after(response.headers()));
            return Err(StockError::Busy { provider, wait });
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(failed("refused the API key".into()));
        }
        if !status.is_success() {
            return Err(failed(format!("answered {status}")));
        }
        // Out of requests for now: the answer counts, the next call waits.
        match remaining(response.headers()) {
            Some(0) => {
                self.block(provider, Some(reset_in(response.headers()).unwrap_or(Duration::from_secs(60))));
            }
            _ => self.cleared(provider),
        }
        let body = read_capped(response, MAX_ANSWER_BYTES, timeout).await.map_err(failed)?;
        Ok(Some(body))
    }

    /// Downloads a file of `provider` to `dest`: only from its file hosts
    /// (or the overriding base), at most `max_bytes`, within `timeout`.
    pub async fn download(
        &self,
        provider: StockProvider,
        url: &str,
        dest: &Path,
        max_mb: u64,
        timeout: Duration,
    ) -> Result<Received, DownloadError> {
        let url = Url::parse(url).map_err(|_| DownloadError::Refused)?;
        if !self.hosts.allows(provider, &url) {
            tracing::warn!(
                provider = provider.as_str(),
                host = url.host_str().unwrap_or_default(),
                "stock file refused"
            );
            return Err(DownloadError::Refused);
        }
        let max_bytes = max_mb.saturating_mul(1_000_000);
        let work = async {
            let response = self.files.get(url).send().await.map_err(|err| {
                if err.is_redirect() { DownloadError::Refused } else { DownloadError::Failed(describe(err, timeout)) }
            })?;
            let status = response.status();
            if status.is_redirection() {
                // The policy stopped at a host not allowed (or too many hops).
                return Err(DownloadError::Refused);
            }
            if !status.is_success() {
                return Err(DownloadError::Failed(format!("the file host answered {status}")));
            }
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(IntakeError::TooLarge { max_mb }.into());
            }
            let chunks = futures_util::stream::unfold(response, |mut response| async move {
                match response.chunk().await {
                    Ok(Some(chunk)) => Some((Ok::<Bytes, reqwest::Error>(chunk), response)),
                    Ok(None) => None,
                    Err(err) => Some((Err(err), response)),
                }
            });
            let (bytes, head) = intake::receive(Box::pin(chunks), dest, max_bytes, max_mb).await?;
            Ok(Received { path: dest.to_path_buf(), bytes, head, filename: "stock".into() })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| DownloadError::Failed(format!("the file did not arrive within {} s", timeout.as_secs())))?
    }

    /// A preview picture of a result, for the picker: only from the
    /// provider's file hosts, at most 2 MB, and a picture by its bytes.
    pub async fn thumbnail(
        &self,
        provider: StockProvider,
        url: &str,
        timeout: Duration,
    ) -> Result<(Vec<u8>, &'static str), DownloadError> {
        let url = Url::parse(url).map_err(|_| DownloadError::Refused)?;
        if !self.hosts.allows(provider, &url) {
            return Err(DownloadError::Refused);
        }
        let response = self
            .files
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|err| DownloadError::Failed(describe(err, timeout)))?;
        if !response.status().is_success() {
            return Err(DownloadError::Failed(format!("the file host answered {}", response.status())));
        }
        let body = read_capped(response, 2 * 1024 * 1024, timeout).await.map_err(DownloadError::Failed)?;
        let sniffed = reelforge_media::intake::sniff(&body)
            .filter(|s| s.is_image())
            .ok_or(DownloadError::Intake(IntakeError::Unsupported))?;
        Ok((body, sniffed.content_type()))
    }
}

fn api_of(config: &StockConfig, provider: StockProvider) -> Option<&StockApi> {
    match provider {
        StockProvider::Pexels => config.pexels.as_ref(),
        StockProvider::Pixabay => config.pixabay.as_ref(),
    }
}

/// `{base}{path}?{query}`, the query form-encoded.
pub(super) fn with_query(base: &Url, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!("{}{path}", base.as_str().trim_end_matches('/'));
    if !query.is_empty() {
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        url.push('?');
        url.push_str(&encoded);
    }
    url
}

fn cache_key(parts: &[&str]) -> String {
    crypto::hash_token(&parts.join("\u{1f}"))
}

fn unreadable(provider: StockProvider, err: &serde_json::Error) -> StockError {
    tracing::warn!(provider = provider.as_str(), error = %err, "stock answer could not be read");
    StockError::Failed { provider, reason: "sent an answer that could not be read".into() }
}

/// What went wrong, for people; the client's own words go to the log
/// without the URL (Pixabay's key is in its query).
fn describe(err: reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        format!("did not answer within {} s", timeout.as_secs())
    } else if err.is_connect() {
        "could not be reached".into()
    } else {
        tracing::warn!(error = %err.without_url(), "stock call failed");
        "failed".into()
    }
}

/// Reads a body up to `max` bytes within `timeout`.
async fn read_capped(mut response: reqwest::Response, max: usize, timeout: Duration) -> Result<Vec<u8>, String> {
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| describe(err, timeout))? {
            if body.len() + chunk.len() > max {
                return Err("sent more than we read".to_string());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| format!("did not answer within {} s", timeout.as_secs()))?
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in seconds (the HTTP-date form is read as a minute).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    Some(Duration::from_secs(value.parse().unwrap_or(60)))
}

/// Requests left in the provider's window (`X-Ratelimit-Remaining`; header
/// names are case-insensitive, so Pixabay's `X-RateLimit-Remaining` too).
fn remaining(headers: &HeaderMap) -> Option<u64> {
    header_number(headers, "x-ratelimit-remaining")
}

/// When the window resets: Pexels sends a Unix time, Pixabay seconds.
fn reset_in(headers: &HeaderMap) -> Option<Duration> {
    let value = header_number(headers, "x-ratelimit-reset")?;
    if value > 1_000_000_000 {
        let now = u64::try_from(crate::db::now_ms() / 1000).unwrap_or_default();
        Some(Duration::from_secs(value.saturating_sub(now)))
    } else {
        Some(Duration::from_secs(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn hosts(overridden: Option<&str>) -> FileHosts {
        let api = |base: &str| StockApi {
            key: Secret::new("k"),
            base: Url::parse(overridden.unwrap_or(base)).expect("url"),
            overridden: overridden.is_some(),
        };
        FileHosts { pexels: Some(api("https://api.pexels.com")), pixabay: None }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn files_come_from_the_providers_hosts_over_https_only() {
        let real = hosts(None);
        let pexels = StockProvider::Pexels;
        assert!(real.allows(pexels, &url("https://images.pexels.com/photos/1/a.jpeg?w=940")));
        assert!(real.allows(pexels, &url("https://videos.pexels.com/video-files/1/hd.mp4")));
        assert!(!real.allows(pexels, &url("http://images.pexels.com/photos/1/a.jpeg")));
        assert!(!real.allows(pexels, &url("https://images.pexels.com:8443/photos/1/a.jpeg")));
        assert!(!real.allows(pexels, &url("https://evil.example/a.jpeg")));
        assert!(!real.allows(pexels, &url("https://images.pexels.com.evil.example/a.jpeg")));
        assert!(!real.allows(pexels, &url("https://169.254.169.254/latest/meta-data")));
        // A provider without a key serves nothing.
        assert!(!real.allows(StockProvider::Pixabay, &url("https://cdn.pixabay.com/a.jpg")));

        let stand_in = hosts(Some("http://127.0.0.1:4010"));
        assert!(stand_in.allows(pexels, &url("http://127.0.0.1:4010/files/a.jpg")));
        assert!(!stand_in.allows(pexels, &url("http://127.0.0.1:4011/files/a.jpg")));
        assert!(!stand_in.allows(pexels, &url("https://images.pexels.com/photos/1/a.jpeg")));
    }

    #[test]
    fn rate_limit_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Ratelimit-Remaining", "0".parse().expect("value"));
        headers.insert(RETRY_AFTER, "7".parse().expect("value"));
        assert_eq!(remaining(&headers), Some(0));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let now = u64::try_from(crate::db::now_ms() / 1000).unwrap_or_default();
        headers.insert("X-RateLimit-Reset", (now + 90).to_string().parse().expect("value"));
        let reset = reset_in(&headers).expect("reset").as_secs();
        assert!((88..=90).contains(&reset), "{reset}");
        headers.insert("X-RateLimit-Reset", "42".parse().expect("value"));
        assert_eq!(reset_in(&headers), Some(Duration::from_secs(42)));
    }

    #[test]
    fn a_429_without_retry_after_backs_off_longer_each_time() {
        let client = StockClient::new(&StockConfig::default()).expect("client");
        let first = client.block(StockProvider::Pexels, None);
        let second = client.block(StockProvider::Pexels, None);
        assert!(second > first, "{first:?} then {second:?}");
        assert!(client.blocked_for(StockProvider::Pexels).is_some());
        assert!(client.blocked_for(StockProvider::Pixabay).is_none());
        client.cleared(StockProvider::Pexels);
        assert!(client.blocked_for(StockProvider::Pexels).is_none());
        assert_eq!(client.block(StockProvider::Pixabay, Some(Duration::from_secs(99_999))), MAX_BACKOFF);
    }

    #[test]
    fn configured_providers_in_order() {
        let api = StockApi { key: Secret::new("k"), base: url("https://x.example"), overridden: true };
        let both = StockConfig { pexels: Some(api.clone()), pixabay: Some(api), searches_per_minute: 0 };
        assert_eq!(StockClient::providers(&both, None), vec![StockProvider::Pexels, StockProvider::Pixabay]);
        assert_eq!(
            StockClient::providers(&both, Some(StockProvider::Pixabay)),
            vec![StockProvider::Pixabay, StockProvider::Pexels]
        );
        assert!(StockClient::providers(&StockConfig::default(), None).is_empty());
    }
}
