//! The audit log at scale: `cargo bench --bench audit`.
//!
//! Fills a fresh data file with `LATCHKEY_BENCH_EVENTS` events (default one
//! million; 1,000 users, each the actor of one event in a thousand; one event
//! in ten thousand a rare action), then prints how long the Audit log's
//! queries take: the newest page, a page deep in the log, one user's page
//! (through the per-user index), a rare action over the whole log (the worst
//! case: it reads every event), and a full CSV export. Numbers only.

use std::time::{Duration, Instant};

use latchkey::domain::{AccountSettings, AuditAction, EventParty, NewEvent};
use latchkey::store::{Cursor, EventQuery, Store, StoreError};
use latchkey::views::audit::csv_rows;

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<44} n={:<5} p50 {:>9.3} ms  p99 {:>9.3} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect()
}

fn main() {
    let count: u64 = std::env::var("LATCHKEY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
    let started = Instant::now();
    let batch = 20_000;
    for first in (0..count).step_by(batch as usize) {
        store
            .transact::<_, StoreError>(|t| {
                for i in first..(first + batch).min(count) {
                    let action = if i % 10_000 == 0 {
                        AuditAction::RoleDeleted
                    } else {
                        AuditAction::SignInSucceeded
                    };
                    let mut event = NewEvent::new(action).detail("a detail, \"quoted\"");
                    let user = i % 1_000;
                    event.actor = Some(EventParty {
                        id: Some(user),
                        label: format!("user{user}@example.com"),
                    });
                    event.client = Some([192, 0, 2, 7].into());
                    t.record(event)?;
                }
                Ok(())
            })
            .unwrap();
    }
    let file = std::fs::metadata(dir.path().join(latchkey::store::FILE_NAME))
        .map(|m| m.len() / (1 << 20))
        .unwrap_or(0);
    println!(
        "filled {count} events in {:.1} s ({file} MiB on disk)",
        started.elapsed().as_secs_f64()
    );

    let all = EventQuery::default();
    summary(
        "newest page (50)",
        time(200, || store.events(&all, Cursor::Newest, 50).unwrap()),
    );
    summary(
        "a page in the middle (before = n/2)",
        time(200, || {
            store.events(&all, Cursor::Before(count / 2), 50).unwrap()
        }),
    );
    let one_user = EventQuery {
        user: Some(421),
        ..EventQuery::default()
    };
    summary(
        "one user's newest page (index)",
        time(200, || store.events(&one_user, Cursor::Newest, 50).unwrap()),
    );
    let rare = EventQuery {
        action: Some(AuditAction::RoleDeleted),
        ..EventQuery::default()
    };
    summary(
        "a rare action, whole log (full read)",
        time(5, || store.events(&rare, Cursor::Newest, 50).unwrap()),
    );
    let started = Instant::now();
    let mut cursor = Cursor::Newest;
    let mut bytes = 0;
    loop {
        let page = store.events(&all, cursor, 500).unwrap();
        bytes += csv_rows(&page.events).len();
        match page.events.last() {
            Some(last) if page.has_older => cursor = Cursor::Before(last.id),
            _ => break,
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "CSV export of everything: {:.1} s, {} MiB, {:.0} events/s",
        took,
        bytes / (1 << 20),
        count as f64 / took
    );
}
