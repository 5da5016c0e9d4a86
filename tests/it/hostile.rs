//! Hostile input, as property tests over every form route of the router's
//! own table (`web::route_table`): random and malformed bodies, oversized
//! fields, bad UTF-8, odd content types, duplicated fields and missing,
//! wrong or stolen CSRF tokens, with garbage for the ids in the path.
//!
//! Whatever arrives, the answer is never a 5xx (a panic would be one: the
//! router answers 500 for it) and no page it returns has inline code. A
//! request that must be refused (its CSRF token is missing, wrong, someone
//! else's or in the wrong place; or, with the right token, its form can't
//! be read: a non-form content type, a body over 64 KiB, a field that may
//! appear once sent twice) gets a 4xx and writes nothing.
//!
//! Each route gets a fresh server and [`CASES`] cases (set `PROPTEST_CASES`
//! for more). A POST route missing from [`FORMS`] fails the test, so a new
//! form can't go unchecked.

use std::fmt;

use latchkey::domain::MailMessage;
use latchkey::store::{AttemptOutcome, OutboxMessage};
use latchkey::web::{Access, Route, route_table};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use reqwest::Method;

use crate::support::{Client, TestApp, csrf_of};
use crate::web_security::inline_code;

/// Cases per route unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 64;

/// The largest body a form may have (`web::csrf::MAX_FORM_BYTES`).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// How each POST route reads its body: `None` when it reads no form (only
/// its CSRF token matters), else the fields of its form that may appear
/// only once (a second copy must be refused). Forms read as pairs (roles,
/// the Users list's delete) take any field any number of times.
const FORMS: &[(&str, Option<&[&str]>)] = &[
    ("/signin", Some(&["email", "password", "next"])),
    ("/signin/2fa", Some(&["code", "next"])),
    ("/signout", None),
    ("/reauthenticate", Some(&["password", "code", "next"])),
    ("/setup", Some(&["token"])),
    (
        "/profile",
        Some(&["first_name", "last_name", "email", "phone"]),
    ),
    ("/profile/2fa", Some(&["code", "next"])),
    ("/profile/2fa/disable", None),
    ("/profile/2fa/recovery-codes", None),
    ("/profile/sessions/{reference}/signout", None),
    ("/profile/sessions/signout-others", None),
    ("/profile/delete", None),
    ("/profile/email/confirm", Some(&["token"])),
    ("/password/forgot", Some(&["email"])),
    (
        "/password/reset",
        Some(&["token", "password", "password_confirm"]),
    ),
    (
        "/invitation",
        Some(&[
            "token",
            "first_name",
            "last_name",
            "phone",
            "password",
            "password_confirm",
        ]),
    ),
    ("/account/users/invite", Some(&["email", "sign_in_method"])),
    ("/account/users/delete", Some(&[])),
    (
        "/account/users/{id}/edit",
        Some(&["first_name", "last_name", "email", "phone", "from"]),
    ),
    ("/account/users/{id}/roles/add", Some(&["role"])),
    ("/account/users/{id}/roles/remove", Some(&["role"])),
    ("/account/users/{id}/invite/resend", None),
    ("/account/users/{id}/two-factor/disable", None),
    ("/account/roles", Some(&[])),
    ("/account/roles/{id}", Some(&[])),
    ("/account/roles/{id}/clone", Some(&[])),
    ("/account/roles/{id}/delete", Some(&[])),
    (
        "/account/settings",
        Some(&[
            "self_service_profile_updates",
            "require_2fa_for_local_users",
        ]),
    ),
    ("/account/settings/test-email", None),
    ("/account/settings/outbox/{id}/retry", None),
];

/// Where the CSRF token goes, and whose it is.
#[derive(Clone, Debug)]
enum Csrf {
    Missing,
    WrongHeader(String),
    WrongField(String),
    /// Another browser's valid token.
    TheirsHeader,
    TheirsField,
    /// A wrong `csrf` field first, the right one after it.
    RightFieldAfterWrong(String),
    /// A wrong header beside the right field: the header decides.
    WrongHeaderRightField(String),
    RightHeader,
    RightField,
}

