//! Two-factor authentication through the front door: set-up with a code
//! computed here from the key the page shows, the sign-in step (code,
//! recovery code, replay, throttling, expiry), the policy that forces
//! set-up, turning it off (by the user, an administrator), recovery codes,
//! re-authentication and encrypted secrets.
//!
//! Codes are computed with totp-rs directly (not through Latchkey's own
//! code path). Each use of a code takes the step after the last one used:
//! the server accepts one step of skew, and refuses a step already used.

use latchkey::domain::{AuditAction, SessionStage, Token};
use reqwest::StatusCode;
use totp_rs::{Algorithm, Builder, Secret};

use crate::support::{Client, PASSWORD, TestApp, csrf_of, location};

/// A user's authenticator app, as the test plays it.
pub struct Phone {
    secret: Vec<u8>,
    /// The last step a code was made for.
    step: u64,
}

impl Phone {
    /// Reads the key (grouped base32) from the set-up page.
    pub fn from_page(html: &str) -> Self {
        let key = between(html, r#"id="totp-key""#, "</code>")
            .split_once('>')
            .expect("key element")
            .1;
        Self::from_key(key)
    }

    /// Takes the key as a person would type it into an app.
    pub fn from_key(grouped: &str) -> Self {
        let key = grouped.replace(' ', "");
        let secret = Secret::try_from_base32(&key)
            .expect("base32 key")
            .as_bytes()
            .to_vec();
        assert_eq!(secret.len(), 20, "160-bit key");
        Self { secret, step: 0 }
    }

    /// A code for a step no earlier than now and after the last one used.
    pub fn next_code(&mut self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30;
        self.step = now.max(self.step + 1);
        self.code_at_step(self.step)
    }

    /// The code of the step last used again (a replay).
    pub fn last_code(&self) -> String {
        self.code_at_step(self.step)
    }

    fn code_at_step(&self, step: u64) -> String {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_secret(self.secret.clone())
            .build()
            .unwrap()
            .generate(step * 30)
            .to_string()
    }
}

/// The text between `start` and the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in page"))
        + start.len();
    let to = html[from..].find(end).expect("end marker") + from;
    &html[from..to]
}

