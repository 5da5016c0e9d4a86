//! The mail outbox: messages are queued in the transaction of the action
//! that causes them (`Txn::enqueue_mail`), before the action answers, and a
//! background worker (`crate::mail`) sends them. Nothing is lost when the
//! mail server is down or the process restarts.
//!
//! An attempt is written down before it starts (`begin_mail_attempt`: the
//! attempt is counted and the next one scheduled), and its outcome right
//! after the server answers (`finish_mail_attempt`), each in its own durable
//! commit. So a crash can only ever repeat the one message that was on the
//! wire, and that message keeps its Message-ID across attempts, so a
//! receiving system can tell the copy for what it is. A message that was sent
//! keeps its recipient, subject and the server's answer, but not its bodies:
//! they hold single-use links, which the data file otherwise only keeps
//! hashed.

use rand::RngCore;
use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
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
    /// Given up on after the last retry, or refused for good by the server.
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
    /// The left part of the Message-ID, fixed when the message is queued so
    /// that every attempt carries the same one.
    #[serde(default)]
    pub message_id: String,
    /// Set while an attempt is under way; still set after a restart means the
    /// process stopped mid-delivery.
    #[serde(default)]
    pub sending_since: Option<Timestamp>,
    /// What the mail server said when it accepted the message.
    #[serde(default)]
    pub reply: Option<String>,
}

impl Record for OutboxMessage {
    const TABLE: &'static str = "outbox";
    const VERSION: u8 = 1;
}

