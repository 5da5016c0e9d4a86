//! The permission matrix: for every administration route (the router's own
//! table, `web::account_route_table`) and every permission, a user holding
//! only that permission gets in where the table says and 403 everywhere else.
//! A crawl of the admin pages as Global Administrator checks that every
//! `/account` link and form leads to a route in the table, and that every
//! route in the table is reachable, so a new route can't be forgotten.

use std::collections::{BTreeSet, VecDeque};

use latchkey::domain::time::now;
use latchkey::domain::{MailMessage, Permission};
use latchkey::store::{AttemptOutcome, OutboxMessage};
use latchkey::web::{AccountRoute, account_route_table};
use reqwest::{Method, StatusCode};

use crate::roles::{make_role, signed_in_with};
use crate::support::{Client, TestApp, csrf_of};

/// What a concrete path's `{id}` names, made fresh for one request.
enum Scratch {
    None,
    Role(u64),
    User(u64),
}

/// A concrete path for `pattern`: `{id}` becomes a role or a user made for
/// this request (by the path's screen), so a request that is let in (a
/// delete, say) never spoils the next one. Other ids (an outbox message)
/// name nothing, which is enough to show who is let in.
async fn concrete(app: &TestApp, pattern: &str, n: &mut usize) -> (String, Scratch) {
    if !pattern.contains('{') {
        return (pattern.to_owned(), Scratch::None);
    }
    *n += 1;
    let (id, scratch) = if pattern.starts_with("/account/roles/") {
        let role = make_role(app, &format!("Scratch {n}"), &[Permission::UsersView]);
        (role.id, Scratch::Role(role.id))
    } else if pattern.starts_with("/account/users/") {
        let user = app.user(&format!("scratch-{n}@example.com"), false).await;
        (user.id, Scratch::User(user.id))
    } else {
        (u64::from(u32::MAX), Scratch::None)
    };
    (pattern.replace("{id}", &id.to_string()), scratch)
}

/// Whether what the scratch path named is as it was made.
fn untouched(app: &TestApp, scratch: &Scratch, n: usize) -> bool {
    match *scratch {
        Scratch::None => true,
        Scratch::Role(id) => app.accounts.store.role(id).unwrap().is_some_and(|r| {
            r.name.as_str() == format!("Scratch {n}") && r.permissions == [Permission::UsersView]
        }),
        Scratch::User(id) => app
            .accounts
            .store
            .user(id)
            .unwrap()
            .is_some_and(|u| u.email.as_str() == format!("scratch-{n}@example.com")),
    }
}

async fn request(client: &Client, csrf: &str, method: &Method, path: &str) -> StatusCode {
    match *method {
        Method::GET => client.get(path).await.status(),
        Method::POST => client.post_raw(path, &[("csrf", csrf)]).await.status(),
        _ => panic!("add {method} to the matrix"),
    }
}

#[tokio::test]
async fn every_route_admits_exactly_the_holders_of_its_permission() {
    let app = TestApp::spawn().await;
    let table = account_route_table();
    assert!(table.len() >= 14, "the table lists the routes");
    let mut holders = Vec::new();
    for permission in Permission::ALL {
        let role = make_role(
            &app,
            &format!("Only {}", permission.as_str()),
            &[permission],
        );
        let email = format!(
            "{}@example.com",
            permission.as_str().replace(['.', '_'], "-")
        );
        let client = signed_in_with(&app, &email, vec![role.id]).await;
        let csrf = csrf_of(&client.get_text("/profile").await);
        holders.push((Some(permission), client, csrf));
    }
    let client = signed_in_with(&app, "nobody@example.com", Vec::new()).await;
    let csrf = csrf_of(&client.get_text("/profile").await);
    holders.push((None, client, csrf));

    let mut n = 0;
    let mut failures = Vec::new();
    for route in &table {
        for (held, client, csrf) in &holders {
            let (path, scratch) = concrete(&app, route.path, &mut n).await;
            let status = request(client, csrf, &route.method, &path).await;
            let admitted = *held == Some(route.permission);
            let ok = if admitted {
                status != StatusCode::FORBIDDEN
                    && status != StatusCode::NOT_FOUND
                    && status != StatusCode::METHOD_NOT_ALLOWED
                    && !status.is_server_error()
            } else {
                // Refused, and what the path named is untouched.
                status == StatusCode::FORBIDDEN && untouched(&app, &scratch, n)
            };
            if !ok {
                let who = held.map_or("no permission", Permission::as_str);
                failures.push(format!(
                    "{} {} as {who}: {status}",
                    route.method, route.path
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // Refusals are pages for browsers and fragments for htmx.
    let (_, nobody, _) = &holders[holders.len() - 1];
    let page = nobody.get("/account/roles").await.text().await.unwrap();
    assert!(page.contains("<html") && page.contains("Not allowed"));
    let fragment = nobody.htmx_get("/account/roles").await;
    assert_eq!(fragment.status(), StatusCode::FORBIDDEN);
    let fragment = fragment.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("Not allowed"));

    // Signed out: every route sends to sign-in and changes nothing.
    let anonymous = app.client();
    let csrf = csrf_of(&anonymous.get_text("/signin").await);
    for route in &table {
        let (path, _) = concrete(&app, route.path, &mut n).await;
        let writes = app.accounts.store.write_count();
        let response = match route.method {
            Method::GET => anonymous.get(&path).await,
            _ => anonymous.post_raw(&path, &[("csrf", &csrf)]).await,
        };
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
    make_role(&app, "Help desk", &[Permission::AuditView]);
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
        // Linked from the User page, which the Users screen brings.
        .filter(|r| r.path != "/account/users/{id}/two-factor/disable")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        unreached.is_empty(),
        "routes no admin page links to: {unreached:#?}"
    );
}
