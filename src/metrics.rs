//! What Latchkey counts while it runs, and its Prometheus text rendering
//! (exposition format 0.0.4). `web::metrics` records into it and serves it.
//!
//! Hand-written rather than a metrics crate: the label sets are few and
//! fixed, and recording must stay a handful of atomic adds per request.
//! (prometheus-client's histogram takes a lock per observation;
//! metrics-exporter-prometheus brings its own HTTP server and a large
//! dependency tree.) Request series are found under a read lock that is only
//! ever taken for writing when a route first answers with a new method and
//! status, which happens a bounded number of times.
//!
//! Labels hold only bounded values: route templates (`/account/users/{id}`,
//! never the path asked for), a fixed set of methods, status codes.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The route label of requests no route matched (the 404 page).
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds (Prometheus' defaults:
/// from a cached asset to a password hash under load).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Where a sign-in succeeded: a session was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInStep {
    /// The password alone (no 2FA, or 2FA still to be set up).
    Password,
    /// A code from the app or a recovery code, after the password.
    SecondFactor,
}

impl SignInStep {
    const ALL: [SignInStep; 2] = [SignInStep::Password, SignInStep::SecondFactor];

    fn label(self) -> &'static str {
        match self {
            SignInStep::Password => "password",
            SignInStep::SecondFactor => "second_factor",
        }
    }
}

/// Why a sign-in attempt was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInFailure {
    /// Wrong email or password.
    BadCredentials,
    /// Too many failed passwords: refused without checking.
    Throttled,
    /// A wrong 2FA code or recovery code.
    WrongCode,
    /// A 2FA code that was used already.
    CodeUsed,
    /// Too many wrong codes: refused without checking.
    CodeThrottled,
}

impl SignInFailure {
    const ALL: [SignInFailure; 5] = [
        SignInFailure::BadCredentials,
        SignInFailure::Throttled,
        SignInFailure::WrongCode,
        SignInFailure::CodeUsed,
        SignInFailure::CodeThrottled,
    ];

    /// `(step, reason)` labels.
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            SignInFailure::BadCredentials => ("password", "bad_credentials"),
            SignInFailure::Throttled => ("password", "throttled"),
            SignInFailure::WrongCode => ("second_factor", "wrong_code"),
            SignInFailure::CodeUsed => ("second_factor", "code_used"),
            SignInFailure::CodeThrottled => ("second_factor", "throttled"),
        }
    }
}

/// Counters of one running server. Shared behind an `Arc`; every method
/// takes `&self`.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<Box<str>, RouteStats>>,
    sign_in_successes: [AtomicU64; SignInStep::ALL.len()],
    sign_in_failures: [AtomicU64; SignInFailure::ALL.len()],
}

#[derive(Default)]
struct RouteStats {
    /// `(method, status, answered)`: a route sees only a few combinations.
    answers: RwLock<Vec<(&'static str, u16, AtomicU64)>>,
    latency: Histogram,
}

/// Bucket counts (not cumulative; the last one is above every bound) and
/// the sum. The count is the buckets' total, so a scrape never shows a
/// count that disagrees with its buckets.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// What the store holds, read at scrape time from table lengths and the
/// first queued message (no scans).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreGauges {
    pub users: u64,
    pub sessions: u64,
    pub outbox_queued: u64,
    /// Seconds the oldest queued message has waited; 0 with none queued.
    pub outbox_oldest_queued_age: i64,
    pub sign_in_throttle_entries: u64,
    pub request_throttle_entries: u64,
}

