use std::collections::HashMap;
use std::path::PathBuf;

use super::source::Source;
use super::*;
use crate::billing::Plan;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_derive_from_data_dir() {
    let config = Config::from_map(map(&[("DATA_DIR", "/srv/rf")])).expect("valid");
    assert_eq!(config.storage.database_url, DatabaseUrl::Sqlite(PathBuf::from("/srv/rf/reelforge.db")));
    assert_eq!(config.storage.storage_url, "file:///srv/rf/media");
    assert_eq!(config.usage.usage_log_dir, PathBuf::from("/srv/rf/usage"));
    assert_eq!(config.ops.backup_dir, PathBuf::from("/srv/rf/backups"));
    assert_eq!(config.outbox_dir(), PathBuf::from("/srv/rf/outbox"));
    assert_eq!(config.auth.rate_limit_email_per_15m, 5);
    assert_eq!(config.auth.rate_limit_ip_per_15m, 20);
    assert_eq!(config.auth.jwt_expire_hours, 24);
    assert_eq!(config.usage.tenant_default_plan, Plan::Free);
    assert_eq!(config.public_origin(), "http://localhost:8080");
    assert!(config.http.secure_cookies);
    assert!(config.stripe().is_none(), "billing is off by default");
    assert_eq!(config.providers.image, ImageProvider::Procedural);
    assert_eq!(config.providers.speech.provider(), &SpeechProvider::Auto, "Piper when installed");
    let espeak = Config::from_map(map(&[("TTS_PROVIDER", "espeak")])).expect("valid");
    assert_eq!(espeak.providers.speech.provider(), &SpeechProvider::Espeak);
}

