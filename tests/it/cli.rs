//! The real binary: configuration errors, `check-config`, `user add|list`
//! (on the data file, and through a running server's admin socket), the
//! set-up link in the log, graceful shutdown, and durability under kill -9.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, csrf_of, free_port, location, setup_form};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes a config file with a data folder inside the scratch folder.
    pub fn config(&self, extra: &str, port: u16) -> PathBuf {
        let path = self.dir.path().join("config.toml");
        let data = self.dir.path().join("data");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\ndata_dir = \"{}\"\n{extra}",
            data.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

pub fn latchkey(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    // A command that stops before reading its input has closed the pipe.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `latchkey user add` with this password, as an administrator or not;
/// returns the new user's id (the command prints `added user <id> …`).
pub fn add_user(config: &Path, email: &str, first: &str, admin: bool, password: &str) -> u64 {
    let mut args = vec![
        "user",
        "add",
        "--email",
        email,
        "--first-name",
        first,
        "--last-name",
        "Tester",
    ];
    if admin {
        args.push("--admin");
    }
    let output = latchkey(config, &args, &format!("{password}\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(2)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {text}"))
}

#[test]
fn an_unknown_key_stops_start_up_naming_file_key_and_reason() {
    let scratch = Scratch::new();
    let config = scratch.config("[sessions]\nidle_timout = \"5m\"\n", 1);
    for args in [&["check-config"][..], &["serve"][..], &[][..]] {
        let output = latchkey(&config, args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(err.contains(&config.display().to_string()), "{err}");
        assert!(
            err.contains("sessions.idle_timout") && err.contains("unknown key"),
            "{err}"
        );
    }
    assert!(
        !scratch.dir.path().join("data").exists(),
        "nothing created on a bad config"
    );
}

#[test]
fn a_bad_value_stops_start_up_naming_file_key_and_reason() {
    let scratch = Scratch::new();
    let config = scratch.config("[sign_in]\nlockout = \"forever\"\n", 1);
    let output = latchkey(&config, &["serve"], "");
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("sign_in.lockout")
            && err.contains("forever")
            && err.contains("not a duration"),
        "{err}"
    );
}

#[test]
fn an_unreadable_file_and_a_bad_environment_override_are_reported() {
    let output = latchkey(
        Path::new("/nonexistent/latchkey.toml"),
        &["check-config"],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/latchkey.toml: can't read the file"));

    let scratch = Scratch::new();
    let config = scratch.config("", 1);
    let output = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .env("LATCHKEY_SERVER__LISTEN", "everywhere")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("environment variable LATCHKEY_SERVER__LISTEN: key `server.listen`")
    );
}

#[test]
fn check_config_accepts_the_shipped_file() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let output = latchkey(&shipped, &["check-config"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("configuration is valid"));
}

#[test]
fn user_add_reads_the_password_from_stdin_and_user_list_shows_the_user() {
    let scratch = Scratch::new();
    let config = scratch.config("", 1);
    let add = [
        "user",
        "add",
        "--email",
        "Ada@Example.com",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
        "--admin",
    ];
    let output = latchkey(&config, &add, &format!("{PASSWORD}\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("as Global Administrator"));

    // Same address in another case: refused, with the reason.
    let output = latchkey(&config, &add, &format!("{PASSWORD}\n"));
    assert!(!output.status.success());
    assert!(stderr(&output).contains("email: A user with that email address already exists."));
    // A weak password: refused, with the reason.
    let weak = [
        "user",
        "add",
        "--email",
        "bob@example.com",
        "--first-name",
        "Bob",
        "--last-name",
        "B",
    ];
    let output = latchkey(&config, &weak, "password\n");
    assert!(!output.status.success());
    assert!(stderr(&output).contains("password: Use at least 12 characters."));

    let output = latchkey(&config, &["user", "list"], "");
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(
        listing.contains("Ada@Example.com") && listing.contains("Global Administrator"),
        "{listing}"
    );
    assert!(!listing.contains("bob@example.com"));
}

/// A server process whose log is read line by line.
pub struct Server {
    pub child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Server {
    pub fn start(config: &Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return line;
            }
        }
        panic!("no log line with {needle:?}");
    }

    /// The set-up link the server logs at first start.
    fn setup_url(&self) -> String {
        let line = self.wait_for("/setup?token=");
        let url = line
            .split_whitespace()
            .find(|w| w.contains("/setup?token="));
        url.expect("a URL in the line").to_owned()
    }

    /// Every log line until the process exits (after a signal), as one text.
    pub fn collect_until_exit(mut self) -> String {
        let mut log = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    log.push_str(&line);
                    log.push('\n');
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        let _ = self.child.wait();
        log
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(self) {
        self.signal("TERM");
        let status = tokio::task::spawn_blocking(move || {
            let mut server = self;
            server.child.wait()
        })
        .await
        .unwrap()
        .unwrap();
        assert!(status.success(), "{status:?}");
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_server_logs_the_set_up_link_and_stops_gracefully_on_sigterm() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let server = Server::start(&config);
    let listening = server.wait_for("listening on");
    assert!(
        listening.contains(&format!("http://127.0.0.1:{port}")),
        "{listening}"
    );
    let url = server.setup_url();
    assert!(url.starts_with(&format!("http://127.0.0.1:{port}/setup?token=")));
    let base = format!("http://127.0.0.1:{port}");
    let browser = Client::new(&base);
    assert_eq!(
        browser.get(&url[base.len()..]).await.status(),
        StatusCode::OK
    );
    assert_eq!(browser.get("/healthz").await.status(), StatusCode::OK);

    server.signal("TERM");
    server.wait_for("shutting down");
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.child.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn an_acknowledged_write_survives_kill_9() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(&config);
    let url = server.setup_url();
    let path = &url[base.len()..];
    let token = path.split("token=").nth(1).unwrap();
    let browser = Client::new(&base);
    let page = browser.get_text(path).await;
    let created = browser
        .post_raw(
            "/setup",
            &setup_form(&csrf_of(&page), token, "Ada", "Lovelace", "ada@example.com"),
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    // The profile edit is acknowledged, then the process dies without warning.
    let csrf = csrf_of(&browser.get_text("/profile").await);
    let saved = browser
        .post_raw(
            "/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Augusta"),
                ("last_name", "Lovelace"),
                ("phone", "+44 20 7946 0000"),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/profile?saved=1");
    server.signal("KILL");
    drop(server);

    // The killed server left its socket file; the new one replaces it.
    assert!(scratch.data().join("admin.sock").exists());
    let restarted = Server::start(&config);
    restarted.wait_for("listening on");
    let listing = latchkey(&config, &["user", "list"], "");
    assert!(listing.status.success(), "{}", stderr(&listing));
    assert!(String::from_utf8_lossy(&listing.stdout).contains("ada@example.com"));
    let again = Client::new(&base);
    let response = again.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let profile = again.get_text("/profile").await;
    assert!(profile.contains("Augusta") && profile.contains("+44 20 7946 0000"));
}

/// `user add` for Ada, the password on standard input.
const ADD_ADA: [&str; 9] = [
    "user",
    "add",
    "--email",
    "ada@example.com",
    "--first-name",
    "Ada",
    "--last-name",
    "Lovelace",
    "--admin",
];

/// `user add` with a password the policy refuses.
const ADD_WEAK: [&str; 8] = [
    "user",
    "add",
    "--email",
    "bob@example.com",
    "--first-name",
    "Bob",
    "--last-name",
    "Brown",
];

/// What an operator sees: both streams and the exit code.
fn seen(output: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr(output),
        output.status.code(),
    )
}

#[tokio::test]
async fn user_commands_work_through_a_running_server_with_the_same_output() {
    // The same commands on a data file with no server, for comparison.
    let stopped = Scratch::new();
    let stopped_config = stopped.config("", 1);
    let direct_add = latchkey(&stopped_config, &ADD_ADA, &format!("{PASSWORD}\n"));
    assert!(direct_add.status.success(), "{}", stderr(&direct_add));
    let direct_weak = latchkey(&stopped_config, &ADD_WEAK, "password\n");
    assert!(stderr(&direct_weak).contains("password: Use at least 12 characters."));

    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(&config);
    let setup = server.setup_url();
    let browser = Client::new(&base);
    assert_eq!(
        browser.get(&setup[base.len()..]).await.status(),
        StatusCode::OK
    );

    let add = latchkey(&config, &ADD_ADA, &format!("{PASSWORD}\n"));
    assert_eq!(seen(&add), seen(&direct_add));
    let weak = latchkey(&config, &ADD_WEAK, "password\n");
    assert_eq!(seen(&weak), seen(&direct_weak));

    // The user exists in the running server: the set-up link is spent and
    // Ada can sign in.
    assert_ne!(
        browser.get(&setup[base.len()..]).await.status(),
        StatusCode::OK
    );
    let ada = Client::new(&base);
    let signed_in = ada.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    let listed = latchkey(&config, &["user", "list"], "");
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listing.contains("ada@example.com") && listing.contains("Global Administrator"),
        "{listing}"
    );
    assert!(!listing.contains("bob@example.com"));

    // Only the server's user can reach the socket.
    let socket = scratch.data().join("admin.sock");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(
        mode(&scratch.data()) & 0o077,
        0,
        "data folder closed to others"
    );

    server.stop().await;
    assert!(!socket.exists(), "socket removed on shutdown");
    // Stopped, the same listing comes straight from the file.
    let after = latchkey(&config, &["user", "list"], "");
    assert_eq!(seen(&after), seen(&listed));
}

#[tokio::test]
async fn a_server_without_its_admin_socket_gets_a_clear_error() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let server = Server::start(&config);
    server.wait_for("listening on");
    std::fs::remove_file(scratch.data().join("admin.sock")).unwrap();

    let output = latchkey(&config, &["user", "list"], "");
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let data_file = scratch.data().join("latchkey.redb");
    assert!(
        err.contains(&data_file.display().to_string())
            && err.contains("server seems to hold it")
            && err.contains("admin socket")
            && err.contains("isn't answering"),
        "{err}"
    );
    // Refused before the password is asked for, and nothing was created.
    let output = latchkey(&config, &ADD_ADA, &format!("{PASSWORD}\n"));
    assert_eq!(output.status.code(), Some(1));
    server.stop().await;
    let listing = latchkey(&config, &["user", "list"], "");
    assert!(!String::from_utf8_lossy(&listing.stdout).contains("ada@example.com"));
}

#[tokio::test]
async fn reset_2fa_turns_it_off_with_and_without_a_running_server() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let base = format!("http://127.0.0.1:{port}");
    let added = latchkey(&config, &ADD_ADA, &format!("{PASSWORD}\n"));
    assert!(added.status.success(), "{}", stderr(&added));
    let reset = ["user", "reset-2fa", "--email", "Ada@Example.com"];

    // Through the running server.
    let server = Server::start(&config);
    server.wait_for("listening on");
    let ada = Client::new(&base);
    ada.sign_in("ada@example.com", PASSWORD).await;
    crate::two_factor::set_up(&ada).await;
    let through_server = latchkey(&config, &reset, "");
    assert!(
        through_server.status.success(),
        "{}",
        stderr(&through_server)
    );
    assert_eq!(
        String::from_utf8_lossy(&through_server.stdout),
        "turned off 2FA for 1 <ada@example.com> and signed them out everywhere\n"
    );
    assert_eq!(ada.get("/profile").await.status(), StatusCode::SEE_OTHER);
    let again = ada.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(location(&again), "/profile", "no code asked for");

    // On the data file, with the server stopped.
    crate::two_factor::set_up(&ada).await;
    server.stop().await;
    let direct = latchkey(&config, &reset, "");
    assert_eq!(seen(&direct), seen(&through_server));
    let already = latchkey(&config, &reset, "");
    assert!(already.status.success());
    assert!(String::from_utf8_lossy(&already.stdout).contains("already off"));
    let nobody = latchkey(
        &config,
        &["user", "reset-2fa", "--email", "nobody@example.com"],
        "",
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(stderr(&nobody).contains("no user has the email address nobody@example.com"));

    let server = Server::start(&config);
    server.wait_for("listening on");
    let signed_in = Client::new(&base)
        .sign_in("ada@example.com", PASSWORD)
        .await;
    assert_eq!(location(&signed_in), "/profile");
    server.stop().await;
}
