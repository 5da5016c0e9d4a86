//! `latchkey check-store`: reads the whole file in one read transaction and
//! reports what it holds and everything that disagrees.
//!
//! Every record of every table is decoded, and every index is compared with
//! the table it serves: the email index, the Users list index (rows, search
//! grams, sort keys, block counts, and through the Roles order the holders of
//! Global Administrator; see `user_index::verify`), sessions by user, audit
//! events by user, and the outbox's due table. The id counters must be ahead
//! of the ids in use, the schema version one this release knows, and a
//! directory with users must have an Active Global Administrator.
//!
//! A read transaction sees one committed state, so the check runs beside a
//! serving process without stopping it, and what it finds is what a crash at
//! that moment would have left. Indexes are compared by walking both sides in
//! order where they are large (grams, sort keys, audit), so memory stays
//! about the size of the index itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use redb::{
    MultimapTableDefinition, MultimapTableHandle, ReadOnlyMultimapTable, ReadOnlyTable,
    ReadTransaction, ReadableDatabase, ReadableMultimapTable, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError, TableHandle,
};

use super::codec::Record;
use super::{
    OneTimeToken, OutboxMessage, SCHEMA_VERSION, Store, StoreError, ThrottleRecord, tables,
    user_index,
};
use crate::domain::{
    AccountSettings, AuditEvent, DeviceKey, Role, Session, TwoFactor, User, UserId, role,
};
use crate::store::outbox::MailStatus;

/// Problems listed per table before the rest are only counted.
const SHOWN_PER_TABLE: usize = 20;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub schema_version: Option<u64>,
    /// Every table in the file with its number of entries (for a multimap,
    /// its number of key–value pairs).
    pub tables: Vec<(String, u64)>,
    pub users: u64,
    pub active_global_administrators: u64,
    /// Worth knowing, not wrong (a table this release doesn't know).
    pub notes: Vec<String>,
    pub problems: Problems,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.count() == 0
    }

    /// The report as `check-store` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self.schema_version {
            Some(v) => {
                let _ = writeln!(out, "schema version {v} (this release: {SCHEMA_VERSION})");
            }
            None => {
                let _ = writeln!(out, "schema version: none");
            }
        }
        let width = self.tables.iter().map(|(n, _)| n.len()).max().unwrap_or(5);
        let _ = writeln!(out, "{:<width$}  ENTRIES", "TABLE");
        for (name, entries) in &self.tables {
            let _ = writeln!(out, "{name:<width$}  {entries}");
        }
        let _ = writeln!(
            out,
            "{} users, {} of them Active Global Administrators",
            self.users, self.active_global_administrators
        );
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        match self.problems.count() {
            0 => out.push_str("no problems found\n"),
            n => {
                let _ = writeln!(out, "{n} problem{} found:", if n == 1 { "" } else { "s" });
                out.push_str(&self.problems.render());
            }
        }
        out
    }
}

/// Problems by table, the first [`SHOWN_PER_TABLE`] of each kept word for word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    by_table: BTreeMap<String, (Vec<String>, u64)>,
}

impl Problems {
    pub(super) fn add(&mut self, table: &str, problem: impl Into<String>) {
        let (shown, count) = self.by_table.entry(table.to_owned()).or_default();
        *count += 1;
        if shown.len() < SHOWN_PER_TABLE {
            shown.push(problem.into());
        }
    }

    pub fn count(&self) -> u64 {
        self.by_table.values().map(|(_, n)| n).sum()
    }

    /// Whether any problem in `table` mentions `needle`: what tests look for.
    pub fn mention(&self, table: &str, needle: &str) -> bool {
        self.by_table
            .get(table)
            .is_some_and(|(shown, _)| shown.iter().any(|p| p.contains(needle)))
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (table, (shown, count)) in &self.by_table {
            for problem in shown {
                let _ = writeln!(out, "  {table}: {problem}");
            }
            let hidden = count - shown.len() as u64;
            if hidden > 0 {
                let _ = writeln!(out, "  {table}: … and {hidden} more");
            }
        }
        out
    }
}

impl Store {
    /// Checks the file as it stands now (see the module comment).
    pub fn check(&self) -> Result<Report, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(run(&tx))
    }
}

