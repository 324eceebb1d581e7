//! Where a webhook may be delivered (SSRF rules, SPEC 4.8): `http(s)` URLs
//! only (`https` only in production), no credentials in the URL, and never
//! to loopback, private, link-local, shared (CGNAT), multicast, reserved or
//! cloud-metadata addresses, unless `WEBHOOK_ALLOW_PRIVATE=true`.
//!
//! The address rule is applied twice: to the URL when an endpoint is saved
//! (a literal address or an obviously internal name is a 422 at once) and to
//! every address the name resolves to at delivery, by the HTTP client's own
//! resolver. The client connects only to addresses that resolver returned, so
//! a name that resolves to a public address when checked and to a private one
//! when connected (DNS rebinding) cannot get through. The client follows no
//! redirects and uses no proxy.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

use crate::config::WebhookConfig;

/// The longest endpoint URL.
pub const MAX_URL_LEN: usize = 2048;

/// Whether an address is one a webhook may never reach (without `WEBHOOK_ALLOW_PRIVATE`).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = [segments[6].to_be_bytes(), segments[7].to_be_bytes()];
                return forbidden_v4(Ipv4Addr::new(a[0], a[1], b[0], b[1]));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // IPv4-compatible (deprecated) ::a.b.c.d
                || segments[..6] == [0; 6]
                // unique local fc00::/7 (AWS metadata fd00:ec2::254 is one)
                || segments[0] & 0xfe00 == 0xfc00
                // link-local fe80::/10 and the old site-local fec0::/10
                || segments[0] & 0xffc0 == 0xfe80
                || segments[0] & 0xffc0 == 0xfec0
                // documentation 2001:db8::/32
                || segments[..2] == [0x2001, 0xdb8]
                // 6to4 of a private address: 2002:AABB:CCDD::
                || (segments[0] == 0x2002 && {
                    let [a, b] = [segments[1].to_be_bytes(), segments[2].to_be_bytes()];
                    forbidden_v4(Ipv4Addr::new(a[0], a[1], b[0], b[1]))
                })
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, cloud metadata 169.254.169.254
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || ip.is_multicast()
        || a >= 240 // reserved and broadcast
}

/// Names that are internal whatever they resolve to.
fn internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host == "metadata"
        || !host.contains('.')
}

/// Checks an endpoint URL as it is saved; the reason is shown to its owner.
pub fn check_url(raw: &str, config: &WebhookConfig) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if !config.https_only => {}
        "http" => return Err("must be an https URL".into()),
        _ => return Err("must be an http or https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password; authenticate with the signature".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    if config.allow_private {
        return Ok(url);
    }
    match url.host() {
        None => Err("must name a host".into()),
        Some(Host::Ipv4(ip)) if is_forbidden(IpAddr::V4(ip)) => Err(PRIVATE.into()),
        Some(Host::Ipv6(ip)) if is_forbidden(IpAddr::V6(ip)) => Err(PRIVATE.into()),
        Some(Host::Domain(name)) if internal_name(name) => Err(PRIVATE.into()),
        Some(_) => Ok(url),
    }
}

const PRIVATE: &str = "must be a public address: loopback, private, link-local and metadata addresses are refused";

/// The delivery client's resolver: the system's, with forbidden addresses
/// removed; a name left with none fails to connect.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(ForbiddenAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The name resolved only to addresses a webhook may not reach.
#[derive(Debug, thiserror::Error)]
#[error("the host resolves only to private or reserved addresses")]
pub struct ForbiddenAddress;

/// The HTTP client deliveries go through: no redirects, no proxy, the
/// attempt's time limit, and (unless private targets are allowed) the
/// guarded resolver.
pub fn client(config: &WebhookConfig) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(std::time::Duration::from_secs(5)))
        .user_agent(concat!("reelforge-webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(2);
    let builder = if config.allow_private { builder } else { builder.dns_resolver(Arc::new(GuardedResolver)) };
    builder.build()
}

/// Whether a URL may be sent to now: a literal address is checked here (the
/// resolver sees only names).
pub fn literal_allowed(url: &Url, config: &WebhookConfig) -> bool {
    if config.allow_private {
        return true;
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => !is_forbidden(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => !is_forbidden(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => !internal_name(name),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(allow_private: bool, https_only: bool) -> WebhookConfig {
        WebhookConfig { allow_private, timeout: Duration::from_secs(5), https_only }
    }

    #[test]
    fn private_and_reserved_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} should be forbidden");
        }
        for ip in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} should be allowed");
        }
    }

    #[test]
    fn urls_are_checked_by_scheme_credentials_and_host() {
        let strict = config(false, true);
        assert!(check_url("https://hooks.example.com/reelforge", &strict).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://user:pw@hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
            "https://metadata.google.internal/x",
            "https://intranet/x",
            "https://0x7f000001/x",
            "not a url",
        ] {
            assert!(check_url(bad, &strict).is_err(), "{bad} should be refused");
        }
        assert!(check_url("http://hooks.example.com/x", &config(false, false)).is_ok());
        assert!(check_url("http://127.0.0.1:9000/x", &config(true, false)).is_ok());
        assert!(check_url("http://127.0.0.1:9000/x", &config(true, true)).is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(GuardedResolver.resolve(name).await.is_err());
    }
}
