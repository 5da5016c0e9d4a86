//! The real binary: configuration errors, `check-config`, `user add|list`,
//! the set-up link in the log, graceful shutdown, and durability under kill -9.

use std::io::{BufRead, BufReader, Write};
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
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
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

    let restarted = Server::start(&config);
    restarted.wait_for("listening on");
    let again = Client::new(&base);
    let response = again.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let profile = again.get_text("/profile").await;
    assert!(profile.contains("Augusta") && profile.contains("+44 20 7946 0000"));
}