/// Checks what `tx` sees. Never fails: a table that can't be read is a
/// problem in the report like any other.
pub(super) fn run(tx: &ReadTransaction) -> Report {
    let mut report = Report {
        schema_version: None,
        tables: Vec::new(),
        users: 0,
        active_global_administrators: 0,
        notes: Vec::new(),
        problems: Problems::default(),
    };
    let mut check = Check {
        tx,
        problems: &mut report.problems,
    };
    report.tables = check.table_sizes(&mut report.notes);
    report.schema_version = check.meta();
    let users = check.users();
    report.users = users.records.len() as u64 + users.unreadable.len() as u64;
    report.active_global_administrators = users
        .records
        .values()
        .filter(|u| u.is_active() && u.is_global_administrator())
        .count() as u64;
    if report.users > 0 && report.active_global_administrators == 0 {
        check.problems.add(
            "users",
            "no Active Global Administrator: nobody can administer",
        );
    }
    if report.users == 0 {
        report
            .notes
            .push("no users yet: the set-up link makes the first administrator".into());
    }
    check.roles(&users);
    if report.schema_version.is_some_and(|v| v >= 4) {
        check.guard("user index", |tx, problems| {
            user_index::verify(tx, &users.records, &users.unreadable, problems)
        });
    }
    check.sessions(&users);
    check.audit();
    check.outbox();
    check.one_time_tokens(&users);
    check.two_factor(&users);
    check.settings_and_secrets();
    check.throttle();
    report
}

/// The users that decode, by id, and the ids of those that don't.
struct Users {
    records: BTreeMap<UserId, User>,
    unreadable: BTreeSet<UserId>,
}

impl Users {
    fn exists(&self, id: UserId) -> bool {
        self.records.contains_key(&id) || self.unreadable.contains(&id)
    }
}

struct Check<'a> {
    tx: &'a ReadTransaction,
    problems: &'a mut Problems,
}

