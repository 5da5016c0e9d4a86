//! Floods: sign-in, the 2FA step, forgotten password, invitation acceptance
//! and the test-email button, from one client address and from many, are
//! turned away with a 429, a `Retry-After` and a sentence saying when to
//! try again; and requests can't make Latchkey flood one mailbox.
//!
//! "Many addresses" are clients behind a trusted proxy (one hop) that each
//! give their own `X-Forwarded-For`. The size bound of the throttle tables
//! under 100 000 distinct emails and addresses is proven at the store level
//! (`store::throttle`'s `a_flood_of_distinct_emails_and_addresses_…`).

use latchkey::config::Config;
use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, TestApp, csrf_of};
use crate::two_factor::set_up;

/// A client behind the trusted proxy at `address` (see `behind_proxy`).
fn from(app: &TestApp, address: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("X-Forwarded-For", address.parse().expect("header value"));
    Client::with_headers(&app.base, headers)
}

fn proxied(config: &mut Config) {
    config.server.forwarded_hops = Some(1);
}

/// Asserts that `response` is a throttling answer a person can act on.
async fn assert_throttled(response: reqwest::Response, says: &str) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = response.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds");
    assert!(wait >= 1, "Retry-After {wait}");
    let html = response.text().await.expect("body");
    assert!(html.contains(says), "{says:?} not in {html}");
    assert!(html.contains("Try again in"), "{html}");
}

async fn wrong_sign_in(client: &Client, email: &str) -> reqwest::Response {
    client.sign_in(email, "not the password at all").await
}

