//! The Profile page and its Edit form, with and without htmx.

use reqwest::StatusCode;

use crate::support::{TestApp, csrf_of, location};

#[tokio::test]
async fn the_profile_shows_the_details_and_actions() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let html = browser.get_text("/profile").await;
    for expected in [
        r#"class="initials-circle""#,
        ">EW<",
        "Emma",
        "Wright",
        "emma@example.com",
        "Not set",
        "2FA Enabled",
        r#"role="switch""#,
        "Set up 2FA",
        "Change password",
        "Delete user account",
        "Log out",
        r#"aria-label="Edit your details""#,
        r#"href="/password/forgot?email=emma%40example.com""#,
    ] {
        assert!(html.contains(expected), "profile lacks {expected}");
    }
    // No admin permission, no Account menu.
    assert!(!html.contains("side-menu"));
}

#[tokio::test]
async fn editing_with_htmx_swaps_fragments_and_saves() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let page = browser.get_text("/profile").await;
    let csrf = csrf_of(&page);

    let form = browser.htmx_get("/profile/edit").await;
    assert_eq!(form.status(), StatusCode::OK);
    let fragment = form.text().await.unwrap();
    assert!(
        fragment.starts_with("<form"),
        "a fragment, not a page: {fragment:.80}"
    );
    assert!(fragment.contains(r#"id="profile-details""#));

    let saved = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", " Emmeline "),
                ("last_name", "Wright-Jones"),
                ("email", "emma@example.com"),
                ("phone", "+44 20 7946 0958"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let fragment = saved.text().await.unwrap();
    assert!(fragment.starts_with("<section"), "{fragment:.80}");
    assert!(fragment.contains("+44 20 7946 0958"));
    assert!(fragment.contains("Your details were saved."));
    let user = app
        .accounts
        .store
        .user_by_email("emma@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(user.first_name.as_str(), "Emmeline");
    assert_eq!(user.last_name.as_str(), "Wright-Jones");
    assert_eq!(user.phone.unwrap().as_str(), "+44 20 7946 0958");
    // Clearing the optional phone is allowed.
    let cleared = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", "Emmeline"),
                ("last_name", "Wright-Jones"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    assert!(app.stored_user("emma@example.com").phone.is_none());
}

#[tokio::test]
async fn invalid_input_is_explained_beside_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let csrf = csrf_of(&browser.get_text("/profile").await);
    let before = app
        .accounts
        .store
        .user_by_email("emma@example.com")
        .unwrap()
        .unwrap();

    let response = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", ""),
                ("last_name", "Wright"),
                ("phone", "call me maybe"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fragment = response.text().await.unwrap();
    assert!(fragment.starts_with("<form"));
    assert!(
        fragment
            .contains(r#"<p class="field-error" id="field-first_name-error">Enter a name.</p>"#),
        "{fragment}"
    );
    assert!(fragment.contains(r#"id="field-phone-error">Enter a phone number"#));
    assert!(fragment.contains(r#"aria-invalid="true""#));
    assert!(
        fragment.contains(r#"value="call me maybe""#),
        "what was typed is kept"
    );
    // A malformed new address is refused beside the field.
    let response = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "not an address"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="field-email-error">Enter an email address like name@example.com."#)
    );
    // Oversized and hostile values too.
    let long = "x".repeat(65);
    for (field, value) in [
        ("first_name", long.as_str()),
        ("last_name", "<script>alert(1)</script>"),
    ] {
        let mut fields = vec![("first_name", "Emma"), ("last_name", "Wright")];
        fields.retain(|(f, _)| *f != field);
        fields.push((field, value));
        let response = browser.htmx_post("/profile", &csrf, &fields).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !response.text().await.unwrap().contains("<script>alert"),
            "values are escaped"
        );
    }
    assert_eq!(app.stored_user("emma@example.com"), before);
}

#[tokio::test]
async fn editing_works_without_javascript() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let page = browser.get("/profile/edit").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"action="/profile""#));
    let csrf = csrf_of(&html);

    let bad = browser
        .post_raw(
            "/profile",
            &[("csrf", &csrf), ("first_name", "Emma"), ("last_name", "")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Enter a name."));

    let ok = browser
        .post_raw(
            "/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("phone", "020 7946 0958"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/profile?saved=1");
    let html = browser.get_text("/profile?saved=1").await;
    assert!(html.contains("020 7946 0958") && html.contains("Your details were saved."));
}

#[tokio::test]
async fn with_self_service_off_there_is_no_pencil_and_forged_edits_get_403() {
    let app = TestApp::spawn_with(|c| c.accounts.self_service_profile_updates = false).await;
    let browser = app.signed_in("emma@example.com", false).await;
    let html = browser.get_text("/profile").await;
    assert!(!html.contains("Edit your details"));
    assert!(html.contains("An administrator can update your details"));
    let csrf = csrf_of(&html);
    let before = app
        .accounts
        .store
        .user_by_email("emma@example.com")
        .unwrap()
        .unwrap();

    assert_eq!(
        browser.get("/profile/edit").await.status(),
        StatusCode::FORBIDDEN
    );
    let forged = browser
        .post_raw(
            "/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Mallory"),
                ("last_name", "Wright"),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("Not allowed"));
    let forged = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[("first_name", "Mallory"), ("last_name", "Wright")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.stored_user("emma@example.com"), before);

    // The setting applies at once when an administrator turns it back on.
    app.accounts
        .store
        .modify_account_settings(|s| s.self_service_profile_updates = true)
        .unwrap();
    assert!(
        browser
            .get_text("/profile")
            .await
            .contains("Edit your details")
    );
}

#[tokio::test]
async fn the_account_menu_follows_permissions_and_routes_check_them() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let html = admin.get_text("/profile").await;
    for link in [
        "/account/users",
        "/account/roles",
        "/account/settings",
        "/account/audit",
    ] {
        assert!(html.contains(&format!(r#"href="{link}""#)), "{link}");
        assert_eq!(admin.get(link).await.status(), StatusCode::OK);
    }
    let user = app.signed_in("user@example.com", false).await;
    for link in [
        "/account/users",
        "/account/roles",
        "/account/settings",
        "/account/audit",
    ] {
        assert_eq!(
            user.get(link).await.status(),
            StatusCode::FORBIDDEN,
            "{link}"
        );
    }
    assert_eq!(
        app.client().get("/account/users").await.status(),
        StatusCode::SEE_OTHER
    );
}

/// A save must not undo a change made to another field of the same user while
/// it ran (a sign-in's time today; roles, passwords and 2FA tomorrow): the
/// stored sign-in time, written by a concurrent writer, never goes backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_save_never_undoes_a_concurrent_change() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let id = app.stored_user("emma@example.com").id;
    let page = browser.get_text("/profile").await;
    let csrf = csrf_of(&page);
    let done = Arc::new(AtomicBool::new(false));

    // Another writer: records ever later sign-in times, one at a time.
    let writer = {
        let (store, done) = (app.accounts.store.clone(), done.clone());
        std::thread::spawn(move || {
            // Later than the real sign-in that opened the session.
            let mut at = 10_000_000_000;
            while !done.load(Ordering::Relaxed) {
                at += 1;
                store
                    .modify_user::<latchkey::store::StoreError>(id, |u| {
                        u.last_sign_in_at = Some(at);
                        Ok(())
                    })
                    .unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    // A watcher: the stored time must only ever move forward.
    let watcher = {
        let (store, done) = (app.accounts.store.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = 0;
            let mut regressions = 0;
            while !done.load(Ordering::Relaxed) {
                let now = store
                    .user(id)
                    .unwrap()
                    .unwrap()
                    .last_sign_in_at
                    .unwrap_or(0);
                if now < seen {
                    regressions += 1;
                }
                seen = seen.max(now);
            }
            regressions
        })
    };
    for i in 0..40 {
        let phone = format!("+44 20 7946 {:04}", i);
        let r = browser
            .htmx_post(
                "/profile",
                &csrf,
                &[
                    ("first_name", "Emma"),
                    ("last_name", "Wright"),
                    ("email", "emma@example.com"),
                    ("phone", &phone),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(watcher.join().unwrap(), 0, "a save wrote back a stale copy");
    let user = app.stored_user("emma@example.com");
    assert_eq!(user.phone.unwrap().as_str(), "+44 20 7946 0039");
}

/// The `id`s a page uses more than once, and how many `<h1>` it has.
fn duplicate_ids_and_h1s(html: &str) -> (Vec<String>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for rest in html.split(" id=\"").skip(1) {
        let id = rest.split('"').next().unwrap_or_default().to_owned();
        if !seen.insert(id.clone()) {
            duplicates.push(id);
        }
    }
    (duplicates, html.matches("<h1").count())
}

#[tokio::test]
async fn the_profile_and_settings_hold_both_2fa_and_mail_parts_with_unique_ids() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    // Everything the Profile can show at once: 2FA on, a pending address,
    // a deletion request, more than one session.
    crate::two_factor::set_up(&admin).await;
    crate::two_factor::reauthenticate(&admin).await;
    let moved = admin
        .submit(
            "/profile/edit",
            "/profile",
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "admin.new@example.com"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(location(&moved), "/profile?notice=email_link_sent");
    let asked = admin.submit("/profile", "/profile/delete", &[]).await;
    assert_eq!(location(&asked), "/profile?notice=deletion_requested");
    let html = admin.get_text("/profile").await;
    let order = [
        r#"id="profile-details""#,
        r#"id="pending-email""#,
        r#"id="two-factor""#,
        "New recovery codes",
        r#"id="deletion-requested""#,
        "Delete user account",
        r#"id="sessions""#,
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|part| html.find(part).unwrap_or_else(|| panic!("no {part}")))
        .collect();
    assert!(positions.is_sorted(), "{order:?} at {positions:?}");
    assert_eq!(duplicate_ids_and_h1s(&html), (vec![], 1), "Profile");
    let dialog = admin
        .htmx_get("/profile/delete")
        .await
        .text()
        .await
        .unwrap();
    let (with_dialog, _) = duplicate_ids_and_h1s(&format!("{html}{dialog}"));
    assert!(with_dialog.is_empty(), "dialog ids {with_dialog:?}");

    // Settings: the Require 2FA switch saves, and the outbox lists the mail.
    let saved = crate::settings::require_2fa(&admin).await;
    assert_eq!(location(&saved), "/account/settings?saved=1");
    assert!(
        app.accounts
            .store
            .account_settings()
            .unwrap()
            .require_2fa_for_local_users
    );
    let html = admin.get_text("/account/settings?saved=1").await;
    for part in [
        r#"id="require-2fa""#,
        r#"id="outgoing-mail""#,
        "Confirm your new email address",
        "Send test email",
    ] {
        assert!(html.contains(part), "Settings lacks {part}");
    }
    assert_eq!(duplicate_ids_and_h1s(&html), (vec![], 1), "Settings");
}
