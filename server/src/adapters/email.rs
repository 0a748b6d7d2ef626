//! E-mail on job completion through SMTP (`SMTP_HOST`, `SMTP_PORT`, `SMTP_USERNAME`,
//! `SMTP_PASSWORD`, `EMAIL_FROM`). Off unless `SMTP_HOST` is set: `Mailer::from_settings`
//! returns `None` then, and callers simply skip the notification.
//!
//! Transport security follows the port: 465 is implicit TLS; a loopback host
//! (`localhost`, `127.0.0.1`, `::1`, for a local relay or a test server) is plain SMTP;
//! any other host must offer STARTTLS (587, as for SendGrid, or 25).

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpSettings;
use crate::metrics_registry;

/// A slow mail server must not hold a worker for long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("EMAIL_FROM {address:?} is not an e-mail address: {reason}")]
    From { address: String, reason: String },
    #[error("recipient {address:?} is not an e-mail address: {reason}")]
    Recipient { address: String, reason: String },
    #[error("SMTP_HOST {host}: {reason}")]
    Transport { host: String, reason: String },
    #[error("building the message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("sending through SMTP_HOST {host}: {reason}")]
    Send { host: String, reason: String },
}

/// Sends e-mails through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("from", &self.from.to_string())
            .finish()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

impl Mailer {
    /// `None` when e-mail is off (no `SMTP_HOST`).
    pub fn from_settings(smtp: Option<&SmtpSettings>) -> Result<Option<Self>, EmailError> {
        let Some(smtp) = smtp else {
            return Ok(None);
        };
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|error: lettre::address::AddressError| EmailError::From {
                address: smtp.from.clone(),
                reason: error.to_string(),
            })?;
        let transport_error = |error: lettre::transport::smtp::Error| EmailError::Transport {
            host: smtp.host.clone(),
            reason: error.to_string(),
        };
        let mut builder = if smtp.port == 465 {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(transport_error)?
        } else if is_loopback(&smtp.host) {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(transport_error)?
        };
        builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
        if let Some(username) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|secret| secret.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from,
            host: smtp.host.clone(),
        }))
    }

    /// One plain-text e-mail. Counted in `entmoot_emails_total{outcome}`.
    pub async fn send_mail(&self, to: &str, subject: &str, body: String) -> Result<(), EmailError> {
        let result = self.send(to, subject, body).await;
        metrics_registry::email_attempt(result.is_ok());
        result
    }

    async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), EmailError> {
        let recipient: Mailbox =
            to.parse().map_err(
                |error: lettre::address::AddressError| EmailError::Recipient {
                    address: to.to_owned(),
                    reason: error.to_string(),
                },
            )?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| EmailError::Send {
                host: self.host.clone(),
                reason: error.to_string(),
            })
    }
}

#[async_trait::async_trait]
impl entmoot_domain::ports::MailSender for Mailer {
    async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        self.send_mail(to, subject, body)
            .await
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A minimal SMTP server: accepts one message and returns the commands and what
    /// DATA carried.
    async fn fake_smtp_server() -> (u16, tokio::task::JoinHandle<(Vec<String>, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let (reader, mut writer) = socket.into_split();
            let mut lines = BufReader::new(reader).lines();
            let mut commands = Vec::new();
            let mut data = String::new();
            writer
                .write_all(b"220 fake ESMTP\r\n")
                .await
                .expect("greet");
            let mut in_data = false;
            while let Some(line) = lines.next_line().await.expect("read") {
                if in_data {
                    if line == "." {
                        // The pooled transport keeps the connection (no QUIT).
                        writer.write_all(b"250 queued\r\n").await.expect("write");
                        break;
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let verb = line
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                commands.push(line.clone());
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250-fake\r\n250 8BITMIME\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        writer.write_all(b"221 bye\r\n").await.expect("write");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                writer.write_all(reply).await.expect("write");
            }
            (commands, data)
        });
        (port, task)
    }

    #[test]
    fn email_is_off_without_smtp_host() {
        assert!(Mailer::from_settings(None).expect("valid").is_none());
    }

    #[test]
    fn a_bad_sender_address_is_named() {
        let error = Mailer::from_settings(Some(&SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            username: None,
            password: None,
            from: "not an address".into(),
        }))
        .expect_err("must fail");
        assert!(error.to_string().contains("EMAIL_FROM"), "{error}");
    }

    #[tokio::test]
    async fn a_finished_job_is_mailed_through_smtp() {
        let (port, server) = fake_smtp_server().await;
        let mailer = Mailer::from_settings(Some(&SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
            from: "Entmoot <noreply@entmoot.test>".into(),
        }))
        .expect("valid")
        .expect("configured");
        mailer
            .send_mail(
                "planner@example.com",
                "Entmoot job 1234abcd on Rural demo: succeeded",
                "The best layout places 3 of 3 requested assets.\n".to_owned(),
            )
            .await
            .expect("sent");
        let (commands, data) = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("server finished")
            .expect("server task");
        assert!(
            commands
                .iter()
                .any(|c| c.contains("RCPT TO:<planner@example.com>")),
            "{commands:?}"
        );
        assert!(data.contains("Subject: Entmoot job"), "{data}");
        assert!(data.contains("succeeded"), "{data}");
        assert!(data.contains("places 3 of 3"), "{data}");
    }
}
