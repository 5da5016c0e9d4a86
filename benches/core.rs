//! Measurements for the core: `cargo bench --bench core`.
//!
//! Prints the cost of one argon2id hash, the time a sign-in takes for a
//! known and an unknown email, signed-in page-load throughput and latency
//! (and that those loads wrote nothing), and how other requests fare during a
//! burst of sign-ins. Numbers, not assertions: tests never time anything.

use std::path::Path;
use std::time::{Duration, Instant};

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
