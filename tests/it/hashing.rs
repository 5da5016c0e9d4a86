//! Password hashing stays within `sign_in.max_concurrent_hashes`: in the
//! threads that exist (so in memory) and in the hashes that run at once, even
//! when clients hang up mid-request.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Client, PASSWORD, TestApp, csrf_of, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// The real server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(config: &Path, args: &[&str], stdin: &str) -> std::process::Output {
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
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("password written");
    drop(input);
    child.wait_with_output().expect("binary ends")
}

/// Names of the threads of process `pid`.
fn thread_names(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("task list");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

#[tokio::test]
async fn a_sign_in_burst_hashes_on_exactly_the_configured_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\ndata_dir = \"{}\"\n\
             [sign_in]\nmax_concurrent_hashes = 2\nmax_failures_per_account = 1000\nmax_failures_per_address = 1000\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config written");
    let add = [
        "user",
        "add",
        "--email",
        "ada@example.com",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
    ];
    let added = run(&config, &add, &format!("{PASSWORD}\n"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let server = Server(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Client::new(&base)
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sign_ins = (0..30).map(|_| {
        let base = base.clone();
        tokio::spawn(async move {
            Client::new(&base)
                .sign_in("ada@example.com", PASSWORD)
                .await
                .status()
        })
    });
    for sign_in in sign_ins.collect::<Vec<_>>() {
        assert_eq!(sign_in.await.expect("task"), StatusCode::SEE_OTHER);
    }

    let names = thread_names(server.0.id());
    let hashing: Vec<_> = names
        .iter()
        .filter(|name| name.starts_with("latchkey-hash"))
        .collect();
    assert_eq!(hashing.len(), 2, "threads: {names:?}");
}

/// A complete `POST /signin`, as raw HTTP/1.1 with the anonymous CSRF
/// cookie and field fetched from the sign-in page.
async fn raw_sign_in(app: &TestApp, password: &str) -> Vec<u8> {
    let page = reqwest::get(app.url("/signin")).await.expect("GET /signin");
    let cookie = page
        .cookies()
        .find(|c| c.name() == "latchkey_csrf")
        .map(|c| c.value().to_owned())
        .expect("anonymous CSRF cookie");
    let csrf = csrf_of(&page.text().await.expect("page"));
    let body = serde_urlencoded::to_string([
        ("email", "ada@example.com"),
        ("password", password),
        ("csrf", &csrf),
    ])
    .expect("form");
    let host = app.base.trim_start_matches("http://");
    format!(
        "POST /signin HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Cookie: latchkey_csrf={cookie}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn abandoned_sign_ins_never_exceed_the_hash_limit_and_are_mostly_skipped() {
    let app = TestApp::spawn_with(|config| {
        config.sign_in.max_concurrent_hashes = 2;
        config.sign_in.max_failures_per_account = 1_000;
        config.sign_in.max_failures_per_address = 1_000;
    })
    .await;
    app.user("ada@example.com", false).await;
    let hasher = app.accounts.hasher.clone();
    let wait_idle = || async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !hasher.stats().is_idle() {
            assert!(Instant::now() < deadline, "{:?}", hasher.stats());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        hasher.stats()
    };
    let before = wait_idle().await;
    let wrong = raw_sign_in(&app, "not the password at all").await;
    let right = raw_sign_in(&app, PASSWORD).await;
    let address = app.base.trim_start_matches("http://").to_owned();

    // A stream of clients, each hanging up as soon as its sign-in has
    // reached the hasher, while earlier hashes are still running.
    let abandoned = 40;
    for i in 0..abandoned {
        let submitted = hasher.stats().submitted;
        let mut connection = TcpStream::connect(&address).await.expect("connect");
        let request = if i % 2 == 0 { &wrong } else { &right };
        connection.write_all(request).await.expect("request sent");
        let deadline = Instant::now() + Duration::from_secs(30);
        while hasher.stats().submitted == submitted {
            assert!(
                Instant::now() < deadline,
                "the sign-in never reached the hasher"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(connection);
    }

    let after = wait_idle().await;
    let computed = after.computed - before.computed;
    let skipped = after.skipped - before.skipped;
    assert_eq!(
        after.submitted - before.submitted,
        abandoned,
        "one job per sign-in: {after:?}"
    );
    assert!(after.peak_running <= 2, "{after:?}");
    assert!(
        skipped > computed,
        "most abandoned jobs should be skipped: {computed} computed, {skipped} skipped"
    );
}