#[derive(Clone, Debug)]
enum ContentType {
    Form,
    FormUtf8,
    FormUpperCase,
    Json,
    Multipart,
    Text,
    Missing,
    Other(String),
}

impl ContentType {
    fn header(&self) -> Option<String> {
        Some(match self {
            ContentType::Form => "application/x-www-form-urlencoded".into(),
            ContentType::FormUtf8 => "application/x-www-form-urlencoded; charset=UTF-8".into(),
            ContentType::FormUpperCase => "APPLICATION/X-WWW-FORM-URLENCODED".into(),
            ContentType::Json => "application/json".into(),
            ContentType::Multipart => "multipart/form-data; boundary=XyZ".into(),
            ContentType::Text => "text/plain".into(),
            ContentType::Missing => return None,
            ContentType::Other(s) => s.clone(),
        })
    }

    /// What the CSRF layer reads a `csrf` field from.
    fn is_form_for_csrf(&self) -> bool {
        matches!(self, ContentType::Form | ContentType::FormUtf8)
    }

    /// Plainly no form, whoever reads it.
    fn is_not_form(&self) -> bool {
        matches!(
            self,
            ContentType::Json | ContentType::Multipart | ContentType::Text | ContentType::Missing
        )
    }
}

/// One hostile request to a route.
#[derive(Clone)]
struct Hostile {
    csrf: Csrf,
    content_type: ContentType,
    /// Field names and values, each sent raw or percent-encoded.
    fields: Vec<(Vec<u8>, Vec<u8>, bool)>,
    /// Index into the route's once-only fields to send twice.
    duplicate: Option<usize>,
    /// Raw bytes after the fields.
    trailer: Vec<u8>,
    /// Padding that takes the body past the limit.
    oversized: bool,
    /// What fills `{id}` / `{reference}`.
    id: String,
    htmx: bool,
}

impl fmt::Debug for Hostile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |b: &[u8]| {
            let s = String::from_utf8_lossy(b);
            if s.len() > 60 {
                format!(
                    "{}… ({} bytes)",
                    s.chars().take(40).collect::<String>(),
                    b.len()
                )
            } else {
                format!("{s:?}")
            }
        };
        f.debug_struct("Hostile")
            .field("csrf", &self.csrf)
            .field("content_type", &self.content_type)
            .field(
                "fields",
                &self
                    .fields
                    .iter()
                    .map(|(n, v, raw)| format!("{}={} raw={raw}", short(n), short(v)))
                    .collect::<Vec<_>>(),
            )
            .field("duplicate", &self.duplicate)
            .field("trailer", &short(&self.trailer))
            .field("oversized", &self.oversized)
            .field("id", &self.id)
            .field("htmx", &self.htmx)
            .finish()
    }
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => any::<String>().prop_map(String::into_bytes),
        2 => proptest::collection::vec(any::<u8>(), 0..48),
        1 => (1usize..20_000, any::<char>())
            .prop_map(|(n, c)| c.to_string().repeat(n).into_bytes()),
        1 => prop_oneof![
            Just(b"%FF%FE%C0%AF".to_vec()),
            Just(b"%".to_vec()),
            Just(b"%%%&&&===".to_vec()),
            Just("\u{0}\u{202e}\u{feff}".as_bytes().to_vec()),
            Just(b"\xff\xfe\xc0\xaf".to_vec()),
            Just(b"../../etc/passwd".to_vec()),
            Just(b"<script>alert(1)</script>".to_vec()),
            Just(b"18446744073709551616".to_vec()),
            Just(b"-1".to_vec()),
        ],
    ]
}

fn field_name(known: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let mut names: Vec<&'static str> = known.to_vec();
    names.extend(["csrf", "token", "id", "role", "permission", "next", ""]);
    prop_oneof![
        3 => proptest::sample::select(names).prop_map(|n| n.as_bytes().to_vec()),
        1 => text(),
    ]
}

