//! End to end in headless Chromium (Debian's `chromium` and `chromium-driver`):
//! sign in, edit the phone number in place, and see it survive a reload.
//! Screenshots of each page go to `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, free_port};
use latchkey::domain::{Email, PersonName, UserStatus};
use latchkey::store::{NewUser, StoreError};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    process: Child,
    profile: tempfile::TempDir,
    client: Client,
}

impl Drop for Driver {
    /// After a failed assertion `stop` never runs: leave no browser behind.
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self.profile.path())
            .status();
    }
}

impl Driver {
    async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{CHROMEDRIVER} must be installed (package chromium-driver): {e}")
            });
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver did not start a session: {e}"),
            }
        };
        Self {
            process,
            profile,
            client,
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("can't click {css}: {e}"));
    }

    /// Signs in through the form and waits for the Profile page.
    async fn sign_in(&self, app: &TestApp, email: &str) {
        self.client.goto(&app.url("/signin")).await.unwrap();
        type_into(self, "#field-email", email).await;
        type_into(self, "#field-password", PASSWORD).await;
        self.click("button[type=submit]").await;
        self.wait_for(".initials-circle").await;
    }

    async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

async fn type_into(driver: &Driver, css: &str, text: &str) {
    let field = driver.wait_for(css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_edit_the_phone_in_place_and_reload() {
    let app = TestApp::spawn().await;
    let driver = Driver::start(1280, 900).await;
    let c = &driver.client;

    // The set-up page, before anyone exists.
    let setup = app.setup_url.clone().unwrap();
    c.goto(&setup).await.unwrap();
    driver.wait_for("#field-first_name").await;
    driver.screenshot("setup").await;

    app.user("emma@example.com", true).await;
    c.goto(&app.url("/signin")).await.unwrap();
    type_into(&driver, "#field-email", "emma@example.com").await;
    type_into(&driver, "#field-password", PASSWORD).await;
    driver.screenshot("signin").await;
    driver.click("button[type=submit]").await;
    driver.wait_for(".initials-circle").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/profile")
    );
    driver.screenshot("profile").await;

    // A marker on the window survives only if the page is not reloaded.
    c.execute("window.latchkeyMarker = 'same page'; return true;", vec![])
        .await
        .unwrap();
    driver.click("a.icon-button.edit").await;
    driver.wait_for("form#profile-details #field-phone").await;
    // Focus moved into the form for keyboard users.
    let deadline = Instant::now() + Duration::from_secs(5);
    let focused = loop {
        let focused = c
            .execute("return document.activeElement.id;", vec![])
            .await
            .unwrap();
        if focused == json!("field-first_name") || Instant::now() > deadline {
            break focused;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(focused, json!("field-first_name"));
    type_into(&driver, "#field-phone", "not a phone").await;
    driver
        .click("form#profile-details button[type=submit]")
        .await;
    driver.wait_for("#field-phone-error").await;
    driver.screenshot("profile-edit-error").await;

    type_into(&driver, "#field-phone", "+44 20 7946 0958").await;
    driver
        .click("form#profile-details button[type=submit]")
        .await;
    let phone = driver
        .wait_for("section#profile-details #phone-value")
        .await;
    assert_eq!(phone.text().await.unwrap(), "+44 20 7946 0958");
    let marker = c
        .execute("return window.latchkeyMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("same page"), "saved without a full page load");
    driver.screenshot("profile-saved").await;

    c.refresh().await.unwrap();
    let phone = driver.wait_for("#phone-value").await;
    assert_eq!(phone.text().await.unwrap(), "+44 20 7946 0958");
    let marker = c
        .execute("return window.latchkeyMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!(null), "the reload was a real one");

    // Under the strict CSP our stylesheet applied (htmx evidently ran, above).
    let radius = c
        .execute(
            "return getComputedStyle(document.querySelector('.initials-circle')).borderRadius;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(radius, json!("50%"));

    for (path, name) in [
        ("/account/settings", "settings"),
        ("/account/roles", "account-section"),
        ("/nowhere", "not-found"),
        ("/profile/2fa", "two-factor"),
    ] {
        c.goto(&app.url(path)).await.unwrap();
        driver.wait_for("main h1").await;
        driver.screenshot(name).await;
    }
    driver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_menu_folds_behind_a_button() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", true).await;
    let driver = Driver::start(390, 844).await;
    let c = &driver.client;
    driver.sign_in(&app, "emma@example.com").await;
    let menu = c.find(Locator::Css("#side-menu")).await.unwrap();
    assert!(!menu.is_displayed().await.unwrap(), "folded away");
    driver.screenshot("profile-phone").await;
    driver.click("[data-menu-toggle]").await;
    assert!(
        menu.is_displayed().await.unwrap(),
        "opened by the menu button"
    );
    driver.screenshot("profile-phone-menu").await;
    driver.stop().await;
}

/// Rows in the Users table right now.
async fn rows(driver: &Driver) -> Vec<String> {
    let found = driver
        .client
        .execute(
            "return Array.from(document.querySelectorAll('#users-results tbody tr')).map(r => r.innerText);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// Waits until `check` holds for the rows (htmx swaps after a pause).
async fn rows_until(driver: &Driver, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = rows(driver).await;
        if check(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: rows are {found:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_page_filters_as_you_type_and_edits_in_a_dialog() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", true).await;
    app.accounts
        .store
        .transact::<_, StoreError>(|t| {
            for (first, last, email, status) in [
                (
                    "Ada",
                    "Lovelace",
                    "ada@analytical.example",
                    UserStatus::Active,
                ),
                ("Grace", "Hopper", "grace@navy.example", UserStatus::Active),
                (
                    "Alan",
                    "Turing",
                    "alan@bletchley.example",
                    UserStatus::Invited,
                ),
                (
                    "Katherine",
                    "Johnson",
                    "kj@nasa.example",
                    UserStatus::Active,
                ),
            ] {
                t.insert_user(NewUser {
                    first_name: PersonName::parse(first).unwrap(),
                    last_name: PersonName::parse(last).unwrap(),
                    email: Email::parse(email).unwrap(),
                    phone: None,
                    status,
                    password_hash: None,
                    roles: Vec::new(),
                    created_at: 1_700_000_000,
                })?;
            }
            Ok(())
        })
        .unwrap();
    let ada = app.stored_user("ada@analytical.example");
    app.accounts
        .store
        .modify_user::<StoreError>(ada.id, |u| {
            u.deletion_requested_at = Some(1_700_000_000);
            Ok(())
        })
        .unwrap();
    let driver = Driver::start(1280, 900).await;
    let c = &driver.client;
    driver.sign_in(&app, "emma@example.com").await;
    c.goto(&app.url("/account/users")).await.unwrap();
    driver.wait_for("#users-results tbody tr").await;
    assert_eq!(rows(&driver).await.len(), 5);
    driver.screenshot("users").await;

    // Typing part of a name filters the table in place.
    c.execute("window.latchkeyMarker = 'same page'; return true;", vec![])
        .await
        .unwrap();
    type_into(&driver, "#search-q", "LOV").await;
    let found = rows_until(&driver, "filtered", |r| r.len() == 1).await;
    assert!(found[0].contains("Ada Lovelace"), "{found:?}");
    let marker = c
        .execute("return window.latchkeyMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("same page"), "filtered without a page load");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/account/users?q=LOV")
    );
    let focused = c
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("search-q"),
        "the cursor stays in the search box"
    );
    driver.screenshot("users-search").await;

    // Edit in a dialog; Save puts the row back in place.
    driver.click("#users-results a.icon-button.edit").await;
    driver.wait_for("dialog[open] #field-phone").await;
    driver.screenshot("user-edit-dialog").await;
    type_into(&driver, "dialog[open] #field-phone", "+44 20 7946 0958").await;
    type_into(&driver, "dialog[open] #field-last_name", "King").await;
    driver.click("dialog[open] button[type=submit]").await;
    rows_until(&driver, "saved", |r| {
        r.len() == 1 && r[0].contains("Ada King")
    })
    .await;
    let dialogs = c
        .execute("return document.querySelectorAll('dialog').length;", vec![])
        .await
        .unwrap();
    assert_eq!(dialogs, json!(0), "the dialog closed");
    assert_eq!(
        app.stored_user("ada@analytical.example")
            .phone
            .unwrap()
            .to_string(),
        "+44 20 7946 0958"
    );

    // Clearing the search brings everyone back.
    type_into(&driver, "#search-q", "").await;
    c.execute(
        "document.getElementById('search-q').dispatchEvent(new Event('search')); return true;",
        vec![],
    )
    .await
    .unwrap();
    rows_until(&driver, "cleared", |r| r.len() == 5).await;

    // The User page and its tabs.
    c.goto(&app.url(&format!("/account/users/{}", ada.id)))
        .await
        .unwrap();
    driver.wait_for("#user-details").await;
    driver.screenshot("user-details").await;
    driver.click("nav.tabs li:nth-child(2) a").await;
    driver.wait_for("#field-role").await;
    driver.click("form.add-role button[type=submit]").await;
    driver.wait_for("#user-main .notice-success").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with(&format!("/account/users/{}/roles", ada.id))
    );
    driver.screenshot("user-roles").await;
    driver.click("nav.tabs li:nth-child(3) a").await;
    driver.wait_for("#user-history-title").await;
    driver.screenshot("user-history").await;
    driver.click("nav.tabs li:nth-child(1) a").await;
    driver.click(".danger-zone a").await;
    driver.wait_for("dialog[open] button.danger").await;
    driver.screenshot("user-delete-dialog").await;
    driver.click("dialog[open] button.danger").await;
    driver.wait_for(".notice-success").await;
    assert!(app.accounts.store.user(ada.id).unwrap().is_none());
    driver.screenshot("users-after-delete").await;
    driver.stop().await;
}
