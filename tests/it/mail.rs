//! Mail and the flows that send it, through the front door: every message
//! goes through Latchkey's outbox and mail-send to the loopback SMTP server
//! of `smtp.rs`, and the tests follow the links they read out of it.

use std::time::{Duration, Instant};

use latchkey::config::Config;
use latchkey::domain::{AuditAction, Token, time};
use latchkey::store::{MailStatus, OneTimeToken, StoreError, TokenPurpose};
use reqwest::StatusCode;

use crate::smtp::{SmtpReceiver, configure_smtp};
use crate::support::{Client, PASSWORD, TestApp, csrf_of, free_port, location};
use crate::two_factor::{reauthenticate, set_up};

const NEW_PASSWORD: &str = "quiet lantern orchard 4412";

async fn app_with_mail() -> (TestApp, SmtpReceiver) {
    let smtp = SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| smtp.configure(c)).await;
    (app, smtp)
}

/// Asks for a reset link for `email` from a fresh anonymous browser.
async fn ask_for_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.client()
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await
}

/// Presses *Confirm new address* on the page an email-change `link` opens.
async fn confirm_email(client: &Client, link: &str) -> reqwest::Response {
    let token = link.split("token=").nth(1).expect("a token in the link");
    client
        .post_raw(
            "/profile/email/confirm",
            &[
                ("csrf", &csrf_of(&client.get_text(link).await)),
                ("token", token),
            ],
        )
        .await
}

async fn set_password(
    client: &Client,
    link: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    let page = client.get_text(link).await;
    let token = link.split("token=").nth(1).expect("a token in the link");
    client
        .post_raw(
            "/password/reset",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", token),
                ("password", password),
                ("password_confirm", confirm),
            ],
        )
        .await
}

