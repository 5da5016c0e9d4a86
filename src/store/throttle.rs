//! Failed sign-in counters, and the attempts still being checked.
//!
//! Two tallies share each counter key. Failures in the current window live in
//! the data file, written before the failure's answer is sent. Attempts
//! admitted but not yet answered live in memory (one process owns the file).
//! An attempt is refused only when recorded failures have reached the limit,
//! so a correct password is never turned away because of attempts that have
//! not failed, and the wait it is told about is real. When failures plus
//! attempts in flight reach the limit, a new attempt waits for one of those to
//! finish and looks again; a failure is written before its place is given
//! back, so however many guesses arrive at once, at most the limit reach the
//! password check in one window.
//!
//! Keys are the SHA-256 of what is counted, so a counter costs 32 bytes
//! whatever someone typed.
//!
//! Each table holds at most [`MAX_COUNTERS`] counters. Pruning by time
//! (every few minutes) can't bound it alone: within one window a flood from
//! many addresses at many emails adds a counter for each. Past the cap the
//! counters whose windows began longest ago go first, a batch at a time, so
//! a flood costs one scan per [`EVICTED_AT_ONCE`] new counters. That lets
//! an attacker who makes [`MAX_COUNTERS`] new counters within a window
//! clear an older one early; the cap is set far above what real traffic
//! makes, and the address counters slow such a flood to the argon2 pace.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::codec::Record;
use super::{Store, StoreError, audit, sessions, tables, users};
use crate::domain::time::Timestamp;
use crate::domain::{DeviceKey, UserId, email};
use crate::domain::{NewEvent, Session, TokenHash};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleRecord {
    pub failures: u32,
    /// Start of the window the failures count in; a window lasts the lockout.
    pub window_start: Timestamp,
}

impl Record for ThrottleRecord {
    const TABLE: &'static str = "sign_in_throttle";
    const VERSION: u8 = 1;
}

/// What failures are counted against.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey([u8; 32]);

impl ThrottleKey {
    /// An account, by the email typed (normalised), whether or not it exists.
    pub fn account(typed_email: &str) -> Self {
        Self::of("account:", email::normalize(typed_email).as_bytes())
    }

    /// A client address group (one IPv4 address, one IPv6 /64).
    pub fn address(group: &str) -> Self {
        Self::of("address:", group.as_bytes())
    }

    /// A user's second factor: failed 2FA codes and recovery codes, at the
    /// sign-in step and when confirming a sensitive action.
    pub fn second_factor(user: UserId) -> Self {
        Self::of("second_factor:", user.to_string().as_bytes())
    }

    /// A browser known by its device cookie's nonce.
    pub fn device(nonce: &[u8]) -> Self {
        Self::of("device:", nonce)
    }

    /// Password-reset requests for an address as typed (normalised), whether
    /// or not it has an account.
    pub fn reset_email(typed_email: &str) -> Self {
        Self::of("reset-email:", email::normalize(typed_email).as_bytes())
    }

    /// Password-reset requests from a client address group.
    pub fn reset_address(group: &str) -> Self {
        Self::of("reset-address:", group.as_bytes())
    }

    /// Links that didn't work (invitations) presented from a client
    /// address group.
    pub fn link_address(group: &str) -> Self {
        Self::of("link-address:", group.as_bytes())
    }

    /// Messages that requests sent to one address (normalised).
    pub fn mail_to(address: &str) -> Self {
        Self::of("mail-to:", email::normalize(address).as_bytes())
    }

    fn of(kind: &str, name: &[u8]) -> Self {
        Self(
            Sha256::new()
                .chain_update(kind)
                .chain_update(name)
                .finalize()
                .into(),
        )
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ThrottleKey({})", hex::encode(&self.0[..4]))
    }
}

/// A counter and the failures it allows within one window.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub key: ThrottleKey,
    pub max: u32,
}