/// How many messages are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub queued: usize,
    pub sent: usize,
    pub failed: usize,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The server accepted it, with this answer.
    Sent { reply: String },
    /// It failed; the next attempt stays as scheduled.
    Retry { error: String },
    /// It failed for good (a permanent refusal, or the last attempt).
    GiveUp { error: String },
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

    pub fn outbox_message(&self, id: u64) -> Result<Option<OutboxMessage>, StoreError> {
        self.read(|tx| OutboxMessage::from_found(tx.open_table(tables::OUTBOX)?.get(id)?))
    }

    pub fn outbox_counts(&self) -> Result<MailCounts, StoreError> {
        self.read(|tx| {
            let mut counts = MailCounts::default();
            for entry in tx.open_table(tables::OUTBOX)?.iter()? {
                match OutboxMessage::from_bytes(entry?.1.value())?.status {
                    MailStatus::Queued => counts.queued += 1,
                    MailStatus::Sent => counts.sent += 1,
                    MailStatus::Failed => counts.failed += 1,
                }
            }
            Ok(counts)
        })
    }

    /// Ids of messages due by `now`, soonest first (at most `limit`).
    pub fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<u64>, StoreError> {
        self.read(|tx| {
            let mut due: Vec<(Timestamp, u64)> = Vec::new();
            for entry in tx.open_table(tables::OUTBOX_DUE)?.iter()? {
                let (id, at) = entry?;
                if at.value() <= now {
                    due.push((at.value(), id.value()));
                }
            }
            due.sort_unstable();
            Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
        })
    }

    /// When the next queued message is due, if any is queued.
    pub fn next_mail_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|tx| {
            let mut next: Option<Timestamp> = None;
            for entry in tx.open_table(tables::OUTBOX_DUE)?.iter()? {
                let at = entry?.1.value();
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            Ok(next)
        })
    }

    /// Writes an attempt down before it starts: counts it, marks it under
    /// way and schedules the next one `retry_in(attempts so far)` seconds
    /// from `now`, so a crash mid-way leaves a message that is tried again
    /// later. `None` if the message is no longer queued.
    pub fn begin_mail_attempt(
        &self,
        id: u64,
        now: Timestamp,
        retry_in: impl FnOnce(u32) -> i64,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        self.write(|tx| {
            let Some(mut record) = read_for_update(tx, id)? else {
                return Ok(None);
            };
            if record.status != MailStatus::Queued {
                return Ok(None);
            }
            record.attempts = record.attempts.saturating_add(1);
            let retry_at = now.saturating_add(retry_in(record.attempts));
            record.sending_since = Some(now);
            record.next_attempt_at = Some(retry_at);
            put(tx, &record)?;
            tx.open_table(tables::OUTBOX_DUE)?.insert(id, retry_at)?;
            Ok(Some(record))
        })
    }

    /// Writes an attempt's outcome, right after the server answered.
    pub fn finish_mail_attempt(
        &self,
        id: u64,
        outcome: AttemptOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let Some(mut record) = read_for_update(tx, id)? else {
                return Ok(());
            };
            record.sending_since = None;
            match outcome {
                AttemptOutcome::Sent { reply } => {
                    record.status = MailStatus::Sent;
                    record.sent_at = Some(now);
                    record.next_attempt_at = None;
                    record.reply = Some(reply);
                    record.message.text.clear();
                    record.message.html.clear();
                    tx.open_table(tables::OUTBOX_DUE)?.remove(id)?;
                }
                AttemptOutcome::Retry { error } => record.last_error = Some(error),
                AttemptOutcome::GiveUp { error } => {
                    record.status = MailStatus::Failed;
                    record.next_attempt_at = None;
                    record.last_error = Some(error);
                    tx.open_table(tables::OUTBOX_DUE)?.remove(id)?;
                }
            }
            put(tx, &record)
        })
    }

    /// At start: makes every queued message due now (a restart is often the
    /// fix for what made them fail) and notes on those that were on the wire
    /// when the process stopped that they may have arrived already. Returns
    /// how many were. With nothing queued (the usual start) it writes
    /// nothing, so a server just started writes only what requests cause.
    pub fn recover_outbox(&self, now: Timestamp) -> Result<usize, StoreError> {
        let queued = self.read(|tx| Ok(!tx.open_table(tables::OUTBOX_DUE)?.is_empty()?))?;
        if !queued {
            return Ok(0);
        }
        self.write(|tx| {
            let ids: Vec<u64> = tx
                .open_table(tables::OUTBOX_DUE)?
                .iter()?
                .map(|entry| entry.map(|(id, _)| id.value()))
                .collect::<Result<_, _>>()?;
            let mut interrupted = 0;
            for id in ids {
                tx.open_table(tables::OUTBOX_DUE)?.insert(id, now)?;
                let Some(mut record) = read_for_update(tx, id)? else {
                    continue;
                };
                record.next_attempt_at = Some(now);
                if record.sending_since.take().is_some() {
                    interrupted += 1;
                    record.last_error = Some(
                        "Latchkey stopped during this delivery; the mail server may have \
                         received it. It is sent again with the same Message-ID."
                            .into(),
                    );
                }
                put(tx, &record)?;
            }
            Ok(interrupted)
        })
    }

    /// Queues a failed message again, due now, with a fresh count of attempts.
    pub fn retry_failed_mail(&self, id: u64, now: Timestamp) -> Result<bool, StoreError> {
        let retried = self.write(|tx| {
            let Some(mut record) = read_for_update(tx, id)? else {
                return Ok(false);
            };
            if record.status != MailStatus::Failed {
                return Ok(false);
            }
            record.status = MailStatus::Queued;
            record.attempts = 0;
            record.next_attempt_at = Some(now);
            put(tx, &record)?;
            tx.open_table(tables::OUTBOX_DUE)?.insert(id, now)?;
            Ok(true)
        })?;
        if retried {
            self.mail_queued.notify_one();
        }
        Ok(retried)
    }

    /// Keeps the record of a message sent outside the queue (the Settings
    /// page's test message), with its outcome; returns its id.
    pub fn record_direct_mail(
        &self,
        mut message: OutboxMessage,
        outcome: AttemptOutcome,
    ) -> Result<u64, StoreError> {
        self.write(|tx| {
            message.id = next_id(tx, "next_mail_id")?;
            message.next_attempt_at = None;
            message.sending_since = None;
            message.attempts = 1;
            match outcome {
                AttemptOutcome::Sent { reply } => {
                    message.status = MailStatus::Sent;
                    message.sent_at = Some(message.created_at);
                    message.reply = Some(reply);
                    message.message.text.clear();
                    message.message.html.clear();
                }
                AttemptOutcome::Retry { error } | AttemptOutcome::GiveUp { error } => {
                    message.status = MailStatus::Failed;
                    message.last_error = Some(error);
                }
            }
            put(tx, &message)?;
            Ok(message.id)
        })
    }

    /// Forgets sent and failed messages created before `before`.
    pub fn prune_outbox(&self, before: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(tables::OUTBOX)?.retain(|_, value| {
                OutboxMessage::from_bytes(value).map_or(true, |m| {
                    m.status == MailStatus::Queued || m.created_at >= before
                })
            })?;
            Ok(())
        })
    }
}

impl OutboxMessage {
    /// A message not yet in the outbox, with its own Message-ID: what the
    /// queue stores, and what the Settings page's test sends directly.
    pub fn new(message: MailMessage, now: Timestamp) -> Self {
        Self {
            id: 0,
            message,
            created_at: now,
            status: MailStatus::Queued,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            sent_at: None,
            message_id: message_id("direct"),
            sending_since: None,
            reply: None,
        }
    }
}

/// A Message-ID's left part: the outbox id, for people reading logs, and
/// 64 random bits, so that ids stay unique across data files.
fn message_id(label: impl std::fmt::Display) -> String {
    format!("{label}.{:016x}.latchkey", rand::rng().next_u64())
}

fn read_for_update(tx: &WriteTransaction, id: u64) -> Result<Option<OutboxMessage>, StoreError> {
    OutboxMessage::from_found(tx.open_table(tables::OUTBOX)?.get(id)?)
}

fn put(tx: &WriteTransaction, record: &OutboxMessage) -> Result<(), StoreError> {
    tx.open_table(tables::OUTBOX)?
        .insert(record.id, record.to_bytes().as_slice())?;
    Ok(())
}

