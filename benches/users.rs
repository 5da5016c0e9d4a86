//! The Users list at scale: `cargo bench --bench users`.
//!
//! Fills a data file with `LATCHKEY_BENCH_USERS` users (default 100 000;
//! names drawn from 80 first and 80 last names, addresses on six domains,
//! a few administrators and operators, most having signed in once), then
//! times the store's paged query, which is all the Users page and
//! `latchkey user list` ask of the store: pages deep in each order, and
//! searches of one to eleven characters, common and rare. Then it serves the
//! app and times `GET /account/users` with the same queries, rendering
//! included. Numbers, not assertions.

use std::path::Path;
use std::time::{Duration, Instant};

use latchkey::accounts::users::{NewUserForm, add_user_now};
use latchkey::app::App;
use latchkey::config::Config;
use latchkey::domain::{Email, PersonName, SearchTerm, UserQuery, UserSort, UserStatus};
use latchkey::store::{NewUser, Store, StoreError};

#[path = "load/names.rs"]
mod names;

use names::{DOMAINS, FIRST, LAST};

const PASSWORD: &str = "amber kettle horizon 1987";

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<52} n={:<4} p50 {:>7.3} ms  p99 {:>7.3} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

/// Users `from..to`, deterministic from their number.
fn new_user(n: u64) -> NewUser {
    let first = FIRST[(n * 7) as usize % FIRST.len()];
    let last = LAST[(n * 13 / 7) as usize % LAST.len()];
    let domain = DOMAINS[n as usize % DOMAINS.len()];
    NewUser {
        first_name: PersonName::parse(first).expect("name"),
        last_name: PersonName::parse(last).expect("name"),
        email: Email::parse(&format!(
            "{}.{}{n}@{domain}",
            first.to_lowercase(),
            last.to_lowercase()
        ))
        .expect("email"),
        phone: None,
        status: if n.is_multiple_of(10) {
            UserStatus::Invited
        } else {
            UserStatus::Active
        },
        password_hash: None,
        roles: match n % 100 {
            0 => vec![1],
            1..=5 => vec![2],
            _ => Vec::new(),
        },
        created_at: 1_700_000_000,
    }
}

fn fill(store: &Store, users: u64) {
    let start = Instant::now();
    let batch = 5_000;
    let mut n = 0;
    while n < users {
        let to = (n + batch).min(users);
        store
            .transact::<_, StoreError>(|t| {
                for i in n..to {
                    t.insert_user(new_user(i))?;
                }
                Ok(())
            })
            .expect("insert");
        n = to;
    }
    println!(
        "inserted {users} users in {:.1} s ({:.0} µs each, index included)",
        start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64() * 1e6 / users as f64
    );
}

/// The queries timed, as (label, query string for the page).
fn queries(users: u64) -> Vec<(String, UserQuery, String)> {
    let mid = u32::try_from(users / 50 / 2).unwrap_or(1).max(1);
    let mut out = Vec::new();
    for (sort, desc) in [
        (UserSort::Name, false),
        (UserSort::Name, true),
        (UserSort::Email, false),
        (UserSort::LastSignIn, true),
        (UserSort::Roles, false),
    ] {
        out.push((
            format!(
                "page {mid} by {}{}",
                sort.as_str(),
                if desc { " desc" } else { "" }
            ),
            UserQuery {
                sort,
                descending: desc,
                page: mid,
                ..Default::default()
            },
            format!(
                "sort={}&dir={}&page={mid}",
                sort.as_str(),
                if desc { "desc" } else { "asc" }
            ),
        ));
    }
    for term in [
        "emm",
        "son",
        "ill",
        "ava",
        "com",
        "xyz",
        "e",
        "wr",
        "emma w",
        "wright12",
        "example.org",
        "ia.lo",
    ] {
        out.push((
            format!("search {term:?}, page 1"),
            UserQuery {
                search: SearchTerm::parse(term),
                ..Default::default()
            },
            format!("q={}", term.replace(' ', "+")),
        ));
    }
    out.push((
        "search \"son\" by email, page 20".into(),
        UserQuery {
            search: SearchTerm::parse("son"),
            sort: UserSort::Email,
            page: 20,
            ..Default::default()
        },
        "q=son&sort=email&page=20".into(),
    ));
    out
}

fn main() {
    let users: u64 = std::env::var("LATCHKEY_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The app starts its workers on the runtime it is built in.
    let _entered = runtime.enter();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::from_parts(Path::new("bench.toml"), "", Vec::new()).expect("config");
    config.data_dir = dir.path().join("data");
    let app = App::build(config).expect("app");
    let store = app.accounts.store.clone();
    fill(&store, users);

    println!("\nstore query (what every list request runs), {users} users:");
    let mut three_letter = Vec::new();
    for (label, query, _) in queries(users) {
        let mut samples = Vec::new();
        let mut found = None;
        for _ in 0..200 {
            let start = Instant::now();
            let page = store.user_page(&query).expect("page");
            samples.push(start.elapsed());
            found = Some((page.total, page.users.len()));
        }
        let (total, shown) = found.expect("ran");
        let total = total.map_or_else(|| "many".to_owned(), |t| t.to_string());
        summary(&format!("{label} ({shown} of {total})"), samples.clone());
        if query
            .search
            .as_ref()
            .is_some_and(|t| t.as_str().chars().count() == 3)
        {
            three_letter.extend(samples);
        }
    }
    summary("all 3-letter searches above", three_letter);
    runtime.block_on(over_http(app, users));
}

/// The same queries through `GET /account/users`, signed in as an administrator.
async fn over_http(app: App, users: u64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let store = app.accounts.store.clone();
    tokio::task::spawn_blocking(move || {
        let form = NewUserForm {
            first_name: "Bench".into(),
            last_name: "Admin".into(),
            email: "bench.admin@example.net".into(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
        };
        add_user_now(&store, &form, true).expect("admin")
    })
    .await
    .expect("task");
    tokio::spawn(app.serve(listener, std::future::pending()));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(format!("{base}/signin"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("csrf") + marker.len();
    let csrf = page[start..].split('"').next().expect("quote").to_owned();
    let status = client
        .post(format!("{base}/signin"))
        .form(&[
            ("email", "bench.admin@example.net"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("POST")
        .status();
    assert_eq!(status, 303, "signed in");

    println!("\nGET /account/users as htmx asks for it (results fragment), {users} users:");
    for (label, _, query) in queries(users) {
        let mut samples = Vec::new();
        for _ in 0..100 {
            let start = Instant::now();
            let response = client
                .get(format!("{base}/account/users?{query}"))
                .header("HX-Request", "true")
                .send()
                .await
                .expect("GET");
            assert_eq!(response.status(), 200, "{query}");
            response.bytes().await.expect("body");
            samples.push(start.elapsed());
        }
        summary(&label, samples);
    }
}
