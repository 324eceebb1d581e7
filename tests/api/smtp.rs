//! With `SMTP_URL`, the link goes out over a real SMTP conversation.

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{Backend, decode_quoted_printable, spawn_app_with};

/// A minimal SMTP receiver (RFC 5321 happy path): returns each message's DATA.
async fn smtp_server() -> (String, tokio::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(data.take().unwrap_or_default()).await;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-test\r\n250 8BITMIME\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_sent_over_smtp_when_configured() {
    let (addr, mut messages) = smtp_server().await;
    let url = format!("smtp://{addr}");
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("SMTP_URL", url.as_str()), ("MAGIC_LINK_FROM", "Reelforge <login@reelforge.test>")],
    )
    .await;
    assert_eq!(app.request_link("smtp@example.com").await.status(), 202);
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), messages.recv())
        .await
        .expect("delivered")
        .expect("message");
    assert!(message.contains("From: Reelforge <login@reelforge.test>"), "{message}");
    assert!(message.contains("To: smtp@example.com"));
    assert!(message.contains("text/plain") && message.contains("text/html"), "text and HTML parts");
    let text = decode_quoted_printable(&message);
    let start = text.find("http://reelforge.test/auth/verify?token=").expect("link")
        + "http://reelforge.test/auth/verify?token=".len();
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let response = app.verify(&token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["email"], "smtp@example.com");
    assert_eq!(app.outbox_count(), 0, "nothing written to the outbox");
}
