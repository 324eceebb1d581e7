//! Error reporting to Sentry when `SENTRY_DSN` is set.
//!
//! Errors logged at `error` level and panics become Sentry events. Each
//! request runs in its own scope tagged with its request id and, once
//! authenticated, its tenant (see `http::middleware::observe` and the auth
//! extractor). Nothing that could be a credential is sent: default PII is
//! off, request headers and bodies are never attached, and every text is
//! scrubbed of tokens before it leaves.

use std::borrow::Cow;

use sentry::protocol::Event;

use crate::config::{AppEnv, Config};

/// Starts the Sentry client; keep the guard alive for the process's life
/// (dropping it flushes queued events). `None` when `SENTRY_DSN` is unset.
pub fn init(config: &Config) -> Option<sentry::ClientInitGuard> {
    let dsn: sentry::types::Dsn = config.ops.sentry_dsn.as_ref()?.expose().parse().ok()?;
    let mut options = client_options(config.app_env);
    options.dsn = Some(dsn);
    Some(sentry::init(options))
}

/// Everything but the DSN and transport. The default integrations stay on,
/// among them the panic hook that reports a panic through the hub current
/// on the panicking thread (a request's own hub while it is being served).
fn client_options(app_env: AppEnv) -> sentry::ClientOptions {
    sentry::ClientOptions::new()
        .release(concat!("reelforge@", env!("CARGO_PKG_VERSION")))
        .environment(match app_env {
            AppEnv::Production => "production",
            AppEnv::Development => "development",
        })
        .send_default_pii(false)
        .before_send(|event| Some(scrub_event(event)))
}

/// A hub for one request, scoped with its request id and route; the auth
/// extractor adds the tenant once it is known. `None` while Sentry is off,
/// so requests pay nothing for it then.
pub fn request_hub(request_id: &str, route: &str) -> Option<std::sync::Arc<sentry::Hub>> {
    let current = sentry::Hub::current();
    if !current.client().is_some_and(|c| c.is_enabled()) {
        return None;
    }
    let hub = std::sync::Arc::new(sentry::Hub::new_from_top(current));
    hub.configure_scope(|scope| {
        scope.set_tag("request_id", request_id);
        scope.set_tag("route", route);
    });
    Some(hub)
}

/// The `tracing` layers: `error!` events become Sentry events, `info!` and
/// `warn!` the breadcrumbs leading up to them. Inert while no client is bound.
pub fn tracing_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::LevelFilter;
    ErrorLayer::new().with_filter(LevelFilter::ERROR).and_then(BreadcrumbLayer::new().with_filter(LevelFilter::INFO))
}

fn scrub_event(mut event: Event<'static>) -> Event<'static> {
    event.message = event.message.map(|m| scrub(&m).into_owned());
    for exception in event.exception.values.iter_mut() {
        exception.value = exception.value.take().map(|v| scrub(&v).into_owned());
    }
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = scrub(&entry.message).into_owned();
    }
    for value in event.tags.values_mut() {
        *value = scrub(value).into_owned();
    }
    for value in event.extra.values_mut() {
        if let Some(text) = value.as_str() {
            *value = scrub(text).into_owned().into();
        }
    }
    for crumb in event.breadcrumbs.values.iter_mut() {
        crumb.message = crumb.message.take().map(|m| scrub(&m).into_owned());
        for value in crumb.data.values_mut() {
            if let Some(text) = value.as_str() {
                *value = scrub(text).into_owned().into();
            }
        }
    }
    event.request = None;
    event.user = None;
    event
}

/// Replaces anything shaped like one of our credentials: a JWT (`eyJ…`, three
/// dot-separated parts), an API key (`rf_…`), a Stripe key or signature, or a
/// `token=` / `Bearer` value.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '=' | '+' | '/');
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut redact_next = false;
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(is_token_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if word.is_empty() {
            continue;
        }
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (Some(name), value),
            None => (None, word),
        };
        let named_secret = name.is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.ends_with("token") || n.ends_with("key") || n == "v1" || n.ends_with("secret") || n == "password"
        });
        let looks_secret = (value.starts_with("eyJ") && value.matches('.').count() == 2)
            || (value.starts_with("rf_") && value.len() >= 20)
            || ["sk_", "rk_", "whsec_"].iter().any(|p| value.starts_with(p) && value.len() > 8);
        if redact_next || named_secret || looks_secret {
            if let Some(name) = name {
                out.push_str(name);
                out.push('=');
            }
            out.push_str("[redacted]");
            changed = true;
            redact_next = false;
        } else {
            out.push_str(word);
            redact_next = word.eq_ignore_ascii_case("bearer");
        }
    }
    if changed { Cow::Owned(out) } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::{client_options, request_hub, scrub};
    use crate::config::AppEnv;

    #[derive(Default)]
    struct Captured(Mutex<Vec<sentry::protocol::Event<'static>>>);

    impl sentry::Transport for Captured {
        fn send_envelope(&self, envelope: sentry::Envelope) {
            if let (Some(event), Ok(mut events)) = (envelope.event(), self.0.lock()) {
                events.push(event.clone());
            }
        }
    }

    #[test]
    fn a_panic_while_serving_reaches_sentry_tagged_and_scrubbed() {
        let captured = Arc::new(Captured::default());
        let mut options = client_options(AppEnv::Production);
        options.dsn = "https://public@sentry.invalid/1".parse().ok();
        options.transport = Some(Arc::new(captured.clone()));
        let _guard = sentry::init(options);

        let hub = request_hub("req-panic-1", "/api/v1/projects").expect("Sentry is on");
        hub.configure_scope(|scope| scope.set_tag("tenant_id", "tenant-7"));
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let outcome = sentry::Hub::run(hub, || std::panic::catch_unwind(|| panic!("broke on Bearer {jwt}")));
        assert!(outcome.is_err(), "the panic still unwinds to the catch-panic layer");

        let events = captured.0.lock().expect("lock");
        assert_eq!(events.len(), 1, "exactly one event for the panic");
        let event = &events[0];
        assert_eq!(event.tags.get("request_id").map(String::as_str), Some("req-panic-1"));
        assert_eq!(event.tags.get("tenant_id").map(String::as_str), Some("tenant-7"));
        assert_eq!(event.environment.as_deref(), Some("production"));
        let exception = event.exception.values.first().expect("an exception");
        assert_eq!(exception.mechanism.as_ref().map(|m| m.ty.as_str()), Some("panic"));
        let text = serde_json::to_string(event).expect("json");
        assert!(text.contains("broke on Bearer [redacted]"), "{text}");
        assert!(!text.contains(jwt), "never the token: {text}");
    }

    #[test]
    fn credentials_never_leave() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let cases = [
            (format!("Authorization: Bearer {jwt}"), "Authorization: Bearer [redacted]"),
            (format!("token {jwt} failed"), "token [redacted] failed"),
            ("key rf_0123456789abcdefghijklmnop rotated".to_string(), "key [redacted] rotated"),
            ("GET /auth/verify?token=abc123".to_string(), "GET /auth/verify?token=[redacted]"),
            ("stripe sk_test_0123456789 refused".to_string(), "stripe [redacted] refused"),
            ("signature t=1,v1=deadbeef".to_string(), "signature t=1,v1=[redacted]"),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(&input), expected, "{input}");
        }
        assert!(matches!(scrub("a plain message, nothing secret"), std::borrow::Cow::Borrowed(_)));
    }
}
