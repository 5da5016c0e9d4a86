//! Web security, walked over the router's own table (`web::route_table`):
//! every page free of inline script and style and never cached, cookies
//! with the right flags, a new session id wherever a session gains rights,
//! and no route that acts on an id or a link accepting someone else's.

use latchkey::domain::{MailMessage, Permission, Token, UserId};
use latchkey::store::{AttemptOutcome, OneTimeToken, OutboxMessage, StoreError, TokenPurpose};
use latchkey::web::{Access, Route, route_table};
use reqwest::{Method, StatusCode};

use crate::roles::{make_role, signed_in_with};
use crate::support::{Client, PASSWORD, TestApp, csrf_of, location, sign_in_by_hand};
use crate::two_factor::{Phone, reauthenticate, set_up};

/// What makes a page need `unsafe-inline` under our CSP, if it has any:
/// a `<style>` element, a `style` attribute, a script without `src`, an
/// event-handler attribute or a `javascript:` URL.
pub fn inline_code(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if lower.contains("<style") {
        return Some("a <style> element".into());
    }
    for script in lower.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        if !tag.contains(" src=") {
            return Some(format!("an inline <script{tag}>"));
        }
    }
    // Attributes: a space or quote before the name, `=` after it.
    for (i, _) in lower.match_indices("style=") {
        if matches!(lower[..i].chars().last(), Some(' ' | '"' | '\'' | '\n')) {
            return Some("a style attribute".into());
        }
    }
    for (i, _) in lower.match_indices(" on") {
        let name: String = lower[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        let rest = &lower[i + 3 + name.len()..];
        if !name.is_empty()
            && rest.starts_with('=')
            && lower[..i].rfind('<') > lower[..i].rfind('>')
        {
            return Some(format!("an on{name} attribute"));
        }
    }
    if lower.contains("javascript:") || lower.contains("hx-on") {
        return Some("script in an attribute".into());
    }
    None
}

/// A one-time link of `purpose` for `user`, made as the use cases make them.
fn link(app: &TestApp, purpose: TokenPurpose, user: UserId, new_email: Option<&str>) -> String {
    let token = Token::generate();
    let record = OneTimeToken {
        purpose,
        user_id: Some(user),
        expires_at: latchkey::domain::time::now() + 3600,
        new_email: new_email.map(|e| latchkey::domain::Email::parse(e).unwrap()),
    };
    app.accounts
        .store
        .transact::<_, StoreError>(|t| t.issue_token(token.hash(), &record))
        .unwrap();
    token.as_text()
}

/// A user still invited (no password yet), as *Invite user* leaves one.
fn invited(app: &TestApp, email: &str) -> UserId {
    let user = crate::users::person(app, "Ivy", "Invited", email);
    app.accounts
        .store
        .modify_user::<StoreError>(user.id, |u| {
            u.status = latchkey::domain::UserStatus::Invited;
            Ok(())
        })
        .unwrap();
    user.id
}

/// Everything a walk of the GET routes needs: viewers at each stage and
/// things for the `{id}`s and `?token=`s to name.
struct Site {
    app: TestApp,
    viewers: Vec<(&'static str, Client)>,
    user_id: UserId,
    invited_id: UserId,
    role_id: u64,
    reset: String,
    invitation: String,
    email_change: String,
}

impl Site {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.signed_in("admin@example.com", true).await;
        let user = app.signed_in("emma@example.com", false).await;
        let emma = app.stored_user("emma@example.com");
        // Half signed in: 2FA on, the password given, the code not yet.
        let half = app.signed_in("tom@example.com", false).await;
        set_up(&half).await;
        let half = app.client();
        half.sign_in("tom@example.com", PASSWORD).await;
        let invited_id = invited(&app, "ivy@example.com");
        let role_id = make_role(&app, "Helpdesk", &[Permission::UsersView]).id;
        let reset = link(&app, TokenPurpose::PasswordReset, emma.id, None);
        let invitation = link(&app, TokenPurpose::Invitation, invited_id, None);
        let email_change = link(
            &app,
            TokenPurpose::EmailChange,
            emma.id,
            Some("emma.new@example.com"),
        );
        let anonymous = app.client();
        Self {
            viewers: vec![
                ("signed out", anonymous),
                ("half signed in", half),
                ("a user", user),
                ("an administrator", admin),
            ],
            user_id: emma.id,
            invited_id,
            role_id,
            reset,
            invitation,
            email_change,
            app,
        }
    }

