//! End to end in headless Chromium (Debian's `chromium` and `chromium-driver`):
//! sign in, edit the phone number in place, and see it survive a reload; set
//! 2FA up and sign in again with a code; reset a forgotten password by the
//! mailed link, ask for an email change and a deletion; invite a user who
//! accepts by the mailed link and becomes an Operator. Screenshots go to
//! `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, free_port};
use crate::two_factor::Phone;
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
        Self::start_with(width, height, false).await
    }

    /// A browser whose pages see `prefers-color-scheme: dark` when `dark`.
    async fn start_with(width: u32, height: u32, dark: bool) -> Self {
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
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if dark {
            args.push("--blink-settings=preferredColorScheme=0".to_owned());
            args.push("--force-dark-mode".to_owned());
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
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
        save_screenshot(name, &self.client.screenshot().await.expect("screenshot"));
    }

    /// A screenshot of one element (all of it, however long the page).
    async fn screenshot_of(&self, css: &str, name: &str) {
        let png = self
            .wait_for(css)
            .await
            .screenshot()
            .await
            .expect("screenshot");
        save_screenshot(name, &png);
    }

    /// `map` (a JavaScript function of one element) applied to every element
    /// `css` matches, in document order.
    async fn each(&self, css: &str, map: &str) -> Vec<String> {
        let script =
            format!("return Array.from(document.querySelectorAll(arguments[0])).map({map});");
        let found = self
            .client
            .execute(&script, vec![css.into()])
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Leaves a mark on the page shown now: an htmx swap keeps it, a page
    /// load wipes it (see [`Driver::page_mark`]).
    async fn mark_page(&self, mark: &str) {
        self.client
            .execute(
                "window.latchkeyMarker = arguments[0]; return true;",
                vec![mark.into()],
            )
            .await
            .unwrap();
    }

    /// The mark left by [`Driver::mark_page`], if this is still that page.
    async fn page_mark(&self) -> Option<String> {
        let found = self
            .client
            .execute("return window.latchkeyMarker || null;", vec![])
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
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

/// Where the browser tests leave their screenshots, for people to look at.
fn save_screenshot(name: &str, png: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
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
    driver.mark_page("same page").await;
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
    assert_eq!(
        driver.page_mark().await,
        Some("same page".into()),
        "saved without a full page load"
    );
    driver.screenshot("profile-saved").await;

    c.refresh().await.unwrap();
    let phone = driver.wait_for("#phone-value").await;
    assert_eq!(phone.text().await.unwrap(), "+44 20 7946 0958");
    assert_eq!(driver.page_mark().await, None, "the reload was a real one");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_a_dark_system_theme_on_desktop_and_phone() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", true).await;
    for (width, height, suffix) in [(1280, 900, ""), (390, 844, "-phone")] {
        let driver = Driver::start_with(width, height, true).await;
        let c = &driver.client;
        driver.sign_in(&app, "emma@example.com").await;
        let dark = c
            .execute(
                "return window.matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(dark, json!(true), "the browser asks for a dark theme");
        let background = c
            .execute(
                "return getComputedStyle(document.body).backgroundColor;",
                vec![],
            )
            .await
            .unwrap();
        assert_ne!(
            background,
            json!("rgb(255, 255, 255)"),
            "the page follows it"
        );
        for (path, name) in [
            ("/profile", "profile"),
            ("/account/users", "users"),
            ("/account/users/1", "user-details"),
            ("/account/roles", "roles"),
            ("/account/settings", "settings"),
            ("/account/audit", "audit"),
        ] {
            c.goto(&app.url(path)).await.unwrap();
            driver.wait_for("main h1").await;
            driver.screenshot(&format!("dark-{name}{suffix}")).await;
            // Wide tables scroll inside their frame; the page never sideways.
            let sideways = c
                .execute(
                    "const d = document.documentElement; return d.scrollWidth > d.clientWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(sideways, json!(false), "{path} scrolls sideways");
        }
        driver.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_2fa_then_sign_in_again_with_a_code() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;
    let driver = Driver::start(1280, 900).await;
    let c = &driver.client;
    driver.sign_in(&app, "emma@example.com").await;

    // The 2FA switch (brought to life by app.js) opens set-up.
    driver.click("label[for=two-factor]").await;
    let key = driver.wait_for("#totp-key").await.text().await.unwrap();
    driver.wait_for("svg.qr-code").await;
    driver.screenshot("two-factor-setup").await;
    let mut phone = Phone::from_key(&key);
    type_into(&driver, "#field-code", &phone.next_code()).await;
    driver.click("#two-factor-setup button[type=submit]").await;

    driver.wait_for("#recovery-codes").await;
    let codes = c
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    driver.click("[data-copy]").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let text = driver.wait_for("#copy-status").await.text().await.unwrap();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.contains("Copied") || status.contains("copy them yourself"),
        "{status}"
    );
    driver.screenshot("two-factor-recovery-codes").await;
    driver.click("a.button.primary").await;
    driver.wait_for(".initials-circle").await;
    let description = driver
        .wait_for("#two-factor-description")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        description.contains("10 recovery codes left"),
        "{description}"
    );
    c.execute(
        "document.getElementById('sessions').scrollIntoView(); return true;",
        vec![],
    )
    .await
    .unwrap();
    driver.screenshot("profile-sessions").await;
    // Turning 2FA off asks who is there first.
    c.goto(&app.url("/profile/2fa/disable")).await.unwrap();
    driver.wait_for("#field-password").await;
    driver.screenshot("reauthenticate").await;
    c.goto(&app.url("/profile")).await.unwrap();
    driver.wait_for(".initials-circle").await;

    // Log out, then sign in again: the password, then a code.
    driver.click("form[action='/signout'] button").await;
    driver.wait_for("#field-email").await;
    type_into(&driver, "#field-email", "emma@example.com").await;
    type_into(&driver, "#field-password", PASSWORD).await;
    driver.click("button[type=submit]").await;
    driver.wait_for("#field-code").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/signin/2fa")
    );
    type_into(&driver, "#field-code", "000000").await;
    driver
        .click("form[action='/signin/2fa'] button[type=submit]")
        .await;
    driver.wait_for("#field-code-error").await;
    driver.screenshot("signin-second-step").await;
    type_into(&driver, "#field-code", &phone.next_code()).await;
    driver
        .click("form[action='/signin/2fa'] button[type=submit]")
        .await;
    driver.wait_for(".initials-circle").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/profile")
    );
    driver.stop().await;
}

/// Polls `script` (which returns a value) until it returns `expected`.
async fn wait_until(driver: &Driver, script: &str, expected: serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = driver.client.execute(script, vec![]).await.unwrap();
        if found == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{script}: {found} ≠ {expected}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgotten_password_by_mail_then_sign_in_with_the_new_one() {
    const NEW_PASSWORD: &str = "quiet lantern orchard 4412";
    let smtp = crate::smtp::SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| smtp.configure(c)).await;
    app.user("emma@example.com", true).await;
    let driver = Driver::start(1280, 900).await;
    let c = &driver.client;

    c.goto(&app.url("/signin")).await.unwrap();
    driver.click("a[href='/password/forgot']").await;
    type_into(&driver, "#field-email", "emma@example.com").await;
    driver.screenshot("password-forgot").await;
    driver.click("#password-forgot button[type=submit]").await;
    driver.wait_for("#password-forgot .notice-success").await;
    driver.screenshot("password-forgot-sent").await;

    let mail = smtp.wait_for("emma@example.com").await;
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/password/reset?token="))
        .expect("a reset link");
    c.goto(&link).await.unwrap();
    type_into(&driver, "#field-password", "password1234").await;
    type_into(&driver, "#field-password_confirm", "password1234").await;
    driver.click("#password-reset button[type=submit]").await;
    driver.wait_for("#field-password-error").await;
    driver.screenshot("password-reset-error").await;

    type_into(&driver, "#field-password", NEW_PASSWORD).await;
    type_into(&driver, "#field-password_confirm", NEW_PASSWORD).await;
    driver.click("#password-reset button[type=submit]").await;
    driver.wait_for(".notice-success").await;
    assert!(c.current_url().await.unwrap().as_str().contains("/signin"));
    driver.screenshot("signin-after-reset").await;
    type_into(&driver, "#field-email", "emma@example.com").await;
    type_into(&driver, "#field-password", NEW_PASSWORD).await;
    driver.click("button[type=submit]").await;
    driver.wait_for(".initials-circle").await;

    // A new email address asks for the password first, comes back to the
    // form as typed, then waits for its link.
    driver.click("a.icon-button.edit").await;
    type_into(&driver, "#field-email", "emma.new@example.com").await;
    driver
        .click("form#profile-details button[type=submit]")
        .await;
    driver
        .wait_for("form[action='/reauthenticate'] #field-password")
        .await;
    driver.screenshot("reauthenticate-email-change").await;
    type_into(&driver, "#field-password", NEW_PASSWORD).await;
    driver
        .click("form[action='/reauthenticate'] button[type=submit]")
        .await;
    let email = driver.wait_for("form#profile-details #field-email").await;
    assert_eq!(
        email.prop("value").await.unwrap().as_deref(),
        Some("emma.new@example.com")
    );
    driver
        .click("form#profile-details button[type=submit]")
        .await;
    driver.wait_for("#pending-email").await;
    driver.screenshot("profile-email-pending").await;
    smtp.wait_for("emma.new@example.com").await;

    // Delete user account: a modal dialog; No closes it, Yes asks.
    driver.click("a[href='/profile/delete']").await;
    driver.wait_for("dialog#deletion-dialog[open]").await;
    driver.screenshot("deletion-dialog").await;
    driver
        .click("dialog .form-actions [data-close-dialog]")
        .await;
    wait_until(
        &driver,
        "return document.querySelector('dialog') === null;",
        json!(true),
    )
    .await;
    driver.click("a[href='/profile/delete']").await;
    driver
        .click("dialog#deletion-dialog[open] button[type=submit]")
        .await;
    driver.wait_for("#deletion-requested").await;
    driver.screenshot("profile-deletion-requested").await;
    // Reset, password changed, email-change notice, deletion request.
    smtp.wait_for_nth("emma@example.com", 4).await;

    // Tall enough to show the whole outbox in the screenshot.
    c.set_window_size(1280, 1500).await.unwrap();
    c.goto(&app.url("/account/settings")).await.unwrap();
    driver.click("#outgoing-mail button[type=submit]").await;
    driver.wait_for("#outgoing-mail .notice-success").await;
    driver.screenshot("settings-outbox").await;
    driver
        .screenshot_of("#outgoing-mail", "settings-outbox-card")
        .await;
    driver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_role_in_a_dialog_and_finds_it_in_the_audit_log() {
    use latchkey::domain::Permission;

    let app = TestApp::spawn().await;
    app.user("emma@example.com", true).await;
    let driver = Driver::start(1280, 900).await;
    let c = &driver.client;
    driver.sign_in(&app, "emma@example.com").await;
    c.goto(&app.url("/account/roles")).await.unwrap();
    driver.wait_for("#roles-results table").await;
    driver.screenshot("roles").await;
    driver.mark_page("same page").await;

    // Add role: a modal dialog, focus in its first field.
    driver
        .click("a.button.primary[href='/account/roles/new']")
        .await;
    driver.wait_for("dialog[open] #field-name").await;
    wait_until(
        &driver,
        "return document.activeElement.id;",
        json!("field-name"),
    )
    .await;
    type_into(&driver, "#field-name", "Help desk").await;
    type_into(
        &driver,
        "#field-description",
        "Answers the phone and reads the log",
    )
    .await;
    for switch in ["permission-users-view", "permission-audit-view"] {
        // Into the middle of the dialog: the sticky buttons cover its bottom edge.
        c.execute(
            &format!("document.querySelector('label[for={switch}]').scrollIntoView({{block: 'center'}}); return true;"),
            vec![],
        )
        .await
        .unwrap();
        driver.click(&format!("label[for={switch}]")).await;
    }
    c.execute(
        "document.querySelector('dialog .modal-body').scrollTop = 0; return true;",
        vec![],
    )
    .await
    .unwrap();
    driver.screenshot("role-form").await;
    driver.click("dialog button[type=submit]").await;
    let notice = driver.wait_for("#roles-results .notice-success").await;
    assert_eq!(notice.text().await.unwrap(), "Role “Help desk” created.");
    wait_until(
        &driver,
        "return document.querySelectorAll('dialog').length;",
        json!(0),
    )
    .await;
    assert_eq!(
        driver.page_mark().await,
        Some("same page".into()),
        "saved without a page load"
    );
    let role = app
        .accounts
        .store
        .roles()
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == "Help desk")
        .expect("stored");
    assert_eq!(
        role.permissions,
        [Permission::UsersView, Permission::AuditView]
    );
    driver.screenshot("roles-saved").await;

    // A taken name is refused inside the dialog; Cancel closes it, unchanged.
    driver
        .click("a.button.primary[href='/account/roles/new']")
        .await;
    type_into(&driver, "dialog[open] #field-name", "help DESK").await;
    driver.click("dialog button[type=submit]").await;
    let error = driver.wait_for("dialog[open] #field-name-error").await;
    assert_eq!(
        error.text().await.unwrap(),
        "Another role already has this name."
    );
    wait_until(
        &driver,
        "return document.activeElement.id;",
        json!("field-name"),
    )
    .await;
    driver.screenshot("role-form-error").await;
    driver
        .click("dialog .form-actions [data-close-dialog]")
        .await;
    wait_until(
        &driver,
        "return document.querySelectorAll('dialog').length;",
        json!(0),
    )
    .await;
    assert_eq!(app.accounts.store.roles().unwrap().len(), 3);

    // Search as you type narrows the list to it.
    type_into(&driver, "#search-q", "help").await;
    wait_until(
        &driver,
        "return document.querySelectorAll('#roles-results tbody tr').length;",
        json!(1),
    )
    .await;
    let name = driver.wait_for("#roles-results tbody .role-name").await;
    assert_eq!(name.text().await.unwrap(), "Help desk");

    // The audit log, filtered by action without a page load.
    c.goto(&app.url("/account/audit")).await.unwrap();
    driver.wait_for("#audit-panel table").await;
    driver.screenshot("audit").await;
    driver.mark_page("audit").await;
    let select = driver.wait_for("#field-action").await;
    select.select_by_value("role.created").await.unwrap();
    wait_until(
        &driver,
        "return [...document.querySelectorAll('#audit-panel tbody tr')].map(r => r.cells[1].textContent).join('|');",
        json!("Role created"),
    )
    .await;
    let detail = driver.wait_for("#audit-panel tbody .detail-cell").await;
    assert_eq!(detail.text().await.unwrap(), "Help desk");
    assert_eq!(
        driver.page_mark().await,
        Some("audit".into()),
        "filtered in place"
    );
    let address = c.current_url().await.unwrap();
    assert!(
        address.as_str().contains("action=role.created"),
        "the address keeps the filter: {address}"
    );
    driver.screenshot("audit-filtered").await;

    // The same form as a page of its own (what a browser without JavaScript gets).
    c.goto(&app.url(&format!("/account/roles/{}/edit", role.id)))
        .await
        .unwrap();
    driver.wait_for("main form#role-form").await;
    driver.screenshot("role-form-page").await;
    driver.stop().await;
}

/// Rows in the Users table right now.
async fn rows(driver: &Driver) -> Vec<String> {
    driver
        .each("#users-results tbody tr", "r => r.innerText")
        .await
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
    driver.mark_page("same page").await;
    type_into(&driver, "#search-q", "LOV").await;
    let found = rows_until(&driver, "filtered", |r| r.len() == 1).await;
    assert!(found[0].contains("Ada Lovelace"), "{found:?}");
    assert_eq!(
        driver.page_mark().await,
        Some("same page".into()),
        "filtered without a page load"
    );
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

    // A user with 2FA on: the details tab says so and offers turning it off.
    let tom = app.signed_in("tom@example.com", false).await;
    crate::two_factor::set_up(&tom).await;
    let tom_id = app.stored_user("tom@example.com").id;
    c.goto(&app.url(&format!("/account/users/{tom_id}")))
        .await
        .unwrap();
    driver.wait_for("#user-two-factor:checked").await;
    let turn_off = format!("a[href='/account/users/{tom_id}/two-factor/disable']");
    driver.wait_for(&turn_off).await;
    c.execute(
        "document.getElementById('user-two-factor').scrollIntoView({block: 'center'}); return true;",
        vec![],
    )
    .await
    .unwrap();
    driver.screenshot("user-details-2fa").await;
    driver.stop().await;
}

/// Links in the side menu of the page shown now.
async fn side_menu(driver: &Driver) -> Vec<String> {
    driver
        .each("#side-menu a", "a => a.getAttribute('href')")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_invites_a_user_who_accepts_and_becomes_an_operator() {
    const THEIR_PASSWORD: &str = "violet harbour compass 2291";
    let smtp = crate::smtp::SmtpReceiver::start().await;
    let app = TestApp::spawn_with(|c| smtp.configure(c)).await;
    app.user("emma@example.com", true).await;
    crate::users::person(&app, "Grace", "Hopper", "grace@navy.example");
    let admin = Driver::start(1280, 900).await;
    let c = &admin.client;
    admin.sign_in(&app, "emma@example.com").await;

    // Invite user opens a dialog: the address and the sign-in method.
    c.goto(&app.url("/account/users")).await.unwrap();
    admin.wait_for("#users-results tbody tr").await;
    admin
        .click("a.button.primary[href='/account/users/invite']")
        .await;
    admin.wait_for("dialog[open] #field-email").await;
    type_into(
        &admin,
        "dialog[open] #field-email",
        "ivy.newcombe@example.com",
    )
    .await;
    admin.screenshot("user-invite-dialog").await;
    // An address that has an account already is refused beside the field.
    type_into(&admin, "dialog[open] #field-email", "grace@navy.example").await;
    admin.click("dialog[open] button[type=submit]").await;
    admin.wait_for("dialog[open] #field-email-error").await;
    admin.screenshot("user-invite-dialog-error").await;
    type_into(
        &admin,
        "dialog[open] #field-email",
        "ivy.newcombe@example.com",
    )
    .await;
    admin.click("dialog[open] button[type=submit]").await;
    admin.wait_for("#users-notice .notice-success").await;
    let listed = rows_until(&admin, "invited", |r| {
        r.iter()
            .any(|row| row.contains("ivy.newcombe@example.com") && row.contains("Invited"))
    })
    .await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    admin.screenshot("users-invited").await;
    // Resend invite: the blue envelope asks first.
    admin.click("#users-results a.icon-button.resend").await;
    admin.wait_for("dialog[open] button.primary").await;
    admin.screenshot("user-resend-dialog").await;
    admin.click("dialog[open] button.primary").await;
    admin.wait_for("dialog[open] .notice-success").await;
    admin.click("dialog[open] a[data-close-dialog]").await;
    let invited = app.stored_user("ivy.newcombe@example.com");
    c.goto(&app.url(&format!("/account/users/{}", invited.id)))
        .await
        .unwrap();
    admin.wait_for("#user-details").await;
    admin.screenshot("user-invited-details").await;

    // The invited person, in a browser of their own, follows the newest
    // mailed link.
    let mail = smtp.wait_for_nth("ivy.newcombe@example.com", 2).await;
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/invitation?token="))
        .expect("an invitation link");
    let invitee = Driver::start(1280, 1000).await;
    let i = &invitee.client;
    i.goto(&link).await.unwrap();
    type_into(&invitee, "#field-first_name", "Ivy").await;
    type_into(&invitee, "#field-last_name", "Newcombe").await;
    type_into(&invitee, "#field-phone", "+44 20 7946 0000").await;
    type_into(&invitee, "#field-password", THEIR_PASSWORD).await;
    type_into(&invitee, "#field-password_confirm", THEIR_PASSWORD).await;
    invitee.screenshot("invitation-accept").await;
    type_into(&invitee, "#field-password_confirm", "not the same").await;
    invitee.click("button[type=submit]").await;
    invitee.wait_for("#field-password_confirm-error").await;
    invitee.screenshot("invitation-accept-error").await;
    type_into(&invitee, "#field-password", THEIR_PASSWORD).await;
    type_into(&invitee, "#field-password_confirm", THEIR_PASSWORD).await;
    invitee.click("button[type=submit]").await;
    invitee.wait_for(".initials-circle").await;
    assert!(
        i.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/profile")
    );
    assert!(side_menu(&invitee).await.is_empty(), "no permissions yet");

    // The administrator finds them by typing part of their name.
    c.goto(&app.url("/account/users")).await.unwrap();
    admin.wait_for("#users-results tbody tr").await;
    type_into(&admin, "#search-q", "newc").await;
    let found = rows_until(&admin, "found", |r| r.len() == 1).await;
    assert!(
        found[0].contains("Ivy Newcombe") && found[0].contains("Active"),
        "{found:?}"
    );
    admin
        .click("#users-results tbody tr td a[href^='/account/users/']")
        .await;
    admin.wait_for("#user-details").await;
    admin.click("nav.tabs li:nth-child(2) a").await;
    let operator = format!(
        "#field-role option[value='{}']",
        latchkey::domain::role::OPERATOR
    );
    admin.click(&operator).await;
    admin.click("form.add-role button[type=submit]").await;
    admin.wait_for("#user-main .notice-success").await;
    let ivy = app.stored_user("ivy.newcombe@example.com");
    assert_eq!(ivy.roles, vec![latchkey::domain::role::OPERATOR]);
    admin.screenshot("user-roles-operator").await;

    // The new Operator's next page: Users in the menu, Settings neither
    // there nor reachable.
    i.goto(&app.url("/profile")).await.unwrap();
    invitee.wait_for("#side-menu").await;
    assert_eq!(side_menu(&invitee).await, vec!["/account/users".to_owned()]);
    invitee.screenshot("operator-menu").await;
    i.goto(&app.url("/account/settings")).await.unwrap();
    invitee.wait_for("main h1").await;
    let body = i
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Not allowed"), "{body}");
    let status = app.client();
    status
        .sign_in("ivy.newcombe@example.com", THEIR_PASSWORD)
        .await;
    assert_eq!(
        status.get("/account/settings").await.status(),
        reqwest::StatusCode::FORBIDDEN
    );
    i.goto(&app.url("/account/users")).await.unwrap();
    invitee.wait_for("#users-results tbody tr").await;
    invitee.stop().await;
    admin.stop().await;
}
