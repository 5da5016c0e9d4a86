//! Invitations through the front door: an administrator invites an address
//! (dialog or plain form), the mail reaches the loopback SMTP server of
//! `smtp.rs`, and the invited person follows the link out of it, sets their
//! details and is signed in. Resending voids the older link; used, replaced,
//! expired and unknown links get one page that says nothing more; invited
//! users can't sign in or reset a password; each step leaves its event.

use std::time::Duration;

use latchkey::accounts::invitations::issue_invitation;
use latchkey::domain::{AuditAction, Permission, UserStatus};
use latchkey::store::StoreError;
use reqwest::StatusCode;

use crate::roles::{make_role, signed_in_with};
use crate::smtp::SmtpReceiver;
use crate::support::{Client, TestApp, csrf_of, location};

const THEIR_PASSWORD: &str = "violet harbour compass 2291";

async fn app_with_mail() -> (TestApp, SmtpReceiver) {
    let smtp = SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| smtp.configure(c)).await;
    (app, smtp)
}

/// Invites `email` from the Users page as a plain form would.
async fn invite(admin: &Client, email: &str) -> reqwest::Response {
    admin
        .submit(
            "/account/users",
            "/account/users/invite",
            &[("email", email), ("sign_in_method", "local")],
        )
        .await
}

