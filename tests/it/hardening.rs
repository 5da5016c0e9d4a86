//! The foundation review's hardening: client addresses behind a proxy, slow
//! clients, secrets kept out of logs, environments an orchestrator fills,
//! unreadable records, https-only cookie names and headers, valid markup.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::{Scratch, Server, latchkey, stderr};
use crate::support::{Client, PASSWORD, TestApp, free_port, location};

fn behind_proxy(app: &TestApp, forwarded_for: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        "X-Forwarded-For",
        HeaderValue::from_str(forwarded_for).unwrap(),
    );
    Client::with_headers(&app.base, headers)
}

#[tokio::test]
async fn the_client_address_is_the_one_the_trusted_proxy_appended() {
    let app = TestApp::spawn_with(|c| {
        c.server.forwarded_hops = Some(1);
        c.sign_in.max_failures_per_address = 3;
    })
    .await;
    // An attacker rotates the entry it controls (the leftmost); the proxy
    // appends the real address, which is what counts.
    for i in 0..3 {
        let attacker = behind_proxy(&app, &format!("10.0.0.{i}, 198.51.100.7"));
        let r = attacker
            .sign_in(&format!("nobody{i}@example.com"), "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let attacker = behind_proxy(&app, "10.9.9.9, 198.51.100.7");
    let r = attacker
        .sign_in("other@example.com", "wrong password guess")
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Someone else behind the same proxy is not caught by that limit.
    let neighbour = behind_proxy(&app, "198.51.100.8");
    let r = neighbour
        .sign_in("other@example.com", "wrong password guess")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A junk entry where the proxy's should be is refused, not replaced by
    // the proxy's own address (which would lock out everyone behind it).
    for junk in ["198.51.100.7, not-an-address", "", " , "] {
        let r = behind_proxy(&app, junk).get("/signin").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{junk:?}");
    }
    assert_eq!(
        app.client().get("/signin").await.status(),
        StatusCode::BAD_REQUEST
    );
    // With two trusted hops, the second entry from the right is the client.
    let app = TestApp::spawn_with(|c| {
        c.server.forwarded_hops = Some(2);
        c.sign_in.max_failures_per_address = 1;
    })
    .await;
    let first = behind_proxy(&app, "1.2.3.4, 198.51.100.9, 10.0.0.1");
    first.sign_in("a@example.com", "wrong password guess").await;
    let same_client = behind_proxy(&app, "5.6.7.8, 198.51.100.9, 10.0.0.2");
    let r = same_client
        .sign_in("b@example.com", "wrong password guess")
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let app = TestApp::spawn_with(|c| c.server.header_read_timeout = Duration::from_secs(1)).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One header line every 300 ms, never the blank line that ends them.
    let mut closed = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let line = format!("X-Slow-{i}: y\r\n");
        if stream.write_all(line.as_bytes()).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                // hyper may answer 408 before closing; either way it's over.
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the server kept a trickling client for 12 seconds");
    // Other clients are served as usual.
    assert_eq!(app.client().get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_urls_with_tokens_never_reach_the_log_even_at_debug() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("[log]\nlevel = \"debug\"\n", port);
    let server = Server::start(&config);
    server.wait_for("listening on");
    let browser = Client::new(&format!("http://127.0.0.1:{port}"));
    let secret = "SeCrEtToKeNmArKeR0123456789abcdefghijklmnop";
    for path in ["/setup", "/password/reset", "/signin"] {
        browser.get(&format!("{path}?token={secret}")).await;
    }
    // The requests were traced (so this test can fail), without their query.
    server.wait_for("path=/password/reset");
    server.signal("TERM");
    let log = server.collect_until_exit();
    assert!(!log.contains(secret), "a token reached the log");
}

#[test]
fn variables_kubernetes_adds_are_ignored_with_a_warning() {
    let scratch = Scratch::new();
    let config = scratch.config("", 1);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .env("LATCHKEY_PORT", "tcp://10.0.0.7:8080")
        .env("LATCHKEY_PORT_8080_TCP", "tcp://10.0.0.7:8080")
        .env("LATCHKEY_SERVICE_HOST", "10.0.0.7")
        .env("LATCHKEY_SERVICE_PORT", "8080")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("LATCHKEY_SERVICE_HOST ignored"), "{err}");
}

#[tokio::test]
async fn a_user_record_that_cannot_be_read_signs_the_browser_out_cleanly() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
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
    let output = latchkey(&config, &add, &format!("{PASSWORD}\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    let base = format!("http://127.0.0.1:{port}");
    let session = {
        let server = Server::start(&config);
        server.wait_for("listening on");
        let signed_in = Client::new(&base)
            .sign_in("ada@example.com", PASSWORD)
            .await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let cookie = signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap())
            .find(|c| c.starts_with("latchkey_session="))
            .unwrap();
        let session = cookie.split(';').next().unwrap().to_owned();
        server.signal("TERM");
        server.collect_until_exit();
        session
    };
    // The user's record is damaged while the server is stopped.
    let file = scratch
        .dir
        .path()
        .join("data")
        .join(latchkey::store::FILE_NAME);
    {
        let db = redb::Database::create(&file).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(latchkey::store::tables::USERS)
            .unwrap()
            .insert(1, [2u8, b'{'].as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    // And the file was made readable by others meanwhile: a warning at start.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = Server::start(&config);
    server.wait_for("other local users can read this");
    server.wait_for("listening on");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let profile = http
        .get(format!("{base}/profile"))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), StatusCode::SEE_OTHER);
    assert!(location(&profile).starts_with("/signin"));
    let cleared = profile
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("latchkey_session=;"));
    assert!(cleared, "the dead session cookie is cleared");
    let sign_in = http
        .get(format!("{base}/signin"))
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), StatusCode::OK);
}

#[tokio::test]
async fn over_https_cookies_are_host_prefixed_and_browsers_are_told_to_stay() {
    let https =
        TestApp::spawn_with(|c| c.server.public_url = "https://accounts.example.com".into()).await;
    let response = https.client().get("/signin").await;
    assert_eq!(
        response.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.starts_with("__Host-latchkey_csrf="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");

    let http = TestApp::spawn().await;
    let response = http.client().get("/signin").await;
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.starts_with("latchkey_csrf="), "{cookie}");
}

/// The Nu Html Checker accepts htmx's `data-hx-*` form and rejects bare
/// `hx-*` attributes; every page and fragment uses the former.
#[tokio::test]
async fn pages_use_only_valid_data_hx_attributes() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", true).await;
    let mut seen_htmx = false;
    for path in [
        "/profile",
        "/profile/edit",
        "/account/settings",
        "/signin",
        "/nowhere",
    ] {
        for html in [
            browser.get_text(path).await,
            browser.htmx_get(path).await.text().await.unwrap(),
        ] {
            seen_htmx |= html.contains(" data-hx-");
            let bare = html.match_indices("hx-").any(|(i, _)| {
                let before = html[..i].chars().last();
                !matches!(before, Some('-'))
            });
            assert!(!bare, "{path} has a bare hx- attribute");
        }
    }
    assert!(seen_htmx);
    // The profile icon's accessible name contains the initials it shows.
    let page = browser.get_text("/profile").await;
    assert!(page.contains(r#"aria-label="EW: profile of Emma Wright""#));
}
