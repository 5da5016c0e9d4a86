//! How a message leaves: an `.eml` file in a folder, or SMTP with
//! mail-send (STARTTLS, implicit TLS or plain, with optional
//! authentication).
//!
//! A [`Connection`] carries several messages, so a batch costs one SMTP
//! conversation. Errors are sorted by what to do next: a permanent refusal
//! (a 5xx answer to this message) is not retried, anything else is.

use std::path::{Path, PathBuf};

use mail_send::SmtpClientBuilder;
use tokio::net::TcpStream;

use crate::config::{MailTransport, SmtpConfig, SmtpSecurity};

/// The configured way out.
#[derive(Debug)]
pub enum Transport {
    File { dir: PathBuf },
    Smtp(SmtpConfig),
}

/// What the server said when it took a message (or where the file went).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub reply: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: no connection, a timeout, a 4xx answer.
    #[error("{0}")]
    Temporary(String),
    /// The server refused this message for good (a 5xx answer).
    #[error("{0}")]
    Permanent(String),
}

/// An open way out, for one or more messages.
pub enum Connection {
    File(PathBuf),
    Plain(mail_send::SmtpClient<TcpStream>),
    /// Boxed: a TLS session is a kilobyte of state.
    Tls(Box<mail_send::SmtpClient<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl Transport {
    pub fn new(config: &MailTransport) -> Self {
        match config {
            MailTransport::File { dir } => Transport::File { dir: dir.clone() },
            MailTransport::Smtp(smtp) => Transport::Smtp(smtp.clone()),
        }
    }

    /// Where mail goes, in words, for the Settings page and the log.
    pub fn describe(&self) -> String {
        match self {
            Transport::File { dir } => format!("written as .eml files to {}", dir.display()),
            Transport::Smtp(smtp) => format!(
                "sent by SMTP through {}:{} ({}{})",
                smtp.host,
                smtp.port,
                smtp.security.label(),
                if smtp.credentials.is_some() {
                    ", authenticated"
                } else {
                    ""
                }
            ),
        }
    }

    /// Opens the way out: makes the folder, or connects, says hello,
    /// secures and authenticates.
    pub async fn connect(&self) -> Result<Connection, SendError> {
        match self {
            Transport::File { dir } => {
                make_folder(dir).await?;
                Ok(Connection::File(dir.clone()))
            }
            Transport::Smtp(smtp) => connect_smtp(smtp).await,
        }
    }

    /// Whether mail could go out now, for the log at start-up.
    pub async fn check(&self) -> Result<String, SendError> {
        let connection = self.connect().await?;
        connection.close().await;
        Ok(match self {
            Transport::File { dir } => {
                format!("mail is written as .eml files to {}", dir.display())
            }
            Transport::Smtp(smtp) => format!(
                "the SMTP server {}:{} is reachable ({})",
                smtp.host,
                smtp.port,
                smtp.security.label()
            ),
        })
    }
}

async fn make_folder(dir: &Path) -> Result<(), SendError> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| {
        SendError::Temporary(format!("can't create the folder {}: {e}", dir.display()))
    })
}

async fn connect_smtp(smtp: &SmtpConfig) -> Result<Connection, SendError> {
    let mut builder = SmtpClientBuilder::new(smtp.host.clone(), smtp.port)
        .map_err(|e| SendError::Temporary(format!("can't prepare TLS: {e}")))?
        .timeout(smtp.timeout)
        .implicit_tls(smtp.security == SmtpSecurity::Tls);
    if let Some(credentials) = &smtp.credentials {
        builder = builder.credentials(mail_send::Credentials::new(
            credentials.user.clone(),
            credentials.password.expose().to_owned(),
        ));
    }
    let connected = match smtp.security {
        SmtpSecurity::None => builder.connect_plain().await.map(Connection::Plain),
        SmtpSecurity::StartTls | SmtpSecurity::Tls => builder
            .connect()
            .await
            .map(|client| Connection::Tls(Box::new(client))),
    };
    // Whatever goes wrong before a message is on its way says nothing about
    // the message: always worth another try.
    connected
        .map_err(|e| SendError::Temporary(format!("{}:{}: {}", smtp.host, smtp.port, describe(&e))))
}

impl Connection {
    /// Hands one message over; `mime` is the whole message, `to` and
    /// `from` the envelope. `file_name` names the `.eml` file.
    pub async fn send(
        &mut self,
        from: &str,
        to: &str,
        file_name: &str,
        mime: &[u8],
    ) -> Result<Delivery, SendError> {
        let message = mail_send::smtp::message::Message::new(from, [to], mime);
        let answer = match self {
            Connection::File(dir) => return write_file(dir, file_name, mime).await,
            Connection::Plain(client) => client.send(message).await,
            Connection::Tls(client) => client.send(message).await,
        };
        match answer {
            Ok(reply) => Ok(Delivery {
                reply: reply_text(reply.code, reply.esc, &reply.message),
            }),
            Err(mail_send::Error::UnexpectedReply(reply)) if reply.code >= 500 => Err(
                SendError::Permanent(reply_text(reply.code, reply.esc, &reply.message)),
            ),
            Err(e) => Err(SendError::Temporary(describe(&e))),
        }
    }

    /// Says goodbye politely; errors don't matter any more.
    pub async fn close(self) {
        let _ = match self {
            Connection::File(_) => Ok(()),
            Connection::Plain(client) => client.quit().await,
            Connection::Tls(client) => (*client).quit().await,
        };
    }
}

/// Writes the file under a temporary name and renames it, so a reader of
/// the folder never sees half a message; the same message always gets the
/// same name, so writing it twice leaves one file.
async fn write_file(dir: &Path, file_name: &str, mime: &[u8]) -> Result<Delivery, SendError> {
    let path = dir.join(format!("{file_name}.eml"));
    let partial = dir.join(format!(".{file_name}.eml.partial"));
    let failed =
        |e: std::io::Error| SendError::Temporary(format!("can't write {}: {e}", path.display()));
    let bytes = mime.to_vec();
    let (p, t) = (partial.clone(), path.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::File::create(&p)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&p, &t)
    })
    .await
    .map_err(|e| SendError::Temporary(e.to_string()))?
    .map_err(failed)?;
    Ok(Delivery {
        reply: format!("written to {}", path.display()),
    })
}

/// An SMTP answer as servers write it: `250 2.0.0 Ok: queued`.
fn reply_text(code: u16, esc: [u8; 3], message: &str) -> String {
    let message = message.trim();
    if esc == [0, 0, 0] {
        format!("{code} {message}")
    } else {
        format!("{code} {}.{}.{} {message}", esc[0], esc[1], esc[2])
    }
}

fn describe(e: &mail_send::Error) -> String {
    match e {
        mail_send::Error::UnexpectedReply(reply) => {
            format!(
                "the server answered {}",
                reply_text(reply.code, reply.esc, &reply.message)
            )
        }
        mail_send::Error::AuthenticationFailed(reply) => format!(
            "authentication failed: {}",
            reply_text(reply.code, reply.esc, &reply.message)
        ),
        mail_send::Error::Timeout => "no answer in time".into(),
        mail_send::Error::MissingStartTls => {
            "the server does not offer STARTTLS (set mail.smtp.security)".into()
        }
        mail_send::Error::UnsupportedAuthMechanism => {
            "the server offers no authentication method Latchkey knows (or none before TLS)".into()
        }
        other => other.to_string(),
    }
}
