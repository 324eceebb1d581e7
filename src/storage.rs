//! Media storage through object_store: `file://` (default), `memory://`, and
//! (with scale-out) `s3://`. Keys are `tenants/{tenant_id}/...`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::domain::TenantId;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The disk or bucket is full: 507 at the API, a failed step in a worker.
    #[error("storage is full")]
    Full,
    /// No object under that key.
    #[error("not found")]
    NotFound,
    /// Anything else.
    #[error("storage error: {0}")]
    Other(String),
}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        if matches!(err, object_store::Error::NotFound { .. }) {
            return StorageError::NotFound;
        }
        if error_chain_is_full(&err) {
            return StorageError::Full;
        }
        StorageError::Other(err.to_string())
    }
}

impl From<std::io::Error> for StorageError {
    fn from(err: std::io::Error) -> Self {
        if reelforge_media::is_storage_full(&err) {
            StorageError::Full
        } else if err.kind() == std::io::ErrorKind::NotFound {
            StorageError::NotFound
        } else {
            StorageError::Other(err.to_string())
        }
    }
}

fn error_chain_is_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && reelforge_media::is_storage_full(io)
        {
            return true;
        }
        if e.to_string().contains("No space left on device") {
            return true;
        }
        current = e.source();
    }
    false
}

/// The media store.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Root directory when the store is the local file system.
    local_root: Option<PathBuf>,
}

impl Storage {
    /// Opens the store `STORAGE_URL` names; `options` are the `AWS_*`
    /// variables (lower-cased) for `s3://bucket/prefix`.
    pub fn from_config(url: &str, options: &[(String, crate::config::Secret)]) -> anyhow::Result<Storage> {
        if let Some(rest) = url.strip_prefix("s3://") {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                anyhow::bail!("STORAGE_URL: s3:// needs a bucket, like s3://bucket/prefix");
            }
            let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
            for (key, value) in options {
                if let Ok(config_key) = key.parse::<AmazonS3ConfigKey>() {
                    builder = builder.with_config(config_key, value.expose());
                }
                if matches!(key.as_str(), "aws_endpoint_url" | "aws_endpoint") && value.expose().starts_with("http://")
                {
                    builder = builder.with_allow_http(true);
                }
            }
            let s3 = builder.build().map_err(|e| anyhow::anyhow!("STORAGE_URL: {e}"))?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            };
            return Ok(Storage { store, local_root: None });
        }
        Self::from_url(url)
    }

    /// Opens a `file://` or `memory://` store.
    pub fn from_url(url: &str) -> anyhow::Result<Storage> {
        if let Some(path) = url.strip_prefix("file://") {
            let root = PathBuf::from(path);
            std::fs::create_dir_all(&root)
                .map_err(|e| anyhow::anyhow!("STORAGE_URL: cannot create {}: {e}", root.display()))?;
            let store = LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| anyhow::anyhow!("STORAGE_URL: {e}"))?
                .with_automatic_cleanup(true);
            return Ok(Storage { store: Arc::new(store), local_root: Some(root) });
        }
        if url.starts_with("memory://") {
            return Ok(Storage { store: Arc::new(InMemory::new()), local_root: None });
        }
        anyhow::bail!("STORAGE_URL: {url:?} is not supported (use file://, s3:// or memory://)")
    }

    /// Root directory of a file store (backups copy it).
    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// Stores bytes under `key`. A local write goes to a temporary file first
    /// and is renamed into place, so a failed write never leaves half a file.
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store.put(&ObjectPath::from(key), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// Stores a local file under `key`; returns its size. Files over one chunk
    /// are streamed as a multipart upload, so memory stays flat whatever the size.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        use tokio::io::AsyncReadExt;
        const CHUNK: usize = 8 * 1024 * 1024;
        let size = tokio::fs::metadata(path).await?.len();
        if size as usize <= CHUNK {
            let bytes = tokio::fs::read(path).await?;
            self.put_bytes(key, Bytes::from(bytes)).await?;
            return Ok(size);
        }
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut file = tokio::fs::File::open(path).await?;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let read = match file.read(&mut buffer).await {
                Ok(read) => read,
                Err(err) => {
                    let _ = writer.abort().await;
                    return Err(err.into());
                }
            };
            if read == 0 {
                break;
            }
            if let Err(err) = writer.wait_for_capacity(2).await {
                return Err(err.into());
            }
            writer.write(&buffer[..read]);
        }
        writer.finish().await?;
        Ok(size)
    }

    /// The object as a stream of chunks, with its size (for large downloads).
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<(u64, futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>), StorageError> {
        let result = self.store.get(&ObjectPath::from(key)).await?;
        let size = result.meta.size;
        Ok((size, result.into_stream()))
    }

    /// Every object under `prefix` with its size.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            out.push((meta.location.to_string(), meta.size));
        }
        out.sort();
        Ok(out)
    }

    /// Every object under `prefix` with its size and when it was last
    /// written (milliseconds since the epoch).
    pub async fn list_written(&self, prefix: &str) -> Result<Vec<(String, u64, i64)>, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            out.push((meta.location.to_string(), meta.size, meta.last_modified.timestamp_millis()));
        }
        Ok(out)
    }

    /// The object's bytes.
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError> {
        Ok(self.store.get(&ObjectPath::from(key)).await?.bytes().await?)
    }

    /// Writes the object to a local file (creating parent directories).
    pub async fn fetch_to(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        let bytes = self.get_bytes(key).await?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let temp = path.with_extension("part");
        tokio::fs::write(&temp, &bytes).await?;
        tokio::fs::rename(&temp, path).await?;
        Ok(())
    }

    /// Size in bytes, or `None` when there is no such object.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// A byte range of the object as a stream of chunks (downloads: the range
    /// is never held in memory whole). An empty range is an empty stream.
    pub async fn get_range_stream(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>, StorageError> {
        if range.is_empty() {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = object_store::GetOptions::new().with_range(Some(range));
        Ok(self.store.get_opts(&ObjectPath::from(key), options).await?.into_stream())
    }

    /// A byte range of the object.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        Ok(self.store.get_range(&ObjectPath::from(key), range).await?)
    }

    /// Deletes one object (a missing one is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes every object under the directory `prefix`; returns the bytes freed.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut freed = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => freed += meta.size,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(freed)
    }

    /// Total bytes stored under `prefix`.
    pub async fn prefix_size(&self, prefix: &str) -> Result<u64, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut total = 0;
        while let Some(meta) = listing.next().await {
            total += meta?.size;
        }
        Ok(total)
    }

    /// True when a trivial listing answers.
    pub async fn ping(&self) -> bool {
        let mut listing = self.store.list(Some(&ObjectPath::from("healthcheck")));
        !matches!(listing.next().await, Some(Err(_)))
    }
}

/// `tenants/{tenant_id}/projects/{project_id}/`
pub fn project_prefix(tenant_id: &TenantId, project_id: &str) -> String {
    format!("tenants/{tenant_id}/projects/{project_id}/")
}
