//! Signing in: success, failure without enumeration, throttling, device cookies.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, TestApp, location};

const DEVICE: &str = "latchkey_device";

/// The device cookie a response sets, as the whole `Set-Cookie` line.
fn device_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{DEVICE}=")))
        .map(str::to_owned)
}

/// Signs in with the right password and keeps the device cookie it was given.
async fn device_cookie_from_sign_in(app: &TestApp, email: &str) -> String {
    let response = app.client().sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let line = device_set_cookie(&response).expect("a device cookie at sign-in");
    line.split(';')
        .next()
        .and_then(|pair| pair.strip_prefix(&format!("{DEVICE}=")))
        .expect("name=value")
        .to_owned()
}

/// A browser whose jar holds only this device cookie: the owner's browser
/// coming back after its session ended.
fn browser_with_device_cookie(app: &TestApp, value: &str) -> Client {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = app.base.parse().expect("base URL");
    jar.add_cookie_str(&format!("{DEVICE}={value}; Path=/"), &url);
    let mut browser = app.client();
    browser.http = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    browser
}

/// Fails `times` sign-ins to `email` from a browser of its own.
async fn stranger_guesses(app: &TestApp, email: &str, times: usize) {
    let stranger = app.client();
    for _ in 0..times {
        let r = stranger.sign_in(email, "wrong password guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn signs_in_with_the_right_password_and_lands_on_the_profile() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    // Email is matched without regard to case.
    let response = browser.sign_in("EMMA@Example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile");
    let page = browser.get("/profile").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Emma Wright"));
    let user = app
        .accounts
        .store
        .user_by_email("emma@example.com")
        .unwrap()
        .unwrap();
    assert!(user.last_sign_in_at.is_some());
    // Signed in, the sign-in page sends you on.
    assert_eq!(location(&browser.get("/signin").await), "/profile");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let wrong_password = app
        .client()
        .sign_in("emma@example.com", "not the password at all")
        .await;
    let unknown_email = app.client().sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let a = wrong_password.text().await.unwrap();
    let b = unknown_email.text().await.unwrap();
    assert!(a.contains("Incorrect email or password."));
    // The pages differ only in the echoed email and the per-visitor CSRF token.
    let normalise = |html: &str, email: &str| {
        let mut html = html.replace(email, "EMAIL");
        let token = crate::support::csrf_of(&html);
        html = html.replace(&token, "TOKEN");
        html
    };
    assert_eq!(
        normalise(&a, "emma@example.com"),
        normalise(&b, "nobody@example.com")
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_a_clear_message() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    let attacker = app.client();
    for _ in 0..3 {
        let r = attacker
            .sign_in("emma@example.com", "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = attacker
        .sign_in("emma@example.com", "wrong password guess")
        .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts. Try again in 15 minutes.")
    );
    // Even the right password waits out the lock, from any client.
    let owner = app.client().sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(owner.status(), StatusCode::TOO_MANY_REQUESTS);
    // Unknown accounts are throttled the same way: no enumeration by lock-out.
    for _ in 0..3 {
        attacker
            .sign_in("ghost@example.com", "wrong password guess")
            .await;
    }
    let ghost = attacker
        .sign_in("ghost@example.com", "wrong password guess")
        .await;
    assert_eq!(ghost.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn parallel_guesses_cannot_get_past_the_limit() {
    let app = TestApp::spawn_with(|c| {
        c.sign_in.max_failures_per_account = 5;
        c.sign_in.max_concurrent_hashes = 4;
    })
    .await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    let page = browser.get_text("/signin").await;
    let csrf = crate::support::csrf_of(&page);
    let mut guesses = Vec::new();
    for i in 0..30 {
        let http = browser.http.clone();
        let url = app.url("/signin");
        let csrf = csrf.clone();
        guesses.push(tokio::spawn(async move {
            let password = format!("guess number {i}");
            let form = [
                ("email", "emma@example.com"),
                ("password", password.as_str()),
                ("csrf", csrf.as_str()),
            ];
            http.post(url).form(&form).send().await.unwrap().status()
        }));
    }
    let mut checked = 0;
    for guess in guesses {
        if guess.await.unwrap() == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(
        checked, 5,
        "exactly the allowed number of guesses reach the password check"
    );
}

#[tokio::test]
async fn parallel_sign_ins_with_the_right_password_are_never_refused() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    // Eight browsers, each with its form loaded, press "Sign in" at once.
    let mut forms = Vec::new();
    for _ in 0..8 {
        let browser = app.client();
        let csrf = crate::support::csrf_of(&browser.get_text("/signin").await);
        forms.push((browser, csrf));
    }
    let mut sign_ins = Vec::new();
    for (browser, csrf) in forms {
        let url = app.url("/signin");
        sign_ins.push(tokio::spawn(async move {
            let form = [
                ("email", "emma@example.com"),
                ("password", PASSWORD),
                ("csrf", csrf.as_str()),
            ];
            browser
                .http
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for sign_in in sign_ins {
        assert_eq!(sign_in.await.unwrap(), StatusCode::SEE_OTHER);
    }
    // Wrong guesses in parallel still stop exactly at the limit.
    let page = app.client();
    let csrf = crate::support::csrf_of(&page.get_text("/signin").await);
    let mut guesses = Vec::new();
    for i in 0..30 {
        let http = page.http.clone();
        let url = app.url("/signin");
        let csrf = csrf.clone();
        guesses.push(tokio::spawn(async move {
            let password = format!("guess number {i}");
            let form = [
                ("email", "emma@example.com"),
                ("password", password.as_str()),
                ("csrf", csrf.as_str()),
            ];
            http.post(url).form(&form).send().await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 3, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_browser_that_signed_in_before_gets_past_a_strangers_lock() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    let device = device_cookie_from_sign_in(&app, "emma@example.com").await;
    stranger_guesses(&app, "emma@example.com", 3).await;
    // A fresh browser is locked out, the right password notwithstanding.
    let fresh = app.client().sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(fresh.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner's browser is not, and is signed in.
    let owner = browser_with_device_cookie(&app, &device);
    let response = owner.sign_in("Emma@Example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(owner.get("/profile").await.status(), StatusCode::OK);
    // Its success doesn't lift the lock for everyone else.
    let fresh = app.client().sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(fresh.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_known_browsers_own_failures_lock_only_itself() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    let device = device_cookie_from_sign_in(&app, "emma@example.com").await;
    let known = browser_with_device_cookie(&app, &device);
    for _ in 0..3 {
        let r = known
            .sign_in("emma@example.com", "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = known.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    // The account itself, and so every other browser, is not locked.
    let other = app.client().sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_forged_or_borrowed_device_cookie_is_ignored() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    app.user("noah@example.com", false).await;
    let genuine = device_cookie_from_sign_in(&app, "emma@example.com").await;
    let noahs = device_cookie_from_sign_in(&app, "noah@example.com").await;
    stranger_guesses(&app, "emma@example.com", 3).await;
    let mut tampered = genuine.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (what, cookie) in [
        ("tampered", tampered.as_str()),
        ("another account's", noahs.as_str()),
        ("garbage", "not-a-device-cookie"),
    ] {
        let browser = browser_with_device_cookie(&app, cookie);
        let r = browser.sign_in("emma@example.com", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{what} cookie");
    }
    // The genuine one still opens the locked account.
    let owner = browser_with_device_cookie(&app, &genuine);
    let r = owner.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_device_cookie_is_long_lived_http_only_and_secure_over_https() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let response = app.client().sign_in("emma@example.com", PASSWORD).await;
    let line = device_set_cookie(&response).expect("device cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(line.contains(attribute), "{line}");
    }
    assert!(!line.contains("Secure"), "{line}");

    let app =
        TestApp::spawn_with(|c| c.server.public_url = "https://accounts.example.com".into()).await;
    app.user("emma@example.com", false).await;
    let response = crate::support::sign_in_by_hand(&app, "emma@example.com").await;
    let line = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("__Host-latchkey_device="))
        .expect("a __Host- device cookie");
    assert!(line.contains("Secure"), "{line}");
}

#[tokio::test]
async fn one_address_is_limited_across_accounts() {
    let app = TestApp::spawn_with(|c| {
        c.sign_in.max_failures_per_account = 100;
        c.sign_in.max_failures_per_address = 4;
    })
    .await;
    let browser = app.client();
    for i in 0..4 {
        let r = browser
            .sign_in(&format!("user{i}@example.com"), "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = browser
        .sign_in("user9@example.com", "wrong password guess")
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_success_clears_the_account_counter() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    for _ in 0..2 {
        browser
            .sign_in("emma@example.com", "wrong password guess")
            .await;
    }
    assert_eq!(
        browser.sign_in("emma@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let other = app.client();
    for _ in 0..2 {
        assert_eq!(
            other
                .sign_in("emma@example.com", "wrong password guess")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn signing_in_returns_to_the_page_that_asked() {
    let app = TestApp::spawn().await;
    app.user("admin@example.com", true).await;
    let browser = app.client();
    let asked = browser.get("/account/settings?saved=1").await;
    assert_eq!(
        location(&asked),
        "/signin?next=%2Faccount%2Fsettings%3Fsaved%3D1"
    );
    let page = browser.get_text(location(&asked)).await;
    assert!(page.contains("Please sign in to continue."));
    assert!(page.contains(r#"name="next" value="/account/settings?saved=1""#));
    let csrf = crate::support::csrf_of(&page);
    let form = [
        ("email", "admin@example.com"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
        ("next", "/account/settings?saved=1"),
    ];
    let response = browser.post_raw("/signin", &form).await;
    assert_eq!(location(&response), "/account/settings?saved=1");
}

#[tokio::test]
async fn the_return_address_cannot_leave_the_site() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let browser = app.client();
        let page = browser
            .get_text(&format!("/signin?next={}", evil.replace('/', "%2F")))
            .await;
        assert!(
            !page.contains("evil.example") && !page.contains("javascript:"),
            "{evil} echoed"
        );
        let csrf = crate::support::csrf_of(&page);
        let form = [
            ("email", "emma@example.com"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", evil),
        ];
        let response = browser.post_raw("/signin", &form).await;
        assert_eq!(location(&response), "/profile", "{evil}");
    }
}
