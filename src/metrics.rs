//! What Latchkey counts while it runs, and its Prometheus text rendering
//! (exposition format 0.0.4). `web::metrics` records into it and serves it.
//!
//! Hand-written rather than a metrics crate: the label sets are few and
//! fixed, and recording must stay a handful of atomic adds per request.
//! (prometheus-client's histogram takes a lock per observation;
//! metrics-exporter-prometheus brings its own HTTP server and a large
//! dependency tree.) Nothing on the recording path takes a lock: a route's
//! counters sit in a fixed table of slots found by hashing its template, each
//! filled once, and a route's (method, status) pairs claim slots of their own
//! with a compare-and-swap the first time they occur.
//!
//! Labels hold only bounded values: route templates (`/account/users/{id}`,
//! never the path asked for), a fixed set of methods, status codes.

use std::fmt::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The route label of requests no route matched (the 404 page).
pub const UNMATCHED: &str = "unmatched";

/// Slots for routes: well above the router's count of routes (about 60),
/// so that a lookup finds its slot at once or after a step or two.
const ROUTE_SLOTS: usize = 256;

/// (method, status) pairs counted apart per route; a route answers with a
/// handful, and any beyond are counted together.
const ANSWER_SLOTS: usize = 16;

/// The method labels: the usual methods by name, anything else as "other",
/// so a client inventing methods can't add series.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];

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
pub struct Metrics {
    /// Open addressing by a hash of the route template; a slot, once
    /// filled, keeps its route.
    routes: Box<[OnceLock<Box<RouteStats>>]>,
    /// Where requests go if every slot holds another route (never, with
    /// the routes Latchkey has).
    other_routes: RouteStats,
    sign_in_successes: [AtomicU64; SignInStep::ALL.len()],
    sign_in_failures: [AtomicU64; SignInFailure::ALL.len()],
}

struct RouteStats {
    route: Box<str>,
    answers: [Answer; ANSWER_SLOTS],
    /// Answers whose (method, status) found no free slot.
    other_answers: AtomicU64,
    latency: Histogram,
}