/// The answer to an attempt that asks to check a password.
#[derive(Debug)]
pub enum Admission {
    /// Go ahead; the attempt holds its place until it is dropped.
    Admitted(SignInAttempt),
    /// Recorded failures have reached a limit, for this many more seconds.
    Locked { retry_after: i64 },
    /// Attempts in flight could still reach a limit: wait for one to finish,
    /// then ask again.
    Busy(AttemptFinished),
}

/// An admitted attempt's place in its counters' in-flight tallies. Dropping
/// it (answered, failed, or the request abandoned) gives the place back.
#[derive(Debug)]
pub struct SignInAttempt {
    in_flight: Arc<InFlight>,
    keys: Vec<ThrottleKey>,
}

/// Resolves once some attempt in flight has finished.
#[derive(Debug)]
pub struct AttemptFinished(watch::Receiver<()>);

impl AttemptFinished {
    pub async fn wait(mut self) {
        // Only fails when the store is gone, and then there is nothing to wait for.
        let _ = self.0.changed().await;
    }
}

/// Attempts admitted and not yet finished, per counter; a key leaves the map
/// when its count reaches zero, so the map holds only what is in flight.
#[derive(Debug)]
pub(super) struct InFlight {
    counts: Mutex<HashMap<ThrottleKey, u32>>,
    finished: watch::Sender<()>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            counts: Mutex::default(),
            finished: watch::Sender::new(()),
        }
    }
}

impl InFlight {
    /// Nothing panics while the lock is held, but a poisoned map is still sound.
    fn lock(&self) -> MutexGuard<'_, HashMap<ThrottleKey, u32>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SignInAttempt {
    fn drop(&mut self) {
        let mut counts = self.in_flight.lock();
        for key in &self.keys {
            if let Entry::Occupied(mut entry) = counts.entry(*key) {
                *entry.get_mut() -= 1;
                if *entry.get() == 0 {
                    entry.remove();
                }
            }
        }
        drop(counts);
        self.in_flight.finished.send_modify(|()| {});
    }
}

