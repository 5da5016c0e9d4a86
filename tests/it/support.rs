//! Starting the app, making users, and reading pages.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use latchkey::accounts::Accounts;
use latchkey::accounts::users::{NewUserForm, add_user_now};
use latchkey::app::App;
use latchkey::config::Config;
use latchkey::domain::{AuditAction, AuditEvent, User};
use reqwest::StatusCode;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A password that passes the policy, used for every test user.
pub const PASSWORD: &str = "amber kettle horizon 1987";

/// A running app on 127.0.0.1 with its own data folder.
pub struct TestApp {
    pub base: String,
    pub accounts: Accounts,
    pub setup_url: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts with a config changed by `tweak` (after the test defaults).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let mut config =
            Config::from_parts(Path::new("test.toml"), "", Vec::new()).expect("default config");
        config.data_dir = dir.path().join("data");
        // Mail stays inside the test's folder (the default is relative to
        // the working directory).
        config.mail.transport = latchkey::config::MailTransport::File {
            dir: dir.path().join("outbox"),
        };
        config.server.listen = addr;
        config.server.public_url = format!("http://{addr}");
        config.sign_in.max_concurrent_hashes = 2;
        tweak(&mut config);
        let mut app = App::build(config).expect("app builds");
        // Bound before the test goes on, so the first request finds it.
        app.listen_metrics().await.expect("metrics listener");
        let setup_url = app.announce_setup_link().await.expect("setup link");
        let accounts = app.accounts.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            accounts,
            setup_url,
            stop: Some(stop),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates an active user with [`PASSWORD`].
    pub async fn user(&self, email: &str, admin: bool) -> User {
        let store = self.accounts.store.clone();
        let form = NewUserForm {
            first_name: "Emma".into(),
            last_name: "Wright".into(),
            email: email.into(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
        };
        tokio::task::spawn_blocking(move || add_user_now(&store, &form, admin))
            .await
            .expect("task")
            .expect("user created")
    }

    /// Signs `user` in without HTTP: what a use case test needs as its actor.
    pub async fn signed_in_as(&self, user: &User) -> latchkey::accounts::SignedIn {
        let origin = latchkey::accounts::sessions::Origin {
            client: std::net::IpAddr::from([127, 0, 0, 1]),
            user_agent: "tests".into(),
        };
        let token = self
            .accounts
            .sessions
            .create(user.id, latchkey::domain::SessionStage::SignedIn, &origin)
            .await
            .expect("session");
        self.accounts
            .sessions
            .resolve(&token.as_text(), std::net::IpAddr::from([127, 0, 0, 1]))
            .expect("store readable")
            .expect("live session")
    }

    /// Where the file transport writes (`TestApp::spawn` uses it).
    pub fn outbox_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("outbox")
    }

    /// The audit events of `action` among the newest thousand, newest first.
    pub fn events(&self, action: AuditAction) -> Vec<AuditEvent> {
        self.accounts
            .store
            .recent_events(1000)
            .expect("store readable")
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }

    /// The user as stored now.
    pub fn stored_user(&self, email: &str) -> User {
        self.accounts
            .store
            .user_by_email(email)
            .expect("store readable")
            .expect("user exists")
    }

    /// A browser-like client: cookie jar, no automatic redirects.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client already signed in as a new user.
    pub async fn signed_in(&self, email: &str, admin: bool) -> Client {
        self.user(email, admin).await;
        let client = self.client();
        let response = client.sign_in(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in should redirect"
        );
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self::with_headers(base, reqwest::header::HeaderMap::new())
    }

    /// A client that sends `headers` with every request (as a proxy would add them).
    pub fn with_headers(base: &str, headers: reqwest::header::HeaderMap) -> Self {
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            http,
            base: base.to_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    pub async fn htmx_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .send()
            .await
            .expect("GET")
    }

    /// Posts a form as a browser would, after fetching the CSRF token from `from`.
    pub async fn submit(
        &self,
        from: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let page = self.get_text(from).await;
        let csrf = csrf_of(&page);
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &csrf));
        self.post_raw(action, &form).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{action}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts as htmx does: CSRF token in the header, `HX-Request: true`.
    pub async fn htmx_post(
        &self,
        action: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{action}", self.base))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", csrf)
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/signin",
            "/signin",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

/// The CSRF token a page carries in its hidden field.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a CSRF field");
    html[start..]
        .split('"')
        .next()
        .expect("closing quote")
        .to_owned()
}

pub fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A free loopback port (for the binary, which must be told its port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The set-up form, filled in with [`PASSWORD`].
pub fn setup_form<'a>(
    csrf: &'a str,
    token: &'a str,
    first: &'a str,
    last: &'a str,
    email: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("token", token),
        ("first_name", first),
        ("last_name", last),
        ("email", email),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ]
}

/// Signs in with a client that keeps no cookies, carrying the anonymous CSRF
/// cookie by hand: a browser keeps `__Host-` cookies only from https origins,
/// and test servers configured with an https public URL speak plain http.
pub async fn sign_in_by_hand(app: &TestApp, email: &str) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http.get(app.url("/signin")).send().await.expect("GET");
    let csrf_cookie = page.headers()["set-cookie"].to_str().expect("ASCII");
    let csrf_cookie = csrf_cookie.split(';').next().unwrap_or_default().to_owned();
    let csrf = csrf_of(&page.text().await.expect("body"));
    http.post(app.url("/signin"))
        .header("Cookie", csrf_cookie)
        .form(&[("email", email), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .expect("POST")
}
