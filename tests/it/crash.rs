//! Crash safety, cycle after cycle: the real server binary under concurrent
//! writers is killed with SIGKILL at a random moment, then its file is
//! read, checked and compared with what the server acknowledged, and the
//! server is started again on it.
//!
//! The writers, each a browser of its own:
//! - two users edit their Profile (name n, over and over);
//! - an administrator invites new addresses (each a user, an event and a
//!   mail), and another session of theirs gives and takes a role;
//! - a user signs in again and again, keeping each browser;
//! - a user asks for a password reset, takes the link out of the mail the
//!   SMTP receiver got, and sets a new password;
//! - a user turns 2FA on (with a code from the key the page shows) and off
//!   (after re-authenticating), over and over.
//!
//! After each kill, with the server stopped, the test opens the file
//! itself and checks that every acknowledged write is there, that a write
//! under way at the kill is there wholly or not at all (the change, its
//! audit event and its mail agree: so many toggles, so many events, so
//! many mails), that `Store::check` finds nothing, and that the outbox
//! agrees with what the SMTP receiver got: every message marked sent
//! arrived, nothing arrived that the outbox doesn't hold, and a message
//! arrived twice only if it was on the wire at a kill (the window SMTP
//! can't close, see README *Mail*). After each restart, `latchkey
//! check-store` runs through the admin socket and must pass. At the end
//! the server sends what is still queued, and every message has arrived,
//! each once apart from those on the wire at a kill.
//!
//! CI runs [`crash_safety_over_kill_9_cycles`] (10 cycles, the binary of
//! the test build). The long run is documented in the README:
//! `LATCHKEY_CRASH_CYCLES=50 cargo test --release --test it crash_safety_long -- --ignored --nocapture`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use latchkey::domain::{AccountSettings, AuditAction, UserId, UserStatus, role};
use latchkey::store::{MailStatus, OutboxMessage, Store};
use reqwest::StatusCode;

use crate::cli::{Scratch, Server, add_user, latchkey, stderr};
use crate::smtp::{Received, SmtpReceiver};
use crate::support::{Client, PASSWORD, free_port};
use crate::two_factor::Phone;

/// Longest a writer runs before the kill.
const LONGEST_RUN_MS: u64 = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_safety_over_kill_9_cycles() {
    let summary = run(cycles("LATCHKEY_CRASH_CYCLES", 10)).await;
    assert!(summary.cycles >= 10);
}

/// The long run: `LATCHKEY_CRASH_CYCLES=50 cargo test --release --test it
/// crash_safety_long -- --ignored --nocapture` (50 cycles when unset).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long; run by hand (see README, Operations)"]
async fn crash_safety_long_run() {
    let summary = run(cycles("LATCHKEY_CRASH_CYCLES", 50)).await;
    assert!(summary.cycles >= 50);
}

fn cycles(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), seeded per run and printed,
/// so a failing run can be repeated with `LATCHKEY_CRASH_SEED`.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

/// What the run proved, printed at the end.
#[derive(Debug, Default)]
struct Summary {
    cycles: u32,
    /// Writes the server acknowledged, each found in the file after a kill.
    acknowledged_writes_checked: u64,
    /// The same, by kind.
    acknowledged_by_kind: BTreeMap<&'static str, u64>,
    /// Writes under way at a kill, found wholly applied or not at all.
    in_flight_at_kill: u64,
    messages: u64,
    deliveries: u64,
    /// Messages on the wire at a kill and so sent again (same Message-ID).
    resent_after_kill: u64,
    kills_during_start: u32,
}

/// A user made before the first start.
#[derive(Clone, Debug)]
struct Person {
    id: UserId,
    email: String,
}

/// How far a stream of numbered writes got: `applied` is what the file
/// held at the last check; `acked` the last the server acknowledged;
/// `attempted` the last sent.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    applied: u64,
    acked: u64,
    attempted: u64,
}

