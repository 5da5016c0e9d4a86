//! `/metrics`: off by default, behind the bearer token on the main
//! listener, alone on a listener of its own; its counters follow sign-ins
//! and page loads, its labels are route templates, and its text parses as
//! Prometheus' exposition format.

use std::collections::{BTreeMap, BTreeSet};

use latchkey::config::{MailTransport, MetricsConfig, Secret, SmtpConfig, SmtpSecurity};
use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, TestApp, free_port, location};
use crate::two_factor::set_up;

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn with_token() -> TestApp {
    TestApp::spawn_with(|config| {
        config.metrics = Some(MetricsConfig {
            listen: None,
            bearer_token: Some(Secret::new(TOKEN)),
        });
    })
    .await
}

/// `GET /metrics` on the main listener, with the token.
async fn ask_with_token(app: &TestApp) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

async fn scrape(app: &TestApp) -> Exposition {
    let response = ask_with_token(app).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    Exposition::parse(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_are_not_served_unless_enabled() {
    let app = TestApp::spawn().await;
    let response = ask_with_token(&app).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn on_the_main_listener_metrics_need_the_bearer_token() {
    let app = with_token().await;
    let http = reqwest::Client::new();
    let url = app.url("/metrics");
    let refused = [
        http.get(&url),
        http.get(&url).bearer_auth("metrics-token-0123456789abcdeX"),
        http.get(&url).bearer_auth("short"),
        http.get(&url).basic_auth("prometheus", Some(TOKEN)),
        http.get(&url).header("Authorization", TOKEN),
    ];
    for request in refused {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"latchkey metrics\""
        );
        assert!(!response.text().await.unwrap().contains("latchkey_"));
    }
    // The scheme is case-insensitive.
    let lower = http
        .get(&url)
        .header("Authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);
    scrape(&app).await;
}

#[tokio::test]
async fn a_separate_listener_serves_metrics_alone() {
    let port = free_port();
    let app = TestApp::spawn_with(|config| {
        config.metrics = Some(MetricsConfig {
            listen: Some(format!("127.0.0.1:{port}").parse().unwrap()),
            bearer_token: None,
        });
    })
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    let parsed = Exposition::parse(&text);
    assert_eq!(parsed.value("latchkey_users", &[]), 0.0);
    for other in ["/", "/signin", "/healthz", "/metrics/", "/assets/app.js"] {
        let response = http.get(format!("{base}{other}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");
    }
    // Not on the main listener, token or not.
    let main = ask_with_token(&app).await;
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_separate_listener_with_a_token_asks_for_it() {
    let port = free_port();
    let _app = TestApp::spawn_with(|config| {
        config.metrics = Some(MetricsConfig {
            listen: Some(format!("127.0.0.1:{port}").parse().unwrap()),
            bearer_token: Some(Secret::new(TOKEN)),
        });
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let http = reqwest::Client::new();
    let bare = http.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    let with = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(with.status(), StatusCode::OK);
}

#[tokio::test]
async fn counters_follow_sign_ins_and_page_loads_by_route_template() {
    let app = TestApp::spawn_with(|config| {
        config.metrics = Some(MetricsConfig {
            listen: None,
            bearer_token: Some(Secret::new(TOKEN)),
        });
        config.sign_in.max_failures_per_account = 2;
    })
    .await;
    let before = scrape(&app).await;
    let failures = |m: &Exposition, step: &str, reason: &str| {
        m.value(
            "latchkey_sign_in_failures_total",
            &[("step", step), ("reason", reason)],
        )
    };
    let successes =
        |m: &Exposition, step: &str| m.value("latchkey_sign_in_successes_total", &[("step", step)]);
    assert_eq!(successes(&before, "password"), 0.0);
    assert_eq!(failures(&before, "password", "bad_credentials"), 0.0);

    // Two wrong passwords, then the account is throttled.
    app.user("locked@example.com", false).await;
    let guesser = app.client();
    for _ in 0..2 {
        let refused = guesser
            .sign_in("locked@example.com", "not the password")
            .await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = guesser.sign_in("locked@example.com", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);

    // A sign-in with the password alone, then pages.
    let browser = app.signed_in("emma@example.com", false).await;
    assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    let other = browser.get("/account/users/4242").await.status();
    assert_eq!(other, StatusCode::FORBIDDEN);
    let missing = browser.get("/no-such-page-7f3a").await.status();
    assert_eq!(missing, StatusCode::NOT_FOUND);

    // With 2FA: a wrong code, then the right one.
    let (mut phone, _) = set_up(&browser).await;
    let second = app.client();
    let password = second.sign_in("emma@example.com", PASSWORD).await;
    assert_eq!(location(&password), "/signin/2fa");
    let wrong = second
        .submit("/signin/2fa", "/signin/2fa", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = phone.next_code();
    let right = second
        .submit("/signin/2fa", "/signin/2fa", &[("code", &code)])
        .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);

    // Counting costs the store nothing: a signed-in page and a scrape write nothing.
    let writes = app.accounts.store.write_count();
    assert_eq!(second.get("/profile").await.status(), StatusCode::OK);
    let after = scrape(&app).await;
    assert_eq!(app.accounts.store.write_count(), writes);

    assert_eq!(failures(&after, "password", "bad_credentials"), 2.0);
    assert_eq!(failures(&after, "password", "throttled"), 1.0);
    assert_eq!(failures(&after, "second_factor", "wrong_code"), 1.0);
    assert_eq!(successes(&after, "password"), 1.0);
    assert_eq!(successes(&after, "second_factor"), 1.0);
    assert_eq!(
        after.value("latchkey_http_throttled_total", &[("route", "/signin")]),
        1.0
    );
    let requests = |route: &str, method: &str, status: &str| {
        after.value(
            "latchkey_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/profile", "GET", "200"), 3.0);
    assert_eq!(requests("/signin", "POST", "401"), 2.0);
    assert_eq!(requests("/signin", "POST", "429"), 1.0);
    assert_eq!(requests("/account/users/{id}", "GET", "403"), 1.0);
    assert_eq!(requests("unmatched", "GET", "404"), 1.0);
    assert_eq!(requests("/metrics", "GET", "200"), 1.0, "the first scrape");
    // Raw paths never become labels.
    let text = after.text.as_str();
    assert!(
        !text.contains("4242") && !text.contains("no-such-page"),
        "{text}"
    );
    let count = after.value(
        "latchkey_http_request_duration_seconds_count",
        &[("route", "/profile")],
    );
    assert_eq!(count, 3.0);
    assert_eq!(after.value("latchkey_users", &[]), 2.0);
    assert!(after.value("latchkey_sessions", &[]) >= 2.0);
    assert!(after.value("latchkey_throttle_entries", &[("table", "sign_in")]) >= 1.0);
}

#[tokio::test]
async fn outbox_depth_and_age_count_mail_that_waits() {
    let app = TestApp::spawn_with(|config| {
        config.metrics = Some(MetricsConfig {
            listen: None,
            bearer_token: Some(Secret::new(TOKEN)),
        });
        // Nothing listens there: the message stays queued.
        config.mail.transport = MailTransport::Smtp(SmtpConfig {
            host: "127.0.0.1".into(),
            port: free_port(),
            security: SmtpSecurity::None,
            credentials: None,
            timeout: std::time::Duration::from_secs(2),
        });
    })
    .await;
    let empty = scrape(&app).await;
    assert_eq!(empty.value("latchkey_outbox_queued", &[]), 0.0);
    assert_eq!(
        empty.value("latchkey_outbox_oldest_queued_age_seconds", &[]),
        0.0
    );
    app.user("emma@example.com", false).await;
    let reset = Client::new(&app.base)
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "emma@example.com")],
        )
        .await;
    assert!(reset.status().is_success() || reset.status().is_redirection());
    let queued = scrape(&app).await;
    assert_eq!(queued.value("latchkey_outbox_queued", &[]), 1.0);
    assert!(queued.value("latchkey_outbox_oldest_queued_age_seconds", &[]) >= 0.0);
}

/// A parsed scrape: the checks of Prometheus' text format 0.0.4 that matter
/// here, made while parsing, and the samples by name and labels.
struct Exposition {
    text: String,
    samples: BTreeMap<(String, Labels), f64>,
}

/// A series' labels, sorted by name.
type Labels = Vec<(String, String)>;

impl Exposition {
    fn parse(text: &str) -> Self {
        assert!(text.ends_with('\n'), "the last line ends with a newline");
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut helped = BTreeSet::new();
        let mut samples = BTreeMap::new();
        let mut finished: BTreeSet<String> = BTreeSet::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let (keyword, rest) = rest.split_once(' ').expect("# KEYWORD name …");
                let (name, value) = rest.split_once(' ').expect("# KEYWORD name value");
                assert!(is_metric_name(name), "{line}");
                match keyword {
                    "HELP" => assert!(helped.insert(name.to_owned()), "second HELP: {line}"),
                    "TYPE" => {
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"]
                                .contains(&value),
                            "{line}"
                        );
                        assert!(
                            types.insert(name.to_owned(), value.to_owned()).is_none(),
                            "second TYPE: {line}"
                        );
                    }
                    _ => panic!("unknown comment keyword: {line}"),
                }
                continue;
            }
            assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
            let (name, labels, value) = parse_sample(line);
            let family = family_of(&name, &types);
            let kind = types
                .get(&family)
                .unwrap_or_else(|| panic!("no TYPE before {line}"));
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "counter names end in _total: {line}"
                );
            }
            // A family's lines are together.
            if current.as_deref() != Some(&family) {
                assert!(finished.insert(family.clone()), "{family} is split: {line}");
                current = Some(family);
            }
            assert!(value.is_finite() || value == f64::INFINITY, "{line}");
            assert!(
                samples.insert((name, labels), value).is_none(),
                "duplicate series: {line}"
            );
        }
        let parsed = Self {
            text: text.to_owned(),
            samples,
        };
        parsed.check_histograms(&types);
        parsed
    }

    /// Buckets are cumulative, end at +Inf, and +Inf equals `_count`.
    fn check_histograms(&self, types: &BTreeMap<String, String>) {
        for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
            let bucket = format!("{family}_bucket");
            let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
            for ((name, labels), value) in &self.samples {
                if *name != bucket {
                    continue;
                }
                let le = labels
                    .iter()
                    .find(|(k, _)| k == "le")
                    .map(|(_, v)| v.as_str())
                    .expect("a bucket has le");
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("le is a number")
                };
                let rest: Vec<_> = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                series.entry(rest).or_default().push((bound, *value));
            }
            for (labels, mut buckets) in series {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{labels:?}");
                let (last_bound, last) = *buckets.last().unwrap();
                assert_eq!(last_bound, f64::INFINITY, "{labels:?}");
                let count = self.samples[&(format!("{family}_count"), labels.clone())];
                assert_eq!(count, last, "{labels:?}");
                assert!(
                    self.samples
                        .contains_key(&(format!("{family}_sum"), labels))
                );
            }
        }
    }

    /// The value of one series; panics naming it if it is missing.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut key: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        key.sort();
        *self
            .samples
            .get(&(name.to_owned(), key))
            .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", self.text))
    }
}