/// Queues `message`, due at once; returns its id.
pub(super) fn enqueue(tx: &WriteTransaction, message: MailMessage) -> Result<u64, StoreError> {
    let id = next_id(tx, "next_mail_id")?;
    let now = time::now();
    let mut record = OutboxMessage::new(message, now);
    record.id = id;
    record.message_id = message_id(id);
    put(tx, &record)?;
    tx.open_table(tables::OUTBOX_DUE)?.insert(id, now)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountSettings;

    fn message(to: &str) -> MailMessage {
        MailMessage {
            to: to.into(),
            subject: "Hello".into(),
            text: "Hi, here is your link".into(),
            html: "<p>Hi</p>".into(),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        (dir, store)
    }

    fn enqueue_one(store: &Store, to: &str) -> u64 {
        store
            .transact::<_, StoreError>(|t| t.enqueue_mail(message(to)))
            .unwrap()
    }

    #[test]
    fn an_attempt_is_written_down_before_and_after_and_a_sent_message_keeps_no_body() {
        let (_dir, store) = store();
        let id = enqueue_one(&store, "ada@example.com");
        assert_eq!(store.due_mail(100, 10).unwrap(), Vec::<u64>::new());
        let now = time::now();
        assert_eq!(store.due_mail(now, 10).unwrap(), vec![id]);
        let started = store.begin_mail_attempt(id, now, |_| 30).unwrap().unwrap();
        assert_eq!(started.attempts, 1);
        assert_eq!(started.sending_since, Some(now));
        assert!(started.message_id.starts_with(&format!("{id}.")));
        // Not due again until the retry time: a crash now retries later.
        assert!(store.due_mail(now, 10).unwrap().is_empty());
        assert_eq!(store.next_mail_due().unwrap(), Some(now + 30));

        store
            .finish_mail_attempt(
                id,
                AttemptOutcome::Retry {
                    error: "refused".into(),
                },
                now,
            )
            .unwrap();
        let again = store
            .begin_mail_attempt(id, now + 30, |n| 30 * i64::from(n))
            .unwrap()
            .unwrap();
        assert_eq!(again.attempts, 2);
        assert_eq!(
            again.message_id, started.message_id,
            "one Message-ID for every attempt"
        );
        store
            .finish_mail_attempt(
                id,
                AttemptOutcome::Sent {
                    reply: "250 OK".into(),
                },
                now + 31,
            )
            .unwrap();
        let sent = store.outbox_message(id).unwrap().unwrap();
        assert_eq!(sent.status, MailStatus::Sent);
        assert_eq!(sent.reply.as_deref(), Some("250 OK"));
        assert!(sent.message.text.is_empty() && sent.message.html.is_empty());
        assert_eq!(sent.message.to, "ada@example.com");
        assert_eq!(store.next_mail_due().unwrap(), None);
        assert!(
            store.begin_mail_attempt(id, now, |_| 0).unwrap().is_none(),
            "sent is final"
        );
        assert_eq!(
            store.outbox_counts().unwrap(),
            MailCounts {
                queued: 0,
                sent: 1,
                failed: 0
            }
        );
    }

    #[test]
    fn a_restart_makes_queued_mail_due_and_flags_the_one_on_the_wire() {
        let (_dir, store) = store();
        let on_the_wire = enqueue_one(&store, "ada@example.com");
        let waiting = enqueue_one(&store, "bob@example.com");
        let now = time::now();
        store
            .begin_mail_attempt(on_the_wire, now, |_| 3600)
            .unwrap();
        store.begin_mail_attempt(waiting, now, |_| 3600).unwrap();
        store
            .finish_mail_attempt(
                waiting,
                AttemptOutcome::Retry {
                    error: "down".into(),
                },
                now,
            )
            .unwrap();
        assert_eq!(store.recover_outbox(now + 5).unwrap(), 1);
        assert_eq!(
            store.due_mail(now + 5, 10).unwrap(),
            vec![on_the_wire, waiting]
        );
        let record = store.outbox_message(on_the_wire).unwrap().unwrap();
        assert!(record.sending_since.is_none());
        assert!(record.last_error.unwrap().contains("same Message-ID"));
    }

    #[test]
    fn a_failed_message_stays_listed_and_can_be_queued_again() {
        let (_dir, store) = store();
        let id = enqueue_one(&store, "ada@example.com");
        let now = time::now();
        store.begin_mail_attempt(id, now, |_| 30).unwrap();
        store
            .finish_mail_attempt(
                id,
                AttemptOutcome::GiveUp {
                    error: "550 no such user".into(),
                },
                now,
            )
            .unwrap();
        let failed = store.outbox_message(id).unwrap().unwrap();
        assert_eq!(failed.status, MailStatus::Failed);
        assert_eq!(
            failed.message.text, "Hi, here is your link",
            "kept for a retry"
        );
        assert!(store.due_mail(now + 100, 10).unwrap().is_empty());
        assert!(store.retry_failed_mail(id, now).unwrap());
        assert_eq!(store.due_mail(now, 10).unwrap(), vec![id]);
        assert!(
            !store.retry_failed_mail(id, now).unwrap(),
            "only failed ones"
        );
        store.prune_outbox(now + 10).unwrap();
        assert!(
            store.outbox_message(id).unwrap().is_some(),
            "queued mail is never pruned"
        );
    }
}
