//! The permission matrix: for every administration route (the router's own
//! table, `web::account_route_table`) and every permission, a user holding
//! only that permission, and one holding every permission but it, get in
//! where the table says and a styled 403 (a page, or a fragment for htmx)
//! everywhere else, with nothing changed. A crawl of the admin pages as
//! Global Administrator checks that every `/account` link and form leads to
//! a route in the table, and that every route in the table is reachable, so
//! a new route can't be forgotten.

use std::collections::{BTreeSet, VecDeque};

use latchkey::domain::time::now;
use latchkey::domain::{MailMessage, Permission};
use latchkey::store::{AttemptOutcome, OutboxMessage};
use latchkey::web::{AccountRoute, account_route_table};
use reqwest::{Method, StatusCode};

use crate::roles::{make_role, signed_in_with};
use crate::support::{Client, TestApp, csrf_of};
use crate::users::person;

/// What a request's scratch names: made fresh for it, so a request that is
/// let in (a delete, say) never spoils the next one.
enum Scratch {
    None,
    Role(u64),
    User(u64),
}

/// One request to a route: its concrete path, its form fields and what it acts on.
struct Request {
    path: String,
    fields: Vec<(&'static str, String)>,
    scratch: Scratch,
    /// Numbers the scratch's name.
    n: usize,
}

/// A request that does what `route` is for. `{id}` becomes a scratch role on
/// the Roles screen and a scratch user on the Users screen; other ids (an
/// outbox message) name nothing, which is enough to show who is let in.
///
/// The requests stay under the permission ceiling (an administrator acts
/// only on users and assigns only roles whose permissions they hold): the
/// scratch user holds no role and `empty_role` no permission, so every
/// holder of the route's permission may really act.
fn prepare(app: &TestApp, route: &AccountRoute, n: &mut usize, empty_role: u64) -> Request {
    *n += 1;
    let n = *n;
    let pattern = route.path;
    let users = pattern.starts_with("/account/users/{id}") || pattern == "/account/users/delete";
    let scratch = if pattern.starts_with("/account/roles/{id}") {
        Scratch::Role(make_role(app, &format!("Scratch {n}"), &[Permission::UsersView]).id)
    } else if users {
        let email = format!("scratch-{n}@example.com");
        let user = person(app, "Scratch", "User", &email);
        // Only an invitation not yet accepted can be sent again.
        if pattern.ends_with("/invite/resend") {
            app.accounts
                .store
                .modify_user::<latchkey::store::StoreError>(user.id, |u| {
                    u.status = latchkey::domain::UserStatus::Invited;
                    Ok(())
                })
                .unwrap();
        }
        Scratch::User(user.id)
    } else {
        Scratch::None
    };
    let id = match scratch {
        Scratch::Role(id) | Scratch::User(id) => id,
        Scratch::None => u64::from(u32::MAX),
    };
    let fields = match (route.method.as_str(), pattern) {
        ("POST", "/account/users/delete") => {
            vec![("id", id.to_string()), ("confirm", "yes".into())]
        }
        ("POST", "/account/users/invite") => vec![
            ("email", format!("invitee-{n}@example.com")),
            ("sign_in_method", "local".into()),
        ],
        ("POST", "/account/users/{id}/edit") => vec![
            ("first_name", "Changed".into()),
            ("last_name", "Name".into()),
            ("phone", String::new()),
        ],
        ("POST", "/account/users/{id}/roles/add" | "/account/users/{id}/roles/remove") => {
            vec![("role", empty_role.to_string())]
        }
        ("POST", "/account/roles" | "/account/roles/{id}" | "/account/roles/{id}/clone") => {
            vec![
                ("name", format!("Made {n}")),
                ("permission", "audit.view".into()),
            ]
        }
        _ => Vec::new(),
    };
    Request {
        path: pattern.replace("{id}", &id.to_string()),
        fields,
        scratch,
        n,
    }
}

/// Whether what the request named is as it was made.
fn untouched(app: &TestApp, request: &Request) -> bool {
    let n = request.n;
    match request.scratch {
        Scratch::None => true,
        Scratch::Role(id) => app.accounts.store.role(id).unwrap().is_some_and(|r| {
            r.name.as_str() == format!("Scratch {n}") && r.permissions == [Permission::UsersView]
        }),
        Scratch::User(id) => app.accounts.store.user(id).unwrap().is_some_and(|u| {
            u.email.as_str() == format!("scratch-{n}@example.com")
                && u.first_name.as_str() == "Scratch"
                && u.roles.is_empty()
        }),
    }
}

async fn send(
    client: &Client,
    csrf: &str,
    method: &Method,
    request: &Request,
    htmx: bool,
) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = request
        .fields
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    match (method.as_str(), htmx) {
        ("GET", false) => client.get(&request.path).await,
        ("GET", true) => client.htmx_get(&request.path).await,
        ("POST", false) => {
            let mut form = fields;
            form.push(("csrf", csrf));
            client.post_raw(&request.path, &form).await
        }
        ("POST", true) => client.htmx_post(&request.path, csrf, &fields).await,
        _ => panic!("add {method} to the matrix"),
    }
}

