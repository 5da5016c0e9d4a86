//! Sessions: cookies, rotation, log out, timeouts, and read-only page loads.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, TestApp, csrf_of, location};

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey_session="))
        .map(str::to_owned)
}

/// Sends a bare request with only this session token, as a thief would.
async fn replay(app: &TestApp, token: &str) -> reqwest::Response {
    Client::new(&app.base)
        .http
        .get(app.url("/profile"))
        .header("Cookie", format!("latchkey_session={token}"))
        .send()
        .await
        .unwrap()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("latchkey_session=")
        .to_owned()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_rotated_at_each_sign_in() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    let first = browser.sign_in("emma@example.com", PASSWORD).await;
    let cookie = session_cookie(&first).expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(
        !cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );
    let first_token = cookie_value(&cookie);
    assert_eq!(first_token.len(), 43, "256 bits in base64url");

    // Signing in again (even while signed in) issues a new token and ends the old one.
    let page = browser.get_text("/profile").await;
    let second = browser
        .post_raw(
            "/signin",
            &[
                ("email", "emma@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf_of(&page)),
            ],
        )
        .await;
    let second_token = cookie_value(&session_cookie(&second).expect("new cookie"));
    assert_ne!(first_token, second_token);
    let response = replay(&app, &first_token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?next=%2Fprofile");
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = "https://accounts.example.com".into()).await;
    app.user("emma@example.com", false).await;
    let response = crate::support::sign_in_by_hand(&app, "emma@example.com").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("__Host-latchkey_session="))
        .expect("a __Host- session cookie");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
}

