//! Measurements for the core: `cargo bench --bench core`.
//!
//! Prints the cost of one argon2id hash, the time a sign-in takes for a
//! known and an unknown email, signed-in page-load throughput and latency
//! (and that those loads wrote nothing), and how other requests fare during a
//! burst of sign-ins. Numbers, not assertions: tests never time anything.
//!
//! Then it runs the release binary as a separate process and floods it with
//! correct sign-ins, reporting its memory from `/proc` (idle, peak, a while
//! after), sign-ins per second against the raw argon2id rate of this
//! machine, and `GET /profile` latency meanwhile. `LATCHKEY_BENCH_FLOOD_SECS`
//! (default 60) and `LATCHKEY_BENCH_SETTLE_SECS` (default 60) shorten it.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

use latchkey::accounts::hashing;
use latchkey::accounts::users::{NewUserForm, add_user_now};
use latchkey::app::App;
use latchkey::config::Config;

const PASSWORD: &str = "amber kettle horizon 1987";

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label:<44} n={:<5} mean {:>8.2} ms  p50 {:>8.2} ms  p99 {:>8.2} ms",
        samples.len(),
        mean.as_secs_f64() * 1e3,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

/// The CSRF token of the sign-in form, fetched as a browser would.
async fn sign_in_csrf(client: &reqwest::Client, base: &str) -> String {
    let html = client
        .get(format!("{base}/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("csrf") + marker.len();
    html[start..].split('"').next().expect("quote").to_owned()
}

fn main() {
    let hashes: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            hashing::hash_now(PASSWORD).expect("hash");
            start.elapsed()
        })
        .collect();
    summary("argon2id hash (19 MiB, t=2, p=1)", hashes);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(serve_and_measure());
    runtime.block_on(flood_the_release_server());
}