impl Progress {
    fn next(&mut self) -> u64 {
        self.attempted = self.acked + 1;
        self.attempted
    }

    /// Checks that `found` (what the file holds) is the last acknowledged
    /// write or the one under way, and takes it as the new start.
    fn settle(&mut self, found: u64, what: &'static str, summary: &mut Summary) {
        assert!(
            found >= self.acked && found <= self.attempted.max(self.acked),
            "{what}: the file holds {found}, but {} was acknowledged and {} attempted",
            self.acked,
            self.attempted
        );
        summary.acknowledged_writes_checked += self.acked - self.applied;
        *summary.acknowledged_by_kind.entry(what).or_default() += self.acked - self.applied;
        if self.attempted > self.acked {
            summary.in_flight_at_kill += 1;
        }
        self.applied = found;
        self.acked = found;
        self.attempted = found;
    }
}

/// A browser and the page form token of its session.
struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            client: Client::new(base),
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `None` when the server is gone (killed mid-request).
    async fn get(&self, path: &str) -> Option<(StatusCode, String)> {
        let response = self.client.http.get(self.url(path)).send().await.ok()?;
        let status = response.status();
        Some((status, response.text().await.ok()?))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Option<reqwest::Response> {
        self.client
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .ok()
    }

    /// The form token of the page at `path`.
    async fn csrf(&self, path: &str) -> Option<String> {
        let (_, page) = self.get(path).await?;
        csrf_in(&page)
    }

    async fn signed_in(&self) -> bool {
        matches!(self.get("/profile").await, Some((StatusCode::OK, _)))
    }

    /// Signs in (with a code from `phone` if the account asks for one).
    async fn sign_in(&self, email: &str, password: &str, phone: Option<&mut Phone>) -> bool {
        let Some(csrf) = self.csrf("/signin").await else {
            return false;
        };
        let form = [("email", email), ("password", password), ("csrf", &csrf)];
        let Some(response) = self.post("/signin", &form).await else {
            return false;
        };
        match (location(&response), phone) {
            ("/signin/2fa", Some(phone)) => {
                let Some(csrf) = self.csrf("/signin/2fa").await else {
                    return false;
                };
                let code = phone.next_code();
                let form = [("code", code.as_str()), ("csrf", &csrf)];
                matches!(self.post("/signin/2fa", &form).await, Some(r) if r.status() == StatusCode::SEE_OTHER && location(&r) == "/profile")
            }
            (to, _) => response.status() == StatusCode::SEE_OTHER && to == "/profile",
        }
    }
}

fn csrf_in(html: &str) -> Option<String> {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker)? + marker.len();
    html[start..].split('"').next().map(str::to_owned)
}

fn location(response: &reqwest::Response) -> &str {
    crate::support::location(response)
}

fn names(n: u64) -> (String, String) {
    (format!("Pia{n}"), format!("Lee{n}"))
}

fn password(n: u64) -> String {
    if n == 0 {
        PASSWORD.to_owned()
    } else {
        format!("{n} copper lantern meadow quartz")
    }
}

/// Stops every writer once set; the kill sets it.
type Stop = Arc<AtomicBool>;

fn stopped(stop: &Stop) -> bool {
    stop.load(Ordering::Relaxed)
}

struct ProfileEditor {
    who: Person,
    browser: Browser,
    edits: Progress,
}

async fn edit_profile(mut w: ProfileEditor, stop: Stop) -> ProfileEditor {
    let Some(csrf) = w.browser.csrf("/profile").await else {
        return w;
    };
    while !stopped(&stop) {
        let n = w.edits.next();
        let (first, last) = names(n);
        let form = [
            ("csrf", csrf.as_str()),
            ("first_name", &first),
            ("last_name", &last),
            ("phone", ""),
        ];
        let Some(response) = w.browser.post("/profile", &form).await else {
            break;
        };
        assert_eq!(location(&response), "/profile?saved=1", "profile edit {n}");
        w.edits.acked = n;
    }
    w
}