/// The method label: the usual methods by name, anything else as "other",
/// so a client inventing methods can't add series.
pub fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// One answered request: `route` is the matched template or [`UNMATCHED`].
    pub fn record_request(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        {
            let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
            if let Some(stats) = routes.get(route) {
                stats.record(method, status, took);
                return;
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        routes
            .entry(route.into())
            .or_default()
            .record(method, status, took);
    }

    pub fn sign_in_succeeded(&self, step: SignInStep) {
        let index = SignInStep::ALL.iter().position(|s| *s == step);
        if let Some(counter) = index.and_then(|i| self.sign_in_successes.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn sign_in_failed(&self, why: SignInFailure) {
        let index = SignInFailure::ALL.iter().position(|f| *f == why);
        if let Some(counter) = index.and_then(|i| self.sign_in_failures.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Everything in Prometheus text format 0.0.4.
    pub fn render(&self, store: &StoreGauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&str> = routes.keys().map(|k| &**k).collect();
        names.sort_unstable();

        family(
            &mut out,
            "latchkey_http_requests_total",
            "counter",
            "Requests answered, by route template, method and status.",
        );
        for name in &names {
            let answers = routes[*name]
                .answers
                .read()
                .unwrap_or_else(|e| e.into_inner());
            let mut answers: Vec<(&str, u16, u64)> = answers
                .iter()
                .map(|(m, s, n)| (*m, *s, n.load(Ordering::Relaxed)))
                .collect();
            answers.sort_unstable();
            for (method, status, count) in answers {
                let _ = writeln!(
                    out,
                    "latchkey_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                    escape(name)
                );
            }
        }

        family(
            &mut out,
            "latchkey_http_throttled_total",
            "counter",
            "Requests refused for coming too often (answered 429), by route template.",
        );
        for name in &names {
            let answers = routes[*name]
                .answers
                .read()
                .unwrap_or_else(|e| e.into_inner());
            let throttled: u64 = answers
                .iter()
                .filter(|(_, status, _)| *status == 429)
                .map(|(_, _, n)| n.load(Ordering::Relaxed))
                .sum();
            if throttled > 0 {
                let _ = writeln!(
                    out,
                    "latchkey_http_throttled_total{{route=\"{}\"}} {throttled}",
                    escape(name)
                );
            }
        }

        family(
            &mut out,
            "latchkey_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer's headers, by route template.",
        );
        for name in &names {
            let latency = &routes[*name].latency;
            let route = escape(name);
            let mut cumulative = 0;
            for (i, bucket) in latency.buckets.iter().enumerate() {
                cumulative += bucket.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "latchkey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = latency.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "latchkey_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "latchkey_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
            );
        }
        drop(routes);

        family(
            &mut out,
            "latchkey_sign_in_successes_total",
            "counter",
            "Sign-ins that granted a session, by the step that completed them.",
        );
        for (step, counter) in SignInStep::ALL.iter().zip(&self.sign_in_successes) {
            let _ = writeln!(
                out,
                "latchkey_sign_in_successes_total{{step=\"{}\"}} {}",
                step.label(),
                counter.load(Ordering::Relaxed)
            );
        }
        family(
            &mut out,
            "latchkey_sign_in_failures_total",
            "counter",
            "Sign-in attempts refused, by step and reason.",
        );
        for (failure, counter) in SignInFailure::ALL.iter().zip(&self.sign_in_failures) {
            let (step, reason) = failure.labels();
            let _ = writeln!(
                out,
                "latchkey_sign_in_failures_total{{step=\"{step}\",reason=\"{reason}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }

        gauge(
            &mut out,
            "latchkey_users",
            "Accounts in the store, in every status.",
            store.users,
        );
        gauge(
            &mut out,
            "latchkey_sessions",
            "Sessions in the store, including expired ones not yet swept (every 5 minutes).",
            store.sessions,
        );
        gauge(
            &mut out,
            "latchkey_outbox_queued",
            "Mail messages waiting to be sent.",
            store.outbox_queued,
        );
        gauge(
            &mut out,
            "latchkey_outbox_oldest_queued_age_seconds",
            "How long the oldest waiting mail message has waited (0 with none waiting).",
            u64::try_from(store.outbox_oldest_queued_age).unwrap_or(0),
        );
        family(
            &mut out,
            "latchkey_build_info",
            "gauge",
            "Always 1; the version is in the label.",
        );
        let _ = writeln!(
            out,
            "latchkey_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        family(
            &mut out,
            "latchkey_throttle_entries",
            "gauge",
            "Rows of the throttling tables (pruned every 5 minutes), by table.",
        );
        let _ = writeln!(
            out,
            "latchkey_throttle_entries{{table=\"sign_in\"}} {}",
            store.sign_in_throttle_entries
        );
        let _ = writeln!(
            out,
            "latchkey_throttle_entries{{table=\"requests\"}} {}",
            store.request_throttle_entries
        );
        out
    }
}

impl RouteStats {
    fn record(&self, method: &'static str, status: u16, took: Duration) {
        self.latency.observe(took);
        {
            let answers = self.answers.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, _, n)) = answers
                .iter()
                .find(|(m, s, _)| *m == method && *s == status)
            {
                n.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut answers = self.answers.write().unwrap_or_else(|e| e.into_inner());
        match answers
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, n)) => {
                n.fetch_add(1, Ordering::Relaxed);
            }
            None => answers.push((method, status, AtomicU64::new(1))),
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_method_and_status_with_cumulative_buckets() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis;
        metrics.record_request("/signin", "POST", 303, ms(300));
        metrics.record_request("/signin", "POST", 303, ms(3));
        metrics.record_request("/signin", "POST", 429, ms(1));
        metrics.record_request("/signin", "GET", 200, ms(60_000));
        metrics.record_request(UNMATCHED, "other", 404, ms(1));
        let text = metrics.render(&StoreGauges::default());
        for line in [
            "latchkey_http_requests_total{route=\"/signin\",method=\"POST\",status=\"303\"} 2",
            "latchkey_http_requests_total{route=\"/signin\",method=\"POST\",status=\"429\"} 1",
            "latchkey_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1",
            "latchkey_http_throttled_total{route=\"/signin\"} 1",
            "latchkey_http_request_duration_seconds_bucket{route=\"/signin\",le=\"0.005\"} 2",
            "latchkey_http_request_duration_seconds_bucket{route=\"/signin\",le=\"0.25\"} 2",
            "latchkey_http_request_duration_seconds_bucket{route=\"/signin\",le=\"0.5\"} 3",
            "latchkey_http_request_duration_seconds_bucket{route=\"/signin\",le=\"10\"} 3",
            "latchkey_http_request_duration_seconds_bucket{route=\"/signin\",le=\"+Inf\"} 4",
            "latchkey_http_request_duration_seconds_count{route=\"/signin\"} 4",
            "latchkey_http_request_duration_seconds_sum{route=\"/signin\"} 60.304",
            "latchkey_sign_in_failures_total{step=\"second_factor\",reason=\"code_used\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(!text.contains("throttled_total{route=\"unmatched\"}"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn unusual_methods_share_one_label() {
        let method = http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&method), "other");
        assert_eq!(method_label(&http::Method::GET), "GET");
    }
}
