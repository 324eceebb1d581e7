//! Slow and greedy clients: the header read timeout, the request timeout and
//! the cap on open connections.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};

db_tests!(
    a_client_trickling_its_headers_is_disconnected,
    a_body_that_does_not_arrive_in_time_gets_408,
    connections_past_the_cap_wait_for_a_free_slot,
    a_client_sending_too_large_a_body_reads_its_413,
    a_refused_upload_closes_its_connection_and_the_next_request_works,
);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect")
}

/// Reads until the server closes the connection (or `limit` passes: `None`).
async fn read_until_closed(stream: &mut tokio::net::tcp::OwnedReadHalf, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut received)).await {
        // A reset counts as closed too.
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

async fn a_client_trickling_its_headers_is_disconnected(backend: Backend) {
    let app = spawn_app_with(backend, &[("HEADER_READ_TIMEOUT_SECONDS", "1")]).await;
    let (mut reader, mut writer) = connect(&app).await.into_split();
    let started = Instant::now();
    // Half a request line, then one header byte every 300 ms: 12 s for the
    // whole head, far past the 1 s limit.
    let trickle = tokio::spawn(async move {
        if writer.write_all(b"GET /healthz HT").await.is_err() {
            return;
        }
        for byte in b"TP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
    });
    let answer = read_until_closed(&mut reader, Duration::from_secs(6)).await;
    let elapsed = started.elapsed();
    assert!(answer.is_some(), "the server still holds a connection whose head is not in after 6 s");
    assert!(elapsed >= Duration::from_millis(900), "closed after {elapsed:?}: before the limit");
    assert!(!answer.unwrap_or_default().contains("200 OK"), "the trickled request was never served");
    trickle.abort();

    // A client that sends its head at once is served as before.
    let healthy = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(healthy.status(), 200);
}

async fn a_body_that_does_not_arrive_in_time_gets_408(backend: Backend) {
    let app = spawn_app_with(backend, &[("REQUEST_TIMEOUT_SECONDS", "1")]).await;
    let (mut reader, mut writer) = connect(&app).await.into_split();
    let head = "POST /api/auth/magic-link/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\nConnection: close\r\n\r\n{\"email\":";
    writer.write_all(head.as_bytes()).await.expect("write");
    let answer = read_until_closed(&mut reader, Duration::from_secs(6)).await.expect("an answer within 6 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/problem+json"), "{answer}");
    assert!(answer.contains("did not arrive within 1 seconds"), "{answer}");
    drop(writer);

    // Routes answered in time are unaffected.
    let quick = app.request_link("quick@example.com").await;
    assert_eq!(quick.status(), 202);
}

async fn connections_past_the_cap_wait_for_a_free_slot(backend: Backend) {
    let app = spawn_app_with(backend, &[("MAX_CONNECTIONS", "1")]).await;
    // One idle connection takes the only slot (raw sockets: reqwest's pool
    // would keep a connection of its own open).
    let idle = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (mut reader, mut writer) = connect(&app).await.into_split();
    writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    assert!(
        read_until_closed(&mut reader, Duration::from_millis(800)).await.is_none(),
        "a connection past MAX_CONNECTIONS must wait"
    );
    drop(idle);
    let answer = read_until_closed(&mut reader, Duration::from_secs(5)).await.expect("served once the slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A client that sends a body past the limit, and only then reads, gets the
/// 413 rather than a reset: the server reads (and drops) the rest of a body
/// of moderate size before it answers and closes, so no unread bytes are left
/// in its socket to turn the close into a RST that destroys the answer.
async fn a_client_sending_too_large_a_body_reads_its_413(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    for declared in [true, false] {
        let (mut reader, mut writer) = connect(&app).await.into_split();
        let body = format!("{{\"email\":\"{}@example.com\"}}", "a".repeat(1_100_000));
        let framing =
            if declared { format!("Content-Length: {}", body.len()) } else { "Transfer-Encoding: chunked".to_string() };
        let head = format!(
            "POST /api/auth/magic-link/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n{framing}\r\n\r\n"
        );
        writer.write_all(head.as_bytes()).await.expect("write head");
        let sent = if declared {
            writer.write_all(body.as_bytes()).await
        } else {
            let chunk = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
            writer.write_all(chunk.as_bytes()).await
        };
        sent.expect("the server reads the whole body");
        // The client is slow to read: the server has answered and closed by now.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut received)).await;
        let answer = String::from_utf8_lossy(&received);
        assert!(matches!(read, Ok(Ok(_))), "declared={declared}: reading failed ({read:?}) after {answer:?}");
        assert!(answer.starts_with("HTTP/1.1 413"), "declared={declared}: {answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
    }
}

/// An upload refused before its body was read (no credentials here; a key
/// without `media:write` is the same): the answer says `Connection: close`,
/// so a client's pool does not send its next request on a connection the
/// server is closing; that request works.
async fn a_refused_upload_closes_its_connection_and_the_next_request_works(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let boundary = "refused-upload-7f3a";
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\r\n")
                .into_bytes();
        body.extend(std::iter::repeat_n(7u8, 400_000));
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let refused = client
            .post(app.url("/api/v1/media"))
            .header("x-api-key", "rf_not_a_key")
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .expect("the refusal arrives");
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["connection"], "close");
        let next = client.get(app.url("/healthz")).send().await.expect("the next request is not lost");
        assert_eq!(next.status(), 200);
        // A refused request without a body keeps its connection.
        let refused = client.get(app.url("/api/v1/projects")).send().await.expect("request");
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().get("connection").is_none());
    }
}
