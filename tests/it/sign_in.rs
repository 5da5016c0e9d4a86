//! Signing in: success, failure without enumeration, throttling.

use reqwest::StatusCode;

use crate::support::{PASSWORD, TestApp, location};

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