#[tokio::test]
async fn sign_in_floods_are_throttled_from_one_address_and_from_many() {
    let app = TestApp::spawn_with(|c| {
        proxied(c);
        c.sign_in.max_failures_per_address = 3;
        c.sign_in.max_failures_per_account = 3;
    })
    .await;
    app.user("emma@example.com", false).await;
    // One address, a different account each time: the address counter.
    let attacker = from(&app, "203.0.113.9");
    for i in 0..3 {
        let r = wrong_sign_in(&attacker, &format!("guess{i}@example.com")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = wrong_sign_in(&attacker, "guess9@example.com").await;
    assert_throttled(r, "Too many failed sign-in attempts").await;
    // Many addresses, one account: the account counter.
    for i in 0..3 {
        let r = wrong_sign_in(&from(&app, &format!("198.51.100.{i}")), "emma@example.com").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = wrong_sign_in(&from(&app, "198.51.100.77"), "emma@example.com").await;
    assert_throttled(r, "Too many failed sign-in attempts").await;
}

/// Posts a code to the second step from `address`, with `client`'s cookies.
async fn code_from(app: &TestApp, client: &Client, address: &str, code: &str) -> reqwest::Response {
    let page = client
        .http
        .get(app.url("/signin/2fa"))
        .header("X-Forwarded-For", address)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    client
        .http
        .post(app.url("/signin/2fa"))
        .header("X-Forwarded-For", address)
        .form(&[("code", code), ("csrf", &csrf_of(&page))])
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn second_step_floods_are_throttled_from_one_address_and_from_many() {
    let app = TestApp::spawn_with(|c| {
        proxied(c);
        c.sign_in.max_failures_per_address = 3;
        c.sign_in.max_failures_per_account = 4;
    })
    .await;
    let mut half_signed_in = Vec::new();
    for email in ["ann@example.com", "bob@example.com"] {
        app.user(email, false).await;
        let browser = from(&app, "192.0.2.1");
        assert_eq!(
            browser.sign_in(email, PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        set_up(&browser).await;
        let browser = from(&app, "192.0.2.1");
        let r = browser.sign_in(email, PASSWORD).await;
        assert_eq!(crate::support::location(&r), "/signin/2fa");
        half_signed_in.push(browser);
    }
    // One address: three wrong codes lock it, whoever's sign-in they were for.
    let (ann, bob) = (&half_signed_in[0], &half_signed_in[1]);
    for browser in [ann, bob, ann] {
        let r = code_from(&app, browser, "203.0.113.9", "000000").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = code_from(&app, bob, "203.0.113.9", "000000").await;
    assert_throttled(r, "Too many failed attempts at a code").await;
    // Many addresses, one user: Ann's own counter (two failures so far).
    for i in 0..2 {
        let r = code_from(&app, ann, &format!("198.51.100.{i}"), "000000").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = code_from(&app, ann, "198.51.100.99", "000000").await;
    assert_throttled(r, "Too many failed attempts at a code").await;
}

async fn ask_for_reset(client: &Client, email: &str) -> reqwest::Response {
    client
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await
}

#[tokio::test]
async fn reset_floods_are_throttled_from_one_address_and_from_many() {
    let app = TestApp::spawn_with(|c| {
        proxied(c);
        c.password_reset.max_requests_per_client = 3;
        c.password_reset.max_requests_per_email = 3;
    })
    .await;
    let attacker = from(&app, "203.0.113.9");
    for i in 0..3 {
        let r = ask_for_reset(&attacker, &format!("someone{i}@example.com")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ask_for_reset(&attacker, "someone9@example.com").await;
    assert_throttled(r, "Too many reset requests").await;
    for i in 0..3 {
        let r = ask_for_reset(&from(&app, &format!("198.51.100.{i}")), "emma@example.com").await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ask_for_reset(&from(&app, "198.51.100.77"), "emma@example.com").await;
    assert_throttled(r, "Too many reset requests").await;
}

/// Submits the accept form with a token that opens nothing.
async fn accept_guess(client: &Client, guess: usize) -> reqwest::Response {
    let token = format!("{guess:043}");
    client
        .submit(
            "/signin",
            "/invitation",
            &[
                ("token", token.as_str()),
                ("first_name", "Mallory"),
                ("last_name", "Guesser"),
                ("phone", ""),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await
}

#[tokio::test]
async fn invitation_guesses_are_throttled_per_address() {
    let app = TestApp::spawn_with(|c| {
        proxied(c);
        c.sign_in.max_failures_per_address = 3;
    })
    .await;
    let attacker = from(&app, "203.0.113.9");
    for guess in 0..3 {
        let r = accept_guess(&attacker, guess).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let writes = app.accounts.store.write_count();
    let r = accept_guess(&attacker, 3).await;
    assert_throttled(r, "too many of these in a short time").await;
    assert_eq!(
        app.accounts.store.write_count(),
        writes,
        "a refused guess writes nothing"
    );
    // Each address of a spread-out flood runs into its own limit, and
    // sign-in from those addresses is a separate budget.
    for i in 0..3 {
        let client = from(&app, &format!("198.51.100.{i}"));
        for guess in 0..3 {
            assert_eq!(
                accept_guess(&client, guess).await.status(),
                StatusCode::NOT_FOUND
            );
        }
        assert_throttled(accept_guess(&client, 9).await, "Try again").await;
    }
    // Opening the page only reads: it is answered, and counts nothing.
    let page = attacker.get("/invitation?token=whatever").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_test_email_button_is_limited_per_recipient_from_any_address() {
    let app = TestApp::spawn_with(|c| {
        proxied(c);
        c.mail.max_per_recipient = 3;
    })
    .await;
    let admin = from(&app, "192.0.2.1");
    app.user("admin@example.com", true).await;
    admin.sign_in("admin@example.com", PASSWORD).await;
    let press = |address: &'static str| {
        let admin = &admin;
        let app = &app;
        async move {
            let page = admin.get_text("/account/settings").await;
            admin
                .http
                .post(app.url("/account/settings/test-email"))
                .header("X-Forwarded-For", address)
                .form(&[("csrf", csrf_of(&page))])
                .send()
                .await
                .expect("POST")
        }
    };
    for address in ["192.0.2.1", "198.51.100.1", "198.51.100.2"] {
        assert_eq!(press(address).await.status(), StatusCode::SEE_OTHER);
    }
    let r = press("198.51.100.3").await;
    assert_throttled(r, "too many of these in a short time").await;
    let sent = app.accounts.store.outbox(20).unwrap();
    assert_eq!(sent.len(), 3, "the refused press sent nothing");
}

fn mail_to(app: &TestApp, address: &str) -> usize {
    app.accounts
        .store
        .outbox(100)
        .unwrap()
        .into_iter()
        .filter(|m| m.message.to == address)
        .count()
}

/// However the requests reach an address (reset, email change, invitation
/// and resend), it gets at most `mail.max_per_recipient` an hour.
#[tokio::test]
async fn no_flow_sends_one_address_more_than_its_hourly_quota() {
    let app = TestApp::spawn_with(|c| {
        c.mail.max_per_recipient = 3;
        c.password_reset.max_requests_per_email = 100;
        c.password_reset.max_requests_per_client = 100;
    })
    .await;

    // Resets: answered the same every time; only three links go out.
    app.user("emma@example.com", false).await;
    for _ in 0..5 {
        let r = ask_for_reset(&app.client(), "emma@example.com").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("emma@example.com"));
    }
    assert_eq!(mail_to(&app, "emma@example.com"), 3);

    // Email changes towards someone else's mailbox: refused after three.
    let mallory = app.signed_in("mallory@example.com", false).await;
    crate::two_factor::reauthenticate(&mallory).await;
    let change = || async {
        let csrf = csrf_of(&mallory.get_text("/profile/edit").await);
        mallory
            .htmx_post(
                "/profile",
                &csrf,
                &[
                    ("first_name", "Mallory"),
                    ("last_name", "Wright"),
                    ("email", "victim@example.com"),
                    ("phone", ""),
                ],
            )
            .await
    };
    for _ in 0..3 {
        assert_eq!(change().await.status(), StatusCode::OK);
    }
    let refused = change().await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(mail_to(&app, "victim@example.com"), 3);
    assert_eq!(
        mail_to(&app, "mallory@example.com"),
        3,
        "notices to the old address too"
    );

    // Invitation and resends to one address.
    let admin = app.signed_in("admin@example.com", true).await;
    let invited = admin
        .submit(
            "/account/users",
            "/account/users/invite",
            &[("email", "ivy@example.com"), ("sign_in_method", "local")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    let ivy = app.stored_user("ivy@example.com");
    let resend = format!("/account/users/{}/invite/resend", ivy.id);
    for _ in 0..2 {
        let r = admin.submit("/account/users", &resend, &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = admin.submit("/account/users", &resend, &[]).await;
    assert_throttled(r, "too many of these in a short time").await;
    assert_eq!(mail_to(&app, "ivy@example.com"), 3);
}