/// The recovery codes a page shows.
pub fn recovery_codes(html: &str) -> Vec<String> {
    between(html, r#"id="recovery-codes""#, "</ul>")
        .split("<code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect()
}

/// Sets 2FA up for a signed-in client; returns its app and recovery codes.
pub async fn set_up(client: &Client) -> (Phone, Vec<String>) {
    let page = client.get_text("/profile/2fa").await;
    let mut app = Phone::from_page(&page);
    let code = app.next_code();
    let done = client
        .post_raw(
            "/profile/2fa",
            &[("code", &code), ("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    let codes = recovery_codes(&html);
    assert_eq!(codes.len(), 10, "{html}");
    (app, codes)
}

/// Signs in with the password; expects the second step.
async fn password_step(client: &Client, email: &str) {
    let response = client.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin/2fa");
}

async fn second_step(client: &Client, code: &str) -> reqwest::Response {
    client
        .submit("/signin/2fa", "/signin/2fa", &[("code", code)])
        .await
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Whether a bare request with only this session cookie reaches the Profile.
async fn cookie_works(app: &TestApp, cookie: &str) -> bool {
    let response = Client::new(&app.base)
        .http
        .get(app.url("/profile"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

/// Confirms the password for sensitive actions.
pub async fn reauthenticate(client: &Client) {
    let confirmed = client
        .submit(
            "/reauthenticate",
            "/reauthenticate",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn set_up_shows_a_qr_code_and_key_and_a_right_code_turns_2fa_on() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let page = browser.get_text("/profile/2fa").await;
    for expected in [
        "<svg",
        r#"role="img""#,
        "QR code for emma@example.com in Latchkey",
        r#"id="totp-key""#,
        "Issuer",
        r#"name="code""#,
        "Verify",
    ] {
        assert!(page.contains(expected), "set-up page lacks {expected}");
    }
    assert!(!page.contains("style="), "CSP: no style attributes");
    // A reload shows the same key, so an app that scanned it still works.
    let mut phone = Phone::from_page(&page);
    assert_eq!(
        Phone::from_page(&browser.get_text("/profile/2fa").await).secret,
        phone.secret
    );
    let user = app.stored_user("emma@example.com");

    // A wrong code enables nothing.
    let csrf = csrf_of(&page);
    let wrong = browser
        .post_raw("/profile/2fa", &[("code", "000000"), ("csrf", &csrf)])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("That code is not right"), "{html}");
    assert!(html.contains(r#"aria-describedby="field-code-error""#));
    assert!(app.accounts.store.two_factor(user.id).unwrap().is_none());

    // The right one turns it on, shows ten codes, and renews the session.
    let done = browser
        .post_raw(
            "/profile/2fa",
            &[("code", &phone.next_code()), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(session_cookie(&done).is_some(), "a new session id");
    let html = done.text().await.unwrap();
    assert!(html.contains("Two-factor authentication is on."));
    assert!(html.contains("won't be shown again"));
    assert!(html.contains("data-copy=") && html.contains(">Close<"));
    let codes = recovery_codes(&html);
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 19));
    let stored = app.accounts.store.two_factor(user.id).unwrap().unwrap();
    assert_eq!(stored.recovery_codes.len(), 10);

    let profile = browser.get_text("/profile").await;
    assert!(profile.contains("On since"), "{profile}");
    assert!(profile.contains("10 recovery codes left"));
    assert!(!profile.contains(">Set up 2FA<"));
    // Set-up again just leads back to the profile.
    assert_eq!(location(&browser.get("/profile/2fa").await), "/profile");
    assert_eq!(app.events(AuditAction::TwoFactorEnabled).len(), 1);
}

#[tokio::test]
async fn an_abandoned_set_up_leaves_2fa_off() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    browser.get_text("/profile/2fa").await;
    let signed_out = browser.submit("/profile", "/signout", &[]).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let user = app.stored_user("emma@example.com");
    assert!(app.accounts.store.two_factor(user.id).unwrap().is_none());
    // Signing in needs no code.
    let again = browser.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(location(&again), "/profile");
}

#[tokio::test]
async fn signing_in_with_2fa_needs_a_code_and_the_password_alone_reaches_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", true).await;
    let (mut phone, _) = set_up(&browser).await;
    browser.submit("/profile", "/signout", &[]).await;

    let password = browser.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(location(&password), "/signin/2fa");
    let pending_cookie = session_cookie(&password).expect("a half-signed-in session");
    assert_confined(
        &browser,
        &[
            "/profile",
            "/account/settings",
            "/account/users",
            "/reauthenticate",
        ],
        "/profile/details",
        "/signin/2fa",
    )
    .await;
    let step = browser.get_text("/signin/2fa").await;
    assert!(step.contains("Signing in as") && step.contains("emma@example.com"));
    assert!(!step.contains("profile-icon"), "no signed-in chrome yet");

    let wrong = second_step(&browser, "123456").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That code is not right")
    );
    let done = second_step(&browser, &phone.next_code()).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/profile");
    let full_cookie = session_cookie(&done).expect("a new session id");
    assert_ne!(full_cookie, pending_cookie);
    assert_eq!(
        browser.get("/account/settings").await.status(),
        StatusCode::OK
    );
    assert!(
        !cookie_works(&app, &pending_cookie).await,
        "the half-way id is dead"
    );
    let signed_in = app.events(AuditAction::SignInSucceeded);
    assert_eq!(signed_in[0].detail, "with a 2FA code");
}

#[tokio::test]
async fn a_code_once_accepted_is_refused_if_presented_again() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (mut phone, _) = set_up(&browser).await;
    browser.submit("/profile", "/signout", &[]).await;

    // The code that turned 2FA on can't sign in.
    password_step(&browser, "emma@example.com").await;
    let replay = second_step(&browser, &phone.last_code()).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(replay.text().await.unwrap().contains("used already"));
    let code = phone.next_code();
    assert_eq!(
        second_step(&browser, &code).await.status(),
        StatusCode::SEE_OTHER
    );
    browser.submit("/profile", "/signout", &[]).await;

    // Nor can a code that signed in, from another browser.
    let thief = app.client();
    password_step(&thief, "emma@example.com").await;
    assert_eq!(
        second_step(&thief, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn two_sign_ins_racing_with_one_code_let_one_in() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (mut phone, _) = set_up(&browser).await;
    let (first, second) = (app.client(), app.client());
    password_step(&first, "emma@example.com").await;
    password_step(&second, "emma@example.com").await;
    let code = phone.next_code();
    let (a, b) = tokio::join!(second_step(&first, &code), second_step(&second, &code));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (_, codes) = set_up(&browser).await;
    browser.submit("/profile", "/signout", &[]).await;

    password_step(&browser, "emma@example.com").await;
    let used = second_step(&browser, &codes[3].to_uppercase()).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&used), "/profile");
    assert!(
        browser
            .get_text("/profile")
            .await
            .contains("9 recovery codes left")
    );
    browser.submit("/profile", "/signout", &[]).await;

    password_step(&browser, "emma@example.com").await;
    let again = second_step(&browser, &codes[3]).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        second_step(&browser, &codes[4]).await.status(),
        StatusCode::SEE_OTHER
    );
    let details: Vec<String> = app
        .events(AuditAction::SignInSucceeded)
        .into_iter()
        .map(|e| e.detail)
        .collect();
    assert!(
        details.contains(&"with a recovery code (8 left)".to_owned()),
        "{details:?}"
    );
}

#[tokio::test]
async fn failed_codes_are_throttled_like_passwords() {
    let app = TestApp::spawn_with(|c| c.sign_in.max_failures_per_account = 3).await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (mut phone, _) = set_up(&browser).await;
    browser.submit("/profile", "/signout", &[]).await;
    password_step(&browser, "emma@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            second_step(&browser, "111111").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = second_step(&browser, &phone.next_code()).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed attempts at a code")
    );
    assert_eq!(app.events(AuditAction::SignInFailed).len(), 3);
}

#[tokio::test]
async fn the_half_signed_in_state_expires_after_a_few_minutes() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (mut phone, _) = set_up(&browser).await;
    browser.submit("/profile", "/signout", &[]).await;
    let response = browser.sign_in("emma@example.com", PASSWORD).await;
    let cookie = session_cookie(&response).unwrap();
    let token = Token::parse(cookie.trim_start_matches("latchkey_session=")).unwrap();
    // Six minutes ago.
    app.accounts
        .store
        .transact(|t| {
            t.modify_session::<latchkey::store::StoreError>(token.hash(), |s| {
                assert_eq!(s.stage, SessionStage::AwaitingSecondFactor);
                s.created_at -= 360;
                s.last_seen_at -= 360;
                Ok(())
            })
        })
        .unwrap();
    let expired = browser.get("/signin/2fa").await;
    assert_eq!(location(&expired), "/signin");
    let late = browser.get_text("/signin").await;
    let refused = browser
        .post_raw(
            "/signin/2fa",
            &[("code", &phone.next_code()), ("csrf", &csrf_of(&late))],
        )
        .await;
    assert_eq!(location(&refused), "/signin");
}

#[tokio::test]
async fn required_2fa_sends_sign_in_to_set_up_and_nowhere_else() {
    let app = TestApp::spawn_with(|c| c.accounts.require_2fa_for_local_users = true).await;
    app.user("ada@example.com", true).await;
    let browser = app.client();
    let page = browser.get_text("/signin?next=/account/settings").await;
    let response = browser
        .post_raw(
            "/signin",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/account/settings"),
                ("csrf", &csrf_of(&page)),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        "/profile/2fa?next=%2Faccount%2Fsettings"
    );

    // Nothing else: pages, admin pages, htmx fragments, form posts.
    assert_confined(
        &browser,
        &[
            "/profile",
            "/account/settings",
            "/account/users",
            "/account/users/1/two-factor/disable",
            "/profile/2fa/disable",
            "/reauthenticate",
            "/signin/2fa",
        ],
        "/profile/edit",
        "/profile/2fa",
    )
    .await;
    let set_up_page = browser
        .get_text("/profile/2fa?next=/account/settings")
        .await;
    assert!(set_up_page.contains("required for your account"));
    assert!(!set_up_page.contains("side-menu"), "no admin menu yet");
    let csrf = csrf_of(&set_up_page);
    let save = browser
        .post_raw(
            "/profile",
            &[
                ("first_name", "Mallory"),
                ("last_name", "X"),
                ("phone", ""),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(save.status(), StatusCode::SEE_OTHER);
    let settings = browser
        .post_raw("/account/settings", &[("csrf", &csrf)])
        .await;
    assert_eq!(settings.status(), StatusCode::SEE_OTHER);
    assert!(location(&settings).starts_with("/profile/2fa"));
    assert_eq!(
        app.stored_user("ada@example.com").first_name.as_str(),
        "Emma"
    );
    assert!(
        app.accounts
            .store
            .account_settings()
            .unwrap()
            .self_service_profile_updates
    );

    // Set-up done: the recovery codes close onto the page asked for.
    let mut phone = Phone::from_page(&set_up_page);
    let done = browser
        .post_raw(
            "/profile/2fa",
            &[
                ("code", &phone.next_code()),
                ("next", "/account/settings"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(
        html.contains(r#"href="/account/settings""#),
        "Close leads on"
    );
    assert_eq!(
        browser.get("/account/settings").await.status(),
        StatusCode::OK
    );
    let enabled = app.events(AuditAction::TwoFactorEnabled);
    assert_eq!(enabled[0].detail, "set up at sign-in, as required");
}

#[tokio::test]
async fn turning_2fa_off_asks_for_the_password_and_ends_other_sessions() {
    let app = TestApp::spawn_with(|c| c.accounts.require_2fa_for_local_users = true).await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    browser.sign_in("emma@example.com", PASSWORD).await;
    let (mut phone, _) = set_up(&browser).await;
    let laptop = app.client();
    password_step(&laptop, "emma@example.com").await;
    let laptop_in = second_step(&laptop, &phone.next_code()).await;
    let laptop_cookie = session_cookie(&laptop_in).unwrap();
    assert!(cookie_works(&app, &laptop_cookie).await);

    // Signing in is not a re-authentication.
    let ask = browser.get("/profile/2fa/disable").await;
    assert_eq!(
        location(&ask),
        "/reauthenticate?next=%2Fprofile%2F2fa%2Fdisable"
    );
    let prompt = browser.get_text(location(&ask)).await;
    assert!(prompt.contains("Confirm it&#39;s you") || prompt.contains("Confirm it's you"));
    assert!(prompt.contains(r#"name="code""#), "a code is offered too");
    let csrf = csrf_of(&prompt);
    let wrong = browser
        .post_raw(
            "/reauthenticate",
            &[
                ("password", "not my password at all"),
                ("next", "/profile/2fa/disable"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That password is not right.")
    );
    // A forged POST without re-authentication is sent to confirm, too.
    let forged = browser
        .post_raw("/profile/2fa/disable", &[("csrf", &csrf)])
        .await;
    assert!(location(&forged).starts_with("/reauthenticate"));
    let user = app.stored_user("emma@example.com");
    assert!(app.accounts.store.two_factor(user.id).unwrap().is_some());

    let confirmed = browser
        .post_raw(
            "/reauthenticate",
            &[
                ("password", PASSWORD),
                ("next", "/profile/2fa/disable"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(location(&confirmed), "/profile/2fa/disable");
    let page = browser.get_text("/profile/2fa/disable").await;
    assert!(page.contains("set it up again the next time you sign in"));
    let off = browser
        .post_raw("/profile/2fa/disable", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(location(&off), "/profile");
    assert!(session_cookie(&off).is_some(), "a new session id");
    assert!(app.accounts.store.two_factor(user.id).unwrap().is_none());
    assert!(
        !cookie_works(&app, &laptop_cookie).await,
        "the laptop is signed out"
    );
    assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(app.events(AuditAction::TwoFactorDisabled).len(), 1);

    // The policy is on: the next sign-in asks for set-up again.
    browser.submit("/profile", "/signout", &[]).await;
    let again = browser.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(location(&again), "/profile/2fa");
}

#[tokio::test]
async fn a_current_code_also_confirms_and_the_window_closes() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let (mut phone, codes) = set_up(&browser).await;
    // A recovery code is for signing in, not for confirming.
    let recovery = browser
        .submit("/reauthenticate", "/reauthenticate", &[("code", &codes[0])])
        .await;
    assert_eq!(recovery.status(), StatusCode::UNAUTHORIZED);
    let confirmed = browser
        .submit(
            "/reauthenticate?next=/profile/2fa/recovery-codes",
            "/reauthenticate",
            &[
                ("code", &phone.next_code()),
                ("next", "/profile/2fa/recovery-codes"),
            ],
        )
        .await;
    assert_eq!(location(&confirmed), "/profile/2fa/recovery-codes");
    let renewed = browser
        .submit(
            "/profile/2fa/recovery-codes",
            "/profile/2fa/recovery-codes",
            &[],
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let new_codes = recovery_codes(&renewed.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    assert_eq!(app.events(AuditAction::RecoveryCodesRenewed).len(), 1);

    // Ten minutes later the window has closed.
    let user = app.stored_user("emma@example.com");
    let sessions = app
        .accounts
        .store
        .sessions_of_user(
            user.id,
            latchkey::domain::time::now(),
            std::time::Duration::MAX,
            std::time::Duration::MAX,
        )
        .unwrap();
    app.accounts
        .store
        .transact(|t| {
            for (hash, _) in &sessions {
                let hash = *hash;
                t.modify_session::<latchkey::store::StoreError>(hash, |s| {
                    s.reauthenticated_at = s.reauthenticated_at.map(|at| at - 600);
                    Ok(())
                })?;
            }
            Ok::<_, latchkey::store::StoreError>(())
        })
        .unwrap();
    assert!(
        location(&browser.get("/profile/2fa/recovery-codes").await).starts_with("/reauthenticate")
    );

    // The old set no longer signs in; the new one does.
    browser.submit("/profile", "/signout", &[]).await;
    password_step(&browser, "emma@example.com").await;
    assert_eq!(
        second_step(&browser, &codes[1]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        second_step(&browser, &new_codes[0]).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_administrator_turns_2fa_off_for_another_user_but_never_on() {
    let app = TestApp::spawn().await;
    let emma = app.client();
    app.user("emma@example.com", false).await;
    emma.sign_in("emma@example.com", PASSWORD).await;
    set_up(&emma).await;
    let emma_id = app.stored_user("emma@example.com").id;
    let path = format!("/account/users/{emma_id}/two-factor/disable");

    // Without users.disable_2fa: a styled 403, page and form alike.
    let bob = app.signed_in("bob@example.com", false).await;
    let refused = bob.get(&path).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("<html"));
    let csrf = csrf_of(&bob.get_text("/profile").await);
    assert_eq!(
        bob.post_raw(&path, &[("csrf", &csrf)]).await.status(),
        StatusCode::FORBIDDEN
    );

    let ada = app.signed_in("ada@example.com", true).await;
    let ada_id = app.stored_user("ada@example.com").id;
    assert_eq!(
        location(&ada.get(&path).await),
        format!("/reauthenticate?next=%2Faccount%2Fusers%2F{emma_id}%2Ftwo-factor%2Fdisable")
    );
    reauthenticate(&ada).await;
    let page = ada.get_text(&path).await;
    assert!(page.contains("Turn off 2FA for Emma Wright"), "{page}");
    assert!(page.contains("emma@example.com"));
    let off = ada.post_raw(&path, &[("csrf", &csrf_of(&page))]).await;
    assert_eq!(location(&off), format!("{path}?done=1"));
    assert!(
        ada.get_text(location(&off))
            .await
            .contains("2FA is now off for Emma Wright")
    );
    assert!(app.accounts.store.two_factor(emma_id).unwrap().is_none());
    assert_eq!(
        emma.get("/profile").await.status(),
        StatusCode::SEE_OTHER,
        "Emma is signed out"
    );
    let event = &app.events(AuditAction::TwoFactorDisabled)[0];
    assert_eq!(event.actor.as_ref().unwrap().id, Some(ada_id));
    assert_eq!(event.subject.as_ref().unwrap().id, Some(emma_id));

    // Off stays off: the page offers nothing to turn on, and Emma signs in
    // with her password alone.
    let after = ada.get_text(&path).await;
    assert!(after.contains("2FA is off for Emma Wright") && !after.contains(r#"type="submit""#));
    assert_eq!(
        location(&emma.sign_in("emma@example.com", PASSWORD).await),
        "/profile"
    );

    // Not for oneself, and not for nobody.
    assert_eq!(
        ada.get(&format!("/account/users/{ada_id}/two-factor/disable"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ada.get("/account/users/999/two-factor/disable")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ada.get("/account/users/x/two-factor/disable")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn secrets_are_encrypted_in_the_data_file_when_a_key_is_set() {
    for encrypted in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data_for_app = data.clone();
        let app = TestApp::spawn_with(move |c| {
            c.data_dir = data_for_app;
            if encrypted {
                c.two_factor.encryption_key = Some(
                    latchkey::domain::EncryptionKey::parse(&"0123456789abcdef".repeat(4)).unwrap(),
                );
            }
        })
        .await;
        let browser = app.signed_in("emma@example.com", false).await;
        let (mut phone, codes) = set_up(&browser).await;
        let file = std::fs::read(data.join(latchkey::store::FILE_NAME)).unwrap();
        let contains = |needle: &[u8]| file.windows(needle.len()).any(|w| w == needle);
        let hex_secret = hex::encode(&phone.secret);
        assert_eq!(
            contains(hex_secret.as_bytes()),
            !encrypted,
            "encrypted: {encrypted}"
        );
        assert!(!contains(&phone.secret));
        for code in &codes {
            assert!(!contains(code.as_bytes()), "recovery codes only as hashes");
        }
        // It still signs in.
        browser.submit("/profile", "/signout", &[]).await;
        password_step(&browser, "emma@example.com").await;
        assert_eq!(
            second_step(&browser, &phone.next_code()).await.status(),
            StatusCode::SEE_OTHER
        );
    }
}

#[tokio::test]
async fn the_require_2fa_setting_is_saved_and_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("ada@example.com", true).await;
    let page = admin.get_text("/account/settings").await;
    assert!(page.contains(r#"name="require_2fa_for_local_users""#));
    let saved = admin
        .post_raw(
            "/account/settings",
            &[
                ("self_service_profile_updates", "on"),
                ("require_2fa_for_local_users", "on"),
                ("csrf", &csrf_of(&page)),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(
        app.accounts
            .store
            .account_settings()
            .unwrap()
            .require_2fa_for_local_users
    );
    let event = &app.events(AuditAction::SettingsChanged)[0];
    assert_eq!(event.detail, "2FA required for local users on");
    // The administrator's open session is not cut short...
    assert_eq!(
        admin.get("/account/settings").await.status(),
        StatusCode::OK
    );
    // ...but their next sign-in asks for set-up.
    let again = app.client();
    assert_eq!(
        location(&again.sign_in("ada@example.com", PASSWORD).await),
        "/profile/2fa"
    );
}

/// Every page of `pages` redirects this browser to `to`, and the htmx
/// `fragment` answers with an `HX-Redirect` there: a session that may only
/// finish a step reaches nothing else.
async fn assert_confined(browser: &Client, pages: &[&str], fragment: &str, to: &str) {
    for path in pages {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with(to), "{path}");
    }
    let response = browser.htmx_get(fragment).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{fragment}");
    assert_eq!(response.headers()["hx-redirect"], to, "{fragment}");
}
