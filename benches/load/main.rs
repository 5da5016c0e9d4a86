//! The benchmark suite: `cargo bench --bench load`.
//!
//! Seeds a fresh data file (100 000 users, 10 000 live sessions), starts the
//! release server on it as a separate process, drives it over HTTP/1.1
//! keep-alive connections from this process, and measures, in one run: a
//! baseline (the cheapest answer of the same server stack, an axum handler
//! with a fixed body served by this binary), then signed-in `/profile`, the
//! Users search and a deep page, cold start, a flood of correct sign-ins
//! (against the raw argon2id rate of this machine, with `/profile` latency
//! meanwhile), and the server's memory before, during and after. Prints a
//! table and writes `target/bench/results.json`. Numbers, not assertions:
//! the targets column says what the figures are measured against.
//!
//! Environment (all optional; shorter values give a quick run):
//! `LATCHKEY_BENCH_USERS` (100000), `LATCHKEY_BENCH_SESSIONS` (10000),
//! `LATCHKEY_BENCH_SECS` per throughput or latency scenario (10),
//! `LATCHKEY_BENCH_FLOOD_SECS` (60), `LATCHKEY_BENCH_SETTLE_SECS` (60),
//! `LATCHKEY_BENCH_COLD_STARTS` (5), `LATCHKEY_BENCH_CONNECTIONS` (16),
//! `LATCHKEY_BENCH_CLIENT` (`wrk` or `builtin`; default wrk when installed).

mod http;
mod process;
mod seed;

use std::cell::Cell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use http::{Conn, Outcome, closed_loop, probe, request};
use process::{Server, cpu_time, memory_mib, written_bytes};

/// Makes this binary the baseline server instead of the suite.
const BASELINE_FLAG: &str = "--serve-baseline";

/// Sign-in clients in the flood.
const FLOODERS: usize = 32;

/// The Users list: 3-letter searches (common, rare, none) and deep pages.
const SEARCHES: [&str; 10] = [
    "emm", "son", "ill", "ava", "com", "ia.", "xyz", "nov", "pri", "kwa",
];
const SORTS: [&str; 5] = [
    "sort=name&dir=asc",
    "sort=name&dir=desc",
    "sort=email&dir=asc",
    "sort=last_sign_in&dir=desc",
    "sort=roles&dir=asc",
];

/// Says on standard error what runs now (the table comes at the end).
fn step(what: &str) {
    eprintln!("→ {what}");
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(env_u64(name, default))
}

/// The cheapest answer of the same stack: the same runtime, the same
/// connection loop and HTTP/1.1 settings, one axum handler with a fixed body.
fn serve_baseline() {
    use std::io::Write;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("address"));
        std::io::stdout().flush().expect("flush");
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        // Never told to stop: the suite kills this process.
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        latchkey::app::accept(listener, router, Duration::from_secs(10), stopped).await;
    });
}

/// One line of the table, and its figures in the JSON.
struct Row {
    name: &'static str,
    figures: Map<String, Value>,
    target: String,
    met: Option<bool>,
}

impl Row {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            figures: Map::new(),
            target: String::new(),
            met: None,
        }
    }

    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.figures.insert(key.into(), value.into());
        self
    }

    /// Rounds to 3 significant places after the point, for reading.
    fn num(self, key: &str, value: f64) -> Self {
        let rounded = if value.is_finite() {
            (value * 1000.0).round() / 1000.0
        } else {
            return self.set(key, Value::Null);
        };
        self.set(key, rounded)
    }

    fn outcome(self, outcome: &mut Outcome) -> Self {
        let (p50, p99) = (outcome.quantile_ms(0.5), outcome.quantile_ms(0.99));
        self.num("rps", outcome.rps())
            .num("p50_ms", p50)
            .num("p99_ms", p99)
            .set("requests", outcome.ok)
            .set("failed", outcome.bad)
    }

    fn target(mut self, text: impl Into<String>, met: bool) -> Self {
        self.target = text.into();
        self.met = Some(met);
        self
    }

    fn get(&self, key: &str) -> f64 {
        self.figures
            .get(key)
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    }
}