    /// `route`'s path with its `{id}` filled in and a working link's token.
    fn path(&self, route: &Route) -> String {
        let id = if route.path.starts_with("/account/roles/") {
            self.role_id
        } else if route.path.ends_with("/invite/resend") {
            self.invited_id
        } else {
            self.user_id
        };
        let path = route.path.replace("{id}", &id.to_string());
        let token = match route.path {
            "/password/reset" => &self.reset,
            "/invitation" => &self.invitation,
            "/profile/email/confirm" => &self.email_change,
            _ => return path,
        };
        format!("{path}?token={token}")
    }
}

/// Every GET route, as each kind of viewer, as a page and as htmx asks:
/// no inline code anywhere, and nothing a signed-in browser sees is cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_has_inline_script_or_style_and_signed_in_pages_are_not_cached() {
    let site = Site::new().await;
    let routes: Vec<Route> = route_table()
        .into_iter()
        .filter(|r| r.method == Method::GET)
        .collect();
    assert!(routes.len() >= 30, "{} GET routes", routes.len());
    let mut failures = Vec::new();
    let mut pages = 0;
    for (viewer, client) in &site.viewers {
        for route in &routes {
            let path = site.path(route);
            for htmx in [false, true] {
                let response = if htmx {
                    client.htmx_get(&path).await
                } else {
                    client.get(&path).await
                };
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.text().await.unwrap_or_default();
                let what = format!("{path} as {viewer}{}", if htmx { " (htmx)" } else { "" });
                if status.is_server_error() {
                    failures.push(format!("{what}: {status}"));
                }
                if *viewer != "signed out" && headers["cache-control"] != "no-store" {
                    failures.push(format!("{what}: cached ({:?})", headers["cache-control"]));
                }
                let html = headers
                    .get("content-type")
                    .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html"));
                if html {
                    pages += 1;
                    if let Some(problem) = inline_code(&body) {
                        failures.push(format!("{what}: {problem}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(pages > 100, "{pages} pages checked");
    // The pages only some moments show: set-up with no users, and the
    // recovery codes after 2FA is turned on.
    let fresh = TestApp::spawn().await;
    let setup_url = fresh.setup_url.as_deref().expect("a set-up link");
    let setup = fresh
        .client()
        .get_text(&setup_url[fresh.base.len()..])
        .await;
    assert!(setup.contains("password_confirm"), "the set-up form");
    assert_eq!(inline_code(&setup), None);
    let browser = site.app.signed_in("rita@example.com", false).await;
    let page = browser.get_text("/profile/2fa").await;
    let code = Phone::from_page(&page).next_code();
    let codes = browser
        .post_raw(
            "/profile/2fa",
            &[("code", &code), ("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(codes.headers()["cache-control"], "no-store");
    let codes = codes.text().await.unwrap();
    assert!(codes.contains("recovery-codes"));
    assert_eq!(inline_code(&codes), None);
}

#[test]
fn the_inline_code_check_finds_what_it_looks_for() {
    for bad in [
        "<p style=\"color:red\">",
        "<style>p{}</style>",
        "<script>alert(1)</script>",
        "<button onclick=\"x()\">",
        "<a href=\"javascript:x()\">",
        "<div data-hx-on:click=\"x\">",
    ] {
        assert!(inline_code(bad).is_some(), "{bad}");
    }
    for good in [
        "<script src=\"/assets/app.1.js\" defer></script>",
        "<p>Sign on=here</p>",
        "<input name=\"style\">",
    ] {
        assert_eq!(inline_code(good), None, "{good}");
    }
}

/// The session cookie a response sets, if any (not a removal).
fn session_set(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("latchkey_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_cookie_is_http_only_same_site_lax_and_for_the_whole_site() {
    for https in [false, true] {
        let app = TestApp::spawn_with(|c| {
            if https {
                c.server.public_url = "https://accounts.example.com".into();
            }
        })
        .await;
        app.user("emma@example.com", false).await;
        let page = reqwest::get(app.url("/signin")).await.unwrap();
        let mut cookies = set_cookies(&page);
        let signed_in = sign_in_by_hand(&app, "emma@example.com").await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        cookies.extend(set_cookies(&signed_in));
        let names: Vec<&str> = cookies
            .iter()
            .map(|c| c.split('=').next().unwrap())
            .collect();
        let prefix = if https { "__Host-" } else { "" };
        for name in ["latchkey_csrf", "latchkey_session", "latchkey_device"] {
            assert!(
                names.contains(&format!("{prefix}{name}").as_str()),
                "{names:?}"
            );
        }
        for cookie in &cookies {
            assert!(cookie.contains("HttpOnly"), "{cookie}");
            assert!(cookie.contains("SameSite=Lax"), "{cookie}");
            assert!(cookie.contains("Path=/"), "{cookie}");
            assert!(!cookie.contains("Domain"), "{cookie}");
            assert_eq!(cookie.contains("Secure"), https, "{cookie}");
            assert_eq!(cookie.starts_with("__Host-"), https, "{cookie}");
        }
    }
}

/// Whether a request carrying only this session cookie reaches the Profile.
async fn works(app: &TestApp, cookie: &str) -> bool {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/profile"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::OK
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_at_the_second_step_and_with_the_password() {
    let app = TestApp::spawn().await;
    app.user("emma@example.com", false).await;

    // Sign-in: an id planted before sign-in is replaced, not promoted.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(app.url("/signin")).send().await.unwrap();
    let csrf_cookie = set_cookies(&page)[0].split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text().await.unwrap());
    let planted = format!("latchkey_session={}", Token::generate().as_text());
    let signed_in = http
        .post(app.url("/signin"))
        .header("Cookie", format!("{csrf_cookie}; {planted}"))
        .form(&[
            ("email", "emma@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let first = session_set(&signed_in).expect("a session cookie");
    assert_ne!(first, planted);
    assert!(works(&app, &first).await && !works(&app, &planted).await);
    // Signing in again in a signed-in browser: a new id, the old one ended.
    let browser = app.client();
    let a = session_set(&browser.sign_in("emma@example.com", PASSWORD).await).unwrap();
    // (The sign-in page sends a signed-in browser on; a form left open posts.)
    let csrf = csrf_of(&browser.get_text("/profile").await);
    let again = browser
        .post_raw(
            "/signin",
            &[
                ("email", "emma@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    let b = session_set(&again).unwrap();
    assert_ne!(a, b);
    assert!(!works(&app, &a).await && works(&app, &b).await);

    // The second step: the half-signed-in id is worthless once the code is in.
    let (mut phone, _) = set_up(&browser).await;
    let two_factor = app.client();
    let half = two_factor.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(location(&half), "/signin/2fa");
    let half = session_set(&half).unwrap();
    let done = two_factor
        .submit(
            "/signin/2fa",
            "/signin/2fa",
            &[("code", &phone.next_code())],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let full = session_set(&done).expect("a new session cookie");
    assert_ne!(full, half);
    assert!(works(&app, &full).await);
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/signin/2fa"))
        .header("Cookie", &half)
        .send()
        .await
        .unwrap();
    assert_ne!(
        replayed.status(),
        StatusCode::OK,
        "the half-signed-in id is gone"
    );

    // A password change (by reset link, in the signed-in browser): every
    // id of the user stops working; the next sign-in gets a new one.
    let emma = app.stored_user("emma@example.com");
    let token = link(&app, TokenPurpose::PasswordReset, emma.id, None);
    let new_password = "violet harbour compass 2291";
    let reset = two_factor
        .submit(
            &format!("/password/reset?token={token}"),
            "/password/reset",
            &[
                ("token", &token),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert!(!works(&app, &full).await && !works(&app, &b).await);
    let again = app.client();
    let after = again.sign_in("emma@example.com", new_password).await;
    assert_eq!(location(&after), "/signin/2fa");
    let after = session_set(&after).unwrap();
    assert!(after != full && after != half && after != b);
}

/// What an `{id}` or `{reference}` in a route names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    User,
    Role,
    Message,
    Session,
}

fn names(route: &Route) -> Names {
    let path = route.path;
    if path.starts_with("/account/users/{id}") {
        Names::User
    } else if path.starts_with("/account/roles/{id}") {
        Names::Role
    } else if path.starts_with("/account/settings/outbox/{id}") {
        Names::Message
    } else if path.starts_with("/profile/sessions/{reference}") {
        Names::Session
    } else {
        panic!("{} {path}: say what its id names", route.method)
    }
}

/// Fields that would do what the route is for, had the requester the right.
fn fields_for(route: &Route, role_to_give: u64, role_to_take: u64) -> Vec<(&'static str, String)> {
    match route.path {
        "/account/users/{id}/edit" => vec![
            ("first_name", "Mallory".into()),
            ("last_name", "Owned".into()),
            ("phone", String::new()),
        ],
        "/account/users/{id}/roles/add" => vec![("role", role_to_give.to_string())],
        "/account/users/{id}/roles/remove" => vec![("role", role_to_take.to_string())],
        "/account/roles/{id}" | "/account/roles/{id}/clone" => vec![
            ("name", "Taken over".into()),
            ("permission", "users.view".into()),
        ],
        "/account/roles/{id}/delete" => vec![("confirm", "yes".into())],
        _ => Vec::new(),
    }
}

/// Every route that takes an id, table-driven: a plain user naming another
/// user's things, and a deputy administrator (every permission but one)
/// naming the Global Administrator or their role, are refused with a 403 or
/// 404, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_others_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    // Emma, signed in twice: her other session's reference is on her page.
    let emma_here = app.signed_in("emma@example.com", false).await;
    let emma_there = app.client();
    emma_there.sign_in("emma@example.com", PASSWORD).await;
    let emma = app.stored_user("emma@example.com");
    let page = emma_here.get_text("/profile").await;
    let reference = page
        .split("/profile/sessions/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .filter(|r| *r != "signout-others")
        .expect("the other session's reference")
        .to_owned();
    // The Global Administrator, with 2FA on, and their role.
    let ga_client = app.signed_in("ga@example.com", true).await;
    set_up(&ga_client).await;
    let ga = app.stored_user("ga@example.com");
    let ga_role = ga.roles[0];
    // A failed message, listed and not queued: no worker writes meanwhile.
    let message = app
        .accounts
        .store
        .record_direct_mail(
            OutboxMessage::new(
                MailMessage {
                    to: "emma@example.com".into(),
                    subject: "Latchkey: for Emma".into(),
                    text: "text".into(),
                    html: "<p>text</p>".into(),
                },
                latchkey::domain::time::now(),
            ),
            AttemptOutcome::GiveUp {
                error: "refused".into(),
            },
        )
        .unwrap();
    let bob = app.signed_in("bob@example.com", false).await;
    let all_but_settings: Vec<Permission> = Permission::ALL
        .into_iter()
        .filter(|p| *p != Permission::SettingsManage)
        .collect();
    let deputy_role = make_role(&app, "Deputy", &all_but_settings);
    let deputy = signed_in_with(&app, "deputy@example.com", vec![deputy_role.id]).await;
    reauthenticate(&deputy).await;
    let nothing = make_role(&app, "Nothing", &[]).id;

    let routes: Vec<Route> = route_table()
        .into_iter()
        .filter(|r| r.path.contains("{id}") || r.path.contains("{reference}"))
        .collect();
    assert!(routes.len() >= 20, "{} routes take an id", routes.len());
    let mut failures = Vec::new();
    for route in &routes {
        let target = names(route);
        let mut requests = vec![(
            "Bob",
            &bob,
            match target {
                Names::User => emma.id.to_string(),
                Names::Role => ga_role.to_string(),
                Names::Message => message.to_string(),
                Names::Session => reference.clone(),
            },
        )];
        // An administrator below the Global Administrator, acting on them.
        let acts = route.method == Method::POST && matches!(route.access, Access::Permission(_));
        if acts && matches!(target, Names::User | Names::Role) {
            let id = if target == Names::User {
                ga.id
            } else {
                ga_role
            };
            requests.push(("the deputy", &deputy, id.to_string()));
        }
        for (who, client, id) in requests {
            let path = route.path.replace("{id}", &id).replace("{reference}", &id);
            let writes = app.accounts.store.write_count();
            let response = if route.method == Method::GET {
                client.get(&path).await
            } else {
                let csrf = csrf_of(&client.get_text("/profile").await);
                let mut form = fields_for(route, nothing, ga_role);
                form.push(("csrf", csrf));
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client.post_raw(&path, &form).await
            };
            let status = response.status();
            let refused = status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND;
            if !refused || app.accounts.store.write_count() != writes {
                failures.push(format!("{} {path} by {who}: {status}", route.method));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Emma's other browser is still signed in; the GA still has 2FA.
    assert_eq!(emma_there.get("/profile").await.status(), StatusCode::OK);
    assert!(app.accounts.store.two_factor(ga.id).unwrap().is_some());
    assert_eq!(app.stored_user("ga@example.com").roles, vec![ga_role]);
}

/// A link made for one purpose opens nothing elsewhere: not another flow's
/// page, and not its form.
#[tokio::test]
async fn links_work_only_for_what_they_were_made_for() {
    let app = TestApp::spawn().await;
    let emma = app.user("emma@example.com", false).await;
    let ivy = invited(&app, "ivy@example.com");
    let links = [
        (
            "/password/reset",
            link(&app, TokenPurpose::PasswordReset, emma.id, None),
        ),
        (
            "/invitation",
            link(&app, TokenPurpose::Invitation, ivy, None),
        ),
        (
            "/profile/email/confirm",
            link(
                &app,
                TokenPurpose::EmailChange,
                emma.id,
                Some("new@example.com"),
            ),
        ),
    ];
    let browser = app.client();
    let csrf = csrf_of(&browser.get_text("/signin").await);
    let store = &app.accounts.store;
    let purposes = [
        TokenPurpose::PasswordReset,
        TokenPurpose::Invitation,
        TokenPurpose::EmailChange,
    ];
    for (made_for, token) in &links {
        for (path, _) in &links {
            if path == made_for {
                continue;
            }
            let opened = browser.get(&format!("{path}?token={token}")).await;
            assert_eq!(
                opened.status(),
                StatusCode::NOT_FOUND,
                "{made_for} link at {path}"
            );
            let posted = browser
                .post_raw(
                    path,
                    &[
                        ("csrf", csrf.as_str()),
                        ("token", token.as_str()),
                        ("first_name", "Mallory"),
                        ("last_name", "Owned"),
                        ("phone", ""),
                        ("password", "violet harbour compass 2291"),
                        ("password_confirm", "violet harbour compass 2291"),
                    ],
                )
                .await;
            assert_eq!(
                posted.status(),
                StatusCode::NOT_FOUND,
                "{made_for} link at {path}"
            );
        }
    }
    // (A refused invitation link is counted against the address; that is
    // all that was written.) Every link still works where it belongs, and
    // nobody changed.
    let now = latchkey::domain::time::now();
    for ((_, token), purpose) in links.iter().zip(purposes) {
        let hash = Token::parse(token).unwrap().hash();
        assert!(store.valid_token(hash, purpose, now).unwrap().is_some());
    }
    assert_eq!(app.stored_user("emma@example.com"), emma);
    assert_eq!(
        store.user(ivy).unwrap().unwrap().status,
        latchkey::domain::UserStatus::Invited
    );
}

/// The routes a session is needed for send a signed-out browser to sign
/// in, whatever the method, and write nothing: the table's `SignedIn` is
/// what the handlers do.
#[tokio::test]
async fn signed_in_routes_send_a_signed_out_browser_to_sign_in() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let csrf = csrf_of(&browser.get_text("/signin").await);
    let mut checked = 0;
    for route in route_table() {
        if route.access != Access::SignedIn {
            continue;
        }
        let path = route.path.replace("{reference}", "x");
        let writes = app.accounts.store.write_count();
        let response = if route.method == Method::GET {
            browser.get(&path).await
        } else {
            browser.post_raw(&path, &[("csrf", &csrf)]).await
        };
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{} {path}",
            route.method
        );
        assert!(
            location(&response).starts_with("/signin"),
            "{} {path}",
            route.method
        );
        assert_eq!(
            app.accounts.store.write_count(),
            writes,
            "{} {path}",
            route.method
        );
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}