/// Opens a table that may not exist yet (an older file): `None` then.
fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>, StoreError> {
    match tx.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn open_multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
    tx: &ReadTransaction,
    def: MultimapTableDefinition<K, V>,
) -> Result<Option<ReadOnlyMultimapTable<K, V>>, StoreError> {
    match tx.open_multimap_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The name a problem is filed under: the table's name less its version.
fn label(name: &str) -> &str {
    name.rsplit_once("_v")
        .filter(|(_, v)| v.chars().all(|c| c.is_ascii_digit()))
        .map_or(name, |(base, _)| base)
}

impl Check<'_> {
    /// Runs one part of the check; a storage error ends that part only.
    fn guard(
        &mut self,
        part: &str,
        f: impl FnOnce(&ReadTransaction, &mut Problems) -> Result<(), StoreError>,
    ) {
        if let Err(e) = f(self.tx, self.problems) {
            self.problems
                .add(part, format!("can't be read: {}", why(&e)));
        }
    }

    fn table_sizes(&mut self, notes: &mut Vec<String>) -> Vec<(String, u64)> {
        let mut sizes = Vec::new();
        let known = super::backup::known_tables();
        let mut read = || -> Result<(), StoreError> {
            for handle in self.tx.list_tables()? {
                let name = handle.name().to_owned();
                let len = self.tx.open_untyped_table(handle)?.len()?;
                sizes.push((name, len));
            }
            for handle in self.tx.list_multimap_tables()? {
                let name = handle.name().to_owned();
                let len = self.tx.open_untyped_multimap_table(handle)?.len()?;
                sizes.push((name, len));
            }
            Ok(())
        };
        if let Err(e) = read() {
            self.problems.add(
                "tables",
                format!("the list of tables can't be read: {}", why(&e)),
            );
        }
        sizes.sort();
        for (name, _) in &sizes {
            if !known.contains(name) {
                notes.push(format!(
                    "table {name} is unknown to this release (written by a newer one?)"
                ));
            }
        }
        sizes
    }

    /// The schema version, and the id counters against the ids in use.
    fn meta(&mut self) -> Option<u64> {
        let mut version = None;
        self.guard("meta", |tx, problems| {
            let Some(meta) = open(tx, tables::META)? else {
                problems.add("meta", "the table is missing");
                return Ok(());
            };
            version = meta.get("schema_version")?.map(|v| v.value());
            match version {
                None => problems.add("meta", "no schema version"),
                Some(v) if v > SCHEMA_VERSION => problems.add(
                    "meta",
                    format!(
                        "schema version {v} is newer than this release knows ({SCHEMA_VERSION})"
                    ),
                ),
                Some(0) => problems.add("meta", "schema version 0 does not exist"),
                Some(_) => {}
            }
            let counters = [
                ("next_user_id", open(tx, tables::USERS)?.map(last_key).transpose()?),
                ("next_role_id", open(tx, tables::ROLES)?.map(last_key).transpose()?),
                ("next_event_id", open(tx, tables::AUDIT)?.map(last_key).transpose()?),
                ("next_mail_id", open(tx, tables::OUTBOX)?.map(last_key).transpose()?),
            ];
            for (counter, highest) in counters {
                let Some(highest) = highest.flatten() else {
                    continue;
                };
                let next = meta.get(counter)?.map(|v| v.value());
                if next.is_none_or(|next| next <= highest) {
                    problems.add(
                        "meta",
                        format!(
                            "{counter} is {}, but id {highest} is in use: new records would overwrite old ones",
                            next.map_or("missing".to_owned(), |n| n.to_string())
                        ),
                    );
                }
            }
            Ok(())
        });
        version
    }

    /// Decodes every user, and checks the email index both ways.
    fn users(&mut self) -> Users {
        let mut users = Users {
            records: BTreeMap::new(),
            unreadable: BTreeSet::new(),
        };
        self.guard("users", |tx, problems| {
            let Some(table) = open(tx, tables::USERS)? else {
                return Ok(());
            };
            for entry in table.iter()? {
                let (id, bytes) = entry?;
                let id = id.value();
                match User::from_bytes(bytes.value()) {
                    Ok(user) if user.id != id => {
                        problems.add(
                            "users",
                            format!("the record under id {id} says id {}", user.id),
                        );
                        users.unreadable.insert(id);
                    }
                    Ok(user) => {
                        users.records.insert(id, user);
                    }
                    Err(e) => {
                        problems.add("users", format!("user {id} can't be read: {}", why(&e)));
                        users.unreadable.insert(id);
                    }
                }
            }
            Ok(())
        });
        self.guard("users_by_email", |tx, problems| {
            let index = open(tx, tables::USERS_BY_EMAIL)?;
            for user in users.records.values() {
                let key = user.email.key();
                let found = match &index {
                    Some(index) => index.get(key.as_str())?.map(|v| v.value()),
                    None => None,
                };
                match found {
                    Some(id) if id == user.id => {}
                    Some(id) => problems.add(
                        "users_by_email",
                        format!("{key} points to user {id}, but user {} has it", user.id),
                    ),
                    None => problems.add(
                        "users_by_email",
                        format!("{key} (user {}) is missing", user.id),
                    ),
                }
            }
            let Some(index) = index else { return Ok(()) };
            for entry in index.iter()? {
                let (key, id) = entry?;
                let (key, id) = (key.value(), id.value());
                match users.records.get(&id) {
                    Some(user) if user.email.key() == key => {}
                    Some(user) => problems.add(
                        "users_by_email",
                        format!(
                            "{key} points to user {id}, whose address is {}",
                            user.email.key()
                        ),
                    ),
                    None if users.unreadable.contains(&id) => {}
                    None => problems.add(
                        "users_by_email",
                        format!("{key} points to user {id}, who does not exist"),
                    ),
                }
            }
            Ok(())
        });
        users
    }

    /// Decodes every role; the built-in ones must be there, and every role a
    /// user holds must exist.
    fn roles(&mut self, users: &Users) {
        self.guard("roles", |tx, problems| {
            let mut ids = BTreeSet::new();
            if let Some(table) = open(tx, tables::ROLES)? {
                for entry in table.iter()? {
                    let (id, bytes) = entry?;
                    let id = id.value();
                    match Role::from_bytes(bytes.value()) {
                        Ok(role) if role.id != id => problems.add(
                            "roles",
                            format!("the record under id {id} says id {}", role.id),
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            problems.add("roles", format!("role {id} can't be read: {}", why(&e)))
                        }
                    }
                    ids.insert(id);
                }
            }
            for (id, name) in [
                (role::GLOBAL_ADMINISTRATOR, "Global Administrator"),
                (role::OPERATOR, "Operator"),
            ] {
                if !ids.contains(&id) {
                    problems.add(
                        "roles",
                        format!("the built-in role {name} (id {id}) is missing"),
                    );
                }
            }
            for user in users.records.values() {
                for held in &user.roles {
                    if !ids.contains(held) {
                        problems.add(
                            "users",
                            format!("user {} holds role {held}, which does not exist", user.id),
                        );
                    }
                }
            }
            Ok(())
        });
    }

    /// Sessions decode and belong to users; the by-user index lists exactly them.
    fn sessions(&mut self, users: &Users) {
        self.guard("sessions", |tx, problems| {
            let mut expected = BTreeSet::new();
            let mut unreadable = BTreeSet::new();
            if let Some(table) = open(tx, tables::SESSIONS)? {
                for entry in table.iter()? {
                    let (hash, bytes) = entry?;
                    let hash = hash.value().to_vec();
                    let shown = short_hex(&hash);
                    if hash.len() != 32 {
                        problems.add("sessions", format!("key {shown} is not 32 bytes long"));
                    }
                    match Session::from_bytes(bytes.value()) {
                        Ok(session) => {
                            if !users.exists(session.user_id) {
                                problems.add(
                                    "sessions",
                                    format!(
                                        "session {shown}… belongs to user {}, who does not exist",
                                        session.user_id
                                    ),
                                );
                            }
                            expected.insert((session.user_id, hash));
                        }
                        Err(e) => {
                            problems.add(
                                "sessions",
                                format!("session {shown}… can't be read: {}", why(&e)),
                            );
                            unreadable.insert(hash);
                        }
                    }
                }
            }
            let mut stored = BTreeSet::new();
            if let Some(index) = open_multimap(tx, tables::SESSIONS_BY_USER)? {
                for entry in index.iter()? {
                    let (user, hashes) = entry?;
                    for hash in hashes {
                        let hash = hash?.value().to_vec();
                        if !unreadable.contains(&hash) {
                            stored.insert((user.value(), hash));
                        }
                    }
                }
            }
            for (user, hash) in expected.difference(&stored) {
                problems.add(
                    "sessions_by_user",
                    format!("session {}… of user {user} is missing", short_hex(hash)),
                );
            }
            for (user, hash) in stored.difference(&expected) {
                problems.add(
                    "sessions_by_user",
                    format!(
                        "lists session {}… under user {user}, but there is no such session of theirs",
                        short_hex(hash)
                    ),
                );
            }
            Ok(())
        });
    }

    /// Events decode; the by-user index lists each event under its actor
    /// and subject, and nothing else. Deleted users keep their events.
    fn audit(&mut self) {
        self.guard("audit", |tx, problems| {
            let mut expected: Vec<(UserId, u64)> = Vec::new();
            let mut events = BTreeSet::new();
            let mut unreadable = BTreeSet::new();
            if let Some(table) = open(tx, tables::AUDIT)? {
                for entry in table.iter()? {
                    let (id, bytes) = entry?;
                    let id = id.value();
                    events.insert(id);
                    match AuditEvent::from_bytes(bytes.value()) {
                        Ok(event) if event.id != id => problems.add(
                            "audit",
                            format!("the event under id {id} says id {}", event.id),
                        ),
                        Ok(event) => {
                            let parties = [&event.actor, &event.subject]
                                .into_iter()
                                .filter_map(|p| p.as_ref().and_then(|p| p.id));
                            expected.extend(parties.map(|user| (user, id)));
                        }
                        Err(e) => {
                            problems.add("audit", format!("event {id} can't be read: {}", why(&e)));
                            unreadable.insert(id);
                        }
                    }
                }
            }
            expected.sort_unstable();
            expected.dedup();
            let mut stored = Vec::new();
            if let Some(index) = open_multimap(tx, tables::AUDIT_BY_USER)? {
                for entry in index.iter()? {
                    let (user, ids) = entry?;
                    for id in ids {
                        let id = id?.value();
                        if !unreadable.contains(&id) {
                            stored.push((user.value(), id));
                        }
                    }
                }
            }
            let (missing, extra) = sorted_difference(&expected, &stored);
            for (user, id) in missing {
                problems.add(
                    "audit_by_user",
                    format!("event {id} is missing under user {user}"),
                );
            }
            for (user, id) in extra {
                let why = if events.contains(&id) {
                    "which is not about them"
                } else {
                    "which does not exist"
                };
                problems.add(
                    "audit_by_user",
                    format!("lists event {id} under user {user}, {why}"),
                );
            }
            Ok(())
        });
    }

    /// Messages decode; exactly the queued ones are in the due table, due
    /// when the message says.
    fn outbox(&mut self) {
        self.guard("outbox", |tx, problems| {
            let mut queued = BTreeMap::new();
            if let Some(table) = open(tx, tables::OUTBOX)? {
                for entry in table.iter()? {
                    let (id, bytes) = entry?;
                    let id = id.value();
                    match OutboxMessage::from_bytes(bytes.value()) {
                        Ok(message) if message.id != id => problems.add(
                            "outbox",
                            format!("the message under id {id} says id {}", message.id),
                        ),
                        Ok(message) if message.status == MailStatus::Queued => {
                            queued.insert(id, message.next_attempt_at);
                        }
                        Ok(_) => {}
                        Err(e) => problems
                            .add("outbox", format!("message {id} can't be read: {}", why(&e))),
                    }
                }
            }
            let mut due = BTreeMap::new();
            if let Some(table) = open(tx, tables::OUTBOX_DUE)? {
                for entry in table.iter()? {
                    let (id, at) = entry?;
                    due.insert(id.value(), at.value());
                }
            }
            for (id, next) in &queued {
                match due.get(id) {
                    None => problems.add(
                        "outbox_due",
                        format!("queued message {id} is missing: it would never be sent"),
                    ),
                    Some(at) if Some(*at) != *next => problems.add(
                        "outbox_due",
                        format!(
                            "message {id} is due at {at} here but at {} in the outbox",
                            next.map_or("no time".to_owned(), |n| n.to_string())
                        ),
                    ),
                    Some(_) => {}
                }
            }
            for id in due.keys().filter(|id| !queued.contains_key(id)) {
                problems.add(
                    "outbox_due",
                    format!("message {id} is listed as due, but it is not a queued message"),
                );
            }
            Ok(())
        });
    }

    fn one_time_tokens(&mut self, users: &Users) {
        self.guard("one_time_tokens", |tx, problems| {
            let Some(table) = open(tx, tables::ONE_TIME_TOKENS)? else {
                return Ok(());
            };
            for entry in table.iter()? {
                let (hash, bytes) = entry?;
                let shown = short_hex(hash.value());
                match OneTimeToken::from_bytes(bytes.value()) {
                    Ok(token) => {
                        if let Some(user) = token.user_id.filter(|u| !users.exists(*u)) {
                            problems.add(
                                "one_time_tokens",
                                format!("link {shown}… is for user {user}, who does not exist"),
                            );
                        }
                    }
                    Err(e) => problems.add(
                        "one_time_tokens",
                        format!("link {shown}… can't be read: {}", why(&e)),
                    ),
                }
            }
            Ok(())
        });
    }

    fn two_factor(&mut self, users: &Users) {
        self.guard("two_factor", |tx, problems| {
            let Some(table) = open(tx, tables::TWO_FACTOR)? else {
                return Ok(());
            };
            for entry in table.iter()? {
                let (user, bytes) = entry?;
                let user = user.value();
                if let Err(e) = TwoFactor::from_bytes(bytes.value()) {
                    problems.add(
                        "two_factor",
                        format!("the record of user {user} can't be read: {}", why(&e)),
                    );
                }
                if !users.exists(user) {
                    problems.add(
                        "two_factor",
                        format!("a record for user {user}, who does not exist"),
                    );
                }
            }
            Ok(())
        });
    }

    fn settings_and_secrets(&mut self) {
        self.guard("settings", |tx, problems| {
            let found = match open(tx, tables::SETTINGS)? {
                Some(table) => table.get("account")?.map(|v| v.value().to_vec()),
                None => None,
            };
            match found.map(|bytes| AccountSettings::from_bytes(&bytes)) {
                None => problems.add("settings", "the account settings are missing"),
                Some(Err(e)) => problems.add(
                    "settings",
                    format!("the account settings can't be read: {}", why(&e)),
                ),
                Some(Ok(_)) => {}
            }
            Ok(())
        });
        self.guard("secrets", |tx, problems| {
            let found = match open(tx, tables::SECRETS)? {
                Some(table) => table.get("device_cookie_key")?.map(|v| v.value().to_vec()),
                None => None,
            };
            if found
                .and_then(|bytes| DeviceKey::from_bytes(&bytes))
                .is_none()
            {
                problems.add("secrets", "the device cookie key is missing or malformed");
            }
            Ok(())
        });
    }

    fn throttle(&mut self) {
        for def in [tables::SIGN_IN_THROTTLE, tables::REQUEST_THROTTLE] {
            let name = label(def.name());
            self.guard(name, |tx, problems| {
                let Some(table) = open(tx, def)? else {
                    return Ok(());
                };
                for entry in table.iter()? {
                    let (key, bytes) = entry?;
                    if let Err(e) = ThrottleRecord::from_bytes(bytes.value()) {
                        problems.add(
                            name,
                            format!(
                                "counter {}… can't be read: {}",
                                short_hex(key.value()),
                                why(&e)
                            ),
                        );
                    }
                }
                Ok(())
            });
        }
    }
}

