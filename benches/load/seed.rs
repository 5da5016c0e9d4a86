//! A data file that looks lived in: users with real-looking names and
//! addresses, a few administrators and operators, two custom roles, some
//! users with 2FA, most having signed in, and live sessions from assorted
//! browsers. Written through the store API the server itself uses.

use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use latchkey::accounts::hashing;
use latchkey::domain::time::{self, Timestamp};
use latchkey::domain::{
    AccountSettings, Email, Permission, PersonName, Phone, RecoveryCode, RoleName, SealedSecret,
    Session, SessionStage, Token, TotpSecret, TwoFactor, UserId, UserStatus, two_factor,
};
use latchkey::store::{NewRole, NewUser, Store, StoreError};

#[path = "names.rs"]
mod names;

use names::{DOMAINS, FIRST, LAST};

/// Every seeded user who may sign in has this password.
pub const PASSWORD: &str = "amber kettle horizon 1987";

const BROWSERS: [&str; 5] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
];

/// Built-in role ids (see `domain::role`).
const GLOBAL_ADMINISTRATOR: u64 = 1;
const OPERATOR: u64 = 2;

/// A small deterministic generator (SplitMix64): the same file every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

/// What the suite needs to know about the seeded file.
pub struct Seeded {
    pub users: u64,
    pub sessions: u64,
    pub with_two_factor: u64,
    pub seconds: f64,
    /// Session cookies (token text) of plain signed-in users, for `/profile`.
    pub viewer_tokens: Vec<String>,
    /// A Global Administrator's session cookie, for the Users list.
    pub admin_token: String,
    /// Active users without 2FA who sign in with [`PASSWORD`] (their emails).
    pub sign_in_emails: Vec<String>,
}

/// An address for user `n`: `first.last123@domain`, with some variety.
fn email_of(n: u64, first: &str, last: &str, domain: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_lowercase()
    };
    let (first, last) = (clean(first), clean(last));
    let first = if first.is_empty() {
        "user".into()
    } else {
        first
    };
    let last = if last.is_empty() { "x".into() } else { last };
    match n % 3 {
        0 => format!("{first}.{last}{n}@{domain}"),
        1 => format!("{}{last}{n}@{domain}", &first[..1]),
        _ => format!("{first}_{n}@{domain}"),
    }
}