fn csrf(right_allowed: bool) -> BoxedStrategy<Csrf> {
    let junk = || any::<String>();
    let wrong = prop_oneof![
        Just(Csrf::Missing),
        junk().prop_map(Csrf::WrongHeader),
        junk().prop_map(Csrf::WrongField),
        Just(Csrf::TheirsHeader),
        Just(Csrf::TheirsField),
        junk().prop_map(Csrf::RightFieldAfterWrong),
        junk().prop_map(Csrf::WrongHeaderRightField),
    ];
    if right_allowed {
        prop_oneof![
            2 => wrong,
            2 => Just(Csrf::RightHeader),
            4 => Just(Csrf::RightField),
        ]
        .boxed()
    } else {
        wrong.boxed()
    }
}

fn content_type() -> impl Strategy<Value = ContentType> {
    prop_oneof![
        10 => Just(ContentType::Form),
        1 => Just(ContentType::FormUtf8),
        1 => Just(ContentType::FormUpperCase),
        1 => Just(ContentType::Json),
        1 => Just(ContentType::Multipart),
        1 => Just(ContentType::Text),
        1 => Just(ContentType::Missing),
        1 => "[ -~]{0,40}".prop_map(ContentType::Other),
    ]
}

fn hostile(shape: Option<&'static [&'static str]>, ids: Vec<String>) -> BoxedStrategy<Hostile> {
    let known = shape.unwrap_or(&[]);
    let id = prop_oneof![
        2 => proptest::sample::select(ids),
        1 => any::<String>(),
        1 => any::<u64>().prop_map(|n| n.to_string()),
    ];
    (
        csrf(shape.is_some()),
        content_type(),
        proptest::collection::vec((field_name(known), text(), any::<bool>()), 0..6),
        proptest::option::weighted(0.2, 0..known.len().max(1)),
        prop_oneof![4 => Just(Vec::new()), 1 => text()],
        proptest::bool::weighted(0.1),
        id,
        any::<bool>(),
    )
        .prop_map(
            move |(csrf, content_type, fields, duplicate, trailer, oversized, id, htmx)| Hostile {
                csrf,
                content_type,
                fields,
                duplicate: duplicate.filter(|_| !known.is_empty()),
                trailer,
                oversized,
                id,
                htmx,
            },
        )
        .boxed()
}

