//! The mail outbox: messages are queued in the transaction of the action
//! that causes them (`Txn::enqueue_mail`), before the action answers, and a
//! background worker (`crate::mail`) sends them. Nothing is lost when the
//! mail server is down or the process restarts.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::Record;
use super::{Store, StoreError, next_id, tables};
use crate::domain::MailMessage;
use crate::domain::time::{self, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailStatus {
    /// Waiting for its first or next attempt.
    Queued,
    /// Accepted by the mail server (or written, for the file transport).
    Sent,
    /// Given up on after the last retry.
    Failed,
}

/// A message in the outbox, with its delivery history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: u64,
    pub message: MailMessage,
    pub created_at: Timestamp,
    pub status: MailStatus,
    pub attempts: u32,
    /// When the next attempt is due (queued messages only).
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

impl Record for OutboxMessage {
    const TABLE: &'static str = "outbox";
    const VERSION: u8 = 1;
}

impl Store {
    /// The newest messages, newest first (at most `limit`), for the Settings page and tests.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::OUTBOX)?;
            table
                .iter()?
                .rev()
                .take(limit)
                .map(|entry| OutboxMessage::from_bytes(entry?.1.value()))
                .collect()
        })
    }
}

/// Queues `message`, due at once; returns its id.
pub(super) fn enqueue(tx: &WriteTransaction, message: MailMessage) -> Result<u64, StoreError> {
    let id = next_id(tx, "next_mail_id")?;
    let now = time::now();
    let record = OutboxMessage {
        id,
        message,
        created_at: now,
        status: MailStatus::Queued,
        attempts: 0,
        next_attempt_at: Some(now),
        last_error: None,
        sent_at: None,
    };
    tx.open_table(tables::OUTBOX)?
        .insert(id, record.to_bytes().as_slice())?;
    tx.open_table(tables::OUTBOX_DUE)?.insert(id, now)?;
    Ok(id)
}
