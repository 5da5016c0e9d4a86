//! CSRF, security headers, CSP, error pages, health and assets.

use reqwest::StatusCode;

use crate::support::{PASSWORD, TestApp, csrf_of};

#[tokio::test]
async fn mutations_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let before = app
        .accounts
        .store
        .user_by_email("emma@example.com")
        .unwrap()
        .unwrap();
    let fields = [("first_name", "Mallory"), ("last_name", "Wright")];

    let missing = browser.post_raw("/profile", &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("Form expired"));
    let wrong = browser
        .post_raw("/profile", &[("csrf", "forged"), fields[0], fields[1]])
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let wrong_header = browser.htmx_post("/profile", "forged", &fields).await;
    assert_eq!(wrong_header.status(), StatusCode::FORBIDDEN);
    // Another person's valid token is no good either.
    let other = app.signed_in("other@example.com", false).await;
    let their_token = csrf_of(&other.get_text("/profile").await);
    let stolen = browser.htmx_post("/profile", &their_token, &fields).await;
    assert_eq!(stolen.status(), StatusCode::FORBIDDEN);
    // JSON bodies can't smuggle past the form check.
    let json = browser
        .http
        .post(app.url("/profile"))
        .json(&serde_json::json!({"first_name": "M"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::FORBIDDEN);
    // Log out is a mutation too.
    assert_eq!(
        browser.post_raw("/signout", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser.get("/profile").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    assert_eq!(app.stored_user("emma@example.com"), before);
}

#[tokio::test]
async fn the_sign_in_form_is_protected_before_sign_in() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let browser = app.client();
    browser.get("/signin").await;
    let response = browser
        .post_raw(
            "/signin",
            &[("email", "emma@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A client with no cookie at all (a cross-site form post) is refused too.
    let response = reqwest::Client::new()
        .post(app.url("/signin"))
        .form(&[
            ("email", "emma@example.com"),
            ("password", PASSWORD),
            ("csrf", "anything"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let css = latchkey::web::assets::url("app.css");
    for path in [
        "/signin",
        "/profile",
        "/no/such/page",
        "/healthz",
        css.as_str(),
    ] {
        let response = browser.get(path).await;
        let h = response.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer", "{path}");
    }
    let profile = browser.get("/profile").await;
    assert_eq!(profile.headers().get("cache-control").unwrap(), "no-store");
    assert!(
        profile
            .headers()
            .get_all("vary")
            .iter()
            .any(|v| v == "HX-Request")
    );
}

#[tokio::test]
async fn pages_need_no_inline_script_or_style() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", true).await;
    for path in ["/profile", "/profile/edit", "/account/users", "/nowhere"] {
        let html = browser.get_text(path).await;
        assert!(!html.contains(" style="), "{path} has a style attribute");
        for script in html.split("<script").skip(1) {
            assert!(
                script.trim_start().starts_with("src="),
                "{path} has an inline script"
            );
        }
        assert!(
            !html.contains(" onclick=") && !html.contains(" hx-on"),
            "{path} has an inline handler"
        );
        assert!(
            html.contains(r#""allowEval":false"#) || html.contains("&quot;allowEval&quot;:false")
        );
    }
}

#[tokio::test]
async fn unknown_routes_get_a_styled_404() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("Page not found")
            && html.contains("app.")
    );
    let fragment = app.client().htmx_get("/no/such/page").await;
    assert_eq!(fragment.status(), StatusCode::NOT_FOUND);
    assert!(fragment.text().await.unwrap().starts_with("<section"));
}

#[tokio::test]
async fn malformed_requests_get_4xx_not_500() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("emma@example.com", false).await;
    let csrf = csrf_of(&browser.get_text("/profile").await);
    let huge = "x".repeat(100 * 1024);
    let too_big = browser
        .post_raw("/profile", &[("csrf", &csrf), ("first_name", &huge)])
        .await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let garbage = browser
        .http
        .post(app.url("/profile"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-CSRF-Token", &csrf)
        .body("%%%&&&=\u{0}")
        .send()
        .await
        .unwrap();
    assert!(garbage.status().is_client_error(), "{}", garbage.status());
    for path in [
        "/setup",
        "/setup?token=%FF",
        "/profile?saved=%00",
        "/assets/../../etc/passwd",
        "/account/%2e%2e",
    ] {
        let status = app.client().get(path).await.status();
        assert!(
            status.is_client_error() || status.is_redirection(),
            "{path}: {status}"
        );
    }
}

#[tokio::test]
async fn health_answers_when_the_store_is_readable() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn assets_are_embedded_hashed_and_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let url = latchkey::web::assets::url("vendor/htmx.min.js");
    assert!(
        url.starts_with("/assets/vendor/htmx.min.") && url.ends_with(".js"),
        "{url}"
    );
    let response = app.client().get(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    assert!(content_type(&response).contains("javascript"));
    // Unhashed names are not served: every reference must go through url().
    assert_eq!(
        app.client().get("/assets/app.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn vendored_htmx_is_unmodified() {
    // SHA-256 of dist/htmx.min.js in the npm registry's htmx.org 2.0.11 tarball.
    assert_eq!(
        latchkey::web::assets::sha256_hex("vendor/htmx.min.js").as_deref(),
        Some("d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717")
    );
}

fn content_type(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}