impl Store {
    /// Admits an attempt, refuses it, or tells it to wait. Refusing writes
    /// nothing, so attempts during a lock cost no write.
    pub fn admit_sign_in(
        &self,
        limits: &[Limit],
        window: i64,
        now: Timestamp,
    ) -> Result<Admission, StoreError> {
        // Read under the lock: a failure is written before its place is given
        // back, so every finished failure is in what we read.
        let mut counts = self.in_flight.lock();
        let records = self.read(|tx| {
            let table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
            limits
                .iter()
                .map(|limit| {
                    let found =
                        ThrottleRecord::from_found(table.get(limit.key.as_bytes().as_slice())?)?;
                    Ok(current(found, window, now))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let retry_after = limits
            .iter()
            .zip(&records)
            .filter(|(limit, record)| record.failures >= limit.max)
            .map(|(_, record)| (record.window_start + window - now).max(1))
            .max();
        if let Some(retry_after) = retry_after {
            return Ok(Admission::Locked { retry_after });
        }
        let crowded = limits.iter().zip(&records).any(|(limit, record)| {
            let in_flight = counts.get(&limit.key).copied().unwrap_or(0);
            record.failures.saturating_add(in_flight) >= limit.max
        });
        if crowded {
            // Subscribed under the lock, so no finish after this check is missed.
            return Ok(Admission::Busy(AttemptFinished(
                self.in_flight.finished.subscribe(),
            )));
        }
        for limit in limits {
            let count = counts.entry(limit.key).or_default();
            *count = count.saturating_add(1);
        }
        Ok(Admission::Admitted(SignInAttempt {
            in_flight: self.in_flight.clone(),
            keys: limits.iter().map(|limit| limit.key).collect(),
        }))
    }

    /// Counts a failure on each of the attempt's counters, then gives its
    /// place back. Taking the attempt means that happens in that order even
    /// when the request that made it has gone away.
    pub fn record_failed_sign_in(
        &self,
        attempt: SignInAttempt,
        window: i64,
        now: Timestamp,
        event: NewEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            audit::record_at(tx, event, now)?;
            count_failures(tx, &attempt.keys, window, now)
        })?;
        drop(attempt);
        Ok(())
    }

    /// [`Store::record_failed_sign_in`] for an attempt the audit log doesn't
    /// list one by one (a link that didn't work).
    pub fn record_failed_attempt(
        &self,
        attempt: SignInAttempt,
        window: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| count_failures(tx, &attempt.keys, window, now))?;
        drop(attempt);
        Ok(())
    }

    /// After a successful sign-in, in one commit: starts the new session,
    /// records the event, clears the counter the success vouches for (the
    /// account's, or the device's) and records the time on the user; then
    /// gives the attempt's place back. One commit, so a crash never leaves
    /// a sign-in on record without the session it gave.
    #[allow(clippy::too_many_arguments)]
    pub fn record_successful_sign_in(
        &self,
        attempt: SignInAttempt,
        clear: ThrottleKey,
        user: UserId,
        at: Timestamp,
        event: NewEvent,
        (hash, session): (TokenHash, Session),
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            sessions::put_session(tx, hash, &session)?;
            audit::record_at(tx, event, at)?;
            clear_sign_in_failures(tx, clear)?;
            users::record_sign_in(tx, user, at)
        })?;
        drop(attempt);
        Ok(())
    }

    /// After a right password that a second step must follow: clears the
    /// counter the password vouches for, then gives the attempt's place
    /// back. The sign-in itself is recorded when the second step completes.
    pub fn record_correct_password(
        &self,
        attempt: SignInAttempt,
        clear: ThrottleKey,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            clear_sign_in_failures(tx, clear)?;
            Ok(())
        })?;
        drop(attempt);
        Ok(())
    }

    /// The key that seals device cookies, made when the file was created.
    pub fn device_key(&self) -> Result<DeviceKey, StoreError> {
        self.read(|tx| {
            let secrets = tx.open_table(tables::SECRETS)?;
            let found = secrets.get(DEVICE_KEY)?;
            found
                .and_then(|bytes| DeviceKey::from_bytes(bytes.value()))
                .ok_or(StoreError::Corrupt {
                    table: "secrets",
                    reason: "the device cookie key is missing".into(),
                })
        })
    }

    /// Drops counters whose window has passed: sign-in failures after
    /// `window`, request quotas after theirs.
    pub fn prune_throttle(
        &self,
        window: i64,
        request_window: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            prune(tx, tables::SIGN_IN_THROTTLE, window, now)?;
            prune(tx, tables::REQUEST_THROTTLE, request_window, now)
        })
    }
}

/// Whether a request that costs a mail still fits its quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// Counted; go ahead.
    Allowed,
    /// A quota is used up for this many more seconds; nothing was counted.
    Exhausted { retry_after: i64 },
}

/// Counts one request on every counter of `limits`, unless one of them has
/// reached its limit in the current window. Runs inside the write
/// transaction of the request itself, so concurrent requests can't both
/// take the last place.
pub(super) fn spend_quota(
    tx: &WriteTransaction,
    limits: &[Limit],
    window: i64,
    now: Timestamp,
) -> Result<Quota, StoreError> {
    let mut table = tx.open_table(tables::REQUEST_THROTTLE)?;
    let mut records = Vec::with_capacity(limits.len());
    for limit in limits {
        let found = ThrottleRecord::from_found(table.get(limit.key.as_bytes().as_slice())?)?;
        records.push(current(found, window, now));
    }
    let retry_after = limits
        .iter()
        .zip(&records)
        .filter(|(limit, record)| record.failures >= limit.max)
        .map(|(_, record)| (record.window_start + window - now).max(1))
        .max();
    if let Some(retry_after) = retry_after {
        return Ok(Quota::Exhausted { retry_after });
    }
    for (limit, mut record) in limits.iter().zip(records) {
        record.failures = record.failures.saturating_add(1);
        put_counter(&mut table, &limit.key, &record)?;
    }
    Ok(Quota::Allowed)
}