struct Inviter {
    browser: Browser,
    /// Addresses invited and acknowledged, and the one under way.
    acked: Vec<String>,
    attempted: Option<String>,
    next: u64,
}

async fn invite(mut w: Inviter, stop: Stop) -> Inviter {
    let Some(csrf) = w.browser.csrf("/account/users").await else {
        return w;
    };
    while !stopped(&stop) {
        w.next += 1;
        let email = format!("invitee{}@example.com", w.next);
        w.attempted = Some(email.clone());
        let form = [
            ("csrf", csrf.as_str()),
            ("email", &email),
            ("sign_in_method", "local"),
        ];
        let Some(response) = w.browser.post("/account/users/invite", &form).await else {
            break;
        };
        assert!(
            location(&response).starts_with("/account/users?invited="),
            "invitation of {email}: {}",
            response.status()
        );
        w.acked.push(email);
        w.attempted = None;
        // Paced: a flood of invitations would queue so much mail that the
        // reset mails behind it rarely go out before the kill.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w
}

struct RoleChanger {
    browser: Browser,
    target: Person,
    /// Toggles of Operator: odd counts hold it.
    toggles: Progress,
}

async fn change_roles(mut w: RoleChanger, stop: Stop) -> RoleChanger {
    let Some(csrf) = w.browser.csrf("/account/users").await else {
        return w;
    };
    while !stopped(&stop) {
        let n = w.toggles.next();
        let how = if n % 2 == 1 { "add" } else { "remove" };
        let path = format!("/account/users/{}/roles/{how}", w.target.id);
        let role = role::OPERATOR.to_string();
        let form = [("csrf", csrf.as_str()), ("role", role.as_str())];
        let Some(response) = w.browser.post(&path, &form).await else {
            break;
        };
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "role {how} #{n}");
        w.toggles.acked = n;
    }
    w
}

struct SignerIn {
    who: Person,
    base: String,
    sign_ins: Progress,
    /// The browsers of this cycle's acknowledged sign-ins, checked after the kill.
    browsers: Vec<Browser>,
}

async fn sign_in_again_and_again(mut w: SignerIn, stop: Stop) -> SignerIn {
    while !stopped(&stop) {
        let browser = Browser::new(&w.base);
        let Some(csrf) = browser.csrf("/signin").await else {
            break;
        };
        let n = w.sign_ins.next();
        let form = [
            ("email", w.who.email.as_str()),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ];
        let Some(response) = browser.post("/signin", &form).await else {
            break;
        };
        assert_eq!(location(&response), "/profile", "sign-in {n}");
        w.sign_ins.acked = n;
        w.browsers.push(browser);
    }
    w
}

struct Resetter {
    who: Person,
    base: String,
    smtp: Arc<SmtpReceiver>,
    requests: Progress,
    /// Password changes: the password is `password(changes.applied)`.
    changes: Progress,
}