#[test]
fn a_bad_value_names_its_key() {
    let err = Config::from_map(map(&[("RATE_LIMIT_IP_PER_15M", "lots")])).unwrap_err();
    assert_eq!(err.key, "RATE_LIMIT_IP_PER_15M");
    assert!(err.to_string().contains("RATE_LIMIT_IP_PER_15M"));
    let err = Config::from_map(map(&[("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")])).unwrap_err();
    assert_eq!(err.key, "TRUSTED_PROXIES");
    let err = Config::from_map(map(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
    assert_eq!(err.key, "DATABASE_URL");
    let err = Config::from_map(map(&[("TENANT_DEFAULT_PLAN", "gold")])).unwrap_err();
    assert_eq!(err.key, "TENANT_DEFAULT_PLAN");
    let err = Config::from_map(map(&[("IMAGE_PROVIDER", "dalle")])).unwrap_err();
    assert_eq!((err.key, err.problem.as_str()), ("IMAGE_PROVIDER", "expected procedural or openai"));
    let err = Config::from_map(map(&[("TTS_PROVIDER", "say")])).unwrap_err();
    assert_eq!((err.key, err.problem.as_str()), ("TTS_PROVIDER", "expected auto, espeak, piper or openai"));
}

#[test]
fn production_requires_a_long_secret_and_secure_cookies() {
    let err = Config::from_map(map(&[("APP_ENV", "production")])).unwrap_err();
    assert_eq!(err.key, "JWT_SECRET");
    let err = Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", "short")])).unwrap_err();
    assert_eq!(err.key, "JWT_SECRET");
    let long = "x".repeat(32);
    let err = Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", &long), ("SECURE_COOKIES", "false")]))
        .unwrap_err();
    assert_eq!(err.key, "SECURE_COOKIES");
    let ok = Config::from_map(map(&[("APP_ENV", "production"), ("JWT_SECRET", &long)])).expect("valid");
    assert_eq!(ok.app_env, AppEnv::Production);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let long = "s3cr3t-value-that-must-not-leak-anywhere";
    let config = Config::from_map(map(&[
        ("JWT_SECRET", long),
        ("STRIPE_API_KEY", "sk_test_leak"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_leak"),
        ("SMTP_URL", "smtp://user:hunter2@mail:587"),
        ("DATABASE_URL", "postgres://u:pw@db/x"),
        ("IMAGE_PROVIDER", "openai"),
        ("IMAGE_API_BASE", "http://127.0.0.1:9/v1"),
        ("IMAGE_API_KEY", "image-key-leak"),
        ("TTS_API_BASE", "http://127.0.0.1:9/v1"),
        ("TTS_API_KEY", "tts-key-leak"),
        ("REDIS_URL", "redis://:redispw@127.0.0.1"),
        ("METRICS_TOKEN", "metrics-leak"),
    ]))
    .expect("valid");
    let printed = format!("{config:?}");
    for leaked in [
        long,
        "sk_test_leak",
        "whsec_leak",
        "hunter2",
        "u:pw",
        "image-key-leak",
        "tts-key-leak",
        "redispw",
        "metrics-leak",
    ] {
        assert!(!printed.contains(leaked), "{leaked} leaked");
    }
    assert!(printed.contains("[redacted]"));
}

#[test]
fn every_key_is_read_and_documented() {
    let src = Source::new(HashMap::new());
    Config::parse(&src).expect("defaults are valid");
    let asked: Vec<&str> = src.asked.borrow().iter().copied().collect();
    let mut keys: Vec<&str> = KEYS.to_vec();
    keys.sort_unstable();
    assert_eq!(asked, keys, "KEYS lists exactly the keys the parser reads");

    let example = include_str!("../../.env.example");
    let mut values = HashMap::new();
    for key in KEYS {
        let documented = example.lines().any(|line| {
            let line = line.trim_start_matches('#').trim();
            line.strip_prefix(key).is_some_and(|rest| rest.starts_with('='))
        });
        assert!(documented, ".env.example does not document {key}");
    }
    for line in example.lines().filter(|l| !l.starts_with('#') && l.contains('=')) {
        if let Some((key, value)) = line.split_once('=') {
            values.insert(key.to_string(), value.to_string());
        }
    }
    Config::from_map(values).expect(".env.example's values are valid");
}

#[test]
fn trusted_proxies_accept_cidrs_and_addresses() {
    let config = Config::from_map(map(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")])).expect("valid");
    assert_eq!(config.http.trusted_proxies.len(), 2);
    assert!(config.http.trusted_proxies[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().expect("ip")));
}

#[test]
fn billing_is_on_exactly_when_the_api_key_is_set() {
    // The other Stripe keys alone do not turn billing on (the endpoints keep answering 503).
    let off = Config::from_map(map(&[
        ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ("STRIPE_PRICE_PRO", "price_pro"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
    ]))
    .expect("valid");
    assert!(off.stripe().is_none());

    let on =
        Config::from_map(map(&[("STRIPE_API_KEY", "sk_test_x"), ("STRIPE_PRICE_PRO", "price_pro")])).expect("valid");
    let stripe = on.stripe().expect("billing on");
    assert_eq!(stripe.api_key.expose(), "sk_test_x");
    assert_eq!(stripe.api_base.as_str(), "https://api.stripe.com/");
    assert_eq!(stripe.price_pro.as_deref(), Some("price_pro"));
    assert_eq!(stripe.price_enterprise, None);
    assert!(stripe.webhook_secret.is_none());

    // A bad base is refused even while billing is off.
    let err = Config::from_map(map(&[("STRIPE_API_BASE", "not a url")])).unwrap_err();
    assert_eq!(err.key, "STRIPE_API_BASE");
}

#[test]
fn overage_prices_and_meters_have_defaults_and_are_checked() {
    let defaults = Config::from_map(map(&[("STRIPE_API_KEY", "sk_test_x")])).expect("valid");
    assert_eq!(
        defaults.usage.overage_prices,
        OverageUnitPrices { images_generated: 40_000, tts_seconds: 2_000, render_minutes: 100_000 }
    );
    let stripe = defaults.stripe().expect("billing on");
    assert_eq!(
        (stripe.meters.images.as_str(), stripe.meters.tts_seconds.as_str(), stripe.meters.render_minutes.as_str()),
        ("reelforge_images", "reelforge_tts_ms", "reelforge_render_ms")
    );
    assert!(stripe.overage_prices.all().is_empty());
    let set = Config::from_map(map(&[
        ("STRIPE_API_KEY", "sk_test_x"),
        ("OVERAGE_UNIT_PRICES", "images_generated=0.5, render_minutes=0"),
        ("STRIPE_PRICE_OVERAGE_IMAGES", "price_img"),
        ("STRIPE_PRICE_OVERAGE_RENDER_MINUTES", "price_render"),
        ("STRIPE_METER_IMAGES", "my_images"),
    ]))
    .expect("valid");
    assert_eq!(set.usage.overage_prices.images_generated, 500_000);
    assert_eq!(set.usage.overage_prices.tts_seconds, 2_000, "left out: the default");
    assert_eq!(set.usage.overage_prices.render_minutes, 0);
    let stripe = set.stripe().expect("billing on");
    assert_eq!(stripe.overage_prices.all(), vec!["price_img", "price_render"]);
    assert_eq!(stripe.meters.images, "my_images");
    for bad in ["images=0.04", "images_generated=cheap", "tts_seconds=-1", "render_minutes"] {
        refused(&[("OVERAGE_UNIT_PRICES", bad)], "OVERAGE_UNIT_PRICES");
    }
    refused(&[("STRIPE_METER_IMAGES", "has spaces")], "STRIPE_METER_IMAGES");
}

/// Asserts that `pairs` is refused with one line naming `key`.
fn refused(pairs: &[(&str, &str)], key: &str) -> ConfigError {
    let err = Config::from_map(map(pairs)).expect_err("refused");
    assert_eq!(err.key, key, "{err}");
    let line = err.to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains(key), "{line}");
    err
}

#[test]
fn openai_images_need_image_api_base() {
    let err = refused(&[("IMAGE_PROVIDER", "openai")], "IMAGE_API_BASE");
    assert!(err.problem.contains("IMAGE_PROVIDER=openai"), "{err}");
    // A key or model without a base is still not enough.
    refused(&[("IMAGE_PROVIDER", "OpenAI"), ("IMAGE_API_KEY", "k"), ("IMAGE_MODEL", "m")], "IMAGE_API_BASE");

    let config = Config::from_map(map(&[
        ("IMAGE_PROVIDER", "openai"),
        ("IMAGE_API_BASE", "http://127.0.0.1:9/v1"),
        ("IMAGE_MODEL", "gpt-image-1"),
    ]))
    .expect("valid");
    let ImageProvider::OpenAi(api) = &config.providers.image else { panic!("openai images") };
    assert_eq!(api.base.as_str(), "http://127.0.0.1:9/v1");
    assert_eq!(api.model.as_deref(), Some("gpt-image-1"));
    assert!(api.key.is_none());

    // The base alone does not switch images away from the procedural cards.
    let config = Config::from_map(map(&[("IMAGE_API_BASE", "http://127.0.0.1:9/v1")])).expect("valid");
    assert_eq!(config.providers.image, ImageProvider::Procedural);
}

#[test]
fn openai_speech_needs_tts_api_base() {
    let err = refused(&[("TTS_PROVIDER", "openai")], "TTS_API_BASE");
    assert!(err.problem.contains("TTS_PROVIDER=openai"), "{err}");
    refused(&[("TTS_PROVIDER", "openai"), ("TTS_API_KEY", "k")], "TTS_API_BASE");

    let config = Config::from_map(map(&[
        ("TTS_PROVIDER", "openai"),
        ("TTS_API_BASE", "http://127.0.0.1:9/v1"),
        ("TTS_API_KEY", "k"),
    ]))
    .expect("valid");
    let speech = &config.providers.speech;
    let SpeechProvider::OpenAi(api) = speech.provider() else { panic!("openai speech") };
    assert_eq!(api.key.as_ref().map(Secret::expose), Some("k"));
    assert_eq!(speech.openai(), Some(api), "the default engine is the one on offer");
}

#[test]
fn piper_speech_needs_piper_voice() {
    let err = refused(&[("TTS_PROVIDER", "piper")], "PIPER_VOICE");
    assert!(err.problem.contains("TTS_PROVIDER=piper"), "{err}");
    // Blank counts as unset.
    refused(&[("TTS_PROVIDER", "piper"), ("PIPER_VOICE", "  ")], "PIPER_VOICE");

    let config =
        Config::from_map(map(&[("TTS_PROVIDER", "piper"), ("PIPER_VOICE", "en_US-lessac-medium")])).expect("valid");
    assert_eq!(config.providers.speech.provider(), &SpeechProvider::Piper { voice: "en_US-lessac-medium".into() });
}

#[test]
fn other_speech_engines_stay_on_offer_under_the_default() {
    // Projects may name `openai:` or `piper:` voices while espeak speaks for the rest.
    let config = Config::from_map(map(&[("TTS_API_BASE", "http://127.0.0.1:9/v1"), ("PIPER_VOICE", "voice.onnx")]))
        .expect("valid");
    let speech = &config.providers.speech;
    assert_eq!(speech.provider(), &SpeechProvider::Auto);
    assert_eq!(speech.openai().map(|api| api.base.as_str()), Some("http://127.0.0.1:9/v1"));
    assert_eq!(speech.piper_voice(), Some("voice.onnx"));
}

#[test]
fn loading_config_writes_no_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    let config = Config::from_map(map(&[("DATA_DIR", &data_dir.display().to_string())])).expect("development defaults");
    assert!(config.auth.jwt_secret.is_none(), "no secret is made up while reading");
    assert!(!data_dir.exists(), "reading the configuration created {}", data_dir.display());
}

#[test]
fn the_per_tenant_queue_limit_is_the_free_plans_and_plans_multiply_it() {
    let config = Config::from_map(map(&[])).expect("valid");
    assert_eq!(config.queue.max_pending_for(Plan::Free), Some(5));
    assert_eq!(config.queue.max_pending_for(Plan::Pro), Some(25));
    assert_eq!(config.queue.max_pending_for(Plan::Enterprise), None);
    let config = Config::from_map(map(&[("QUEUE_MAX_PENDING_PER_TENANT", "2")])).expect("valid");
    assert_eq!(config.queue.max_pending_for(Plan::Free), Some(2));
    assert_eq!(config.queue.max_pending_for(Plan::Pro), Some(10));
    let err = Config::from_map(map(&[("QUEUE_MAX_PENDING_PER_TENANT", "0")])).unwrap_err();
    assert_eq!(err.key, "QUEUE_MAX_PENDING_PER_TENANT");
}

#[test]
fn the_loudness_target_defaults_to_the_platforms_and_stays_in_range() {
    let config = Config::from_map(map(&[])).expect("valid");
    assert_eq!(config.media.loudness_target_lufs, -14.0);
    let config = Config::from_map(map(&[("LOUDNESS_TARGET_LUFS", "-23")])).expect("valid");
    assert_eq!(config.media.loudness_target_lufs, -23.0);
    for bad in ["-40", "0", "-4.9", "loud", "NaN"] {
        let err = Config::from_map(map(&[("LOUDNESS_TARGET_LUFS", bad)])).unwrap_err();
        assert_eq!(err.key, "LOUDNESS_TARGET_LUFS", "{bad}");
    }
}