/// Counts one message to `recipient` against its hourly quota of `max`;
/// a spent quota is [`StoreError::MailQuota`], which rolls back the
/// caller's transaction and with it the mail.
pub(super) fn spend_mail_quota(
    tx: &WriteTransaction,
    recipient: &str,
    max: u32,
    now: Timestamp,
) -> Result<Quota, StoreError> {
    let limit = Limit {
        key: ThrottleKey::mail_to(recipient),
        max,
    };
    spend_quota(tx, &[limit], REQUEST_WINDOW, now)
}

/// Adds a failure to each counter of `keys`.
fn count_failures(
    tx: &WriteTransaction,
    keys: &[ThrottleKey],
    window: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
    for key in keys {
        let found = ThrottleRecord::from_found(table.get(key.as_bytes().as_slice())?)?;
        let mut record = current(found, window, now);
        record.failures = record.failures.saturating_add(1);
        put_counter(&mut table, key, &record)?;
    }
    Ok(())
}

/// Request quotas (reset requests, mail to one address) count in windows
/// of an hour.
pub const REQUEST_WINDOW: i64 = 3600;

/// The most counters a throttle table holds (see the module note): about
/// 5 MB of data file each, and far more than honest traffic makes in a
/// window.
pub const MAX_COUNTERS: u64 = 50_000;

/// How many counters one eviction removes beyond the cap.
pub const EVICTED_AT_ONCE: u64 = MAX_COUNTERS / 10;

type CounterTable<'tx> = redb::Table<'tx, &'static [u8], &'static [u8]>;

/// Stores a counter; a new one that takes the table past [`MAX_COUNTERS`]
/// evicts the oldest.
fn put_counter(
    table: &mut CounterTable<'_>,
    key: &ThrottleKey,
    record: &ThrottleRecord,
) -> Result<(), StoreError> {
    let fresh = table
        .insert(key.as_bytes().as_slice(), record.to_bytes().as_slice())?
        .is_none();
    if fresh && table.len()? > MAX_COUNTERS {
        evict_oldest(table)?;
    }
    Ok(())
}

/// Brings the table down to [`MAX_COUNTERS`] less [`EVICTED_AT_ONCE`],
/// removing the counters whose windows began first (an unreadable one
/// counts as oldest).
fn evict_oldest(table: &mut CounterTable<'_>) -> Result<(), StoreError> {
    let mut ages = Vec::new();
    for entry in table.iter()? {
        let (key, value) = entry?;
        let start =
            ThrottleRecord::from_bytes(value.value()).map_or(Timestamp::MIN, |r| r.window_start);
        ages.push((start, key.value().to_vec()));
    }
    let keep = usize::try_from(MAX_COUNTERS - EVICTED_AT_ONCE).unwrap_or(usize::MAX);
    let excess = ages.len().saturating_sub(keep);
    if excess == 0 {
        return Ok(());
    }
    ages.select_nth_unstable(excess - 1);
    for (_, key) in &ages[..excess] {
        table.remove(key.as_slice())?;
    }
    Ok(())
}

/// Forgets the failed sign-ins counted against `key`.
pub(super) fn clear_sign_in_failures(
    tx: &WriteTransaction,
    key: ThrottleKey,
) -> Result<(), StoreError> {
    tx.open_table(tables::SIGN_IN_THROTTLE)?
        .remove(key.as_bytes().as_slice())?;
    Ok(())
}

/// Name of the device cookie key in [`tables::SECRETS`].
const DEVICE_KEY: &str = "device_cookie_key";