async fn reset_passwords(mut w: Resetter, stop: Stop) -> Resetter {
    let reset_mails = |smtp: &SmtpReceiver, to: &str| -> Vec<Received> {
        smtp.messages_to(to)
            .into_iter()
            .filter(|m| m.subject().contains("Reset your password"))
            .collect()
    };
    while !stopped(&stop) {
        let browser = Browser::new(&w.base);
        let Some(csrf) = browser.csrf("/password/forgot").await else {
            break;
        };
        let n = w.requests.next();
        let form = [("email", w.who.email.as_str()), ("csrf", &csrf)];
        let Some(response) = browser.post("/password/forgot", &form).await else {
            break;
        };
        assert_eq!(response.status(), StatusCode::OK, "reset request {n}");
        w.requests.acked = n;
        // The newest link, once a mail for every request so far arrived.
        let link = loop {
            let mails = reset_mails(&w.smtp, &w.who.email);
            if mails.len() as u64 >= w.requests.acked {
                break mails.last().map(|m| m.link_to("/password/reset"));
            }
            if stopped(&stop) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let Some(link) = link else { break };
        let Some(token) = link.split("token=").nth(1) else {
            panic!("no token in {link}")
        };
        let m = w.changes.next();
        let new = password(m);
        let form = [
            ("csrf", csrf.as_str()),
            ("token", token),
            ("password", &new),
            ("password_confirm", &new),
        ];
        let Some(response) = browser.post("/password/reset", &form).await else {
            break;
        };
        if location(&response) == "/signin?notice=password_changed" {
            w.changes.acked = m;
        } else {
            // A link a later request voided, or one already used before a
            // kill: refused, and nothing changed.
            assert!(response.status().is_client_error() || response.status() == StatusCode::OK);
            w.changes.attempted = w.changes.acked;
        }
    }
    w
}

struct TwoFactorToggler {
    who: Person,
    browser: Browser,
    /// Turned on at odd counts.
    toggles: Progress,
    /// The app for the secret now on, and for the one being set up.
    phone: Option<Phone>,
    candidate: Option<Phone>,
}

async fn toggle_two_factor(mut w: TwoFactorToggler, stop: Stop) -> TwoFactorToggler {
    while !stopped(&stop) {
        let n = w.toggles.next();
        if n % 2 == 1 {
            let Some((_, page)) = w.browser.get("/profile/2fa").await else {
                break;
            };
            let Some(csrf) = csrf_in(&page) else { break };
            let mut phone = Phone::from_page(&page);
            let code = phone.next_code();
            w.candidate = Some(phone);
            let form = [("code", code.as_str()), ("csrf", &csrf)];
            let Some(response) = w.browser.post("/profile/2fa", &form).await else {
                break;
            };
            assert_eq!(response.status(), StatusCode::OK, "2FA set-up {n}");
            let Ok(page) = response.text().await else {
                break;
            };
            assert!(page.contains("recovery-codes"), "2FA set-up {n}: {page}");
            w.phone = w.candidate.take();
        } else {
            let Some(csrf) = w.browser.csrf("/profile").await else {
                break;
            };
            let form = [
                ("csrf", csrf.as_str()),
                ("password", PASSWORD),
                ("next", "/profile/2fa/disable"),
            ];
            // Re-authenticating changes only this session: not counted.
            w.toggles.attempted = w.toggles.acked;
            let Some(response) = w.browser.post("/reauthenticate", &form).await else {
                break;
            };
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "re-authentication"
            );
            w.toggles.attempted = n;
            let Some(response) = w
                .browser
                .post("/profile/2fa/disable", &[("csrf", &csrf)])
                .await
            else {
                break;
            };
            assert_eq!(location(&response), "/profile", "2FA off {n}");
            w.phone = None;
        }
        w.toggles.acked = n;
    }
    w
}

/// Everyone, between cycles.
struct Writers {
    profiles: Vec<ProfileEditor>,
    inviter: Inviter,
    roles: RoleChanger,
    signer: SignerIn,
    resetter: Resetter,
    two_factor: TwoFactorToggler,
    /// Every address invited and found in the file.
    invited: Vec<String>,
}

/// The test's own record of the outbox: how often each message was on the
/// wire at a kill.
#[derive(Default)]
struct MailLedger {
    interrupted: HashMap<String, u32>,
    /// The Message-IDs in the outbox at the last check.
    outbox: Vec<String>,
}

/// The left part of a received message's Message-ID, as the outbox keeps it.
fn id_of(received: &Received) -> String {
    let id = received.message_id();
    id.split('@').next().unwrap_or_default().to_owned()
}