/// One (method, status) pair of a route and its count. `key` is 0 while
/// the slot is free, else `(method index + 1) << 16 | status`.
#[derive(Default)]
struct Answer {
    key: AtomicU32,
    count: AtomicU64,
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
    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

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

/// The index of a method's label in [`METHODS`].
fn method_index(method: &http::Method) -> usize {
    use http::Method;
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            routes: (0..ROUTE_SLOTS).map(|_| OnceLock::new()).collect(),
            other_routes: RouteStats::new("other"),
            sign_in_successes: Default::default(),
            sign_in_failures: Default::default(),
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// One answered request: `route` is the matched template or [`UNMATCHED`].
    pub fn record_request(&self, route: &str, method: &http::Method, status: u16, took: Duration) {
        let stats = self.route_stats(route);
        stats.latency.observe(took);
        stats.count((method_index(method) as u32 + 1) << 16 | u32::from(status));
    }

    /// The slot of `route`, filled on its first request. Lock-free once
    /// filled: `OnceLock::get` is one atomic load.
    fn route_stats(&self, route: &str) -> &RouteStats {
        let start = fnv1a(route.as_bytes()) as usize % ROUTE_SLOTS;
        for step in 0..ROUTE_SLOTS {
            let slot = &self.routes[(start + step) % ROUTE_SLOTS];
            let stats = match slot.get() {
                Some(stats) => stats,
                None => slot.get_or_init(|| Box::new(RouteStats::new(route))),
            };
            if *stats.route == *route {
                return stats;
            }
        }
        &self.other_routes
    }

    /// The routes seen so far, by template.
    fn seen_routes(&self) -> Vec<&RouteStats> {
        let mut routes: Vec<&RouteStats> = self
            .routes
            .iter()
            .filter_map(|slot| slot.get().map(|stats| &**stats))
            .chain(std::iter::once(&self.other_routes))
            .filter(|stats| stats.latency.count() > 0)
            .collect();
        routes.sort_unstable_by(|a, b| a.route.cmp(&b.route));
        routes
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
        let routes = self.seen_routes();

        family(
            &mut out,
            "latchkey_http_requests_total",
            "counter",
            "Requests answered, by route template, method and status.",
        );
        for stats in &routes {
            let route = escape(&stats.route);
            for (method, status, count) in stats.answers() {
                let _ = writeln!(
                    out,
                    "latchkey_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
                );
            }
        }

        family(
            &mut out,
            "latchkey_http_throttled_total",
            "counter",
            "Requests refused for coming too often (answered 429), by route template.",
        );
        for stats in &routes {
            let throttled: u64 = stats
                .answers()
                .iter()
                .filter(|(_, status, _)| status == "429")
                .map(|(_, _, count)| count)
                .sum();
            if throttled > 0 {
                let _ = writeln!(
                    out,
                    "latchkey_http_throttled_total{{route=\"{}\"}} {throttled}",
                    escape(&stats.route)
                );
            }
        }

        family(
            &mut out,
            "latchkey_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer's headers, by route template.",
        );
        for stats in &routes {
            let latency = &stats.latency;
            let route = escape(&stats.route);
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
    fn new(route: &str) -> Self {
        Self {
            route: route.into(),
            answers: Default::default(),
            other_answers: AtomicU64::new(0),
            latency: Histogram::default(),
        }
    }

    /// Counts one answer under its (method, status) key, claiming a free
    /// slot for a key not seen before.
    fn count(&self, key: u32) {
        for answer in &self.answers {
            let mut held = answer.key.load(Ordering::Acquire);
            if held == 0 {
                held =
                    match answer
                        .key
                        .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => key,
                        Err(other) => other,
                    };
            }
            if held == key {
                answer.count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.other_answers.fetch_add(1, Ordering::Relaxed);
    }

    /// `(method, status, count)`, sorted; answers past the slots as
    /// method and status "other".
    fn answers(&self) -> Vec<(&'static str, String, u64)> {
        let mut answers: Vec<(&'static str, String, u64)> = self
            .answers
            .iter()
            .filter_map(|answer| {
                let key = answer.key.load(Ordering::Acquire);
                let method = METHODS.get((key >> 16).checked_sub(1)? as usize)?;
                let count = answer.count.load(Ordering::Relaxed);
                Some((*method, (key & 0xFFFF).to_string(), count))
            })
            .collect();
        let other = self.other_answers.load(Ordering::Relaxed);
        if other > 0 {
            answers.push(("other", "other".into(), other));
        }
        answers.sort_unstable();
        answers
    }
}

/// FNV-1a: a fast, fixed hash to place a route template in its slot.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
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
        let (get, post) = (http::Method::GET, http::Method::POST);
        let brew = http::Method::from_bytes(b"BREW").unwrap();
        metrics.record_request("/signin", &post, 303, ms(300));
        metrics.record_request("/signin", &post, 303, ms(3));
        metrics.record_request("/signin", &post, 429, ms(1));
        metrics.record_request("/signin", &get, 200, ms(60_000));
        metrics.record_request(UNMATCHED, &brew, 404, ms(1));
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
    fn every_route_finds_its_own_slot_even_past_the_table() {
        let metrics = Metrics::new();
        let get = http::Method::GET;
        for round in 0..2 {
            for i in 0..ROUTE_SLOTS + 10 {
                metrics.record_request(&format!("/r/{i}"), &get, 200, Duration::ZERO);
            }
            let text = metrics.render(&StoreGauges::default());
            let expected = format!(
                "route=\"/r/7\",method=\"GET\",status=\"200\"}} {}",
                round + 1
            );
            assert!(text.contains(&expected), "{round}");
        }
        let text = metrics.render(&StoreGauges::default());
        // The ten that found no slot are counted together, not lost.
        assert!(text.contains("route=\"other\",method=\"GET\",status=\"200\"} 20"));
    }

    #[test]
    fn answers_past_their_slots_are_counted_together() {
        let metrics = Metrics::new();
        let get = http::Method::GET;
        for status in 200..200 + ANSWER_SLOTS as u16 + 3 {
            metrics.record_request("/", &get, status, Duration::ZERO);
        }
        let text = metrics.render(&StoreGauges::default());
        assert!(text.contains("route=\"/\",method=\"GET\",status=\"215\"} 1"));
        assert!(text.contains("route=\"/\",method=\"other\",status=\"other\"} 3"));
    }
}