/// What is wrong with a record, without repeating which table it is in.
fn why(error: &StoreError) -> String {
    match error {
        StoreError::Corrupt { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// The highest key of a table keyed by id.
fn last_key(table: ReadOnlyTable<u64, &'static [u8]>) -> Result<Option<u64>, StoreError> {
    Ok(table.last()?.map(|(k, _)| k.value()))
}

fn short_hex(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(6)])
}

/// What is in `expected` and not in `stored`, and the other way round; both sorted.
pub(super) fn sorted_difference<T: Ord + Clone>(expected: &[T], stored: &[T]) -> (Vec<T>, Vec<T>) {
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut e, mut s) = (expected.iter().peekable(), stored.iter().peekable());
    loop {
        match (e.peek(), s.peek()) {
            (None, None) => break,
            (Some(a), None) => {
                missing.push((*a).clone());
                e.next();
            }
            (None, Some(b)) => {
                extra.push((*b).clone());
                s.next();
            }
            (Some(a), Some(b)) => match a.cmp(b) {
                std::cmp::Ordering::Less => {
                    missing.push((*a).clone());
                    e.next();
                }
                std::cmp::Ordering::Greater => {
                    extra.push((*b).clone());
                    s.next();
                }
                std::cmp::Ordering::Equal => {
                    e.next();
                    s.next();
                }
            },
        }
    }
    (missing, extra)
}