fn main() {
    if std::env::args().any(|a| a == BASELINE_FLAG) {
        serve_baseline();
        return;
    }
    let users = env_u64("LATCHKEY_BENCH_USERS", 100_000);
    let sessions = env_u64("LATCHKEY_BENCH_SESSIONS", 10_000).max(65);
    let run_for = env_secs("LATCHKEY_BENCH_SECS", 10);
    let flood_for = env_secs("LATCHKEY_BENCH_FLOOD_SECS", 60);
    let settle_for = env_secs("LATCHKEY_BENCH_SETTLE_SECS", 60);
    let cold_starts = env_u64("LATCHKEY_BENCH_COLD_STARTS", 5).max(1);
    let connections = env_u64("LATCHKEY_BENCH_CONNECTIONS", 16).max(1) as usize;
    let use_wrk = match std::env::var("LATCHKEY_BENCH_CLIENT").as_deref() {
        Ok("builtin") => false,
        Ok("wrk") => true,
        _ => http::wrk_available(),
    };
    let client = if use_wrk {
        format!(
            "wrk (2 threads, {connections} connections) for baseline, /healthz and /profile; built-in for the rest"
        )
    } else {
        format!("built-in (1 thread, {connections} connections)")
    };
    let hash_threads = std::thread::available_parallelism().map_or(1, usize::from);
    let machine = process::machine();
    let load_before = process::load_average();
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date");
    println!("Latchkey load suite, {date}");
    println!("machine: {machine}; load average {load_before:.2} before the run");
    println!("client: {client}");

    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    println!("seeding {users} users and {sessions} sessions …");
    let seeded = seed::seed(&data_dir, users, sessions).expect("seed");
    let file_bytes = std::fs::metadata(data_dir.join(latchkey::store::FILE_NAME))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "seeded in {:.1} s ({} with 2FA); data file {:.1} MiB",
        seeded.seconds,
        seeded.with_two_factor,
        file_bytes as f64 / 1048576.0
    );
    let mut rows = vec![
        Row::new("store")
            .set("users", seeded.users)
            .set("sessions", seeded.sessions)
            .set("two_factor_users", seeded.with_two_factor)
            .num("mib", file_bytes as f64 / 1048576.0)
            .num("bytes_per_user", file_bytes as f64 / seeded.users as f64)
            .num("seed_s", seeded.seconds),
    ];

    // Cold starts: process start to the first 200 on /healthz, on a data
    // file closed cleanly by the previous run. The last server stays up.
    let port = process::free_port();
    let config = process::write_config(dir.path(), &data_dir, port);
    let log = dir.path().join("server.log");
    step("cold starts");
    let mut starts = Vec::new();
    let mut server = None;
    for i in 0..cold_starts {
        let (started, took) = process::start_latchkey(&config, port, &log);
        starts.push(took.as_secs_f64() * 1e3);
        if i + 1 < cold_starts {
            started.stop();
        } else {
            server = Some(started);
        }
    }
    let server = server.expect("a server");
    let mut sorted = starts.clone();
    sorted.sort_by(f64::total_cmp);
    let cold = sorted[sorted.len() / 2];
    rows.push(
        Row::new("cold_start")
            .num("ms", cold)
            .num("min_ms", sorted[0])
            .num("max_ms", sorted[sorted.len() - 1])
            .set("runs", sorted.len())
            .target("≤ 30 ms", cold <= 30.0),
    );
    // Lets the start-up decoy hash finish.
    std::thread::sleep(Duration::from_secs(2));
    let pid = server.pid();
    let budget = 24.0 + 19.0 * hash_threads as f64;
    let idle = memory_mib(pid, "VmRSS");
    rows.push(Row::new("rss_idle").num("mib", idle).target(
        format!("≤ 24 + hash buffers (≤ {budget:.0})"),
        idle <= budget,
    ));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let mut scenario_rows = local.block_on(&runtime, async {
        drive(
            &server,
            &seeded,
            Settings {
                run_for,
                flood_for,
                settle_for,
                connections,
                use_wrk,
                hash_threads,
            },
        )
        .await
    });
    rows.append(&mut scenario_rows);
    let end = memory_mib(pid, "VmRSS");
    rows.push(
        Row::new("rss_end")
            .num("mib", end)
            .target(format!("≤ {budget:.0} MiB"), end <= budget),
    );
    server.stop();
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_latchkey"))
        .map(|m| m.len() as f64 / 1048576.0)
        .unwrap_or(f64::NAN);
    rows.push(
        Row::new("binary")
            .num("mib", binary)
            .target("≤ 12 MiB", binary <= 12.0),
    );
    let load_after = process::load_average();

    print_table(&rows);
    println!("load average {load_before:.2} before, {load_after:.2} after");
    let mut scenarios = Map::new();
    for row in &rows {
        let mut figures = row.figures.clone();
        if !row.target.is_empty() {
            figures.insert("target".into(), row.target.clone().into());
        }
        if let Some(met) = row.met {
            figures.insert("met".into(), met.into());
        }
        scenarios.insert(row.name.into(), Value::Object(figures));
    }
    let results = json!({
        "machine": machine,
        "date": date,
        "client": client,
        "load_average": { "before": load_before, "after": load_after },
        "settings": {
            "users": users,
            "sessions": sessions,
            "scenario_s": run_for.as_secs(),
            "flood_s": flood_for.as_secs(),
            "settle_s": settle_for.as_secs(),
            "connections": connections,
            "flood_clients": FLOODERS,
            "hash_threads": hash_threads,
        },
        "scenarios": scenarios,
    });
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
            PathBuf::from,
        )
        .join("bench");
    std::fs::create_dir_all(&out_dir).expect("target/bench");
    let path = out_dir.join("results.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).expect("json") + "\n",
    )
    .expect("results.json");
    println!("wrote {}", path.display());
}