/// A signed-in user holding exactly `permissions` (through one role).
struct Holder {
    name: String,
    permissions: Vec<Permission>,
    client: Client,
    csrf: String,
}

async fn holder(app: &TestApp, name: String, permissions: Vec<Permission>) -> Holder {
    let role = make_role(app, &name, &permissions);
    let email = format!("{}@example.com", name.replace([' ', '.', '_'], "-"));
    let client = signed_in_with(app, &email, vec![role.id]).await;
    let csrf = csrf_of(&client.get_text("/profile").await);
    Holder {
        name,
        permissions,
        client,
        csrf,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_exactly_the_holders_of_its_permission() {
    let app = TestApp::spawn().await;
    let table = account_route_table();
    assert!(table.len() >= 25, "the table lists the routes");
    let empty_role = make_role(&app, "Holds nothing", &[]).id;
    let mut holders = Vec::new();
    for permission in Permission::ALL {
        let only = format!("only {}", permission.as_str());
        holders.push(holder(&app, only, vec![permission]).await);
        let all_but: Vec<Permission> = Permission::ALL
            .into_iter()
            .filter(|p| *p != permission)
            .collect();
        let but = format!("all but {}", permission.as_str());
        holders.push(holder(&app, but, all_but).await);
    }
    holders.push(holder(&app, "nobody".into(), Vec::new()).await);

    let mut n = 0;
    let mut failures = Vec::new();
    for route in &table {
        for holder in &holders {
            for htmx in [false, true] {
                let request = prepare(&app, route, &mut n, empty_role);
                let response =
                    send(&holder.client, &holder.csrf, &route.method, &request, htmx).await;
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let ok = if holder.permissions.contains(&route.permission) {
                    status != StatusCode::FORBIDDEN
                        && status != StatusCode::NOT_FOUND
                        && status != StatusCode::METHOD_NOT_ALLOWED
                        && !status.is_server_error()
                } else {
                    // A styled refusal (a page, or a fragment for htmx), and
                    // what the path named is untouched.
                    status == StatusCode::FORBIDDEN
                        && body.contains("Not allowed")
                        && body.contains("<html") != htmx
                        && untouched(&app, &request)
                };
                if !ok {
                    let how = if htmx { "htmx" } else { "plain" };
                    failures.push(format!(
                        "{} {} ({how}) as {}: {status}",
                        route.method, route.path, holder.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // Signed out: every route sends to sign-in and changes nothing.
    let anonymous = app.client();
    let csrf = csrf_of(&anonymous.get_text("/signin").await);
    for route in &table {
        let request = prepare(&app, route, &mut n, empty_role);
        let writes = app.accounts.store.write_count();
        let response = send(&anonymous, &csrf, &route.method, &request, false).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{} {}",
            route.method,
            route.path
        );
        assert!(crate::support::location(&response).starts_with("/signin"));
        assert_eq!(
            app.accounts.store.write_count(),
            writes,
            "{} {}",
            route.method,
            route.path
        );
    }
}

/// Whether concrete `path` is an instance of `pattern` (`{…}` matches one segment).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, c): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == c.len()
        && p.iter()
            .zip(&c)
            .all(|(p, c)| p == c || (p.starts_with('{') && !c.is_empty()))
}

/// Every `/account` target in `html`: links and htmx gets as GET, htmx posts
/// as POST, forms by their method.
fn targets(html: &str) -> Vec<(Method, String)> {
    let mut found = Vec::new();
    let value_after = |rest: &str| {
        rest.split('"')
            .next()
            .unwrap_or_default()
            .replace("&amp;", "&")
    };
    for (attribute, method) in [
        (" href=\"", Method::GET),
        (" data-hx-get=\"", Method::GET),
        (" data-hx-post=\"", Method::POST),
    ] {
        for (i, _) in html.match_indices(attribute) {
            found.push((method.clone(), value_after(&html[i + attribute.len()..])));
        }
    }
    for (i, _) in html.match_indices("<form") {
        let tag = &html[i..i + html[i..].find('>').unwrap_or(0)];
        let method = if tag.contains(r#"method="post""#) {
            Method::POST
        } else {
            Method::GET
        };
        if let Some(at) = tag.find(" action=\"") {
            found.push((method, value_after(&tag[at + 9..])));
        }
    }
    found
        .into_iter()
        .filter(|(_, target)| target.starts_with("/account"))
        .collect()
}

#[tokio::test]
async fn every_account_link_and_form_on_the_admin_pages_is_in_the_table() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let help_desk = make_role(&app, "Help desk", &[Permission::AuditView]);
    // A user with 2FA on and a role, first in the Users list, so the User page the
    // crawl opens offers *Turn off 2FA* and *Remove*.
    let with_2fa = app.signed_in("aaron@example.com", false).await;
    crate::two_factor::set_up(&with_2fa).await;
    let aaron = app.stored_user("aaron@example.com").id;
    app.accounts
        .store
        .modify_user::<latchkey::store::StoreError>(aaron, |u| {
            u.first_name = latchkey::domain::PersonName::parse("Aaron").unwrap();
            u.roles = vec![help_desk.id];
            Ok(())
        })
        .unwrap();
    // Turning someone's 2FA off asks for a recent password first.
    crate::two_factor::reauthenticate(&admin).await;
    // Someone invited, so the list offers *Resend invite*.
    let invited = admin
        .submit(
            "/account/users",
            "/account/users/invite",
            &[("email", "ivy@example.com"), ("sign_in_method", "local")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    // A failed message, so the outbox offers *Try again*.
    let failed = OutboxMessage::new(
        MailMessage {
            to: "someone@example.com".into(),
            subject: "Latchkey: Test".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
        },
        now(),
    );
    app.accounts
        .store
        .record_direct_mail(
            failed,
            AttemptOutcome::GiveUp {
                error: "550 refused".into(),
            },
        )
        .unwrap();
    let table = account_route_table();
    let find = |method: &Method, path: &str| -> Option<&AccountRoute> {
        table
            .iter()
            .find(|r| r.method == *method && matches(r.path, path))
    };

    let mut queue = VecDeque::from(["/profile".to_owned()]);
    let mut fetched = BTreeSet::new();
    let mut seen: BTreeSet<(String, &'static str)> = BTreeSet::new();
    let mut missing = BTreeSet::new();
    while let Some(url) = queue.pop_front() {
        if !fetched.insert(url.clone()) {
            continue;
        }
        // Both the page and the fragment htmx would get (dialogs differ).
        let mut html = admin.get_text(&url).await;
        html.push_str(&admin.htmx_get(&url).await.text().await.unwrap());
        for (method, target) in targets(&html) {
            let path = target.split('?').next().unwrap_or_default().to_owned();
            match find(&method, &path) {
                Some(route) => {
                    let first = seen.insert((route.method.to_string(), route.path));
                    // One concrete page per route (and per filter link) is enough.
                    if method == Method::GET
                        && (first || target.contains('?'))
                        && fetched.len() < 200
                    {
                        queue.push_back(target);
                    }
                }
                None => {
                    missing.insert(format!("{method} {path} (on {url})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "links or forms to routes missing from web::account_routes: {missing:#?}"
    );
    let unreached: Vec<String> = table
        .iter()
        .filter(|r| !seen.contains(&(r.method.to_string(), r.path)))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        unreached.is_empty(),
        "routes no admin page links to: {unreached:#?}"
    );
}
