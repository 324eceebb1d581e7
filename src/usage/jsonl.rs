//! The append-only JSONL usage log: `$USAGE_LOG_DIR/{tenant_id}/{YYYY-MM}.jsonl`,
//! one JSON object a line, written after the ledger commits and re-creatable
//! from the ledger.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::usage::meter::LedgerEntry;
use crate::usage::quota::period_of;

fn file_for(dir: &Path, entry: &LedgerEntry) -> Option<PathBuf> {
    // Tenant ids are UUIDs; anything else never becomes a path.
    if !entry.tenant.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || entry.tenant.is_empty() {
        return None;
    }
    Some(dir.join(&entry.tenant).join(format!("{}.jsonl", period_of(entry.created_at))))
}

/// Appends entries. Each line is written with one `write` on a file opened for
/// appending; a line cut short by a crash or a full disk is closed with a
/// newline before the next one, so it can never merge with it.
pub fn append(dir: &Path, entries: &[LedgerEntry]) -> std::io::Result<()> {
    for entry in entries {
        let Some(path) = file_for(dir, entry) else { continue };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(&path)?;
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        file.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Replaces the whole log with the ledger's rows.
pub fn rebuild(dir: &Path, entries: &[LedgerEntry]) -> std::io::Result<usize> {
    if dir.exists() {
        for tenant in std::fs::read_dir(dir)?.flatten() {
            if tenant.path().is_dir() {
                for file in std::fs::read_dir(tenant.path())?.flatten() {
                    if file.path().extension().is_some_and(|e| e == "jsonl") {
                        std::fs::remove_file(file.path())?;
                    }
                }
            }
        }
    }
    append(dir, entries)?;
    Ok(entries.len())
}

/// Reads every complete line of one tenant's log (skipping any torn line).
pub fn read_tenant(dir: &Path, tenant_id: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let Ok(files) = std::fs::read_dir(dir.join(tenant_id)) else { return out };
    let mut paths: Vec<PathBuf> = files.flatten().map(|f| f.path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        out.extend(text.lines().filter_map(|line| serde_json::from_str(line).ok()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tenant: &str, key: &str, created_at: i64) -> LedgerEntry {
        LedgerEntry {
            time: String::new(),
            tenant: tenant.into(),
            metric: "images_generated",
            amount: 1.0,
            key: key.into(),
            created_at,
        }
    }

    #[test]
    fn appends_by_tenant_and_month_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().expect("dir");
        let tenant = "0190aaaa-0000-7000-8000-000000000001";
        append(dir.path(), &[entry(tenant, "a", 1_796_083_199_999), entry(tenant, "b", 1_796_083_200_000)])
            .expect("append");
        assert!(dir.path().join(tenant).join("2026-11.jsonl").exists());
        assert!(dir.path().join(tenant).join("2026-12.jsonl").exists());
        // A crash left half a line behind.
        let december = dir.path().join(tenant).join("2026-12.jsonl");
        let mut file = std::fs::OpenOptions::new().append(true).open(&december).expect("open");
        file.write_all(b"{\"tenant\":\"x\",\"amo").expect("write");
        append(dir.path(), &[entry(tenant, "c", 1_796_083_200_001)]).expect("append");
        let keys: Vec<String> =
            read_tenant(dir.path(), tenant).iter().map(|v| v["key"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(keys, vec!["a", "b", "c"]);
        // Hostile tenant ids never become paths.
        append(dir.path(), &[entry("../../etc", "x", 0)]).expect("skipped");
        assert!(!dir.path().join("../../etc").join("1970-01.jsonl").exists());
        assert_eq!(rebuild(dir.path(), &[entry(tenant, "z", 1_796_083_199_999)]).expect("rebuild"), 1);
        let keys: Vec<String> =
            read_tenant(dir.path(), tenant).iter().map(|v| v["key"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(keys, vec!["z"]);
    }
}