/// A small file holding something in every table, for the check's and the
/// backup's tests.
#[cfg(test)]
pub(super) mod fixture {
    use super::super::{NewUser, OneTimeToken, Store, StoreError, TokenPurpose};
    use crate::domain::sealed::SealedSecret;
    use crate::domain::{
        AccountSettings, AuditAction, Email, MailMessage, NewEvent, PersonName, Session,
        SessionStage, Token, TokenHash, TwoFactor, UserId, UserStatus, role,
    };
    use crate::store::AttemptOutcome;

    pub struct Fixture {
        pub dir: tempfile::TempDir,
        pub store: Store,
        pub admin: UserId,
        pub emma: UserId,
        pub session: TokenHash,
        pub queued: u64,
        pub sent: u64,
    }

    fn new_user(first: &str, email: &str, roles: Vec<u64>) -> NewUser {
        NewUser {
            first_name: PersonName::parse(first).unwrap(),
            last_name: PersonName::parse("Wright").unwrap(),
            email: Email::parse(email).unwrap(),
            phone: None,
            status: UserStatus::Active,
            password_hash: None,
            roles,
            created_at: 1,
        }
    }

    fn mail(to: &str) -> MailMessage {
        MailMessage {
            to: to.into(),
            subject: "Hello".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
        }
    }