#[tokio::test]
async fn password_reset_from_request_to_sign_in_ends_every_session() {
    let (app, smtp) = app_with_mail().await;
    app.user("emma@example.com", false).await;
    let other_browser = app.client();
    assert_eq!(
        other_browser
            .sign_in("emma@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let response = ask_for_reset(&app, "Emma@Example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Check your email"));
    let mail = smtp.wait_for("emma@example.com").await;
    assert_eq!(mail.subject(), "Latchkey: Reset your password");
    assert!(
        mail.text().contains("works once, for 1 hour"),
        "{}",
        mail.text()
    );
    assert!(mail.html().contains("Choose a new password"));
    let link = mail.link_to("/password/reset?token=");
    assert!(
        mail.links().iter().all(|l| l.starts_with(&app.base)),
        "absolute links to public_url"
    );

    // Opening the link changes nothing; setting the password does.
    let browser = app.client();
    let page = browser.get(&link).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("emma@example.com"));
    let done = set_password(&browser, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/signin?notice=password_changed");
    assert!(
        browser
            .get_text("/signin?notice=password_changed")
            .await
            .contains("Sign in with the new password")
    );
    // Never signed in by the reset; the old session is over.
    assert_eq!(
        browser.get("/profile").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        other_browser.get("/profile").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.client()
            .sign_in("emma@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser
            .sign_in("emma@example.com", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let notice = smtp.wait_for_nth("emma@example.com", 2).await;
    assert_eq!(notice.subject(), "Latchkey: Your password was changed");
    assert!(
        notice
            .text()
            .contains("every session signed in to it was ended")
    );
    assert_eq!(app.events(AuditAction::PasswordResetRequested).len(), 1);
    assert_eq!(app.events(AuditAction::PasswordChanged).len(), 1);

    // The link worked once.
    let again = app.client();
    assert_eq!(again.get(&link).await.status(), StatusCode::NOT_FOUND);
    let token = link.split("token=").nth(1).unwrap();
    let csrf = csrf_of(&again.get_text("/password/forgot").await);
    let reuse = again
        .post_raw(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", token),
                ("password", "another fine passphrase 99"),
                ("password_confirm", "another fine passphrase 99"),
            ],
        )
        .await;
    assert_eq!(reuse.status(), StatusCode::NOT_FOUND);
    assert!(reuse.text().await.unwrap().contains("Ask for a new link"));
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let (app, smtp) = app_with_mail().await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    let known = browser
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "emma@example.com")],
        )
        .await;
    let unknown = browser
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(known.status(), unknown.status());
    let known = known
        .text()
        .await
        .unwrap()
        .replace("emma@example.com", "ADDRESS");
    let unknown = unknown
        .text()
        .await
        .unwrap()
        .replace("nobody@example.com", "ADDRESS");
    assert_eq!(known, unknown, "the page says nothing about the account");
    // Both are on record; only the account got mail (the reset of a second
    // account marks the point by which any mail would have gone).
    app.user("zoe@example.com", false).await;
    ask_for_reset(&app, "zoe@example.com").await;
    smtp.wait_for("zoe@example.com").await;
    assert!(smtp.messages_to("nobody@example.com").is_empty());
    assert_eq!(smtp.messages_to("emma@example.com").len(), 1);
    assert_eq!(app.events(AuditAction::PasswordResetRequested).len(), 3);
}

#[tokio::test]
async fn superseded_and_expired_links_are_refused() {
    let (app, smtp) = app_with_mail().await;
    let emma = app.user("emma@example.com", false).await;
    ask_for_reset(&app, "emma@example.com").await;
    ask_for_reset(&app, "emma@example.com").await;
    let first = smtp
        .wait_for_nth("emma@example.com", 1)
        .await
        .link_to("/password/reset");
    let second = smtp
        .wait_for_nth("emma@example.com", 2)
        .await
        .link_to("/password/reset");
    assert_ne!(first, second);
    let browser = app.client();
    assert_eq!(
        browser.get(&first).await.status(),
        StatusCode::NOT_FOUND,
        "replaced"
    );
    assert_eq!(browser.get(&second).await.status(), StatusCode::OK);

    // A link past its time, through the same store machinery.
    let token = Token::generate();
    let hash = token.hash();
    app.accounts
        .store
        .transact::<_, StoreError>(|t| {
            t.issue_token(
                hash,
                &OneTimeToken {
                    purpose: TokenPurpose::PasswordReset,
                    user_id: Some(emma.id),
                    expires_at: time::now() - 1,
                    new_email: None,
                },
            )
        })
        .unwrap();
    let expired = format!("/password/reset?token={}", token.as_text());
    assert_eq!(browser.get(&expired).await.status(), StatusCode::NOT_FOUND);
    let csrf = csrf_of(&browser.get_text("/password/forgot").await);
    let refused = browser
        .post_raw(
            "/password/reset",
            &[
                ("csrf", &csrf),
                ("token", &token.as_text()),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.client()
            .sign_in("emma@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );
}

#[tokio::test]
async fn weak_and_mismatched_passwords_are_refused_beside_their_fields() {
    let (app, smtp) = app_with_mail().await;
    app.user("emma@example.com", false).await;
    let signed_in = app.client();
    signed_in.sign_in("emma@example.com", PASSWORD).await;
    ask_for_reset(&app, "emma@example.com").await;
    let link = smtp
        .wait_for("emma@example.com")
        .await
        .link_to("/password/reset");
    let browser = app.client();
    for (password, confirm, field, message) in [
        (
            "password1234",
            "password1234",
            "password",
            "too easy to guess",
        ),
        ("short", "short", "password", "at least 12 characters"),
        (
            "emma@example.com",
            "emma@example.com",
            "password",
            "email address or name",
        ),
        (
            NEW_PASSWORD,
            "quiet lantern orchard 4413",
            "password_confirm",
            "don't match",
        ),
    ] {
        let response = set_password(&browser, &link, password, confirm).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        let page = response.text().await.unwrap();
        let error = format!(r#"<p class="field-error" id="field-{field}-error">"#);
        let at = page
            .find(&error)
            .unwrap_or_else(|| panic!("{field} error in {page}"));
        assert!(page[at..].contains(message), "{message}");
    }
    // htmx gets the form alone, errors included.
    let token = link.split("token=").nth(1).unwrap();
    let csrf = csrf_of(&browser.get_text(&link).await);
    let fragment = browser
        .htmx_post(
            "/password/reset",
            &csrf,
            &[
                ("token", token),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(fragment.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fragment = fragment.text().await.unwrap();
    assert!(
        fragment.starts_with("<form ") && fragment.contains(r#"id="password-reset""#),
        "{fragment}"
    );
    // Nothing changed: the old password and the session still work, and
    // the link too.
    assert_eq!(signed_in.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(
        app.client()
            .sign_in("emma@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.events(AuditAction::PasswordChanged).len(), 0);
    let done = set_password(&browser, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_known_or_not() {
    let (app, smtp) = app_with_mail().await;
    app.user("emma@example.com", false).await;
    for _ in 0..3 {
        assert_eq!(
            ask_for_reset(&app, "emma@example.com").await.status(),
            StatusCode::OK
        );
        assert_eq!(
            ask_for_reset(&app, "ghost@example.com").await.status(),
            StatusCode::OK
        );
    }
    for email in ["EMMA@example.com", "ghost@example.com"] {
        let refused = ask_for_reset(&app, email).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("Too many reset requests")
        );
    }
    // Another address is not held up; once its mail is out, so are the rest.
    app.user("zoe@example.com", false).await;
    ask_for_reset(&app, "zoe@example.com").await;
    smtp.wait_for("zoe@example.com").await;
    smtp.wait_for_nth("emma@example.com", 3).await;
    assert_eq!(smtp.messages_to("emma@example.com").len(), 3);
}

#[tokio::test]
async fn reset_requests_are_limited_per_client() {
    let smtp = SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| {
        smtp.configure(c);
        c.password_reset.max_requests_per_client = 2;
    })
    .await;
    let browser = app.client();
    for email in ["a@example.com", "b@example.com"] {
        let ok = browser
            .submit("/password/forgot", "/password/forgot", &[("email", email)])
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let refused = browser
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "c@example.com")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // A malformed address is a field error, not a request.
    let bad = app
        .client()
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("field-email-error"));
}

/// Polls the outbox until `done` holds for it (or gives up after 30 s).
async fn wait_for_outbox(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[latchkey::store::OutboxMessage]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outbox = app.accounts.store.outbox(100).unwrap();
        if done(&outbox) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited in vain for {what}: {outbox:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mail_waits_while_the_server_refuses_connections_and_goes_out_once() {
    // Nothing listens on this port yet: every connection is refused.
    let port = free_port();
    let app = TestApp::spawn_with(|c| {
        configure_smtp(c, port);
        c.mail.retry.first = Duration::from_secs(1);
        c.mail.retry.max = Duration::from_secs(1);
    })
    .await;
    for email in ["ada@example.com", "bob@example.com"] {
        app.user(email, false).await;
        assert_eq!(ask_for_reset(&app, email).await.status(), StatusCode::OK);
    }
    wait_for_outbox(&app, "two failed attempts each", |outbox| {
        outbox.len() == 2
            && outbox.iter().all(|m| {
                m.status == MailStatus::Queued && m.attempts >= 2 && m.last_error.is_some()
            })
    })
    .await;
    let error = app.accounts.store.outbox(1).unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");

    let smtp = SmtpReceiver::start_on(port).await;
    smtp.wait_for("ada@example.com").await;
    smtp.wait_for("bob@example.com").await;
    // A later message marks the point by which a duplicate would have come.
    app.user("cy@example.com", false).await;
    ask_for_reset(&app, "cy@example.com").await;
    smtp.wait_for("cy@example.com").await;
    assert_eq!(smtp.messages_to("ada@example.com").len(), 1);
    assert_eq!(smtp.messages_to("bob@example.com").len(), 1);
    wait_for_outbox(&app, "all sent", |outbox| {
        outbox.iter().all(|m| m.status == MailStatus::Sent)
    })
    .await;
    let outbox = app.accounts.store.outbox(10).unwrap();
    let ada = outbox
        .iter()
        .find(|m| m.message.to == "ada@example.com")
        .unwrap();
    assert!(ada.attempts >= 3);
    assert!(ada.reply.as_deref().unwrap().starts_with("250"));
    assert!(ada.message.text.is_empty(), "a sent message keeps no link");
    let received = &smtp.messages_to("ada@example.com")[0];
    assert!(
        received.message_id().ends_with("@localhost"),
        "{}",
        received.message_id()
    );
}

#[tokio::test]
async fn a_refused_recipient_is_failed_at_once_and_listed() {
    let smtp = SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| smtp.configure(c)).await;
    let admin = app.signed_in("admin@example.com", true).await;
    // An address the receiver's mailin refuses outright (a 5xx to RCPT TO).
    app.accounts
        .store
        .transact::<_, StoreError>(|t| {
            t.enqueue_mail(latchkey::domain::MailMessage {
                to: "bad address@example.com".into(),
                subject: "Latchkey: Test".into(),
                text: "Hello".into(),
                html: "<p>Hello</p>".into(),
            })
        })
        .unwrap();
    wait_for_outbox(&app, "a failed message", |outbox| {
        outbox.iter().any(|m| m.status == MailStatus::Failed)
    })
    .await;
    let failed = &app.accounts.store.outbox(1).unwrap()[0];
    assert_eq!(failed.attempts, 1, "a permanent refusal is not retried");
    let page = admin.get_text("/account/settings").await;
    assert!(page.contains("1 failed"), "{page}");
    assert!(page.contains(failed.last_error.as_deref().unwrap()));
    assert!(page.contains("Try again"));
}

#[tokio::test]
async fn a_deletion_request_mails_each_active_global_administrator_once() {
    let (app, smtp) = app_with_mail().await;
    app.user("first.admin@example.com", true).await;
    app.user("second.admin@example.com", true).await;
    app.user("colleague@example.com", false).await;
    app.accounts
        .store
        .insert_user(latchkey::store::NewUser {
            first_name: latchkey::domain::PersonName::parse("Ivy").unwrap(),
            last_name: latchkey::domain::PersonName::parse("Invited").unwrap(),
            email: latchkey::domain::Email::parse("invited.admin@example.com").unwrap(),
            phone: None,
            status: latchkey::domain::UserStatus::Invited,
            password_hash: None,
            roles: vec![latchkey::domain::role::GLOBAL_ADMINISTRATOR],
            created_at: time::now(),
        })
        .unwrap();
    let browser = app.signed_in("emma@example.com", false).await;
    let emma = app.stored_user("emma@example.com");

    // The question: a dialog for htmx, a page without JavaScript.
    let dialog = browser
        .htmx_get("/profile/delete")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dialog.starts_with("<dialog ") && dialog.contains(r#"id="deletion-dialog""#),
        "{dialog}"
    );
    assert!(dialog.contains("data-close-dialog") && dialog.contains("Yes, ask for deletion"));
    let page = browser.get_text("/profile/delete").await;
    assert!(page.contains("<html") && page.contains(r#"href="/profile""#));

    let yes = browser
        .submit("/profile/delete", "/profile/delete", &[])
        .await;
    assert_eq!(location(&yes), "/profile?notice=deletion_requested");
    let profile = browser.get_text("/profile?notice=deletion_requested").await;
    let today = time::display(time::now());
    assert!(
        profile.contains("You asked for this account to be deleted on"),
        "{profile}"
    );
    assert!(profile.contains(&today[..10]));

    for admin in ["first.admin@example.com", "second.admin@example.com"] {
        let mail = smtp.wait_for(admin).await;
        assert_eq!(
            mail.subject(),
            "Latchkey: Emma Wright asks to delete their account"
        );
        assert!(mail.text().contains("emma@example.com"));
        assert_eq!(
            mail.link_to("/account/users/"),
            format!("/account/users/{}", emma.id)
        );
    }

    // Again within a day: nothing new.
    let again = browser
        .submit("/profile/delete", "/profile/delete", &[])
        .await;
    assert_eq!(
        location(&again),
        "/profile?notice=deletion_already_requested"
    );
    ask_for_reset(&app, "colleague@example.com").await;
    smtp.wait_for("colleague@example.com").await;
    assert_eq!(smtp.messages_to("first.admin@example.com").len(), 1);
    assert_eq!(smtp.messages_to("second.admin@example.com").len(), 1);
    assert!(smtp.messages_to("invited.admin@example.com").is_empty());
    assert!(smtp.messages_to("emma@example.com").is_empty());
    assert_eq!(app.events(AuditAction::DeletionRequested).len(), 1);
}

#[tokio::test]
async fn an_email_change_takes_effect_only_when_its_link_is_opened() {
    let (app, smtp) = app_with_mail().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let fields = [
        ("first_name", "Emma"),
        ("last_name", "Wright"),
        ("email", "emma.new@example.com"),
        ("phone", ""),
    ];
    // Signing in is not confirming: htmx is sent to confirm the password
    // first, and nothing is saved or sent meanwhile.
    let csrf = csrf_of(&browser.get_text("/profile/edit").await);
    let stale = browser.htmx_post("/profile", &csrf, &fields).await;
    assert_eq!(stale.status(), StatusCode::NO_CONTENT);
    let to = stale.headers()["HX-Redirect"].to_str().unwrap();
    assert!(
        to.starts_with("/reauthenticate?next=%2Fprofile%2Fedit%3F"),
        "{to}"
    );
    assert_eq!(app.events(AuditAction::EmailChangeRequested).len(), 0);
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());
    reauthenticate(&browser).await;

    let csrf = csrf_of(&browser.get_text("/profile/edit").await);
    let saved = browser.htmx_post("/profile", &csrf, &fields).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let fragment = saved.text().await.unwrap();
    assert!(
        fragment.contains("We sent a confirmation link to emma.new@example.com"),
        "{fragment}"
    );
    assert!(fragment.contains("Changing to"));
    assert_eq!(
        app.stored_user("emma@example.com").email.as_str(),
        "emma@example.com"
    );

    let confirmation = smtp.wait_for("emma.new@example.com").await;
    assert_eq!(
        confirmation.subject(),
        "Latchkey: Confirm your new email address"
    );
    let notice = smtp.wait_for("emma@example.com").await;
    assert_eq!(
        notice.subject(),
        "Latchkey: Your email address is about to change"
    );
    assert!(notice.text().contains("emma.new@example.com"));
    assert!(
        !notice.text().contains("/profile/email/confirm"),
        "no link that changes anything"
    );
    let link = confirmation.link_to("/profile/email/confirm?token=");

    // Opening the link shows the change; only Confirm makes it.
    let anyone = app.client();
    let page = anyone.get_text(&link).await;
    assert!(page.contains("emma.new@example.com") && page.contains("Confirm new address"));
    assert_eq!(
        app.stored_user("emma@example.com").email.as_str(),
        "emma@example.com"
    );
    let confirmed = confirm_email(&browser, &link).await;
    assert_eq!(location(&confirmed), "/profile?notice=email_changed");
    assert_eq!(
        app.stored_user("emma.new@example.com").email.as_str(),
        "emma.new@example.com"
    );
    assert!(
        app.accounts
            .store
            .user_by_email("emma@example.com")
            .unwrap()
            .is_none()
    );
    assert!(
        browser
            .get_text("/profile?notice=email_changed")
            .await
            .contains("Your email address is now emma.new@example.com")
    );
    assert_eq!(
        anyone.get(&link).await.status(),
        StatusCode::NOT_FOUND,
        "used once"
    );
    assert_eq!(
        app.client()
            .sign_in("emma.new@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.events(AuditAction::EmailChangeRequested).len(), 1);
    assert_eq!(app.events(AuditAction::EmailChanged).len(), 1);
}

#[tokio::test]
async fn a_new_email_address_waits_for_re_authentication_and_the_form_comes_back() {
    let (app, smtp) = app_with_mail().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let fields = [
        ("first_name", "Emma"),
        ("last_name", "Wright-Hale"),
        ("email", "emma.new@example.com"),
        ("phone", "+44 20 7946 0018"),
    ];
    // Without JavaScript: to the confirmation page, returning to the Edit
    // form with what was typed. Nothing is saved, not even the name.
    let stale = browser.submit("/profile/edit", "/profile", &fields).await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    let to = location(&stale).to_owned();
    let next = to
        .strip_prefix("/reauthenticate?next=")
        .map(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("next={q}")).unwrap()[0]
                .1
                .clone()
        })
        .unwrap_or_else(|| panic!("{to}"));
    assert!(next.starts_with("/profile/edit?"), "{next}");
    let emma = app.stored_user("emma@example.com");
    assert_eq!(emma.last_name.to_string(), "Wright");
    assert!(emma.phone.is_none());
    assert_eq!(app.events(AuditAction::EmailChangeRequested).len(), 0);
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());

    // A wrong password leaves it so; the right one returns to the form.
    let page = browser.get_text(&to).await;
    let wrong = browser
        .post_raw(
            "/reauthenticate",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", "not the password"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let confirmed = browser
        .post_raw(
            "/reauthenticate",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), next);
    let form = browser.get_text(&next).await;
    for typed in [
        r#"value="emma.new@example.com""#,
        r#"value="Wright-Hale""#,
        r#"value="+44 20 7946 0018""#,
    ] {
        assert!(form.contains(typed), "{typed} in {form}");
    }

    // Saved again within the window: the link goes out, the address waits.
    let saved = browser.submit(&next, "/profile", &fields).await;
    assert_eq!(location(&saved), "/profile?notice=email_link_sent");
    let emma = app.stored_user("emma@example.com");
    assert_eq!(emma.last_name.to_string(), "Wright-Hale");
    let link = smtp
        .wait_for("emma.new@example.com")
        .await
        .link_to("/profile/email/confirm?token=");
    assert!(
        browser
            .get_text("/profile")
            .await
            .contains(r#"id="pending-email""#)
    );
    let confirmed = confirm_email(&browser, &link).await;
    assert_eq!(location(&confirmed), "/profile?notice=email_changed");
    assert_eq!(app.stored_user("emma.new@example.com").id, emma.id);

    // Names and the phone alone never ask.
    let other = app.signed_in("ada@example.com", false).await;
    let plain = other
        .submit(
            "/profile/edit",
            "/profile",
            &[
                ("first_name", "Ada"),
                ("last_name", "Byron"),
                ("email", "ADA@example.com"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(location(&plain), "/profile?saved=1");
}

#[tokio::test]
async fn after_a_reset_the_next_sign_in_still_asks_for_the_code() {
    let (app, smtp) = app_with_mail().await;
    let emma = app.user("emma@example.com", false).await;
    let browser = app.client();
    browser.sign_in("emma@example.com", PASSWORD).await;
    let (mut phone, _codes) = set_up(&browser).await;

    assert_eq!(
        ask_for_reset(&app, "emma@example.com").await.status(),
        StatusCode::OK
    );
    let link = smtp
        .wait_for("emma@example.com")
        .await
        .link_to("/password/reset?token=");
    let stranger = app.client();
    let done = set_password(&stranger, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(location(&done), "/signin?notice=password_changed");
    // The reset signed no one in and ended the session that set 2FA up;
    // 2FA is still on.
    assert_eq!(
        stranger.get("/profile").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.get("/profile").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(app.accounts.two_factor().status(emma.id).unwrap().is_some());
    assert_eq!(app.events(AuditAction::TwoFactorDisabled).len(), 0);

    // The new password is only the first step.
    let signing_in = stranger.sign_in("emma@example.com", NEW_PASSWORD).await;
    assert_eq!(signing_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signing_in), "/signin/2fa");
    assert!(location(&stranger.get("/profile").await).starts_with("/signin/2fa"));
    let code = stranger
        .submit(
            "/signin/2fa",
            "/signin/2fa",
            &[("code", &phone.next_code())],
        )
        .await;
    assert_eq!(location(&code), "/profile");
    assert_eq!(stranger.get("/profile").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_email_change_is_refused_when_the_address_is_taken_first() {
    let (app, smtp) = app_with_mail().await;
    app.user("taken@example.com", false).await;
    let browser = app.signed_in("emma@example.com", false).await;
    reauthenticate(&browser).await;
    // Taken already: a message beside the field, nothing sent.
    let refused = browser
        .submit(
            "/profile/edit",
            "/profile",
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "TAKEN@example.com"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("already exists"));
    // Free when asked, taken before the link is opened.
    let asked = browser
        .submit(
            "/profile/edit",
            "/profile",
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "later@example.com"),
            ],
        )
        .await;
    assert_eq!(location(&asked), "/profile?notice=email_link_sent");
    let link = smtp
        .wait_for("later@example.com")
        .await
        .link_to("/profile/email/confirm");
    app.user("later@example.com", false).await;
    let token = link.split("token=").nth(1).unwrap();
    let csrf = csrf_of(&browser.get_text(&link).await);
    let conflict = browser
        .post_raw(
            "/profile/email/confirm",
            &[("csrf", &csrf), ("token", token)],
        )
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.stored_user("emma@example.com").email.as_str(),
        "emma@example.com"
    );
}

#[tokio::test]
async fn an_administrator_changes_another_users_email_by_link_too() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.user("admin@example.com", true).await;
    let emma = app.user("emma@example.com", false).await;
    let colleague = app.user("colleague@example.com", false).await;
    let changes = app.accounts.email_changes();

    let as_colleague = app.signed_in_as(&colleague).await;
    let forbidden = changes
        .request_email_change(&as_colleague, emma.id, "emma.new@example.com")
        .await;
    assert!(
        matches!(
            forbidden,
            Err(latchkey::accounts::AccountsError::Forbidden(_))
        ),
        "{forbidden:?}"
    );

    // An administrator too confirms their password first.
    let mut as_admin = app.signed_in_as(&admin).await;
    let stale = changes
        .request_email_change(&as_admin, emma.id, "emma.new@example.com")
        .await;
    assert!(
        matches!(
            stale,
            Err(latchkey::accounts::AccountsError::ReauthenticationRequired)
        ),
        "{stale:?}"
    );
    as_admin.session.reauthenticated_at = Some(time::now());
    let sent = changes
        .request_email_change(&as_admin, emma.id, "emma.new@example.com")
        .await
        .unwrap();
    assert_eq!(sent.unwrap().as_str(), "emma.new@example.com");
    let unchanged = changes
        .request_email_change(&as_admin, emma.id, "EMMA@example.com")
        .await
        .unwrap();
    assert!(unchanged.is_none(), "the current address needs no link");
    let link = smtp
        .wait_for("emma.new@example.com")
        .await
        .link_to("/profile/email/confirm");
    smtp.wait_for("emma@example.com").await;
    assert_eq!(app.stored_user("emma@example.com").id, emma.id);
    let token = link.split("token=").nth(1).unwrap();
    changes
        .confirm(token, std::net::IpAddr::from([127, 0, 0, 1]))
        .await
        .unwrap();
    assert_eq!(app.stored_user("emma.new@example.com").id, emma.id);
    let requested = app.events(AuditAction::EmailChangeRequested).remove(0);
    assert_eq!(requested.actor.unwrap().label, "admin@example.com");
}

#[tokio::test]
async fn the_settings_page_shows_the_outbox_and_sends_a_test_message() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let page = admin.get_text("/account/settings").await;
    assert!(page.contains("Outgoing mail"));
    assert!(page.contains(&format!("sent by SMTP through 127.0.0.1:{}", smtp.port)));

    let sent = admin
        .submit("/account/settings", "/account/settings/test-email", &[])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let target = location(&sent).to_owned();
    assert!(
        target.starts_with("/account/settings?test_mail="),
        "{target}"
    );
    let page = admin.get_text(&target).await;
    assert!(
        page.contains(
            "Test message sent to admin@example.com. The server answered: 250 2.0.0 Ok: queued"
        ),
        "{page}"
    );
    let received = smtp.wait_for("admin@example.com").await;
    assert_eq!(received.subject(), "Latchkey: Test message");
    assert!(page.contains("1 sent"));

    // With htmx: the card alone, with the answer.
    let csrf = csrf_of(&page);
    let card = admin
        .htmx_post("/account/settings/test-email", &csrf, &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card.starts_with("<section ") && card.contains(r#"id="outgoing-mail""#),
        "{card}"
    );
    assert!(card.contains("2 sent"));

    // Without holders of settings.manage, no outbox and no test.
    let user = app.signed_in("user@example.com", false).await;
    let csrf = csrf_of(&user.get_text("/profile").await);
    let forbidden = user
        .post_raw("/account/settings/test-email", &[("csrf", &csrf)])
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_test_message_to_an_unreachable_server_reports_the_error() {
    let port = free_port();
    let app = TestApp::spawn_with(|c| configure_smtp(c, port)).await;
    let admin = app.signed_in("admin@example.com", true).await;
    let sent = admin
        .submit("/account/settings", "/account/settings/test-email", &[])
        .await;
    let page = admin.get_text(location(&sent)).await;
    assert!(page.contains("could not be sent"), "{page}");
    assert!(page.contains(&format!("127.0.0.1:{port}")));
    assert!(page.contains("1 failed"));
}

#[tokio::test]
async fn the_file_transport_writes_each_message_as_an_eml_file() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    ask_for_reset(&app, "emma@example.com").await;
    let dir = app.outbox_dir();
    let deadline = Instant::now() + Duration::from_secs(30);
    let file = loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(file) = found {
            break file;
        }
        assert!(
            Instant::now() < deadline,
            "no .eml file in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let raw = std::fs::read(&file).unwrap();
    let received = crate::smtp::Received {
        from: String::new(),
        to: vec!["emma@example.com".into()],
        raw,
    };
    assert_eq!(received.subject(), "Latchkey: Reset your password");
    let link = received.link_to("/password/reset?token=");
    assert_eq!(app.client().get(&link).await.status(), StatusCode::OK);
    assert!(received.html().contains("Choose a new password"));
}

#[tokio::test]
async fn smtp_authentication_uses_the_password_file() {
    let smtp = SmtpReceiver::start_with_login("latchkey", "s3cret from a file");
    let smtp = smtp.await;
    let secrets = tempfile::tempdir().unwrap();
    let password_file = secrets.path().join("smtp_password");
    std::fs::write(&password_file, "s3cret from a file\n").unwrap();
    let text = format!(
        "[mail]\ntransport = \"smtp\"\nfrom = \"Accounts <accounts@example.com>\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"latchkey\"\n\
         password_file = \"{}\"\n",
        smtp.port,
        password_file.display()
    );
    let parsed = Config::from_parts(std::path::Path::new("mail.toml"), &text, Vec::new()).unwrap();
    assert!(
        !format!("{parsed:?}").contains("s3cret"),
        "the password is never printed"
    );
    let app = TestApp::spawn_with(|c| c.mail = parsed.mail.clone()).await;
    app.user("emma@example.com", false).await;
    ask_for_reset(&app, "emma@example.com").await;
    let mail = smtp.wait_for("emma@example.com").await;
    assert_eq!(mail.from, "accounts@example.com");
    assert!(mail.message_id().ends_with("@example.com"));
    assert!(
        smtp.logins()
            .contains(&("latchkey".into(), "s3cret from a file".into()))
    );
}

/// Polls `/healthz` until the server answers (bounded).
async fn wait_until_up(base: &str) {
    let client = Client::new(base);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.http.get(format!("{base}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ask_for_reset_at(base: &str, email: &str) {
    let response = Client::new(base)
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

// Multi-threaded: the SMTP receiver must run while this thread waits for log lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_survives_kill_9_and_sent_mail_is_not_sent_again() {
    use crate::cli::{Scratch, Server, latchkey};
    let scratch = Scratch::new();
    let (port, smtp_port) = (free_port(), free_port());
    let config = scratch.config(
        &format!(
            "[mail]\ntransport = \"smtp\"\nfrom = \"Latchkey <latchkey@example.com>\"\n\
             first_retry = \"1s\"\nmax_retry = \"1s\"\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\ntimeout = \"5s\"\n"
        ),
        port,
    );
    for email in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        let added = latchkey(
            &config,
            &[
                "user",
                "add",
                "--email",
                email,
                "--first-name",
                "Ada",
                "--last-name",
                "Byron",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert!(added.status.success(), "{}", crate::cli::stderr(&added));
    }
    let base = format!("http://127.0.0.1:{port}");

    // The mail server is down: the messages wait in the outbox.
    let server = Server::start(&config);
    server.wait_for("the mail server can't be reached");
    wait_until_up(&base).await;
    ask_for_reset_at(&base, "ada@example.com").await;
    ask_for_reset_at(&base, "bob@example.com").await;
    server.wait_for("mail delivery failed; will retry");
    server.signal("KILL");
    drop(server);

    // Back up, and restarted: each message arrives once.
    let smtp = SmtpReceiver::start_on(smtp_port).await;
    let server = Server::start(&config);
    server.wait_for("is reachable");
    let ada = smtp.wait_for("ada@example.com").await;
    smtp.wait_for("bob@example.com").await;
    assert_eq!(ada.subject(), "Latchkey: Reset your password");
    wait_until_up(&base).await;
    ask_for_reset_at(&base, "cy@example.com").await;
    smtp.wait_for("cy@example.com").await;
    assert_eq!(smtp.messages_to("ada@example.com").len(), 1);
    assert_eq!(smtp.messages_to("bob@example.com").len(), 1);

    // Killed again after delivering: nothing already accepted goes out again.
    server.signal("KILL");
    drop(server);
    let _server = Server::start(&config);
    wait_until_up(&base).await;
    ask_for_reset_at(&base, "cy@example.com").await;
    smtp.wait_for_nth("cy@example.com", 2).await;
    assert_eq!(smtp.messages_to("ada@example.com").len(), 1);
    assert_eq!(smtp.messages_to("bob@example.com").len(), 1);
    assert_eq!(smtp.messages().len(), 4);
    // The link mailed before the first kill still works.
    let link = ada.link_to("/password/reset?token=");
    assert_eq!(Client::new(&base).get(&link).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_changes_an_email_from_the_user_page() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let emma = app.user("emma@example.com", false).await;
    app.user("taken@example.com", false).await;
    let edit = format!("/account/users/{}/edit", emma.id);
    let fields = [
        ("first_name", "Emma"),
        ("last_name", "Wright"),
        ("email", "emma.work@example.com"),
        ("phone", ""),
    ];

    // A plain form: first the administrator's password, then back to the
    // form as typed; nothing saved or sent meanwhile.
    let asked = admin.submit(&edit, &edit, &fields).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let detour = location(&asked).to_owned();
    assert!(detour.starts_with("/reauthenticate?next="), "{detour}");
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());
    let next: Vec<(String, String)> =
        serde_urlencoded::from_str(detour.split_once('?').unwrap().1).unwrap();
    let confirmed = admin
        .submit(
            &detour,
            "/reauthenticate",
            &[("password", PASSWORD), ("next", &next[0].1)],
        )
        .await;
    let back = location(&confirmed).to_owned();
    assert!(back.starts_with(&format!("{edit}?")), "{back}");
    let form = admin.get_text(&back).await;
    assert!(
        form.contains(r#"name="email" value="emma.work@example.com""#),
        "{form}"
    );

    // The address another account holds: beside the field, nothing saved,
    // not even the other fields (one transaction).
    let taken = admin
        .submit(
            &back,
            &edit,
            &[
                ("first_name", "Emma"),
                ("last_name", "Renamed"),
                ("email", "TAKEN@example.com"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("A user with that email address already exists.")
    );
    assert_eq!(
        app.stored_user("emma@example.com").last_name.as_str(),
        "Wright"
    );

    let saved = admin.submit(&back, &edit, &fields).await;
    assert_eq!(
        location(&saved),
        format!("/account/users/{}?saved=email_link", emma.id)
    );
    let page = admin.get_text(location(&saved)).await;
    assert!(page.contains("A confirmation link went to the new address"));
    assert!(page.contains("Changing to emma.work@example.com"), "{page}");
    assert_eq!(
        app.stored_user("emma@example.com").email.as_str(),
        "emma@example.com"
    );
    let link = smtp
        .wait_for("emma.work@example.com")
        .await
        .link_to("/profile/email/confirm?token=");
    let notice = smtp.wait_for("emma@example.com").await;
    assert_eq!(
        notice.subject(),
        "Latchkey: Your email address is about to change"
    );
    let requested = app.events(AuditAction::EmailChangeRequested).remove(0);
    assert_eq!(requested.actor.unwrap().label, "admin@example.com");
    assert_eq!(requested.subject.unwrap().id, Some(emma.id));
    let done = confirm_email(&app.client(), &link).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.stored_user("emma.work@example.com").id, emma.id);

    // From the list's dialog: the row comes back and the list says so.
    let csrf = csrf_of(&admin.get_text("/account/users").await);
    let from_list = admin
        .htmx_post(
            &edit,
            &csrf,
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "emma.home@example.com"),
                ("phone", ""),
                ("from", "list"),
            ],
        )
        .await;
    assert_eq!(from_list.status(), StatusCode::OK);
    let body = from_list.text().await.unwrap();
    assert!(
        body.contains(r#"<div id="users-notice" aria-live="polite" data-hx-swap-oob="true">"#)
            && body.contains("A confirmation link went to emma.home@example.com"),
        "{body}"
    );
    smtp.wait_for("emma.home@example.com").await;
}

#[tokio::test]
async fn nobody_changes_the_address_of_a_user_who_outranks_them() {
    let (app, smtp) = app_with_mail().await;
    let boss = app.user("boss@example.com", true).await;
    app.user("admin@example.com", true).await;
    let editors = crate::roles::make_role(
        &app,
        "Editors",
        &[
            latchkey::domain::Permission::UsersView,
            latchkey::domain::Permission::UsersEdit,
        ],
    );
    let editor = crate::roles::signed_in_with(&app, "editor@example.com", vec![editors.id]).await;
    reauthenticate(&editor).await;
    let edit = format!("/account/users/{}/edit", boss.id);
    let refused = editor
        .submit(
            "/account/users",
            &edit,
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "editor.owns.this@example.com"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The use case itself refuses too, whoever calls it.
    let as_editor = app
        .signed_in_as(&app.stored_user("editor@example.com"))
        .await;
    let mut as_editor = as_editor;
    as_editor.session.reauthenticated_at = Some(time::now());
    let direct = app
        .accounts
        .email_changes()
        .request_email_change(&as_editor, boss.id, "editor.owns.this@example.com")
        .await;
    assert!(
        matches!(direct, Err(latchkey::accounts::AccountsError::Forbidden(_))),
        "{direct:?}"
    );
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());
    assert!(smtp.messages().is_empty());
    assert_eq!(app.events(AuditAction::EmailChangeRequested).len(), 0);
}
