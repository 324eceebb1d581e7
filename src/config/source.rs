//! Raw values: where keys come from, how a single value is read, and the two
//! types every section shares (`Secret`, `ConfigError`).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A start-up error: one line naming the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {problem}")]
pub struct ConfigError {
    /// The environment key at fault.
    pub key: &'static str,
    /// What is wrong, in words an operator can act on.
    pub problem: String,
}

pub(super) fn bad(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { key, problem: problem.into() }
}

/// Raw key/value source: the process environment over an optional `.env`.
pub(super) struct Source {
    pub(super) values: HashMap<String, String>,
    /// Keys the parser asked for (checked against `KEYS` in tests).
    pub(super) asked: RefCell<BTreeSet<&'static str>>,
}

impl Source {
    pub(super) fn new(values: HashMap<String, String>) -> Self {
        Self { values, asked: RefCell::default() }
    }

    /// The trimmed value; blank counts as unset so that `KEY=` in `.env` means "default".
    pub(super) fn get(&self, key: &'static str) -> Option<&str> {
        self.asked.borrow_mut().insert(key);
        self.values.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub(super) fn string(&self, key: &'static str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    pub(super) fn optional(&self, key: &'static str) -> Option<String> {
        self.get(key).map(String::from)
    }

    pub(super) fn parsed<T: FromStr>(&self, key: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| bad(key, format!("expected {what}, got {raw:?}"))),
        }
    }

    pub(super) fn positive(&self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        let value: u64 = self.parsed(key, default, "a whole number")?;
        if value == 0 {
            return Err(bad(key, "must be at least 1"));
        }
        Ok(value)
    }

    pub(super) fn boolean(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(bad(key, format!("expected true or false, got {other:?}"))),
        }
    }

    /// A lower-cased choice among `allowed`, the first being the default.
    pub(super) fn choice(&self, key: &'static str, allowed: &[&'static str]) -> Result<&'static str, ConfigError> {
        let wanted = self.get(key).map(str::to_ascii_lowercase);
        let found = match wanted.as_deref() {
            None => allowed.first(),
            Some(wanted) => allowed.iter().find(|choice| **choice == wanted),
        };
        found.copied().ok_or_else(|| bad(key, format!("expected {}", or_list(allowed))))
    }

    pub(super) fn secret(&self, key: &'static str) -> Option<Secret> {
        self.get(key).map(Secret::new)
    }

    pub(super) fn url(&self, key: &'static str) -> Result<Option<Url>, ConfigError> {
        self.get(key).map(|raw| Url::parse(raw).map_err(|e| bad(key, format!("not a URL ({e})")))).transpose()
    }

    pub(super) fn url_or(&self, key: &'static str, default: &str) -> Result<Url, ConfigError> {
        match self.url(key)? {
            Some(url) => Ok(url),
            None => Url::parse(default).map_err(|e| bad(key, e.to_string())),
        }
    }

    pub(super) fn path(&self, key: &'static str, default: PathBuf) -> PathBuf {
        self.get(key).map(PathBuf::from).unwrap_or(default)
    }
}

/// `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.join(""),
    }
}
