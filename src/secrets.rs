//! Start-up keeps the development JWT key: configuration only reads keys, so
//! generating one and writing it under `DATA_DIR` happens here, once, when the
//! state is built.

use std::path::Path;

use crate::config::{Config, Secret};

/// The HS256 key: `JWT_SECRET` when set, else (development only; production
/// refuses to start without it) the key in `$DATA_DIR/secret.key`, generated
/// and written there (mode 0600) the first time so that sign-ins survive restarts.
pub fn jwt_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.auth.jwt_secret {
        return Ok(secret.clone());
    }
    let path = config.data_dir.join("secret.key");
    let existing = std::fs::read_to_string(&path).ok().map(|s| s.trim().to_string());
    let secret = match existing {
        // A short or empty file (an interrupted first write) is replaced rather than trusted.
        Some(value) if value.len() >= 32 => value,
        _ => {
            let value = crate::crypto::random_token();
            std::fs::create_dir_all(&config.data_dir)?;
            write_private(&path, &value)?;
            value
        }
    };
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>())
            .expect("valid")
    }

    #[test]
    fn development_key_is_generated_once_and_kept_under_data_dir() {
        let dir = tempfile::tempdir().expect("dir");
        let data_dir = dir.path().join("data");
        let config = config(&[("DATA_DIR", &data_dir.display().to_string())]);
        let path = data_dir.join("secret.key");
        assert!(!path.exists(), "reading the configuration wrote nothing");

        let first = jwt_secret(&config).expect("generated");
        assert!(first.expose().len() >= 32);
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), first.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner reads the key");
        }
        assert_eq!(jwt_secret(&config).expect("read back"), first, "the same key after a restart");

        std::fs::write(&path, "short").expect("truncate");
        let replaced = jwt_secret(&config).expect("regenerated");
        assert_ne!(replaced.expose(), "short");
        assert!(replaced.expose().len() >= 32);
    }

    #[test]
    fn a_configured_key_writes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let long = "k".repeat(40);
        let config = config(&[("DATA_DIR", &dir.path().display().to_string()), ("JWT_SECRET", &long)]);
        assert_eq!(jwt_secret(&config).expect("given").expose(), long);
        assert!(!dir.path().join("secret.key").exists());
    }
}