/// Submits the accept form for `link` with these details (the CSRF token
/// from the sign-in page, as a link that doesn't work shows no form).
async fn accept(browser: &Client, link: &str, details: &[(&str, &str)]) -> reqwest::Response {
    let page = browser.get_text("/signin").await;
    let token = link.split("token=").nth(1).expect("a token in the link");
    let mut form = vec![("csrf", csrf_of(&page)), ("token", token.to_owned())];
    form.extend(details.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_raw("/invitation", &form).await
}

fn good_details() -> Vec<(&'static str, &'static str)> {
    vec![
        ("first_name", "Ivy"),
        ("last_name", "Newcombe"),
        ("phone", "+44 20 7946 0000"),
        ("password", THEIR_PASSWORD),
        ("password_confirm", THEIR_PASSWORD),
    ]
}

#[tokio::test]
async fn an_invited_user_accepts_through_the_mailed_link_and_is_signed_in() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;

    // The dialog for htmx, a page without; local is the one method offered.
    let dialog = admin.htmx_get("/account/users/invite").await;
    assert_eq!(dialog.status(), StatusCode::OK);
    let dialog = dialog.text().await.unwrap();
    assert!(dialog.starts_with("<dialog") && dialog.contains("Invite user"));
    assert!(
        dialog.contains(r#"<option value="local">Local</option>"#),
        "{dialog}"
    );
    let page = admin.get_text("/account/users/invite").await;
    assert!(page.contains("<!DOCTYPE html>") && page.contains(r#"name="sign_in_method""#));

    // Sent from the dialog: the browser goes to the list, which says so.
    let csrf = csrf_of(&page);
    let sent = admin
        .htmx_post(
            "/account/users/invite",
            &csrf,
            &[("email", "Ivy@Example.com"), ("sign_in_method", "local")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let ivy = app.stored_user("ivy@example.com");
    assert_eq!(ivy.status, UserStatus::Invited);
    assert!(ivy.password_hash.is_none() && ivy.roles.is_empty());
    let to = sent.headers()["hx-redirect"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/account/users?invited={}", ivy.id));
    let list = admin.get_text(&to).await;
    assert!(
        list.contains("Invitation sent to Ivy@Example.com"),
        "{list}"
    );
    assert!(list.contains(r#"<span class="badge badge-pending">Invited</span>"#));
    assert!(list.contains(&format!(
        r#"href="/account/users/{}/invite/resend?from=list""#,
        ivy.id
    )));
    let invited = app.events(AuditAction::UserInvited);
    assert_eq!(invited.len(), 1);
    assert_eq!(
        invited[0].actor.as_ref().unwrap().label,
        "admin@example.com"
    );
    assert_eq!(invited[0].subject.as_ref().unwrap().id, Some(ivy.id));
    assert_eq!(invited[0].detail, "local sign-in; link valid for 7 days");

    let mail = smtp.wait_for("Ivy@Example.com").await;
    assert_eq!(mail.subject(), "Latchkey: Emma Wright invited you");
    assert!(mail.text().contains("for 7 days"));
    let link = mail.link_to("/invitation?token=");

    // Until they accept, neither a password nor a reset link lets them in.
    let stranger = app.client();
    let refused = stranger.sign_in("ivy@example.com", THEIR_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let asked = stranger
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "ivy@example.com")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);

    // The page names the address; opening it changes nothing.
    let browser = app.client();
    let form = browser.get(&link).await;
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(form.contains("Accept your invitation") && form.contains("Ivy@Example.com"));
    for field in [
        "first_name",
        "last_name",
        "phone",
        "password",
        "password_confirm",
    ] {
        assert!(form.contains(&format!(r#"name="{field}""#)), "{field}");
    }

    // Bad details: the messages beside their fields, nothing changed.
    let bad = accept(
        &browser,
        &link,
        &[
            ("first_name", ""),
            ("last_name", "Newcombe"),
            ("phone", "call me"),
            ("password", "Newcombe"),
            ("password_confirm", "something else"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.unwrap();
    for field in ["first_name", "phone", "password", "password_confirm"] {
        assert!(
            bad.contains(&format!(r#"aria-describedby="field-{field}-error""#))
                || bad.contains(&format!(r#"field-{field}-hint field-{field}-error""#)),
            "{field}: {bad}"
        );
    }
    assert!(bad.contains(r#"value="Newcombe""#), "typed details stay");
    let weak = accept(
        &browser,
        &link,
        &[
            ("first_name", "Ivy"),
            ("last_name", "Newcombe"),
            ("password", "ivy@example.com"),
            ("password_confirm", "ivy@example.com"),
        ],
    )
    .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("field-password-error"));
    assert_eq!(
        app.stored_user("ivy@example.com").status,
        UserStatus::Invited
    );

    // Accepted: Active, signed in with a new session and a device cookie.
    let accepted = accept(&browser, &link, &good_details()).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&accepted), "/profile");
    let cookies: Vec<&str> = accepted
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("latchkey_session=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("latchkey_device=")),
        "{cookies:?}"
    );
    let profile = browser.get_text("/profile").await;
    assert!(profile.contains("Ivy Newcombe"), "{profile}");
    let stored = app.stored_user("ivy@example.com");
    assert_eq!(stored.status, UserStatus::Active);
    assert_eq!(stored.full_name(), "Ivy Newcombe");
    assert_eq!(stored.phone.unwrap().to_string(), "+44 20 7946 0000");
    assert!(stored.last_sign_in_at.is_some());
    let accepted = app.events(AuditAction::InvitationAccepted);
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].actor.as_ref().unwrap().id, Some(ivy.id));
    assert_eq!(accepted[0].detail, "signed in");

    // The link worked once; the password works from now on.
    let again = app.client().get(&link).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let signed_in = app
        .client()
        .sign_in("ivy@example.com", THEIR_PASSWORD)
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    // The list finds them by name now.
    let found = admin.get_text("/account/users?q=newc").await;
    assert!(found.contains("Ivy Newcombe") && found.contains("badge-good"));
    // No reset mail went to the invited address, only the invitation.
    assert_eq!(smtp.messages_to("Ivy@Example.com").len(), 1);
}

#[tokio::test]
async fn resending_voids_the_older_link() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    assert_eq!(
        invite(&admin, "ivy@example.com").await.status(),
        StatusCode::SEE_OTHER
    );
    let ivy = app.stored_user("ivy@example.com");
    let first = smtp
        .wait_for("ivy@example.com")
        .await
        .link_to("/invitation");

    // The envelope on the User page opens the question; Yes sends again.
    let page = admin.get_text(&format!("/account/users/{}", ivy.id)).await;
    let resend = format!("/account/users/{}/invite/resend", ivy.id);
    assert!(
        page.contains(&format!(r#"href="{resend}?from=page""#)),
        "{page}"
    );
    assert!(page.contains("Not given yet") && !page.contains("Turn off 2FA"));
    let question = admin.htmx_get(&format!("{resend}?from=list")).await;
    assert_eq!(question.status(), StatusCode::OK);
    let question = question.text().await.unwrap();
    assert!(question.starts_with("<dialog") && question.contains("Send a new invitation"));
    let sent = admin.htmx_post(&resend, &csrf_of(&question), &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(
        sent.text()
            .await
            .unwrap()
            .contains("A new invitation is on its way")
    );
    let second = smtp
        .wait_for_nth("ivy@example.com", 2)
        .await
        .link_to("/invitation");
    assert_ne!(first, second);
    // Without JavaScript: a 303 to the User page, which says so.
    let plain = admin.submit(&resend, &resend, &[]).await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&plain),
        format!("/account/users/{}?saved=invitation", ivy.id)
    );
    assert!(
        admin
            .get_text(location(&plain))
            .await
            .contains("A new invitation was sent")
    );
    let third = smtp
        .wait_for_nth("ivy@example.com", 3)
        .await
        .link_to("/invitation");

    // The older links are refused, with the page an unknown token gets.
    let browser = app.client();
    let unknown = browser.get("/invitation?token=not-a-token").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown = main_of(&unknown.text().await.unwrap());
    for old in [&first, &second] {
        let refused = browser.get(old).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert_eq!(main_of(&refused.text().await.unwrap()), unknown);
        let posted = accept(&browser, old, &good_details()).await;
        assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    }
    assert!(!unknown.contains("ivy"), "{unknown}");
    assert_eq!(
        app.stored_user("ivy@example.com").status,
        UserStatus::Invited
    );
    assert_eq!(app.events(AuditAction::InvitationResent).len(), 2);
    let resent = &app.events(AuditAction::InvitationResent)[0];
    assert_eq!(resent.actor.as_ref().unwrap().label, "admin@example.com");
    assert_eq!(resent.subject.as_ref().unwrap().id, Some(ivy.id));

    // The newest works; after that there is nothing to resend.
    let accepted = accept(&app.client(), &third, &good_details()).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let csrf = csrf_of(&admin.get_text("/account/users").await);
    assert_eq!(admin.get(&resend).await.status(), StatusCode::CONFLICT);
    let late = admin.post_raw(&resend, &[("csrf", &csrf)]).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(
        late.text()
            .await
            .unwrap()
            .contains("accepted their invitation already")
    );
    assert_eq!(smtp.messages_to("ivy@example.com").len(), 3);
}

/// The page's main content, without the per-session parts around it.
fn main_of(html: &str) -> String {
    let start = html.find("<main").expect("a main element");
    let end = html.find("</main>").expect("its end");
    html[start..end].to_owned()
}

#[tokio::test]
async fn expired_and_used_links_get_a_clear_page_and_change_nothing() {
    let (app, _smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    invite(&admin, "ivy@example.com").await;
    let ivy = app.stored_user("ivy@example.com");
    let inviter = app.stored_user("admin@example.com");
    // A link past its time, issued through the same code as the mail's.
    let composer = app.accounts.mailer.composer();
    let expired = app
        .accounts
        .store
        .transact::<_, StoreError>(|t| {
            issue_invitation(t, composer, 10, &ivy, &inviter, Duration::ZERO)
        })
        .unwrap();
    let expired = format!("/invitation?{}", expired.split('?').nth(1).unwrap());
    let browser = app.client();
    let page = browser.get(&expired).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("has already been used, was replaced by a newer one, or has expired")
            && page.contains("ask the person who invited you to send the invitation again"),
        "{page}"
    );
    let posted = accept(&browser, &expired, &good_details()).await;
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    assert!(posted.headers().get("set-cookie").is_none_or(|c| {
        !c.to_str()
            .unwrap_or_default()
            .starts_with("latchkey_session=")
    }));
    let stored = app.stored_user("ivy@example.com");
    assert_eq!(stored.status, UserStatus::Invited);
    assert!(stored.password_hash.is_none());
    assert!(app.events(AuditAction::InvitationAccepted).is_empty());
    // A form that can't be read is a styled 400, not a crash.
    let twice = browser.get("/invitation?token=a&token=b").await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_invitation_needs_a_new_valid_address_and_a_known_method() {
    let (app, _smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    app.user("emma@example.com", false).await;
    let long = format!("{}@example.com", "a".repeat(117));
    assert_eq!(long.chars().count(), 129);
    for (email, method, field, message) in [
        (
            "EMMA@example.com",
            "local",
            "email",
            "A user with that email address already exists.",
        ),
        (
            "admin@example.com",
            "local",
            "email",
            "A user with that email address already exists.",
        ),
        (
            "not an address",
            "local",
            "email",
            "Enter an email address like name@example.com.",
        ),
        (long.as_str(), "local", "email", "at most 128 characters"),
        (
            "new@example.com",
            "oidc",
            "sign_in_method",
            "Choose a sign-in method from the list.",
        ),
    ] {
        let csrf = csrf_of(&admin.get_text("/account/users").await);
        let htmx = admin
            .htmx_post(
                "/account/users/invite",
                &csrf,
                &[("email", email), ("sign_in_method", method)],
            )
            .await;
        assert_eq!(htmx.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        let form = htmx.text().await.unwrap();
        assert!(
            form.starts_with("<form") && form.contains(message),
            "{email}: {form}"
        );
        assert!(
            form.contains(&format!(r#"id="field-{field}-error""#)),
            "{form}"
        );
    }
    // Only the two existing users, no mail, no event.
    assert_eq!(app.accounts.store.user_count().unwrap(), 2);
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());
    assert!(app.events(AuditAction::UserInvited).is_empty());
    // An invited user's details are theirs to give: no edit for them.
    invite(&admin, "ivy@example.com").await;
    let ivy = app.stored_user("ivy@example.com");
    let edit = admin.get(&format!("/account/users/{}/edit", ivy.id)).await;
    assert_eq!(edit.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn with_2fa_required_an_accepted_invitation_goes_straight_to_set_up() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    invite(&admin, "ivy@example.com").await;
    // Turned on after the invitation: it applies to the next sign-in.
    let saved = crate::settings::require_2fa(&admin).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let link = smtp
        .wait_for("ivy@example.com")
        .await
        .link_to("/invitation");
    let browser = app.client();
    let accepted = accept(&browser, &link, &good_details()).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&accepted), "/profile/2fa");
    // Nothing but set-up until it is done.
    let held = browser.get("/profile").await;
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    assert!(location(&held).starts_with("/profile/2fa"));
    let event = &app.events(AuditAction::InvitationAccepted)[0];
    assert!(
        event.detail.contains("2FA set-up required"),
        "{}",
        event.detail
    );
}

#[tokio::test]
async fn resending_and_turning_off_2fa_stay_under_the_permission_ceiling() {
    let (app, smtp) = app_with_mail().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let help_desk = make_role(
        &app,
        "Help desk",
        &[
            Permission::UsersView,
            Permission::UsersInvite,
            Permission::UsersDisable2fa,
        ],
    );
    let desk = signed_in_with(&app, "desk@example.com", vec![help_desk.id]).await;
    crate::two_factor::reauthenticate(&desk).await;

    // An invitation to someone an administrator made Global Administrator.
    invite(&admin, "boss@example.com").await;
    let boss = app.stored_user("boss@example.com");
    let csrf = csrf_of(&admin.get_text("/account/users").await);
    let given = admin
        .post_raw(
            &format!("/account/users/{}/roles/add", boss.id),
            &[("csrf", &csrf), ("role", "1")],
        )
        .await;
    assert_eq!(given.status(), StatusCode::SEE_OTHER);
    smtp.wait_for("boss@example.com").await;
    let resend = format!("/account/users/{}/invite/resend", boss.id);
    assert_eq!(desk.get(&resend).await.status(), StatusCode::FORBIDDEN);
    let refused = desk.submit("/profile", &resend, &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("whose permissions you hold")
    );
    // Someone within the ceiling: allowed.
    invite(&admin, "temp@example.com").await;
    let temp = app.stored_user("temp@example.com");
    let allowed = desk
        .submit(
            "/profile",
            &format!("/account/users/{}/invite/resend", temp.id),
            &[],
        )
        .await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);

    // 2FA: a Global Administrator's stays on; a plain user's can be turned off.
    let other_admin = app.signed_in("second@example.com", true).await;
    crate::two_factor::set_up(&other_admin).await;
    let plain = app.signed_in("plain@example.com", false).await;
    crate::two_factor::set_up(&plain).await;
    let second = app.stored_user("second@example.com");
    let off = format!("/account/users/{}/two-factor/disable", second.id);
    assert_eq!(desk.get(&off).await.status(), StatusCode::FORBIDDEN);
    let refused = desk.submit("/profile", &off, &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(app.accounts.store.two_factor(second.id).unwrap().is_some());
    let plain_user = app.stored_user("plain@example.com");
    let off = format!("/account/users/{}/two-factor/disable", plain_user.id);
    let done = desk.submit("/profile", &off, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(
        app.accounts
            .store
            .two_factor(plain_user.id)
            .unwrap()
            .is_none()
    );
    assert_eq!(app.events(AuditAction::InvitationResent).len(), 1);
    assert_eq!(
        app.events(AuditAction::TwoFactorDisabled)
            .iter()
            .filter(|e| e.detail == "by an administrator")
            .count(),
        1
    );
}