/// Fills a new data file in `data_dir`: `users` users and `sessions` live
/// sessions. Closes the file before returning.
pub fn seed(data_dir: &Path, users: u64, sessions: u64) -> Result<Seeded, StoreError> {
    let started = Instant::now();
    let store = Store::open(data_dir, AccountSettings::default())?;
    let (support, auditor) = store.transact::<_, StoreError>(|t| {
        let support = t.insert_role(NewRole {
            name: RoleName::parse("Support desk").expect("role name"),
            description: "Looks people up and fixes their details".into(),
            permissions: vec![Permission::UsersView, Permission::UsersEdit],
        })?;
        let auditor = t.insert_role(NewRole {
            name: RoleName::parse("Auditor").expect("role name"),
            description: "Reads the audit log".into(),
            permissions: vec![Permission::AuditView, Permission::UsersView],
        })?;
        Ok((support, auditor))
    })?;
    let phc = hashing::hash_now(PASSWORD).expect("hash");
    let now = time::now();
    let mut rng = Rng(0x1a7c_4e59);
    let mut with_two_factor = 0;
    let mut sign_in_emails = Vec::new();
    // (id, may hold a session, is an administrator)
    let mut active: Vec<(UserId, bool)> = Vec::new();
    let batch = 5_000;
    let mut n = 0;
    while n < users {
        let to = (n + batch).min(users);
        store.transact::<_, StoreError>(|t| {
            for i in n..to {
                let first = rng.pick(&FIRST);
                let last = rng.pick(&LAST);
                let domain = rng.pick(&DOMAINS);
                let invited = rng.below(20) == 0;
                let roles = match rng.below(1000) {
                    0..=1 => vec![GLOBAL_ADMINISTRATOR],
                    2..=30 => vec![OPERATOR],
                    31..=60 => vec![support.id],
                    61..=70 => vec![auditor.id, support.id],
                    _ => Vec::new(),
                };
                let admin = roles.contains(&GLOBAL_ADMINISTRATOR) || i == 0;
                let phone = (rng.below(3) == 0).then(|| {
                    Phone::parse(&format!("+44 20 7946 {:04}", rng.below(10_000))).expect("phone")
                });
                let user = t.insert_user(NewUser {
                    first_name: PersonName::parse(first).expect("name"),
                    last_name: PersonName::parse(last).expect("name"),
                    email: Email::parse(&email_of(i, first, last, domain)).expect("email"),
                    phone,
                    status: if invited && i != 0 {
                        UserStatus::Invited
                    } else {
                        UserStatus::Active
                    },
                    password_hash: (!invited || i == 0).then(|| phc.clone()),
                    // The first user is always an administrator.
                    roles: if i == 0 {
                        vec![GLOBAL_ADMINISTRATOR]
                    } else {
                        roles
                    },
                    created_at: now - 86_400 * 400 + rng.below(86_400 * 390) as Timestamp,
                })?;
                if user.status != UserStatus::Active {
                    continue;
                }
                if rng.below(10) < 8 {
                    t.record_sign_in(user.id, now - rng.below(86_400 * 30) as Timestamp)?;
                }
                let two_factor = i != 0 && rng.below(10) == 0;
                if two_factor {
                    with_two_factor += 1;
                    let codes = RecoveryCode::generate_set();
                    t.put_two_factor(
                        user.id,
                        &TwoFactor {
                            secret: SealedSecret::seal(
                                TotpSecret::generate().bytes(),
                                None,
                                &two_factor::secret_owner(user.id),
                            ),
                            enabled_at: now - 86_400 * 10,
                            last_step: 0,
                            recovery_codes: codes.iter().map(RecoveryCode::hash).collect(),
                            recovery_codes_issued_at: now - 86_400 * 10,
                        },
                    )?;
                } else if !admin && sign_in_emails.len() < 256 && i % 7 == 3 {
                    sign_in_emails.push(user.email.as_str().to_owned());
                }
                active.push((user.id, admin));
            }
            Ok(())
        })?;
        n = to;
    }

    // Sessions: the suite's own first (an administrator's, then plain
    // users'), the rest spread over random active users.
    let admin_id = active
        .iter()
        .find(|(_, admin)| *admin)
        .map(|(id, _)| *id)
        .expect("an administrator");
    let plain: Vec<UserId> = active
        .iter()
        .filter(|(_, admin)| !admin)
        .map(|(id, _)| *id)
        .collect();
    let mut viewer_tokens = Vec::new();
    let mut admin_token = String::new();
    let mut made = 0;
    while made < sessions {
        let to = (made + batch).min(sessions);
        store.transact::<_, StoreError>(|t| {
            for s in made..to {
                let user = match s {
                    0 => admin_id,
                    _ => plain[rng.below(plain.len() as u64) as usize],
                };
                let token = Token::generate();
                let mut session = Session::new(
                    user,
                    now - rng.below(6 * 3600) as Timestamp,
                    SessionStage::SignedIn,
                    Token::generate().as_text(),
                );
                session.last_seen_at = now - rng.below(300) as Timestamp;
                session.user_agent = rng.pick(&BROWSERS).to_owned();
                session.client = Some(IpAddr::from([
                    198,
                    51,
                    rng.below(256) as u8,
                    rng.below(256) as u8,
                ]));
                t.insert_session(token.hash(), &session)?;
                match s {
                    0 => admin_token = token.as_text(),
                    1..=64 => viewer_tokens.push(token.as_text()),
                    _ => {}
                }
            }
            Ok(())
        })?;
        made = to;
    }
    drop(store);
    Ok(Seeded {
        users,
        sessions,
        with_two_factor,
        seconds: started.elapsed().as_secs_f64(),
        viewer_tokens,
        admin_token,
        sign_in_emails,
    })
}