/// The family a sample belongs to: histogram samples carry a suffix.
fn family_of(name: &str, types: &BTreeMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).is_some_and(|k| k == "histogram")
        {
            return base.to_owned();
        }
    }
    name.to_owned()
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// `name{label="value",…} value`, with `\\`, `\"` and `\n` unescaped;
/// labels sorted.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(is_metric_name(name), "{line}");
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut label = String::new();
        loop {
            let (i, c) = chars
                .next()
                .unwrap_or_else(|| panic!("unclosed {{: {line}"));
            match c {
                '}' if label.is_empty() => {
                    rest = &inner[i + 1..];
                    break;
                }
                '=' => {
                    assert!(is_label_name(&label), "label name {label:?}: {line}");
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            Some('"') => break,
                            Some('\\') => match chars.next().map(|(_, c)| c) {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                other => panic!("bad escape {other:?}: {line}"),
                            },
                            Some(c) => value.push(c),
                            None => panic!("unclosed label value: {line}"),
                        }
                    }
                    assert!(
                        !labels.iter().any(|(k, _)| *k == label),
                        "label twice: {line}"
                    );
                    labels.push((std::mem::take(&mut label), value));
                    match chars.next() {
                        Some((_, ',')) => {}
                        Some((i, '}')) => {
                            rest = &inner[i + 1..];
                            break;
                        }
                        other => panic!("expected , or }} after a label, got {other:?}: {line}"),
                    }
                }
                c => label.push(c),
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("one space before the value: {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number
            .parse()
            .unwrap_or_else(|_| panic!("value {number:?}: {line}")),
    };
    labels.sort();
    (name.to_owned(), labels, value)
}