async fn serve_and_measure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::from_parts(Path::new("bench.toml"), "", Vec::new()).expect("config");
    config.data_dir = dir.path().join("data");
    config.server.public_url = format!("http://{addr}");
    config.sign_in.max_failures_per_account = 1_000_000;
    config.sign_in.max_failures_per_address = 1_000_000;
    let app = App::build(config).expect("app");
    let accounts = app.accounts.clone();
    let store = accounts.store.clone();
    tokio::task::spawn_blocking(move || {
        let form = NewUserForm {
            first_name: "Emma".into(),
            last_name: "Wright".into(),
            email: "emma@example.com".into(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
        };
        add_user_now(&store, &form, true).expect("user")
    })
    .await
    .expect("task");
    tokio::spawn(app.serve(listener, std::future::pending()));
    let base = format!("http://{addr}");
    let client = |jar: bool| {
        reqwest::Client::builder()
            .cookie_store(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    };

    // Sign-in timing: wrong password for a real account vs an unknown email.
    let anon = client(true);
    let csrf = sign_in_csrf(&anon, &base).await;
    for (label, email) in [
        ("sign-in, wrong password (known email)", "emma@example.com"),
        ("sign-in, unknown email", "ghost@example.com"),
    ] {
        let mut samples = Vec::new();
        for _ in 0..30 {
            let start = Instant::now();
            let status = anon
                .post(format!("{base}/signin"))
                .form(&[
                    ("email", email),
                    ("password", "not the password"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap()
                .status();
            samples.push(start.elapsed());
            assert_eq!(status, 401);
        }
        summary(label, samples);
    }

    // Signed-in page loads: throughput, latency, and store writes.
    let browser = client(true);
    let page_csrf = sign_in_csrf(&browser, &base).await;
    let status = browser
        .post(format!("{base}/signin"))
        .form(&[
            ("email", "emma@example.com"),
            ("password", PASSWORD),
            ("csrf", &page_csrf),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 303);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let writes_before = accounts.store.write_count();
    let (workers, per_worker) = (8, 500);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let browser = browser.clone();
        let url = format!("{base}/profile");
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                let response = browser.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed();
    summary("GET /profile signed in, 8 concurrent", samples);
    println!(
        "{:<44} {:.0} requests/s; store writes during the run: {}",
        "  throughput",
        (workers * per_worker) as f64 / elapsed.as_secs_f64(),
        accounts.store.write_count() - writes_before
    );

    // A burst of 32 sign-ins while another client loads /healthz.
    let quiet: Vec<Duration> = {
        let mut v = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            browser.get(format!("{base}/healthz")).send().await.unwrap();
            v.push(t.elapsed());
        }
        v
    };
    summary("GET /healthz, idle", quiet);
    let mut burst = Vec::new();
    for _ in 0..32 {
        let anon = anon.clone();
        let url = format!("{base}/signin");
        let csrf = csrf.clone();
        burst.push(tokio::spawn(async move {
            anon.post(url)
                .form(&[
                    ("email", "emma@example.com"),
                    ("password", "not the password"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut during = Vec::new();
    while !burst.iter().all(|t| t.is_finished()) {
        let t = Instant::now();
        browser.get(format!("{base}/healthz")).send().await.unwrap();
        during.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    summary("GET /healthz during 32 parallel sign-ins", during);
}

/// Seconds from an environment variable, or `default`.
fn secs_from_env(name: &str, default: u64) -> Duration {
    let secs = std::env::var(name).ok().and_then(|v| v.parse().ok());
    Duration::from_secs(secs.unwrap_or(default))
}

/// CPU time a thread has used, from `/proc/.../schedstat` (nanoseconds).
fn cpu_time(schedstat: &Path) -> Duration {
    let text = std::fs::read_to_string(schedstat).unwrap_or_default();
    let nanos = text.split_whitespace().next().and_then(|n| n.parse().ok());
    Duration::from_nanos(nanos.unwrap_or(0))
}

/// CPU time used by the live threads of process `pid`.
fn process_cpu_time(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("task list");
    tasks
        .filter_map(Result::ok)
        .map(|task| cpu_time(&task.path().join("schedstat")))
        .sum()
}

/// What `threads` threads reach with our argon2id parameters, each reusing
/// one memory area as the server's hashing threads do: hashes per second,
/// and CPU time per hash (which a busy shared machine doesn't skew).
fn raw_hash_rate(threads: usize, run_for: Duration) -> (f64, Duration) {
    let params = Params::new(
        hashing::MEMORY_KIB,
        hashing::ITERATIONS,
        hashing::PARALLELISM,
        None,
    )
    .expect("params");
    let start = Instant::now();
    let runs: Vec<(u32, Duration)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let own = Path::new("/proc/thread-self/schedstat");
                    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut memory = vec![Block::default(); params.block_count()];
                    let mut out = [0u8; 32];
                    let cpu_before = cpu_time(own);
                    let mut n = 0;
                    while start.elapsed() < run_for {
                        argon2
                            .hash_password_into_with_memory(
                                PASSWORD.as_bytes(),
                                b"sixteen byte salt",
                                &mut out,
                                &mut memory,
                            )
                            .expect("hash");
                        n += 1;
                    }
                    (n, cpu_time(own) - cpu_before)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("thread"))
            .collect()
    });
    let hashes: u32 = runs.iter().map(|(n, _)| n).sum();
    let cpu: Duration = runs.iter().map(|(_, cpu)| *cpu).sum();
    (
        f64::from(hashes) / start.elapsed().as_secs_f64(),
        cpu / hashes.max(1),
    )
}

/// A field of `/proc/PID/status` in MiB (`VmRSS`, `VmHWM`).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("field in status");
    kib / 1024.0
}

/// The release server, killed when dropped.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn flood_the_release_server() {
    let flood_for = secs_from_env("LATCHKEY_BENCH_FLOOD_SECS", 60);
    let settle_for = secs_from_env("LATCHKEY_BENCH_SETTLE_SECS", 60);
    let hashes = std::thread::available_parallelism().map_or(1, usize::from);
    let flooders = 32;
    println!();
    println!(
        "release server: max_concurrent_hashes = {hashes}, {flooders} clients signing in for {} s",
        flood_for.as_secs()
    );
    let (raw, raw_cpu) =
        tokio::task::spawn_blocking(move || raw_hash_rate(hashes, Duration::from_secs(5)))
            .await
            .expect("task");

    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\ndata_dir = \"{}\"\n\
             [sign_in]\nmax_concurrent_hashes = {hashes}\n\
             max_failures_per_account = 1000000\nmax_failures_per_address = 1000000\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    // Only our file configures the server: LATCHKEY_* variables (ours for
    // this bench included) would be read as configuration overrides.
    let latchkey = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LATCHKEY_") {
                command.env_remove(name);
            }
        }
        command.env_remove("RUST_LOG").arg("--config").arg(&config);
        command
    };
    let mut add = latchkey()
        .args(["user", "add", "--email", "emma@example.com"])
        .args(["--first-name", "Emma", "--last-name", "Wright"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(add.wait().expect("user add ends").success());
    let server = ServerProcess(
        latchkey()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server"),
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    while plain.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Lets the start-up decoy hash finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = memory_mib(pid, "VmRSS");

    let reader = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let csrf = sign_in_csrf(&reader, &base).await;
    let status = reader
        .post(format!("{base}/signin"))
        .form(&[
            ("email", "emma@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("sign-in")
        .status();
    assert_eq!(status, 303);

    // One anonymous CSRF pair for every flooder: each sign-in stays anonymous
    // (no cookie jar), so each one costs a full verification.
    let page = plain
        .get(format!("{base}/signin"))
        .send()
        .await
        .expect("GET");
    let cookie = page
        .cookies()
        .find(|c| c.name() == "latchkey_csrf")
        .map(|c| format!("latchkey_csrf={}", c.value()))
        .expect("CSRF cookie");
    let html = page.text().await.expect("page");
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("csrf") + marker.len();
    let field = html[start..].split('"').next().expect("quote").to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let (signed_in, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let flood_start = Instant::now();
    let cpu_before = process_cpu_time(pid);
    let mut flood = Vec::new();
    for _ in 0..flooders {
        let (plain, url, cookie, field) = (
            plain.clone(),
            format!("{base}/signin"),
            cookie.clone(),
            field.clone(),
        );
        let (stop, signed_in, refused) = (stop.clone(), signed_in.clone(), refused.clone());
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = plain
                    .post(&url)
                    .header("cookie", &cookie)
                    .form(&[
                        ("email", "emma@example.com"),
                        ("password", PASSWORD),
                        ("csrf", &field),
                    ])
                    .send()
                    .await;
                match response.map(|r| r.status().as_u16()) {
                    Ok(303) => signed_in.fetch_add(1, Ordering::Relaxed),
                    _ => refused.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let mut profile = Vec::new();
    while flood_start.elapsed() < flood_for {
        let t = Instant::now();
        let response = reader
            .get(format!("{base}/profile"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
        profile.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await.expect("flooder");
    }
    let elapsed = flood_start.elapsed().as_secs_f64();
    let server_cpu = process_cpu_time(pid).saturating_sub(cpu_before);
    let peak = memory_mib(pid, "VmHWM");
    let at_end = memory_mib(pid, "VmRSS");
    // The raw rate again while the server rests (the machine may be shared:
    // one measurement before and one after show how steady it was).
    let settle_start = Instant::now();
    let (raw_after, raw_cpu_after) =
        tokio::task::spawn_blocking(move || raw_hash_rate(hashes, Duration::from_secs(5)))
            .await
            .expect("task");
    tokio::time::sleep(settle_for.saturating_sub(settle_start.elapsed())).await;
    let after = memory_mib(pid, "VmRSS");
    let rate = signed_in.load(Ordering::Relaxed) as f64 / elapsed;
    let raw_mean = (raw + raw_after) / 2.0;
    let raw_cpu = (raw_cpu + raw_cpu_after) / 2;
    let cpu_per_sign_in = server_cpu / (signed_in.load(Ordering::Relaxed).max(1) as u32);

    let label = |s: &str| format!("{s:<44}");
    println!(
        "{} {raw_mean:>8.1} hashes/s on {hashes} threads ({raw:.1} before, {raw_after:.1} after)",
        label("raw argon2id rate (19 MiB, t=2, p=1)")
    );
    println!(
        "{} {rate:>8.1} /s ({} refused or failed); {:.0}% of the raw rate",
        label("correct sign-ins during the flood"),
        refused.load(Ordering::Relaxed),
        100.0 * rate / raw_mean
    );
    println!(
        "{} {:>8.2} ms CPU; raw hash {:.2} ms CPU (ratio {:.2})",
        label("server CPU per sign-in"),
        cpu_per_sign_in.as_secs_f64() * 1e3,
        raw_cpu.as_secs_f64() * 1e3,
        raw_cpu.as_secs_f64() / cpu_per_sign_in.as_secs_f64()
    );
    summary(
        &format!("GET /profile during {flooders} sign-in clients"),
        profile,
    );
    println!("{} {idle:>8.1} MiB", label("server RSS idle, before"));
    println!(
        "{} {peak:>8.1} MiB (VmHWM)",
        label("server RSS peak, during")
    );
    println!(
        "{} {at_end:>8.1} MiB",
        label("server RSS at the end of the flood")
    );
    println!(
        "{} {after:>8.1} MiB",
        label(&format!("server RSS {} s after", settle_for.as_secs()))
    );
    println!(
        "{} {:>8.1} MiB",
        label("  reference: 24 MiB + N x 19 MiB"),
        24.0 + 19.0 * hashes as f64
    );
    drop(server);
}