/// Makes the device cookie key unless the file has one (so a re-run step keeps it).
pub(super) fn ensure_device_key(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut secrets = tx.open_table(tables::SECRETS)?;
    if secrets.get(DEVICE_KEY)?.is_none() {
        secrets.insert(DEVICE_KEY, DeviceKey::generate().bytes().as_slice())?;
    }
    Ok(())
}

fn prune(
    tx: &WriteTransaction,
    table: redb::TableDefinition<&[u8], &[u8]>,
    window: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(table)?;
    table.retain(|_, value| {
        ThrottleRecord::from_bytes(value).is_ok_and(|r| now - r.window_start < window)
    })?;
    Ok(())
}

/// The record as it stands now: a window that has passed starts afresh.
fn current(record: Option<ThrottleRecord>, window: i64, now: Timestamp) -> ThrottleRecord {
    match record {
        Some(r) if now - r.window_start < window => r,
        _ => ThrottleRecord {
            failures: 0,
            window_start: now,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountSettings;

    const WINDOW: i64 = 900;
    const NOW: Timestamp = 1_800_000_000;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        (dir, store)
    }

    fn admit(store: &Store, limits: &[Limit]) -> Admission {
        store.admit_sign_in(limits, WINDOW, NOW).unwrap()
    }

    fn stored_keys(store: &Store) -> Vec<Vec<u8>> {
        store
            .read(|tx| {
                let table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
                let keys = table
                    .iter()?
                    .map(|entry| entry.map(|(k, _)| k.value().to_vec()))
                    .collect::<Result<_, _>>()?;
                Ok(keys)
            })
            .unwrap()
    }

    #[test]
    fn a_key_is_32_bytes_whatever_the_email_length() {
        let (_dir, store) = store();
        let long = format!("{}@example.com", "a".repeat(64 * 1024));
        let limits = [
            Limit {
                key: ThrottleKey::account(&long),
                max: 5,
            },
            Limit {
                key: ThrottleKey::address("192.0.2.7"),
                max: 20,
            },
        ];
        let Admission::Admitted(attempt) = admit(&store, &limits) else {
            panic!("a fresh counter admits");
        };
        store
            .record_failed_sign_in(
                attempt,
                WINDOW,
                NOW,
                crate::domain::NewEvent::new(crate::domain::AuditAction::SignInFailed),
            )
            .unwrap();
        let keys = stored_keys(&store);
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().all(|k| k.len() == 32));
        // Normalised before hashing: case and spaces don't make a new counter.
        assert_eq!(
            ThrottleKey::account(" Emma@Example.COM"),
            ThrottleKey::account("emma@example.com")
        );
        assert_ne!(
            ThrottleKey::account("x"),
            ThrottleKey::address("x"),
            "kinds never share a counter"
        );
    }

    /// A flood of 100 000 distinct emails from 100 000 distinct addresses,
    /// counted through the calls the server makes (sign-in failures one
    /// commit each, as requests make them; reset requests and mail quotas
    /// inside larger transactions, as `transact` runs them): each table
    /// stays within its cap, keeps the newest counters, and pruning after
    /// the window empties it.
    #[test]
    fn a_flood_of_distinct_emails_and_addresses_stays_within_the_cap() {
        const FLOOD: u64 = 100_000;
        // Each failure is its own commit, as in the server; on a RAM disk
        // (where there is one) those commits skip the disk's flushes.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let event = || crate::domain::NewEvent::new(crate::domain::AuditAction::SignInFailed);
        for i in 0..FLOOD {
            // A second apart, so the oldest are the first evicted.
            let now = NOW + i as i64 / 100;
            let limits = [
                Limit {
                    key: ThrottleKey::account(&format!("victim{i}@example.com")),
                    max: 5,
                },
                Limit {
                    key: ThrottleKey::address(&address(i)),
                    max: 20,
                },
            ];
            let Admission::Admitted(attempt) = store.admit_sign_in(&limits, WINDOW, now).unwrap()
            else {
                panic!("fresh counters admit");
            };
            store
                .record_failed_sign_in(attempt, WINDOW, now, event())
                .unwrap();
        }
        let last = NOW + (FLOOD as i64 - 1) / 100;
        // Reset requests and mail: the same emails and addresses, a
        // thousand requests to a transaction.
        for batch in 0..FLOOD / 1000 {
            store
                .transact::<_, StoreError>(|t| {
                    for i in batch * 1000..(batch + 1) * 1000 {
                        let now = NOW + i as i64 / 100;
                        let email = format!("victim{i}@example.com");
                        let limits = [
                            Limit {
                                key: ThrottleKey::reset_email(&email),
                                max: 3,
                            },
                            Limit {
                                key: ThrottleKey::reset_address(&address(i)),
                                max: 20,
                            },
                        ];
                        assert_eq!(t.spend_quota(&limits, REQUEST_WINDOW, now)?, Quota::Allowed);
                        t.spend_mail_quota(&email, 10)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        let sizes = store.sizes().unwrap();
        let (failures, requests) = (sizes.sign_in_throttle, sizes.request_throttle);
        for size in [failures, requests] {
            assert!(size <= MAX_COUNTERS, "{size} counters");
            assert!(size >= MAX_COUNTERS - EVICTED_AT_ONCE, "{size} counters");
        }
        // The newest counters are kept and still count; the oldest went first.
        let only = |key| [Limit { key, max: 1 }];
        let newest = ThrottleKey::account(&format!("victim{}@example.com", FLOOD - 1));
        assert!(matches!(
            store.admit_sign_in(&only(newest), WINDOW, last).unwrap(),
            Admission::Locked { .. }
        ));
        let oldest = ThrottleKey::account("victim0@example.com");
        assert!(matches!(
            store.admit_sign_in(&only(oldest), WINDOW, last).unwrap(),
            Admission::Admitted(_)
        ));
        // Once the windows have passed, pruning empties both tables.
        store
            .prune_throttle(WINDOW, REQUEST_WINDOW, last + REQUEST_WINDOW)
            .unwrap();
        let sizes = store.sizes().unwrap();
        assert_eq!((sizes.sign_in_throttle, sizes.request_throttle), (0, 0));
    }

    /// A distinct IPv4 address for each `i` below 2^24.
    fn address(i: u64) -> String {
        format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
    }

    #[tokio::test]
    async fn in_flight_attempts_make_others_wait_and_only_failures_lock() {
        let (_dir, store) = store();
        let limits = [Limit {
            key: ThrottleKey::account("emma@example.com"),
            max: 2,
        }];
        let Admission::Admitted(first) = admit(&store, &limits) else {
            panic!("admitted");
        };
        let Admission::Admitted(second) = admit(&store, &limits) else {
            panic!("admitted");
        };
        let Admission::Busy(waiting) = admit(&store, &limits) else {
            panic!("two in flight fill a limit of two");
        };
        // An attempt abandoned without failing frees its place.
        drop(first);
        waiting.wait().await;
        let Admission::Admitted(third) = admit(&store, &limits) else {
            panic!("admitted after a place came free");
        };
        let writes = store.write_count();
        store
            .record_failed_sign_in(
                second,
                WINDOW,
                NOW,
                crate::domain::NewEvent::new(crate::domain::AuditAction::SignInFailed),
            )
            .unwrap();
        store
            .record_failed_sign_in(
                third,
                WINDOW,
                NOW,
                crate::domain::NewEvent::new(crate::domain::AuditAction::SignInFailed),
            )
            .unwrap();
        let Admission::Locked { retry_after } = admit(&store, &limits) else {
            panic!("two failures lock");
        };
        assert_eq!(retry_after, WINDOW);
        assert_eq!(store.write_count(), writes + 2, "refusing wrote nothing");
        assert!(
            store.in_flight.lock().is_empty(),
            "no entry outlives its attempts"
        );
    }
}
