//! A real SMTP server on loopback for the tests: the `mailin` crate's SMTP
//! protocol state machine behind a Tokio TCP listener, so Latchkey's
//! mail-send client holds a complete conversation (greeting, EHLO, optional
//! AUTH PLAIN, MAIL FROM, RCPT TO, DATA, QUIT) over TCP. Received messages
//! are parsed with `mail-parser`, and links read out of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey::config::{Config, MailTransport, SmtpConfig, SmtpCredentials, SmtpSecurity};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable message")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }

    /// Every absolute link in the text body.
    pub fn links(&self) -> Vec<String> {
        self.text()
            .split_whitespace()
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(str::to_owned)
            .collect()
    }

    /// The link whose path starts with `path`, as path and query (for the
    /// test client); panics if there is none.
    pub fn link_to(&self, path: &str) -> String {
        self.links()
            .into_iter()
            .find_map(|link| {
                let rest = link.splitn(4, '/').nth(3).map(|r| format!("/{r}"))?;
                rest.starts_with(path).then_some(rest)
            })
            .unwrap_or_else(|| panic!("no link to {path} in:\n{}", self.text()))
    }
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Received>>,
    arrived: Notify,
    /// AUTH PLAIN identities the server saw, with their passwords.
    logins: Mutex<Vec<(String, String)>>,
}

/// Collects one connection's messages into the shared inbox.
#[derive(Clone)]
struct Collector {
    inbox: Arc<Inbox>,
    login: Option<(String, String)>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        self.inbox
            .messages
            .lock()
            .expect("inbox lock")
            .push(message);
        self.inbox.arrived.notify_waiters();
        Response::custom(250, "2.0.0 Ok: queued".into())
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.inbox
            .logins
            .lock()
            .expect("logins lock")
            .push((user.to_owned(), password.to_owned()));
        match &self.login {
            Some((u, p)) if u == user && p == password => response::AUTH_OK,
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

/// An SMTP server on 127.0.0.1; stops listening when dropped.
pub struct SmtpReceiver {
    pub port: u16,
    inbox: Arc<Inbox>,
    login: Option<(String, String)>,
    _stop: oneshot::Sender<()>,
}

impl SmtpReceiver {
    /// On a port of its own.
    pub async fn start() -> Self {
        Self::listen(0, None).await
    }

    /// On `port`: what a test uses to bring a "down" mail server back up.
    pub async fn start_on(port: u16) -> Self {
        Self::listen(port, None).await
    }

    /// Requiring AUTH PLAIN with these credentials (offered without TLS,
    /// which only a test server should do).
    pub async fn start_with_login(user: &str, password: &str) -> Self {
        Self::listen(0, Some((user.to_owned(), password.to_owned()))).await
    }

    async fn listen(port: u16, login: Option<(String, String)>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP receiver");
        let port = listener.local_addr().expect("address").port();
        let inbox = Arc::new(Inbox::default());
        let mut builder = SessionBuilder::new("receiver.test");
        if login.is_some() {
            builder
                .enable_auth(AuthMechanism::Plain)
                .insecure_enable_plaintext_auth();
        }
        let (stop, mut stopped) = oneshot::channel::<()>();
        let collector = Collector {
            inbox: inbox.clone(),
            login: login.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, peer)) = accepted else { continue };
                        tokio::spawn(converse(stream, peer, builder.clone(), collector.clone()));
                    }
                    _ = &mut stopped => return,
                }
            }
        });
        Self {
            port,
            inbox,
            login,
            _stop: stop,
        }
    }

    /// Points `config` at this server: plain SMTP on loopback, short timeout,
    /// and the credentials it requires, if any.
    pub fn configure(&self, config: &mut Config) {
        configure_smtp(config, self.port);
        if let (Some((user, password)), MailTransport::Smtp(smtp)) =
            (&self.login, &mut config.mail.transport)
        {
            smtp.credentials = Some(SmtpCredentials {
                user: user.clone(),
                password: latchkey::config::Secret::new(password.clone()),
            });
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.inbox.messages.lock().expect("inbox lock").clone()
    }

    pub fn logins(&self) -> Vec<(String, String)> {
        self.inbox.logins.lock().expect("logins lock").clone()
    }

    /// Messages to `to` received so far.
    pub fn messages_to(&self, to: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits for the `n`-th message (from 1) to `to` and returns it.
    pub async fn wait_for_nth(&self, to: &str, n: usize) -> Received {
        self.wait_until(
            |messages| {
                messages
                    .iter()
                    .filter(|m| m.to.iter().any(|r| r.eq_ignore_ascii_case(to)))
                    .count()
                    >= n
            },
            &format!("message {n} to {to}"),
        )
        .await;
        self.messages_to(to).remove(n - 1)
    }

    /// Waits for the first message to `to`.
    pub async fn wait_for(&self, to: &str) -> Received {
        self.wait_for_nth(to, 1).await
    }

    async fn wait_until(&self, done: impl Fn(&[Received]) -> bool, what: &str) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let arrived = self.inbox.arrived.notified();
            let messages = self.messages();
            if done(&messages) {
                return messages;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let seen: Vec<_> = messages
                    .iter()
                    .map(|m| (m.to.clone(), m.subject()))
                    .collect();
                panic!("waited in vain for {what}; received {seen:?}");
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), arrived).await;
        }
    }
}

/// Points `config` at an SMTP server on `port` of 127.0.0.1 (none may be
/// listening yet).
pub fn configure_smtp(config: &mut Config, port: u16) {
    config.mail.transport = MailTransport::Smtp(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        timeout: Duration::from_secs(5),
    });
}

/// One SMTP conversation, line by line through mailin's session.
async fn converse(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    builder: SessionBuilder,
    collector: Collector,
) {
    let ip: IpAddr = peer.ip();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut session = builder.build(ip, collector);
    if reply(&mut write, &session.greeting()).await.is_err() {
        return;
    }
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => {
                if reply(&mut write, &response).await.is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = reply(&mut write, &response).await;
                return;
            }
            Action::NoReply => {}
            Action::UpgradeTls => return,
        }
    }
}

async fn reply(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    response: &Response,
) -> std::io::Result<()> {
    let bytes = response.buffer()?;
    write.write_all(&bytes).await?;
    write.flush().await
}