struct Settings {
    run_for: Duration,
    flood_for: Duration,
    settle_for: Duration,
    connections: usize,
    use_wrk: bool,
    hash_threads: usize,
}

/// A throughput run: wrk when asked for, else the built-in client with a
/// second of warm-up.
async fn throughput(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    s: &Settings,
    expect: u16,
) -> Outcome {
    if s.use_wrk {
        let url = format!("http://{addr}{path}");
        let (rps, p50, p99, failed) = http::wrk(&url, headers, s.connections, 2, s.run_for);
        return Outcome {
            micros: Vec::new(),
            ok: (rps * s.run_for.as_secs_f64()) as u64,
            bad: failed,
            elapsed: s.run_for,
            reported: Some((p50, p99)),
        };
    }
    let one = request("GET", path, headers, "");
    let all = vec![vec![one]; s.connections];
    closed_loop(addr, all.clone(), Duration::from_secs(1), expect).await;
    closed_loop(addr, all, s.run_for, expect).await
}

/// Every scenario that needs the running server and a client.
async fn drive(server: &Server, seeded: &seed::Seeded, s: Settings) -> Vec<Row> {
    let addr = server.addr;
    let pid = server.pid();
    let mut rows = Vec::new();

    // The baseline, before and after the signed-in pages: the mean of both
    // is the reference, and their spread shows how steady the machine was.
    let measure_baseline = async || {
        let baseline = process::start_baseline();
        let outcome = throughput(baseline.addr, "/", &[], &s, 200).await;
        baseline.stop();
        outcome
    };
    step("baseline");
    let mut baseline_first = measure_baseline().await;

    step("GET /healthz");
    let mut healthz = throughput(addr, "/healthz", &[], &s, 200).await;

    let cookies: Vec<String> = seeded
        .viewer_tokens
        .iter()
        .map(|t| format!("latchkey_session={t}"))
        .collect();
    step("GET /profile");
    let written_before = written_bytes(pid);
    let mut profile = if s.use_wrk {
        throughput(addr, "/profile", &[("Cookie", &cookies[0])], &s, 200).await
    } else {
        let requests: Vec<Vec<Vec<u8>>> = (0..s.connections)
            .map(|i| {
                let cookie = &cookies[i % cookies.len()];
                vec![request("GET", "/profile", &[("Cookie", cookie)], "")]
            })
            .collect();
        closed_loop(addr, requests.clone(), Duration::from_secs(1), 200).await;
        closed_loop(addr, requests, s.run_for, 200).await
    };
    let profile_written = written_bytes(pid) - written_before;

    step("baseline again");
    let baseline_second = measure_baseline().await;
    let baseline_rps = (baseline_first.rps() + baseline_second.rps()) / 2.0;
    rows.push(
        Row::new("baseline")
            .outcome(&mut baseline_first)
            .num("rps", baseline_rps)
            .num("rps_first", baseline_first.rps())
            .num("rps_second", baseline_second.rps()),
    );
    let ratio = |o: &Outcome| o.rps() / baseline_rps;
    rows.push(
        Row::new("healthz")
            .outcome(&mut healthz)
            .num("ratio", ratio(&healthz)),
    );
    let profile_ratio = ratio(&profile);
    rows.push(
        Row::new("profile")
            .outcome(&mut profile)
            .num("ratio", profile_ratio)
            .set("store_written_kib", profile_written / 1024)
            .target("ratio ≥ 0.7", profile_ratio >= 0.7 && profile.bad == 0),
    );

    // The Users list as htmx asks for it, one request at a time.
    let admin = format!("latchkey_session={}", seeded.admin_token);
    let admin_headers = [("Cookie", admin.as_str()), ("HX-Request", "true")];
    let searches: Vec<Vec<u8>> = SEARCHES
        .iter()
        .map(|q| request("GET", &format!("/account/users?q={q}"), &admin_headers, ""))
        .collect();
    step("Users search");
    closed_loop(addr, vec![searches.clone()], Duration::from_secs(1), 200).await;
    let mut search = closed_loop(addr, vec![searches], s.run_for, 200).await;
    let (p50, p99) = (search.quantile_ms(0.5), search.quantile_ms(0.99));
    rows.push(
        Row::new("search")
            .outcome(&mut search)
            .num("ratio", ratio(&search))
            .target(
                "p50 ≤ 3 ms, p99 ≤ 10 ms",
                p50 <= 3.0 && p99 <= 10.0 && search.bad == 0,
            ),
    );
    let middle = (seeded.users / 50 / 2).max(1);
    let pages: Vec<Vec<u8>> = SORTS
        .iter()
        .map(|sort| {
            let path = format!("/account/users?{sort}&page={middle}");
            request("GET", &path, &admin_headers, "")
        })
        .collect();
    step("Users deep page");
    closed_loop(addr, vec![pages.clone()], Duration::from_secs(1), 200).await;
    let mut deep = closed_loop(addr, vec![pages], s.run_for, 200).await;
    let p50 = deep.quantile_ms(0.5);
    rows.push(
        Row::new("deep_page")
            .outcome(&mut deep)
            .num("ratio", ratio(&deep))
            .set("page", middle)
            .target(
                format!("page {middle} of {}: p50 ≤ 3 ms", middle * 2),
                p50 <= 3.0 && deep.bad == 0,
            ),
    );

    rows.append(&mut flood(server, seeded, &s, &cookies[0]).await);
    rows
}