    pub fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let (admin, emma, session, queued, sent) = store
            .transact::<_, StoreError>(|t| {
                let admin = t.insert_user(new_user(
                    "Ada",
                    "ada@example.com",
                    vec![role::GLOBAL_ADMINISTRATOR],
                ))?;
                let emma =
                    t.insert_user(new_user("Emma", "emma@example.com", vec![role::OPERATOR]))?;
                t.record_sign_in(emma.id, 5)?;
                let session = Token::generate().hash();
                t.insert_session(
                    session,
                    &Session::new(emma.id, 1, SessionStage::SignedIn, String::new()),
                )?;
                t.record(
                    NewEvent::new(AuditAction::RoleAssigned)
                        .by(&admin, None)
                        .on(&emma),
                )?;
                t.issue_token(
                    Token::generate().hash(),
                    &OneTimeToken {
                        purpose: TokenPurpose::PasswordReset,
                        user_id: Some(emma.id),
                        expires_at: i64::MAX,
                        new_email: None,
                    },
                )?;
                t.put_two_factor(
                    emma.id,
                    &TwoFactor {
                        secret: SealedSecret::seal(b"secret", None, "totp:2"),
                        enabled_at: 1,
                        last_step: 0,
                        recovery_codes: Vec::new(),
                        recovery_codes_issued_at: 1,
                    },
                )?;
                let queued = t.enqueue_mail(mail("emma@example.com"))?;
                let sent = t.enqueue_mail(mail("ada@example.com"))?;
                Ok((admin.id, emma.id, session, queued, sent))
            })
            .unwrap();
        store.begin_mail_attempt(sent, 10, |_| 30).unwrap();
        store
            .finish_mail_attempt(
                sent,
                AttemptOutcome::Sent {
                    reply: "250 ok".into(),
                },
                11,
            )
            .unwrap();
        Fixture {
            dir,
            store,
            admin,
            emma,
            session,
            queued,
            sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use redb::WriteTransaction;

    use super::fixture::{Fixture, fixture};
    use super::*;
    use crate::domain::role::GLOBAL_ADMINISTRATOR;

    /// Damages the fixture's file with `damage` (raw redb, as a bug or a
    /// bad disk would) and checks that the report names it.
    fn reported(
        damage: impl FnOnce(&WriteTransaction, &Fixture) -> Result<(), StoreError>,
        table: &str,
        needle: &str,
    ) {
        let f = fixture();
        f.store.write(|tx| damage(tx, &f)).unwrap();
        let report = f.store.check().unwrap();
        assert!(
            report.problems.mention(table, needle),
            "expected {table}: …{needle}… in\n{}",
            report.render()
        );
        assert_eq!(report.problems.count(), 1, "{}", report.render());
    }

    fn bad_bytes() -> &'static [u8] {
        &[1, b'{']
    }

    /// The user id at the end of a sort entry.
    fn id_at_end(entry: &[u8]) -> u64 {
        u64::from_be_bytes(entry[entry.len() - 8..].try_into().unwrap())
    }

    /// The first sort entry of `user` in the column starting with `col`.
    fn sort_entry_of(tx: &WriteTransaction, col: u8, user: UserId) -> Vec<u8> {
        tx.open_table(tables::USER_SORT_KEYS)
            .unwrap()
            .range::<&[u8]>([col].as_slice()..[col + 1].as_slice())
            .unwrap()
            .map(|e| e.unwrap().0.value().to_vec())
            .find(|k| id_at_end(k) == user)
            .unwrap()
    }

    #[test]
    fn a_sound_file_has_no_problems_and_every_table_is_counted() {
        let f = fixture();
        let report = f.store.check().unwrap();
        assert!(report.is_clean(), "{}", report.render());
        assert_eq!(report.schema_version, Some(SCHEMA_VERSION));
        assert_eq!((report.users, report.active_global_administrators), (2, 1));
        let count = |name: &str| {
            report
                .tables
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
        };
        assert_eq!(count("users_v1"), Some(2));
        assert_eq!(count("outbox_v1"), Some(2));
        assert_eq!(count("outbox_due_v1"), Some(1));
        assert_eq!(count("sessions_by_user_v1"), Some(1));
        assert_eq!(report.tables.len(), 20, "{:?}", report.tables);
        let text = report.render();
        assert!(text.contains("no problems found"), "{text}");
    }

