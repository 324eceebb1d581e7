//! Serving: where the service listens, how it is reached, who is trusted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// A connection that has not sent a whole request head in this time is closed.
    pub header_read_timeout: Duration,
    /// A request not answered in this time gets 408 (its body was still
    /// arriving) or 503; live-progress streams and media downloads are exempt.
    pub request_timeout: Duration,
    /// Connections open at once; past it new ones wait in the listen backlog.
    pub max_connections: usize,
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
            header_read_timeout: Duration::from_secs(src.positive("HEADER_READ_TIMEOUT_SECONDS", 10)?),
            request_timeout: Duration::from_secs(src.positive("REQUEST_TIMEOUT_SECONDS", 30)?),
            max_connections: usize::try_from(src.positive("MAX_CONNECTIONS", 10_000)?)
                .map_err(|_| bad("MAX_CONNECTIONS", "too large"))?,
            live_streams_per_tenant: src.parsed("LIVE_STREAMS_PER_TENANT", 20, "a whole number")?,
            live_streams_max: src.parsed("LIVE_STREAMS_MAX", 2000, "a whole number")?,
        })
    }
}

fn parse_cidr(raw: &str) -> Result<IpNet, String> {
    let net = match raw.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => raw
            .parse::<std::net::IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("{raw:?} is not a CIDR or IP address"))?,
    };
    Ok(canonical(net))
}

/// `::ffff:10.0.0.0/104` is `10.0.0.0/8`: client IPs are compared in their
/// canonical form (IPv4-mapped addresses as IPv4), so proxies must be too.
fn canonical(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(v4net) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4net);
    }
    net
}

#[cfg(test)]
mod tests {
    #[test]
    fn ipv4_mapped_proxies_are_ipv4_networks() {
        assert_eq!(super::parse_cidr("::ffff:10.0.0.0/104"), Ok("10.0.0.0/8".parse().expect("cidr")));
        assert_eq!(super::parse_cidr("::ffff:127.0.0.1"), Ok("127.0.0.1/32".parse().expect("cidr")));
        assert_eq!(super::parse_cidr("2001:db8::/32"), Ok("2001:db8::/32".parse().expect("cidr")));
    }
}
