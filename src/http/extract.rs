//! Extractors that answer with our problem+json errors.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A JSON body whose errors are problem+json: 400 for malformed JSON, 422 naming
/// the field for a wrong shape, 413 past the body limit, 415 without a JSON type.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(AppError::Problem {
                status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                title: "Unsupported Media Type".into(),
                detail: "send the body as JSON with Content-Type: application/json".into(),
                extensions: Default::default(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("could not read the request body".into())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserialises a JSON body, turning serde's errors into 400 or 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut deserializer);
    match parsed {
        Ok(value) => {
            deserializer.end().map_err(|e| {
                AppError::BadRequest(format!("malformed JSON at line {}, column {}", e.line(), e.column()))
            })?;
            // serde would also read a struct from an array; our bodies are objects.
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(AppError::invalid("body", "must be a JSON object"));
            }
            Ok(value)
        }
        Err(err) => {
            let inner = err.inner();
            if inner.classify() != serde_json::error::Category::Data {
                return Err(AppError::BadRequest(format!(
                    "malformed JSON at line {}, column {}",
                    inner.line(),
                    inner.column()
                )));
            }
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or_default().to_string();
            let path = err.path().to_string();
            let field = if path == "." {
                message
                    .split('`')
                    .nth(1)
                    .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
                    .unwrap_or("body")
                    .to_string()
            } else {
                path
            };
            Err(AppError::Validation(vec![FieldError::new(field, message)]))
        }
    }
}

/// Query parameters whose errors are problem+json: a parameter that does not
/// parse (`?limit=false`, a number past `i64`) is a 422 naming it, like a
/// parameter that parses but is out of range (the handlers' own checks).
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_error(&rejection.body_text())),
        }
    }
}

/// Turns axum's query rejection text (`Failed to deserialize query string:
/// limit: invalid digit found in string`) into a 422 naming the parameter.
fn query_error(text: &str) -> AppError {
    let text = text.split_once(": ").map_or(text, |(_, rest)| rest);
    // serde_path_to_error prefixes the parameter's name when it knows it.
    let (field, message) = match text.split_once(": ") {
        Some((name, message)) if !name.is_empty() && !name.contains(' ') => (name.to_string(), message),
        // `missing field `x``, `duplicate field `x``: the name is quoted.
        _ => (text.split('`').nth(1).filter(|name| !name.is_empty()).unwrap_or("query").to_string(), text),
    };
    AppError::Validation(vec![FieldError::new(field, message)])
}

/// The client's IP address: the socket peer, or the right-most untrusted
/// `X-Forwarded-For` hop when the peer is one of `TRUSTED_PROXIES`. Always
/// canonical: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack
/// socket reports for an IPv4 client) is the IPv4 address it carries, so
/// proxies, limits and the audit log see one client as one address.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(client_ip(peer, parts, &state.config.http.trusted_proxies)))
    }
}

fn client_ip(peer: IpAddr, parts: &Parts, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    // Walk from the proxy towards the client; the first hop we do not trust is
    // the client. Anything left of it could have been written by the client.
    hops.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_with_xff(value: &str) -> Parts {
        let request = axum::http::Request::builder().header("x-forwarded-for", value).body(()).expect("request");
        request.into_parts().0
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let parts = parts_with_xff("1.1.1.1, 203.0.113.9, 10.0.0.2");
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(client_ip(proxy, &parts, &trusted), "203.0.113.9".parse::<IpAddr>().expect("ip"));
        let stranger: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(client_ip(stranger, &parts, &trusted), stranger);
        assert_eq!(client_ip(stranger, &parts, &[]), stranger);
        let garbage = parts_with_xff("not-an-ip");
        assert_eq!(client_ip(proxy, &garbage, &trusted), proxy);
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let trusted: Vec<ipnet::IpNet> = vec!["127.0.0.1/32".parse().expect("cidr")];
        // A dual-stack listener reports the IPv4 proxy as ::ffff:127.0.0.1: still trusted.
        let parts = parts_with_xff("::ffff:203.0.113.9");
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &parts, &trusted), ip("203.0.113.9"));
        // A mapped hop naming the proxy itself is the proxy, not a client.
        let parts = parts_with_xff("198.51.100.7, ::ffff:127.0.0.1");
        assert_eq!(client_ip(ip("127.0.0.1"), &parts, &trusted), ip("198.51.100.7"));
        // An untrusted mapped peer is reported as IPv4.
        assert_eq!(client_ip(ip("::ffff:192.0.2.1"), &parts, &trusted), ip("192.0.2.1"));
        // Real IPv6 stays as it is.
        assert_eq!(client_ip(ip("2001:db8::1"), &parts, &trusted), ip("2001:db8::1"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        count: Option<u32>,
    }

    #[test]
    fn json_errors_name_the_field() {
        assert!(matches!(parse_json::<Body>(b"{\"email\": "), Err(AppError::BadRequest(_))));
        assert!(matches!(parse_json::<Body>(b"{\"email\":\"a\"} trailing"), Err(AppError::BadRequest(_))));
        match parse_json::<Body>(b"{}") {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "email"),
            other => panic!("unexpected {other:?}"),
        }
        match parse_json::<Body>(b"{\"email\":\"a\",\"count\":\"x\"}") {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "count"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_json::<Body>(b"{\"email\":\"a\"}").is_ok());
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Page {
        limit: Option<i64>,
        cursor: Option<String>,
    }

    async fn query(uri: &str) -> Result<Page, AppError> {
        let mut parts = axum::http::Request::builder().uri(uri).body(()).expect("request").into_parts().0;
        Query::<Page>::from_request_parts(&mut parts, &()).await.map(|Query(page)| page)
    }

    #[tokio::test]
    async fn query_errors_name_the_parameter() {
        for uri in ["/x?limit=false", "/x?limit=9223372036854775808", "/x?limit=1.5", "/x?cursor=a&limit="] {
            match query(uri).await {
                Err(err @ AppError::Validation(_)) => {
                    assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
                    let AppError::Validation(errors) = err else { unreachable!() };
                    assert_eq!(errors[0].field, "limit", "{uri}: {errors:?}");
                }
                other => panic!("{uri}: unexpected {other:?}"),
            }
        }
        match query("/x?limit=1&limit=2").await {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "limit", "{errors:?}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(query("/x?limit=5&other=1").await.expect("parses").limit, Some(5));
        assert_eq!(query("/x").await.expect("parses").limit, None);
    }
}
