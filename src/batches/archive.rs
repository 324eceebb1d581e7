//! The ZIP of a batch's finished videos, streamed: written as it is sent
//! (entries stored, not compressed: MP4 is compressed already), each video
//! read from storage chunk by chunk, so a 500-video archive costs a few
//! buffers of memory and no scratch disk, on file storage and S3 alike.
//!
//! The `zip` crate writes synchronously; it runs on a blocking thread that
//! pulls each video's chunks from the storage stream and pushes the archive's
//! bytes through a bounded channel into the response body (a slow client
//! slows the reading down). A client that leaves closes the channel and the
//! thread stops at its next write.

use std::io::Write;

use axum::body::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::storage::Storage;

/// Chunks in flight between the archive's thread and the response.
const CHANNEL_CHUNKS: usize = 8;
/// The archive's writes are gathered into chunks of this size.
const CHUNK_BYTES: usize = 64 * 1024;

/// Hands the archive's bytes to the response body.
struct ChannelWriter {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sender
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The archive of `entries` (`(name, storage key)`) as a stream of chunks.
/// A video that cannot be read ends the stream with an error (the client
/// sees a cut-off download, never a silently incomplete archive); the cause
/// is logged.
pub fn stream(
    storage: Storage,
    entries: Vec<(String, String)>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let (sender, receiver) = mpsc::channel(CHANNEL_CHUNKS);
    let runtime = tokio::runtime::Handle::current();
    let errors = sender.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(err) = write(&runtime, &storage, &entries, sender) {
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::warn!(error = %err, "writing a batch's ZIP failed");
            }
            let _ = errors.blocking_send(Err(err));
        }
    });
    tokio_stream_from(receiver)
}

fn tokio_stream_from<T: Send + 'static>(mut receiver: mpsc::Receiver<T>) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

fn write(
    runtime: &tokio::runtime::Handle,
    storage: &Storage,
    entries: &[(String, String)],
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> std::io::Result<()> {
    let output = std::io::BufWriter::with_capacity(CHUNK_BYTES, ChannelWriter { sender });
    let mut zip = zip::ZipWriter::new_stream(output);
    for (name, key) in entries {
        let (size, mut chunks) = runtime.block_on(storage.get_stream(key)).map_err(std::io::Error::other)?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(size >= u64::from(u32::MAX));
        zip.start_file(name.as_str(), options).map_err(std::io::Error::other)?;
        while let Some(chunk) = runtime.block_on(chunks.next()) {
            zip.write_all(&chunk.map_err(std::io::Error::other)?)?;
        }
    }
    zip.finish().map_err(std::io::Error::other)?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_archive_holds_each_file_as_stored() {
        let storage = Storage::from_url("memory://").expect("storage");
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        storage.put_bytes("a/video.mp4", Bytes::from(big.clone())).await.expect("put");
        storage.put_bytes("b/video.mp4", Bytes::from_static(b"second")).await.expect("put");
        let entries = vec![
            ("001-first.mp4".to_string(), "a/video.mp4".to_string()),
            ("002-second.mp4".to_string(), "b/video.mp4".to_string()),
        ];
        let chunks: Vec<Result<Bytes, std::io::Error>> = stream(storage.clone(), entries).collect().await;
        let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.expect("chunk").to_vec()).collect();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
        assert_eq!(archive.len(), 2);
        let mut first = archive.by_name("001-first.mp4").expect("first");
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut first, &mut read).expect("read");
        assert_eq!(read, big);
        drop(first);
        let mut second = archive.by_name("002-second.mp4").expect("second");
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut second, &mut read).expect("read");
        assert_eq!(read, b"second");

        // A missing file ends the stream with an error.
        let missing = vec![("001-x.mp4".to_string(), "nowhere.mp4".to_string())];
        let chunks: Vec<Result<Bytes, std::io::Error>> = stream(storage, missing).collect().await;
        assert!(chunks.iter().any(Result::is_err));
    }
}