#[tokio::test]
async fn log_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    let response = browser.sign_in("emma@example.com", PASSWORD).await;
    let token = cookie_value(&session_cookie(&response).unwrap());

    let page = browser.get_text("/profile").await;
    let out = browser
        .post_raw("/signout", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/signin");
    let cleared = session_cookie(&out).expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The old cookie, replayed by hand, no longer works.
    let response = replay(&app, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?next=%2Fprofile");
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::spawn_with(|c| c.sessions.idle_timeout = Duration::from_secs(2)).await;
    let browser = app.signed_in("emma@example.com", false).await;
    assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let response = browser.get("/profile").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?next=%2Fprofile");
    let cleared = session_cookie(&response).expect("the dead cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // htmx requests are told where to go rather than handed a page to swap in.
    let hx = browser.htmx_get("/profile/edit").await;
    assert_eq!(hx.headers().get("hx-redirect").unwrap(), "/signin");
}

#[tokio::test]
async fn activity_keeps_a_session_alive_past_the_idle_timeout() {
    let app = TestApp::spawn_with(|c| c.sessions.idle_timeout = Duration::from_secs(4)).await;
    let browser = app.signed_in("emma@example.com", false).await;
    // Touched at most every idle/2 = 2 s; keep visiting for 7 s in all.
    for _ in 0..7 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_absolute_timeout_ends_even_a_busy_session() {
    let app = TestApp::spawn_with(|c| {
        c.sessions.idle_timeout = Duration::from_secs(2);
        c.sessions.absolute_timeout = Duration::from_secs(3);
    })
    .await;
    let browser = app.signed_in("emma@example.com", false).await;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        browser.get("/profile").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn signed_in_page_loads_do_not_write_to_the_store() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", true).await;
    // Let any write caused by signing in settle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = app.accounts.store.write_count();
    for path in [
        "/profile",
        "/profile/edit",
        "/account/users",
        "/profile",
        "/healthz",
    ] {
        let response = browser.get(path).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    assert_eq!(
        browser.htmx_get("/profile/details").await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.accounts.store.write_count(), before);
}

#[tokio::test]
async fn session_tokens_are_stored_only_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_for_app = data.clone();
    let app = TestApp::spawn_with(move |c| c.data_dir = data_for_app).await;
    app.user("emma@example.com", false).await;
    let response = app.client().sign_in("emma@example.com", PASSWORD).await;
    let token = cookie_value(&session_cookie(&response).unwrap());
    let raw = latchkey::domain::Token::parse(&token).unwrap();
    let file = std::fs::read(data.join(latchkey::store::FILE_NAME)).unwrap();
    let contains = |needle: &[u8]| file.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(token.as_bytes()),
        "token text must not be on disk"
    );
    assert!(!contains(raw.bytes()), "nor its raw bytes");
    assert!(contains(&raw.hash().0), "its hash is the key");
}

/// The Profile's *Your sessions* card, from two browsers.
#[tokio::test]
async fn a_user_sees_their_sessions_and_signs_another_out() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let firefox = Client::with_headers(
        &app.base,
        user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    );
    let phone = Client::with_headers(
        &app.base,
        user_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        ),
    );
    firefox.sign_in("emma@example.com", PASSWORD).await;
    let phone_cookie = session_cookie(&phone.sign_in("emma@example.com", PASSWORD).await).unwrap();
    let phone_token = cookie_value(&phone_cookie);

    let html = firefox.get_text("/profile").await;
    assert!(html.contains("Your sessions"));
    assert!(
        html.contains("Firefox 128 on Linux") && html.contains("Safari 17 on iOS"),
        "{html}"
    );
    assert!(html.contains("This session"));
    assert!(html.contains("127.0.0.1"));
    assert!(!html.contains(&phone_token), "no token on the page");
    // Firefox's own row has no Sign out button; the phone's has.
    let action = html
        .split(r#"action="/profile/sessions/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|rest| format!("/profile/sessions/{rest}"))
        .expect("a sign-out form for the other session");
    assert_eq!(html.matches("/signout\" data-hx-post").count(), 1);

    // The phone sees both as well, and its own marked.
    let phone_html = phone.get_text("/profile").await;
    assert!(phone_html.contains("Safari 17 on iOS") && phone_html.contains("Firefox 128 on Linux"));

    let ended = firefox.htmx_post(&action, &csrf_of(&html), &[]).await;
    assert_eq!(ended.status(), StatusCode::OK);
    let fragment = ended.text().await.unwrap();
    assert!(
        fragment.starts_with("<section") && fragment.contains(r#"id="sessions""#),
        "the card alone: {fragment}"
    );
    assert!(fragment.contains("Signed out one session."));
    assert!(!fragment.contains("Safari 17 on iOS"));
    // The phone's cookie is refused now.
    assert_eq!(
        replay(&app, &phone_token).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(phone.get("/profile").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(firefox.get("/profile").await.status(), StatusCode::OK);
    // A reference that names no session of hers changes nothing.
    let none = firefox.htmx_post(&action, &csrf_of(&html), &[]).await;
    assert!(none.text().await.unwrap().contains("no other session"));
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_browser() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let here = app.client();
    here.sign_in("emma@example.com", PASSWORD).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        let other = app.client();
        other.sign_in("emma@example.com", PASSWORD).await;
        others.push(other);
    }
    let bob = app.signed_in("bob@example.com", false).await;
    let html = here.get_text("/profile").await;
    assert!(html.contains("Sign out everywhere else"));
    let done = here
        .post_raw(
            "/profile/sessions/signout-others",
            &[("csrf", &csrf_of(&html))],
        )
        .await;
    assert_eq!(location(&done), "/profile#sessions");
    for other in &others {
        assert_eq!(other.get("/profile").await.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(here.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(
        bob.get("/profile").await.status(),
        StatusCode::OK,
        "other users untouched"
    );
    let after = here.get_text("/profile").await;
    assert!(!after.contains("Sign out everywhere else"));
    let ended = app
        .accounts
        .store
        .recent_events(20)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == latchkey::domain::AuditAction::SessionEnded)
        .count();
    assert_eq!(ended, 1);
}

fn user_agent(value: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("User-Agent", value.parse().unwrap());
    headers
}
