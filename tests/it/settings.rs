//! The account Settings screen: permission checks and settings that apply at once.

use reqwest::StatusCode;

use crate::support::{Client, TestApp, csrf_of, location};

/// Turns *Require 2FA for local users* on from the Settings page (leaving
/// self-service profile updates on).
pub async fn require_2fa(admin: &Client) -> reqwest::Response {
    admin
        .submit(
            "/account/settings",
            "/account/settings",
            &[
                ("self_service_profile_updates", "on"),
                ("require_2fa_for_local_users", "on"),
            ],
        )
        .await
}

#[tokio::test]
async fn an_administrator_turns_self_service_off_and_it_applies_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let user = app.signed_in("user@example.com", false).await;
    assert!(
        user.get_text("/profile")
            .await
            .contains("Edit your details")
    );

    let page = admin.get_text("/account/settings").await;
    assert!(page.contains("Enable self-service user profile updates"));
    assert!(
        page.contains(r#"name="self_service_profile_updates" value="on" checked"#),
        "on by default"
    );
    // Unticking the checkbox means the field is not sent.
    let saved = admin
        .post_raw("/account/settings", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/account/settings?saved=1");
    assert!(
        !app.accounts
            .store
            .account_settings()
            .unwrap()
            .self_service_profile_updates
    );
    let html = user.get_text("/profile").await;
    assert!(
        !html.contains("Edit your details")
            && html.contains("An administrator can update your details")
    );

    // Back on, through htmx this time.
    let csrf = csrf_of(&admin.get_text("/account/settings").await);
    let fragment = admin
        .htmx_post(
            "/account/settings",
            &csrf,
            &[("self_service_profile_updates", "on")],
        )
        .await;
    assert_eq!(fragment.status(), StatusCode::OK);
    let fragment = fragment.text().await.unwrap();
    assert!(fragment.starts_with("<form") && fragment.contains("Settings saved."));
    assert!(
        user.get_text("/profile")
            .await
            .contains("Edit your details")
    );
}

#[tokio::test]
async fn settings_need_the_settings_permission() {
    let app = TestApp::spawn().await;
    let user = app.signed_in("user@example.com", false).await;
    assert_eq!(
        user.get("/account/settings").await.status(),
        StatusCode::FORBIDDEN
    );
    let csrf = csrf_of(&user.get_text("/profile").await);
    let forged = user.post_raw("/account/settings", &[("csrf", &csrf)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        app.accounts
            .store
            .account_settings()
            .unwrap()
            .self_service_profile_updates
    );
    let anonymous = app.client();
    assert_eq!(
        location(&anonymous.get("/account/settings").await),
        "/signin?next=%2Faccount%2Fsettings"
    );
}