    #[test]
    fn an_unreadable_record_is_reported_in_every_table() {
        reported(
            |tx, f| {
                tx.open_table(tables::USERS)?.insert(f.emma, bad_bytes())?;
                Ok(())
            },
            "users",
            &format!("user {} can't be read", 2),
        );
        reported(
            |tx, _| {
                tx.open_table(tables::ROLES)?
                    .insert(role::OPERATOR, bad_bytes())?;
                Ok(())
            },
            "roles",
            "role 2 can't be read",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::SESSIONS)?
                    .insert(f.session.0.as_slice(), bad_bytes())?;
                Ok(())
            },
            "sessions",
            "can't be read",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::AUDIT)?.insert(1, bad_bytes())?;
                Ok(())
            },
            "audit",
            "event 1 can't be read",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::OUTBOX)?.insert(f.sent, bad_bytes())?;
                Ok(())
            },
            "outbox",
            "can't be read",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::TWO_FACTOR)?
                    .insert(f.emma, bad_bytes())?;
                Ok(())
            },
            "two_factor",
            "can't be read",
        );
        reported(
            |tx, _| {
                let mut table = tx.open_table(tables::ONE_TIME_TOKENS)?;
                let key = table.first()?.unwrap().0.value().to_vec();
                table.insert(key.as_slice(), bad_bytes())?;
                Ok(())
            },
            "one_time_tokens",
            "can't be read",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::SETTINGS)?
                    .insert("account", bad_bytes())?;
                Ok(())
            },
            "settings",
            "can't be read",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::SIGN_IN_THROTTLE)?
                    .insert([7u8; 32].as_slice(), bad_bytes())?;
                Ok(())
            },
            "sign_in_throttle",
            "can't be read",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::SECRETS)?
                    .insert("device_cookie_key", [1u8, 2].as_slice())?;
                Ok(())
            },
            "secrets",
            "malformed",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::USER_INDEX_ROWS)?
                    .insert(f.emma, [9u8].as_slice())?;
                Ok(())
            },
            "user_index_rows",
            "can't be read",
        );
    }

    #[test]
    fn the_email_index_must_match_the_users_both_ways() {
        reported(
            |tx, _| {
                tx.open_table(tables::USERS_BY_EMAIL)?
                    .remove("emma@example.com")?;
                Ok(())
            },
            "users_by_email",
            "emma@example.com (user 2) is missing",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::USERS_BY_EMAIL)?
                    .insert("ghost@example.com", 99)?;
                Ok(())
            },
            "users_by_email",
            "points to user 99, who does not exist",
        );
    }

    #[test]
    fn the_users_list_index_must_match_the_users() {
        reported(
            |tx, f| {
                tx.open_table(tables::USER_INDEX_ROWS)?.remove(f.emma)?;
                Ok(())
            },
            "user_index_rows",
            "no row for user 2",
        );
        reported(
            |tx, f| {
                tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?
                    .remove("emm", f.emma)?;
                Ok(())
            },
            "user_search_grams",
            "\"emm\" lacks user 2",
        );
        reported(
            |tx, f| {
                tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?
                    .insert("zzz", f.emma)?;
                Ok(())
            },
            "user_search_grams",
            "\"zzz\" lists user 2",
        );
        reported(
            |tx, f| {
                let entry = sort_entry_of(tx, 4, f.emma);
                tx.open_table(tables::USER_SORT_KEYS)?
                    .insert(entry.as_slice(), b"someone\0else".as_slice())?;
                Ok(())
            },
            "user_sort_keys",
            "beside user 2 in the LastSignIn order are out of date",
        );
        reported(
            |tx, _| {
                let mut blocks = tx.open_table(tables::USER_SORT_BLOCKS)?;
                let n = blocks.get([2u8].as_slice())?.unwrap().value();
                blocks.insert([2u8].as_slice(), n + 1)?;
                Ok(())
            },
            "user_sort_blocks",
            "first block of the Email order counts 3 entries but holds 2",
        );
    }

    #[test]
    fn a_moved_sort_entry_is_reported_with_its_block() {
        let f = fixture();
        f.store
            .write(|tx| {
                let entry = sort_entry_of(tx, 1, f.emma);
                let mut keys = tx.open_table(tables::USER_SORT_KEYS)?;
                keys.remove(entry.as_slice())?;
                Ok(())
            })
            .unwrap();
        let report = f.store.check().unwrap();
        assert!(
            report
                .problems
                .mention("user_sort_keys", "user 2 is missing from the Name order"),
            "{}",
            report.render()
        );
        assert!(
            report.problems.mention("user_sort_blocks", "Name order"),
            "{}",
            report.render()
        );
    }

    #[test]
    fn the_holders_of_global_administrator_must_match_the_users() {
        let f = fixture();
        f.store
            .write(|tx| {
                let mut from = vec![3u8, 1];
                from.extend_from_slice(&GLOBAL_ADMINISTRATOR.to_be_bytes());
                let entry = sort_entry_of(tx, 3, f.admin);
                assert!(entry.starts_with(&from));
                tx.open_table(tables::USER_SORT_KEYS)?
                    .remove(entry.as_slice())?;
                Ok(())
            })
            .unwrap();
        let report = f.store.check().unwrap();
        assert!(
            report.problems.mention(
                "role holders",
                "user 1 holds Global Administrator, but the index doesn't list them"
            ),
            "{}",
            report.render()
        );
    }

    #[test]
    fn sessions_by_user_must_list_exactly_the_sessions() {
        reported(
            |tx, f| {
                tx.open_multimap_table(tables::SESSIONS_BY_USER)?
                    .remove(f.emma, f.session.0.as_slice())?;
                Ok(())
            },
            "sessions_by_user",
            "of user 2 is missing",
        );
        reported(
            |tx, f| {
                tx.open_multimap_table(tables::SESSIONS_BY_USER)?
                    .insert(f.admin, [5u8; 32].as_slice())?;
                Ok(())
            },
            "sessions_by_user",
            "under user 1, but there is no such session",
        );
    }

    #[test]
    fn audit_by_user_must_list_each_event_under_its_parties() {
        reported(
            |tx, f| {
                tx.open_multimap_table(tables::AUDIT_BY_USER)?
                    .remove(f.emma, 1)?;
                Ok(())
            },
            "audit_by_user",
            "event 1 is missing under user 2",
        );
        reported(
            |tx, _| {
                tx.open_multimap_table(tables::AUDIT_BY_USER)?
                    .insert(1, 42)?;
                Ok(())
            },
            "audit_by_user",
            "lists event 42 under user 1, which does not exist",
        );
    }

    #[test]
    fn the_due_table_must_hold_exactly_the_queued_messages() {
        reported(
            |tx, f| {
                tx.open_table(tables::OUTBOX_DUE)?.remove(f.queued)?;
                Ok(())
            },
            "outbox_due",
            "it would never be sent",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::OUTBOX_DUE)?.insert(f.sent, 5)?;
                Ok(())
            },
            "outbox_due",
            "is listed as due, but it is not a queued message",
        );
        reported(
            |tx, f| {
                tx.open_table(tables::OUTBOX_DUE)?.insert(f.queued, 1)?;
                Ok(())
            },
            "outbox_due",
            "due at 1 here but at",
        );
    }

    #[test]
    fn the_schema_version_must_be_known_and_counters_ahead() {
        reported(
            |tx, _| {
                tx.open_table(tables::META)?.insert("schema_version", 99)?;
                Ok(())
            },
            "meta",
            "schema version 99 is newer than this release knows",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::META)?.remove("schema_version")?;
                Ok(())
            },
            "meta",
            "no schema version",
        );
        reported(
            |tx, _| {
                tx.open_table(tables::META)?.insert("next_user_id", 2)?;
                Ok(())
            },
            "meta",
            "next_user_id is 2, but id 2 is in use",
        );
    }

    #[test]
    fn a_directory_without_an_active_global_administrator_is_a_problem() {
        let f = fixture();
        f.store
            .modify_user::<StoreError>(f.admin, |u| {
                u.status = crate::domain::UserStatus::Invited;
                Ok(())
            })
            .unwrap();
        let report = f.store.check().unwrap();
        assert!(
            report
                .problems
                .mention("users", "no Active Global Administrator"),
            "{}",
            report.render()
        );
        assert_eq!(report.problems.count(), 1);
        // A new file, before set-up, has no users at all: that is fine.
        let dir = tempfile::tempdir().unwrap();
        let empty = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let report = empty.check().unwrap();
        assert!(report.is_clean(), "{}", report.render());
        assert!(report.notes.iter().any(|n| n.contains("no users yet")));
    }

    #[test]
    fn references_to_missing_users_and_roles_are_reported() {
        let f = fixture();
        f.store
            .modify_user::<StoreError>(f.emma, |u| {
                u.roles.push(77);
                Ok(())
            })
            .unwrap();
        let report = f.store.check().unwrap();
        assert!(
            report
                .problems
                .mention("users", "user 2 holds role 77, which does not exist"),
            "{}",
            report.render()
        );
        assert_eq!(report.problems.count(), 1, "{}", report.render());
        reported(
            |tx, _| {
                let record = crate::domain::TwoFactor::from_bytes(
                    tx.open_table(tables::TWO_FACTOR)?.get(2)?.unwrap().value(),
                )?;
                tx.open_table(tables::TWO_FACTOR)?
                    .insert(50, record.to_bytes().as_slice())?;
                Ok(())
            },
            "two_factor",
            "a record for user 50, who does not exist",
        );
    }

    #[test]
    fn problems_beyond_a_screenful_are_counted_not_listed() {
        let mut problems = Problems::default();
        for i in 0..25 {
            problems.add("users", format!("problem {i}"));
        }
        assert_eq!(problems.count(), 25);
        let text = problems.render();
        assert!(text.contains("problem 19") && !text.contains("problem 20"));
        assert!(text.contains("users: … and 5 more"), "{text}");
    }
}
