//! Outgoing e-mail: SMTP through lettre when `SMTP_URL` is set, otherwise one
//! `.eml` file per message in `$DATA_DIR/outbox`.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
use crate::domain::Email;

/// A message to one recipient, with text and HTML bodies.
pub struct OutgoingMail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// `.eml` files in a directory.
    Outbox(AsyncFileTransport<Tokio1Executor>),
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// Builds the transport the configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<(Mailer, Mailbox)> {
        let from: Mailbox = config
            .auth
            .magic_link_from
            .parse()
            .map_err(|_| anyhow::anyhow!("configuration error: MAGIC_LINK_FROM: not a valid mailbox"))?;
        let mailer = match &config.auth.smtp_url {
            Some(url) => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("configuration error: SMTP_URL: not a usable SMTP URL"))?
                    .build(),
            ),
            None => {
                let dir = config.outbox_dir();
                std::fs::create_dir_all(&dir)?;
                Mailer::Outbox(AsyncFileTransport::<Tokio1Executor>::new(dir))
            }
        };
        Ok((mailer, from))
    }

    /// Sends one message.
    pub async fn send(&self, from: &Mailbox, mail: OutgoingMail) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.as_str().parse()?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))?;
        match self {
            Mailer::Outbox(transport) => {
                transport.send(message).await?;
            }
            Mailer::Smtp(transport) => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}

/// Escapes text for an HTML body.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
