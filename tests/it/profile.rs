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
    // An email change is refused here: it needs confirmation by mail.
    let response = browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", "Emma"),
                ("last_name", "Wright"),
                ("email", "new@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Changing your email address is not available yet.")
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
    let mut settings = app.accounts.store.account_settings().unwrap();
    settings.self_service_profile_updates = true;
    app.accounts.store.set_account_settings(settings).unwrap();
    assert!(
        browser
            .get_text("/profile")
            .await
            .contains("Edit your details")
    );
}

#[tokio::test]
async fn the_placeholder_screens_say_they_are_not_available_yet() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    for path in [
        "/profile/2fa",
        "/profile/delete",
        "/password/forgot?email=emma%40example.com",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Not available yet."),
            "{path}"
        );
    }
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
