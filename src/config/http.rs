//! Serving: where the service listens, how it is reached, who is trusted.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use url::Url;

use super::source::{ConfigError, Source, bad};

/// How the service is served (`PUBLIC_URL`, `BIND`, cookies, proxies, the web app).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Base of links in e-mails; its origin is what cookie-carrying requests must come from.
    pub public_url: Url,
    pub bind: SocketAddr,
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The built web app (`web/dist`), served with an `index.html` fallback.
    pub web_dist_dir: PathBuf,
    /// `LIVE_STREAMS_PER_TENANT`: live-progress streams one tenant may hold
    /// open in this process (0 = unlimited).
    pub live_streams_per_tenant: u32,
    /// `LIVE_STREAMS_MAX`: live-progress streams of every tenant together in
    /// this process (0 = unlimited).
    pub live_streams_max: u32,
}

impl HttpConfig {
    pub(super) fn parse(src: &Source) -> Result<HttpConfig, ConfigError> {
        let public_url = src.url_or("PUBLIC_URL", "http://localhost:8080")?;
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host_str().is_none() {
            return Err(bad("PUBLIC_URL", "must be an http:// or https:// URL with a host"));
        }
        let trusted_proxies = match src.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_cidr)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("TRUSTED_PROXIES", e))?,
        };
        Ok(HttpConfig {
            public_url,
            bind: src.parsed("BIND", SocketAddr::from(([127, 0, 0, 1], 8080)), "an address like 127.0.0.1:8080")?,
            secure_cookies: src.boolean("SECURE_COOKIES", true)?,
            trusted_proxies,
            web_dist_dir: PathBuf::from(src.string("WEB_DIST_DIR", "web/dist")),
            live_streams_per_tenant: src.parsed("LIVE_STREAMS_PER_TENANT", 20, "a whole number")?,
            live_streams_max: src.parsed("LIVE_STREAMS_MAX", 2000, "a whole number")?,
        })
    }
}

fn parse_cidr(raw: &str) -> Result<IpNet, String> {
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(net);
    }
    raw.parse::<std::net::IpAddr>().map(IpNet::from).map_err(|_| format!("{raw:?} is not a CIDR or IP address"))
}
