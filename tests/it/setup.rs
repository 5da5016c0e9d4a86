//! First start: the one-time set-up link.

use reqwest::StatusCode;

use crate::support::{TestApp, csrf_of, location, setup_form};

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/".into(), |i| after_scheme[i..].to_owned())
}

#[tokio::test]
async fn the_set_up_link_creates_the_first_administrator_once() {
    let app = TestApp::spawn().await;
    let link = path_of(
        app.setup_url
            .as_deref()
            .expect("a set-up link with no users"),
    );
    let token = link
        .split("token=")
        .nth(1)
        .expect("token in link")
        .to_owned();

    let browser = app.client();
    assert!(
        browser
            .get_text("/signin")
            .await
            .contains("There are no accounts yet.")
    );
    let page = browser.get(&link).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Set up Latchkey"));
    let csrf = csrf_of(&html);

    // Invalid input re-renders with messages and creates nobody.
    let bad = browser
        .post_raw(
            "/setup",
            &[
                ("token", &token),
                ("csrf", &csrf),
                ("first_name", "Ada"),
                ("last_name", ""),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "other"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Enter a name."));
    assert!(html.contains("Enter an email address like name@example.com."));
    assert!(html.contains("Use at least 12 characters."));
    assert!(
        html.contains("The passwords don&#39;t match.")
            || html.contains("The passwords don't match.")
    );
    assert_eq!(app.accounts.store.user_count().unwrap(), 0);

    let ok = browser
        .post_raw(
            "/setup",
            &setup_form(&csrf, &token, "Ada", "Lovelace", "ada@example.com"),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/profile");
    // Signed in straight away, as a Global Administrator with the admin menu.
    let profile = browser.get_text("/profile").await;
    assert!(profile.contains("Ada Lovelace"));
    assert!(
        !app.client()
            .get_text("/signin")
            .await
            .contains("There are no accounts yet.")
    );
    assert!(profile.contains(r#"href="/account/users""#));
    let user = app
        .accounts
        .store
        .user_by_email("ADA@example.com")
        .unwrap()
        .unwrap();
    assert!(user.is_global_administrator());

    // The link is spent: neither the page nor a second submission works.
    let other = app.client();
    assert_eq!(other.get(&link).await.status(), StatusCode::NOT_FOUND);
    let page = other.get_text("/signin").await;
    let again = other
        .post_raw(
            "/setup",
            &setup_form(&csrf_of(&page), &token, "Eve", "X", "eve@example.com"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.accounts.store.user_count().unwrap(), 1);
}

#[tokio::test]
async fn a_made_up_set_up_token_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client()
        .get("/setup?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Link not valid"));
}

#[tokio::test]
async fn with_users_there_is_no_set_up_link_and_the_roles_exist() {
    let app = TestApp::spawn().await;
    let link = app.setup_url.clone().unwrap();
    app.user("first@example.com", true).await;
    // Creating a user from the command line retires the pending link.
    let path = path_of(&link);
    assert_eq!(
        app.client().get(&path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.accounts.prepare_setup_link().await.unwrap(), None);
    let roles: Vec<String> = app
        .accounts
        .store
        .roles()
        .unwrap()
        .into_iter()
        .map(|r| r.name.into())
        .collect();
    assert_eq!(roles, ["Global Administrator", "Operator"]);
}