async fn run(cycles: u32) -> Summary {
    let seed = std::env::var("LATCHKEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("crash test: {cycles} cycles, LATCHKEY_CRASH_SEED={seed}");
    let mut dice = Dice(seed);
    let smtp = Arc::new(SmtpReceiver::start().await);
    let scratch = Scratch::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = scratch.config(
        &format!(
            "[sign_in]\nmax_failures_per_account = 1000000\nmax_failures_per_address = 1000000\n\
             max_concurrent_hashes = 2\n\
             [password_reset]\nmax_requests_per_email = 1000000\nmax_requests_per_client = 1000000\n\
             [mail]\ntransport = \"smtp\"\nfrom = \"Latchkey <latchkey@example.com>\"\n\
             first_retry = \"1s\"\nmax_retry = \"2s\"\nmax_attempts = 1000\nmax_per_recipient = 1000000\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout = \"5s\"\n",
            smtp.port
        ),
        port,
    );
    let data = scratch.data();
    let add = |email: &str, first: &str, admin: bool| Person {
        id: add_user(&config, email, first, admin, PASSWORD),
        email: email.to_owned(),
    };
    let admin = add("ada@example.com", "Ada", true);
    let mut writers = Writers {
        profiles: vec![
            ProfileEditor {
                who: add("pia@example.com", "Pia", false),
                browser: Browser::new(&base),
                edits: Progress::default(),
            },
            ProfileEditor {
                who: add("pat@example.com", "Pat", false),
                browser: Browser::new(&base),
                edits: Progress::default(),
            },
        ],
        inviter: Inviter {
            browser: Browser::new(&base),
            acked: Vec::new(),
            attempted: None,
            next: 0,
        },
        roles: RoleChanger {
            browser: Browser::new(&base),
            target: add("wes@example.com", "Wes", false),
            toggles: Progress::default(),
        },
        signer: SignerIn {
            who: add("sam@example.com", "Sam", false),
            base: base.clone(),
            sign_ins: Progress::default(),
            browsers: Vec::new(),
        },
        resetter: Resetter {
            who: add("rob@example.com", "Rob", false),
            base: base.clone(),
            smtp: smtp.clone(),
            requests: Progress::default(),
            changes: Progress::default(),
        },
        two_factor: TwoFactorToggler {
            who: add("tia@example.com", "Tia", false),
            browser: Browser::new(&base),
            toggles: Progress::default(),
            phone: None,
            candidate: None,
        },
        invited: Vec::new(),
    };
    let mut summary = Summary::default();
    let mut ledger = MailLedger::default();

    for cycle in 1..=cycles {
        let started = Instant::now();
        let server = start(&config).await;
        // Sometimes the kill comes while the server is still starting and
        // sending what the last one left queued.
        if dice.roll(8) == 0 {
            tokio::time::sleep(Duration::from_millis(dice.roll(60))).await;
            kill(server).await;
            summary.kills_during_start += 1;
        } else {
            check_store_through_server(&config).await;
            let (server, writers_back) =
                write_until_killed(server, writers, &admin, &mut dice).await;
            writers = writers_back;
            kill(server).await;
        }
        writers = verify(&data, writers, &smtp, &mut ledger, &mut summary).await;
        summary.cycles = cycle;
        eprintln!(
            "crash test: cycle {cycle}/{cycles} in {} ms; so far {} acknowledged writes checked, {} under way at a kill, {} messages",
            started.elapsed().as_millis(),
            summary.acknowledged_writes_checked,
            summary.in_flight_at_kill,
            summary.messages,
        );
    }

    // A last start: what is still queued goes out; then everything has.
    let server = start(&config).await;
    check_store_through_server(&config).await;
    wait_for_all(&smtp, &ledger.outbox).await;
    server.stop().await;
    let store = open(&data).await;
    let messages = store.outbox(usize::MAX).unwrap();
    drop(store);
    let received = smtp.messages();
    let mut deliveries: BTreeMap<String, u32> = BTreeMap::new();
    for m in &received {
        *deliveries.entry(id_of(m)).or_default() += 1;
    }
    summary.messages = messages.len() as u64;
    summary.deliveries = received.len() as u64;
    summary.resent_after_kill = 0;
    for message in &messages {
        assert_eq!(
            message.status,
            MailStatus::Sent,
            "message {} to {} was not sent: {:?}",
            message.id,
            message.message.to,
            message.last_error
        );
        let got = deliveries.remove(&message.message_id).unwrap_or(0);
        let interrupted = ledger
            .interrupted
            .get(&message.message_id)
            .copied()
            .unwrap_or(0);
        assert!(
            got >= 1 && got <= 1 + interrupted,
            "message {} ({}) arrived {got} times, on the wire at {interrupted} kills",
            message.id,
            message.message_id
        );
        summary.resent_after_kill += u64::from(got - 1);
    }
    assert!(
        deliveries.is_empty(),
        "messages arrived that the outbox doesn't hold: {deliveries:?}"
    );
    eprintln!("crash test: {summary:#?}");
    summary
}

/// Waits until each of these messages has arrived at least once.
async fn wait_for_all(smtp: &SmtpReceiver, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let arrived: std::collections::HashSet<String> =
            smtp.messages().iter().map(id_of).collect();
        let missing: Vec<&String> = ids.iter().filter(|id| !arrived.contains(*id)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queued messages never arrived: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(config: &Path) -> Server {
    let config = config.to_owned();
    tokio::task::spawn_blocking(move || {
        let server = Server::start(&config);
        server.wait_for("listening on");
        server
    })
    .await
    .unwrap()
}

async fn kill(server: Server) {
    tokio::task::spawn_blocking(move || {
        server.signal("KILL");
        drop(server);
    })
    .await
    .unwrap();
}

async fn check_store_through_server(config: &Path) {
    let config = config.to_owned();
    let output = tokio::task::spawn_blocking(move || latchkey(&config, &["check-store"], ""))
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.contains("no problems found"),
        "check-store after a restart:\n{report}\n{}",
        stderr(&output)
    );
}

async fn open(data: &Path) -> Store {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || Store::open(&data, AccountSettings::default()).unwrap())
        .await
        .unwrap()
}

/// Signs every writer's browser in (again, if its session is gone), runs
/// them all, and kills the server at a random moment.
async fn write_until_killed(
    server: Server,
    mut w: Writers,
    admin: &Person,
    dice: &mut Dice,
) -> (Server, Writers) {
    for editor in &w.profiles {
        ensure_signed_in(&editor.browser, &editor.who.email, None).await;
    }
    ensure_signed_in(&w.inviter.browser, &admin.email, None).await;
    ensure_signed_in(&w.roles.browser, &admin.email, None).await;
    let phone = w.two_factor.phone.as_mut();
    ensure_signed_in(&w.two_factor.browser, &w.two_factor.who.email, phone).await;
    // Every sign-in acknowledged before the last kill still holds.
    for browser in w.signer.browsers.drain(..) {
        assert!(
            browser.signed_in().await,
            "an acknowledged sign-in of {} was lost",
            w.signer.who.email
        );
    }

    let stop: Stop = Arc::default();
    let profiles: Vec<_> = w
        .profiles
        .drain(..)
        .map(|e| tokio::spawn(edit_profile(e, stop.clone())))
        .collect();
    let inviter = tokio::spawn(invite(w.inviter, stop.clone()));
    let roles = tokio::spawn(change_roles(w.roles, stop.clone()));
    let signer = tokio::spawn(sign_in_again_and_again(w.signer, stop.clone()));
    let resetter = tokio::spawn(reset_passwords(w.resetter, stop.clone()));
    let two_factor = tokio::spawn(toggle_two_factor(w.two_factor, stop.clone()));

    tokio::time::sleep(Duration::from_millis(100 + dice.roll(LONGEST_RUN_MS))).await;
    server.signal("KILL");
    stop.store(true, Ordering::Relaxed);

    let mut back = Writers {
        profiles: Vec::new(),
        inviter: inviter.await.expect("inviter"),
        roles: roles.await.expect("role changer"),
        signer: signer.await.expect("signer-in"),
        resetter: resetter.await.expect("resetter"),
        two_factor: two_factor.await.expect("2FA toggler"),
        invited: w.invited,
    };
    for editor in profiles {
        back.profiles.push(editor.await.expect("profile editor"));
    }
    (server, back)
}

async fn ensure_signed_in(browser: &Browser, email: &str, mut phone: Option<&mut Phone>) {
    if browser.signed_in().await {
        return;
    }
    if browser.sign_in(email, PASSWORD, phone.as_deref_mut()).await {
        return;
    }
    // A code is good for one use, one step ahead at most: codes spent in
    // quick succession run out until the clock's next step.
    assert!(phone.is_some(), "{email} can't sign in");
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert!(
        browser.sign_in(email, PASSWORD, phone).await,
        "{email} can't sign in"
    );
}

/// With the server killed: the file against the writers' records.
async fn verify(
    data: &Path,
    mut w: Writers,
    smtp: &SmtpReceiver,
    ledger: &mut MailLedger,
    summary: &mut Summary,
) -> Writers {
    let store = open(data).await;
    let report = store.check().unwrap();
    assert!(report.is_clean(), "after a kill:\n{}", report.render());
    let events = |user: UserId, actions: &[AuditAction]| -> u64 {
        store
            .events_of_user(user, None, 1_000_000)
            .unwrap()
            .iter()
            .filter(|e| actions.contains(&e.action))
            .count() as u64
    };
    let outbox = store.outbox(usize::MAX).unwrap();
    let mails_to = |to: &str, subject: &str| -> u64 {
        outbox
            .iter()
            .filter(|m| {
                m.message.to.eq_ignore_ascii_case(to) && m.message.subject.contains(subject)
            })
            .count() as u64
    };

    // Profiles: the stored name is edit n, with n edits recorded.
    for editor in &mut w.profiles {
        let user = store.user(editor.who.id).unwrap().unwrap();
        let n: u64 = user
            .first_name
            .as_str()
            .strip_prefix("Pia")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let stored = (
            user.first_name.as_str().to_owned(),
            user.last_name.as_str().to_owned(),
        );
        if n > 0 {
            assert_eq!(
                stored,
                names(n),
                "{}: first and last name come from one edit",
                editor.who.email
            );
        } else {
            assert_eq!(stored.1, "Tester", "{}", editor.who.email);
        }
        let recorded = events(editor.who.id, &[AuditAction::ProfileUpdated]);
        assert_eq!(recorded, n, "{}: one event per edit", editor.who.email);
        editor.edits.settle(n, "profile edits", summary);
    }

    // Invitations: user, event and mail together, for every acknowledged one.
    let inv = &mut w.inviter;
    let mut candidates: Vec<(String, bool)> = inv.acked.drain(..).map(|e| (e, true)).collect();
    candidates.extend(inv.attempted.take().map(|e| (e, false)));
    for (email, acked) in candidates {
        let found = store.user_by_email(&email).unwrap();
        let mails = mails_to(&email, "invited you");
        match found {
            Some(user) => {
                assert_eq!(user.status, UserStatus::Invited, "{email}");
                assert_eq!(events(user.id, &[AuditAction::UserInvited]), 1, "{email}");
                assert_eq!(mails, 1, "{email}: one invitation mail");
                if acked {
                    summary.acknowledged_writes_checked += 1;
                    *summary
                        .acknowledged_by_kind
                        .entry("invitations")
                        .or_default() += 1;
                } else {
                    summary.in_flight_at_kill += 1;
                }
                w.invited.push(email);
            }
            None => {
                assert!(!acked, "the acknowledged invitation of {email} was lost");
                assert_eq!(mails, 0, "{email}: a mail without its invitation");
                summary.in_flight_at_kill += 1;
            }
        }
    }
    for email in &w.invited {
        assert!(
            store.user_by_email(email).unwrap().is_some(),
            "{email} lost"
        );
    }

    // Role toggles: the role, its events and the count agree.
    let target = &w.roles.target;
    let toggles = events(
        target.id,
        &[AuditAction::RoleAssigned, AuditAction::RoleUnassigned],
    );
    let holds = store
        .user(target.id)
        .unwrap()
        .unwrap()
        .roles
        .contains(&role::OPERATOR);
    assert_eq!(
        holds,
        toggles % 2 == 1,
        "{}: role and events agree",
        target.email
    );
    w.roles.toggles.settle(toggles, "role toggles", summary);

    // Sign-ins: each acknowledged one left its session and its event.
    let signer = &mut w.signer;
    let sessions = store
        .sessions_of_user(
            signer.who.id,
            latchkey::domain::time::now(),
            Duration::from_secs(86_400),
            Duration::from_secs(86_400),
        )
        .unwrap()
        .len() as u64;
    let signed_in = events(signer.who.id, &[AuditAction::SignInSucceeded]);
    assert_eq!(sessions, signed_in, "one session per sign-in event");
    signer.sign_ins.settle(sessions, "sign-ins", summary);

    // Password resets: requests, their events and mails; changes, theirs,
    // and the password itself.
    let r = &mut w.resetter;
    let requested = events(r.who.id, &[AuditAction::PasswordResetRequested]);
    assert_eq!(
        mails_to(&r.who.email, "Reset your password"),
        requested,
        "one reset mail per request"
    );
    r.requests.settle(requested, "reset requests", summary);
    let changed = events(r.who.id, &[AuditAction::PasswordChanged]);
    assert_eq!(
        mails_to(&r.who.email, "password was changed"),
        changed,
        "one notice per password change"
    );
    let hash = store
        .user(r.who.id)
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(
        verifies(&hash, &password(changed)),
        "the password is the one of change {changed}"
    );
    r.changes.settle(changed, "password changes", summary);

    // 2FA: on after odd toggles, with as many events.
    let t = &mut w.two_factor;
    let toggles = events(
        t.who.id,
        &[
            AuditAction::TwoFactorEnabled,
            AuditAction::TwoFactorDisabled,
        ],
    );
    let on = store.two_factor(t.who.id).unwrap().is_some();
    assert_eq!(on, toggles % 2 == 1, "2FA state and events agree");
    if toggles > t.toggles.acked && on {
        // The set-up under way went through: its key is the one on.
        t.phone = t.candidate.take();
    }
    t.candidate = None;
    if !on {
        t.phone = None;
    }
    t.toggles.settle(toggles, "2FA toggles", summary);

    // The outbox against the receiver.
    let received = smtp.messages();
    let mut deliveries: HashMap<String, u32> = HashMap::new();
    for m in &received {
        *deliveries.entry(id_of(m)).or_default() += 1;
    }
    let by_id: HashMap<&str, &OutboxMessage> =
        outbox.iter().map(|m| (m.message_id.as_str(), m)).collect();
    for id in deliveries.keys() {
        assert!(
            by_id.contains_key(id.as_str()),
            "a message arrived that the outbox doesn't hold: {id}"
        );
    }
    for m in &outbox {
        if m.sending_since.is_some() {
            *ledger.interrupted.entry(m.message_id.clone()).or_default() += 1;
        }
        let got = deliveries.get(&m.message_id).copied().unwrap_or(0);
        let interrupted = ledger.interrupted.get(&m.message_id).copied().unwrap_or(0);
        let sent = u32::from(m.status == MailStatus::Sent);
        assert_ne!(m.status, MailStatus::Failed, "message {} failed", m.id);
        assert!(
            got >= sent && got <= sent + interrupted,
            "message {} ({:?}) arrived {got} times; sent: {sent}, on the wire at {interrupted} kills",
            m.id,
            m.status
        );
    }
    summary.messages = outbox.len() as u64;
    summary.deliveries = received.len() as u64;
    ledger.outbox = outbox.iter().map(|m| m.message_id.clone()).collect();
    drop(store);
    w
}

fn verifies(hash: &str, password: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}