/// The sign-in flood: `FLOODERS` clients sign in with correct passwords for
/// `flood_for` while one reader loads `/profile` every 10 ms; the server's
/// memory is watched throughout and for `settle_for` after.
async fn flood(server: &Server, seeded: &seed::Seeded, s: &Settings, cookie: &str) -> Vec<Row> {
    let (addr, pid) = (server.addr, server.pid());
    let threads = s.hash_threads;
    step("raw argon2id rate");
    let raw_before = tokio::task::spawn_blocking(move || {
        process::raw_hash_rate(threads, Duration::from_secs(5))
    })
    .await
    .expect("raw rate");

    // Each client is its own browser signing in as its own user.
    let mut requests = Vec::new();
    for i in 0..FLOODERS {
        let mut conn = Conn::open(addr).await.expect("connect");
        let status = conn
            .send(&request("GET", "/signin", &[], ""))
            .await
            .expect("GET /signin");
        assert_eq!(status, 200, "GET /signin");
        let csrf_cookie = conn
            .head()
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.trim().strip_prefix("latchkey_csrf="))
            .and_then(|v| v.split(';').next())
            .expect("CSRF cookie")
            .to_owned();
        let marker = r#"name="csrf" value=""#;
        let body = conn.body();
        let start = body.find(marker).expect("CSRF field") + marker.len();
        let field = body[start..].split('"').next().expect("quote").to_owned();
        let email = &seeded.sign_in_emails[i % seeded.sign_in_emails.len()];
        let form = serde_urlencoded::to_string([
            ("email", email.as_str()),
            ("password", seed::PASSWORD),
            ("csrf", field.as_str()),
        ])
        .expect("form");
        let cookie_header = format!("latchkey_csrf={csrf_cookie}");
        requests.push(vec![request(
            "POST",
            "/signin",
            &[("Cookie", &cookie_header)],
            &form,
        )]);
    }

    let done = Rc::new(Cell::new(false));
    let cpu_before = cpu_time(pid);
    let watcher = {
        let done = done.clone();
        tokio::task::spawn_local(async move {
            let mut highest: f64 = 0.0;
            while !done.get() {
                highest = highest.max(memory_mib(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            highest
        })
    };
    let reader = {
        let done = done.clone();
        let profile = request("GET", "/profile", &[("Cookie", cookie)], "");
        tokio::task::spawn_local(async move {
            probe(addr, profile, Duration::from_millis(10), 200, move || {
                done.get()
            })
            .await
        })
    };
    step("sign-in flood");
    let mut signins = closed_loop(addr, requests, s.flood_for, 303).await;
    done.set(true);
    let mut during = reader.await.expect("reader");
    let sampled_peak = watcher.await.expect("watcher");
    let server_cpu = cpu_time(pid).saturating_sub(cpu_before);
    let peak = memory_mib(pid, "VmHWM").max(sampled_peak);
    let at_end = memory_mib(pid, "VmRSS");

    step("raw argon2id rate again, then settling");
    let settle_start = Instant::now();
    let raw_after = tokio::task::spawn_blocking(move || {
        process::raw_hash_rate(threads, Duration::from_secs(5))
    })
    .await
    .expect("raw rate");
    tokio::time::sleep(s.settle_for.saturating_sub(settle_start.elapsed())).await;
    let after = memory_mib(pid, "VmRSS");

    let raw = (raw_before + raw_after) / 2.0;
    let rate = signins.rps();
    let ratio = rate / raw;
    let cpu_per_signin = server_cpu.as_secs_f64() * 1e3 / signins.ok.max(1) as f64;
    let budget = 24.0 + 19.0 * threads as f64;
    let failed = signins.bad;
    let during_p99 = during.quantile_ms(0.99);
    vec![
        Row::new("raw_hash")
            .num("rps", raw)
            .num("rps_before", raw_before)
            .num("rps_after", raw_after)
            .set("threads", threads),
        Row::new("signin")
            .outcome(&mut signins)
            .num("ratio", ratio)
            .num("server_cpu_ms_per_signin", cpu_per_signin)
            .num("raw_cpu_ms_per_hash", 1e3 * threads as f64 / raw)
            .target(
                "≥ 0.9 × raw hashes/s, all succeed",
                ratio >= 0.9 && failed == 0,
            ),
        Row::new("profile_during_flood")
            .outcome(&mut during)
            .target("p99 ≤ 10 ms", during_p99 <= 10.0 && during.bad == 0),
        Row::new("rss_peak")
            .num("mib", peak)
            .num("at_flood_end_mib", at_end)
            .target(format!("≤ {budget:.0} MiB"), peak <= budget),
        Row::new("rss_after")
            .num("mib", after)
            .set("after_s", s.settle_for.as_secs())
            .target(format!("≤ {budget:.0} MiB"), after <= budget),
    ]
}

fn print_table(rows: &[Row]) {
    let cell = |row: &Row, key: &str, width: usize| {
        let v = row.get(key);
        if v.is_nan() {
            format!("{:>width$}", "")
        } else if v >= 100.0 {
            format!("{v:>width$.0}")
        } else {
            format!("{v:>width$.2}")
        }
    };
    println!();
    println!(
        "| {:<20} | {:>8} | {:>7} | {:>7} | {:>6} | {:>7} | {:>7} | {:<36} | {:<4} |",
        "scenario", "rps", "p50 ms", "p99 ms", "ratio", "ms", "MiB", "target", "met"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(22),
        "-".repeat(10),
        "-".repeat(9),
        "-".repeat(9),
        "-".repeat(8),
        "-".repeat(9),
        "-".repeat(9),
        "-".repeat(38),
        "-".repeat(6)
    );
    for row in rows {
        println!(
            "| {:<20} | {} | {} | {} | {} | {} | {} | {:<36} | {:<4} |",
            row.name,
            cell(row, "rps", 8),
            cell(row, "p50_ms", 7),
            cell(row, "p99_ms", 7),
            cell(row, "ratio", 6),
            cell(row, "ms", 7),
            cell(row, "mib", 7),
            row.target,
            match row.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            }
        );
    }
    let store = rows.iter().find(|r| r.name == "store");
    if let Some(store) = store {
        println!(
            "store: {:.0} bytes per user; failed answers: {}",
            store.get("bytes_per_user"),
            rows.iter()
                .map(|r| r.figures.get("failed").and_then(Value::as_u64).unwrap_or(0))
                .sum::<u64>()
        );
    }
}