/// Percent-encodes every byte but letters and digits.
fn encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for b in bytes {
        if b.is_ascii_alphanumeric() {
            out.push(*b);
        } else {
            out.extend(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// Percent-encodes a path segment the same way (so `/` and `?` stay in it).
fn segment(id: &str) -> String {
    String::from_utf8(encode(id.as_bytes())).expect("ASCII")
}

/// The tokens a case can use: this browser's and another one's.
struct Tokens {
    right: String,
    theirs: String,
}

impl Hostile {
    fn body(&self, shape: &[&str], tokens: &Tokens) -> Vec<u8> {
        let mut pairs: Vec<Vec<u8>> = Vec::new();
        let field = |name: &[u8], value: &[u8]| {
            let mut pair = encode(name);
            pair.push(b'=');
            pair.extend(encode(value));
            pair
        };
        match &self.csrf {
            Csrf::WrongField(wrong) => pairs.push(field(b"csrf", wrong.as_bytes())),
            Csrf::TheirsField => pairs.push(field(b"csrf", tokens.theirs.as_bytes())),
            Csrf::RightFieldAfterWrong(wrong) => {
                pairs.push(field(b"csrf", wrong.as_bytes()));
                pairs.push(field(b"csrf", tokens.right.as_bytes()));
            }
            Csrf::WrongHeaderRightField(_) | Csrf::RightField => {
                pairs.push(field(b"csrf", tokens.right.as_bytes()));
            }
            Csrf::Missing | Csrf::WrongHeader(_) | Csrf::TheirsHeader | Csrf::RightHeader => {}
        }
        for (name, value, raw) in &self.fields {
            if *raw {
                let mut pair = name.clone();
                pair.push(b'=');
                pair.extend(value);
                pairs.push(pair);
            } else {
                pairs.push(field(name, value));
            }
        }
        if let Some(i) = self.duplicate {
            pairs.push(field(shape[i].as_bytes(), b"one"));
            pairs.push(field(shape[i].as_bytes(), b"two"));
        }
        let mut body = pairs.join(&b'&');
        if !self.trailer.is_empty() {
            body.push(b'&');
            body.extend(&self.trailer);
        }
        if self.oversized {
            let pad = (MAX_FORM_BYTES + 1).saturating_sub(body.len()).max(1);
            body.extend(b"&pad=");
            body.extend(std::iter::repeat_n(b'x', pad));
        }
        body
    }

    /// The `X-CSRF-Token` header, if any (without the control characters
    /// no client can send in a header).
    fn header(&self, tokens: &Tokens) -> Option<String> {
        match &self.csrf {
            Csrf::WrongHeader(wrong) | Csrf::WrongHeaderRightField(wrong) => {
                Some(wrong.chars().filter(|c| !c.is_control()).collect())
            }
            Csrf::TheirsHeader => Some(tokens.theirs.clone()),
            Csrf::RightHeader => Some(tokens.right.clone()),
            _ => None,
        }
    }

    /// Whether the request must be refused, and why.
    fn must_refuse(&self, reads_form: bool, body_len: usize) -> Option<&'static str> {
        let too_big = body_len > MAX_FORM_BYTES;
        let csrf_passes = match &self.csrf {
            Csrf::RightHeader => true,
            Csrf::RightField => self.content_type.is_form_for_csrf() && !too_big,
            _ => false,
        };
        if !csrf_passes {
            return Some("the CSRF token is not right");
        }
        if !reads_form {
            return None;
        }
        if self.content_type.is_not_form() {
            return Some("the form has no form content type");
        }
        if too_big {
            return Some("the body is over the limit");
        }
        if self.duplicate.is_some() {
            return Some("a once-only field came twice");
        }
        None
    }
}

/// A fresh server with its people, and the client a route is tried with.
struct Fixture {
    app: TestApp,
    client: Client,
    tokens: Tokens,
    ids: Vec<String>,
}

async fn fixture(route: &Route) -> Fixture {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let user = app.signed_in("emma@example.com", false).await;
    let bob = app.user("bob@example.com", false).await;
    // A failed message, listed and not queued: no worker writes meanwhile.
    let message = app
        .accounts
        .store
        .record_direct_mail(
            OutboxMessage::new(
                MailMessage {
                    to: "bob@example.com".into(),
                    subject: "Latchkey: for Bob".into(),
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
    let role = crate::roles::make_role(&app, "Helpdesk", &[]).id;
    let admin_token = csrf_of(&admin.get_text("/profile").await);
    let user_token = csrf_of(&user.get_text("/profile").await);
    let (client, tokens) = match route.access {
        Access::Permission(_) => (
            admin,
            Tokens {
                right: admin_token,
                theirs: user_token,
            },
        ),
        // The second step is for a browser half way through signing in.
        Access::SignedIn if route.path == "/signin/2fa" => {
            let tom = app.signed_in("tom@example.com", false).await;
            crate::two_factor::set_up(&tom).await;
            let half = app.client();
            half.sign_in("tom@example.com", crate::support::PASSWORD)
                .await;
            let right = csrf_of(&half.get_text("/signin/2fa").await);
            (
                half,
                Tokens {
                    right,
                    theirs: user_token,
                },
            )
        }
        Access::SignedIn => (
            user,
            Tokens {
                right: user_token,
                theirs: admin_token,
            },
        ),
        Access::Anyone => {
            let anonymous = app.client();
            let right = csrf_of(&anonymous.get_text("/signin").await);
            let theirs = csrf_of(&app.client().get_text("/signin").await);
            (anonymous, Tokens { right, theirs })
        }
    };
    let ids = vec![
        bob.id.to_string(),
        role.to_string(),
        message.to_string(),
        "1".into(),
        "0".into(),
    ];
    Fixture {
        app,
        client,
        tokens,
        ids,
    }
}

/// Sends one case; `Ok(true)` when it was one that must be refused (and
/// was), `Err` says what went wrong.
async fn attempt(
    fixture: &Fixture,
    route: &Route,
    shape: Option<&'static [&'static str]>,
    case: &Hostile,
) -> Result<bool, String> {
    let path = route
        .path
        .replace("{id}", &segment(&case.id))
        .replace("{reference}", &segment(&case.id));
    let body = case.body(shape.unwrap_or(&[]), &fixture.tokens);
    let body_len = body.len();
    let refuse = case.must_refuse(shape.is_some(), body_len);
    // One connection per case: a refusal answered without reading the body
    // ends its connection, and a pooled one could be found closed.
    let mut request = fixture
        .client
        .http
        .post(fixture.app.url(&path))
        .header("Connection", "close")
        .body(body);
    if let Some(content_type) = case.content_type.header() {
        request = request.header("Content-Type", content_type);
    }
    if let Some(token) = case.header(&fixture.tokens) {
        request = request.header("X-CSRF-Token", token);
    }
    if case.htmx {
        request = request.header("HX-Request", "true");
    }
    let store = &fixture.app.accounts.store;
    let writes = store.write_count();
    let oversized = body_len > MAX_FORM_BYTES;
    let response = match request.send().await {
        Ok(response) => response,
        // The server answers a body over the limit without reading the
        // rest, and closing a socket with unread data resets it: the
        // client may see the reset before the 413. Refused either way.
        Err(e) if oversized && refuse.is_some() => {
            let written = store.write_count() - writes;
            return if written == 0 {
                Ok(true)
            } else {
                Err(format!("cut off ({e}), yet {written} writes"))
            };
        }
        Err(e) => return Err(format!("no answer: {e:?}")),
    };
    let status = response.status();
    let html = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let text = response.text().await.unwrap_or_default();
    let written = store.write_count() - writes;
    if status.is_server_error() {
        return Err(format!("{status}: {text}"));
    }
    if html && let Some(problem) = inline_code(&text) {
        return Err(format!("{status} page with {problem}"));
    }
    if let Some(why) = refuse {
        if !status.is_client_error() {
            return Err(format!("{why}, yet {status}"));
        }
        if written != 0 {
            return Err(format!("{why}, yet {written} writes ({status})"));
        }
    }
    Ok(refuse.is_some())
}

#[test]
fn every_form_route_holds_against_hostile_input() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let posts: Vec<Route> = route_table()
        .into_iter()
        .filter(|r| r.method != Method::GET)
        .collect();
    let unlisted: Vec<&str> = posts
        .iter()
        .filter(|r| FORMS.iter().all(|(path, _)| *path != r.path))
        .map(|r| r.path)
        .collect();
    assert!(
        unlisted.is_empty(),
        "say in FORMS how these routes read their body: {unlisted:?}"
    );
    assert!(posts.iter().all(|r| r.method == Method::POST));
    let mut tried = 0;
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let total = std::sync::atomic::AtomicUsize::new(0);
    for route in &posts {
        let shape = FORMS
            .iter()
            .find(|(path, _)| *path == route.path)
            .and_then(|(_, shape)| *shape);
        let fixture = runtime.block_on(fixture(route));
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 256,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let outcome = runner.run(&hostile(shape, fixture.ids.clone()), |case| {
            let must_refuse = runtime
                .block_on(attempt(&fixture, route, shape, &case))
                .map_err(TestCaseError::fail)?;
            total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            refused.fetch_add(
                usize::from(must_refuse),
                std::sync::atomic::Ordering::Relaxed,
            );
            Ok(())
        });
        match outcome {
            Ok(()) => tried += 1,
            Err(TestError::Fail(why, case)) => {
                panic!("POST {}: {why}\nminimal case: {case:#?}", route.path)
            }
            Err(TestError::Abort(why)) => panic!("POST {}: aborted: {why}", route.path),
        }
    }
    assert_eq!(tried, posts.len());
    eprintln!(
        "hostile input: {cases} cases on each of {} form routes; {} of {} requests had to be refused",
        posts.len(),
        refused.into_inner(),
        total.into_inner(),
    );
}
