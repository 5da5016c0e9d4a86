//! Failed sign-in counters, per account and per client address.
//!
//! An attempt *reserves* a failure on every counter before the password is
//! checked, inside one write transaction (redb has one writer at a time), so
//! any number of parallel guesses can't get past the limit; a success gives
//! the reservation back.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::Record;
use super::{Store, StoreError, tables, users};
use crate::domain::UserId;
use crate::domain::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleRecord {
    pub failures: u32,
    /// Start of the window the failures count in; a window lasts the lockout.
    pub window_start: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleVerdict {
    Allowed,
    /// Locked for this many more seconds.
    Locked {
        retry_after: i64,
    },
}

impl Record for ThrottleRecord {
    const TABLE: &'static str = "sign_in_throttle";
    const VERSION: u8 = 1;
}

/// A counter key and the failures it allows within one window.
pub type Limit = (String, u32);

impl Store {
    /// Read-only check, so refused attempts during a lock cost no write.
    pub fn throttle_check(
        &self,
        limits: &[Limit],
        window: i64,
        now: Timestamp,
    ) -> Result<ThrottleVerdict, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
            Ok(assess(&table, limits, window, now)?.0)
        })
    }

    /// Checks every counter and, if none is locked, counts one failure on each.
    pub fn throttle_reserve(
        &self,
        limits: &[Limit],
        window: i64,
        now: Timestamp,
    ) -> Result<ThrottleVerdict, StoreError> {
        self.write(|tx| {
            let mut table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
            let (verdict, records) = assess(&table, limits, window, now)?;
            if verdict == ThrottleVerdict::Allowed {
                for ((key, _), mut record) in limits.iter().zip(records) {
                    record.failures += 1;
                    table.insert(key.as_str(), record.to_bytes().as_slice())?;
                }
            }
            Ok(verdict)
        })
    }

    /// After a successful sign-in, in one commit: clears the account's
    /// counter, gives the address back the failure reserved for this attempt,
    /// and records the time on the user.
    pub fn record_successful_sign_in(
        &self,
        account: &str,
        address: &str,
        user: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
            table.remove(account)?;
            let record = ThrottleRecord::from_found(table.get(address)?)?;
            if let Some(mut record) = record {
                record.failures = record.failures.saturating_sub(1);
                table.insert(address, record.to_bytes().as_slice())?;
            }
            users::record_sign_in(tx, user, at)
        })
    }

    /// Drops counters whose window has passed.
    pub fn prune_throttle(&self, window: i64, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| prune(tx, window, now))
    }
}

fn prune(tx: &WriteTransaction, window: i64, now: Timestamp) -> Result<(), StoreError> {
    let mut table = tx.open_table(tables::SIGN_IN_THROTTLE)?;
    table.retain(|_, value| {
        ThrottleRecord::from_bytes(value).is_ok_and(|r| now - r.window_start < window)
    })?;
    Ok(())
}

/// Each counter as it stands now, and whether any of them is locked.
fn assess(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    limits: &[Limit],
    window: i64,
    now: Timestamp,
) -> Result<(ThrottleVerdict, Vec<ThrottleRecord>), StoreError> {
    let mut verdict = ThrottleVerdict::Allowed;
    let mut records = Vec::with_capacity(limits.len());
    for (key, max) in limits {
        let record = ThrottleRecord::from_found(table.get(key.as_str())?)?;
        verdict = worse(verdict, judge(record, *max, window, now));
        records.push(current(record, window, now));
    }
    Ok((verdict, records))
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

fn judge(record: Option<ThrottleRecord>, max: u32, window: i64, now: Timestamp) -> ThrottleVerdict {
    let record = current(record, window, now);
    if record.failures >= max {
        ThrottleVerdict::Locked {
            retry_after: (record.window_start + window - now).max(1),
        }
    } else {
        ThrottleVerdict::Allowed
    }
}

fn worse(a: ThrottleVerdict, b: ThrottleVerdict) -> ThrottleVerdict {
    match (a, b) {
        (
            ThrottleVerdict::Locked { retry_after: x },
            ThrottleVerdict::Locked { retry_after: y },
        ) => ThrottleVerdict::Locked {
            retry_after: x.max(y),
        },
        (ThrottleVerdict::Allowed, other) | (other, ThrottleVerdict::Allowed) => other,
    }
}
