//! The outbox worker: the only sender of queued mail.
//!
//! It sleeps until a commit queues mail (the store's `mail_queued` signal) or
//! the next retry falls due, then delivers every due message, a batch over
//! one connection. Each attempt is written down before it starts and its
//! outcome right after the server's answer (see `store::outbox`), so:
//! - the mail server down: attempts fail, are retried on the schedule and
//!   go out once it is back;
//! - the process killed: on start every queued message is due again; the
//!   only message that can arrive twice is one that was on the wire at the
//!   kill, and its copy carries the same Message-ID;
//! - a message the server accepted is marked sent in a durable write before
//!   the next one starts, so it is never sent again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Composer, Connection, SendError, Transport};
use crate::config::RetrySchedule;
use crate::domain::time;
use crate::store::{AttemptOutcome, OutboxMessage, Store, StoreError};

/// Messages handled per look at the queue.
const BATCH: usize = 50;

/// How long to wait before looking again after the store itself failed.
const STORE_TROUBLE_PAUSE: Duration = Duration::from_secs(30);

pub struct OutboxWorker {
    store: Store,
    composer: Arc<Composer>,
    transport: Arc<Transport>,
    retry: RetrySchedule,
}

impl OutboxWorker {
    pub(super) fn new(
        store: Store,
        composer: Arc<Composer>,
        transport: Arc<Transport>,
        retry: RetrySchedule,
    ) -> Self {
        Self {
            store,
            composer,
            transport,
            retry,
        }
    }

    /// Delivers until `stop` turns true; a delivery under way is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let wake = self.store.mail_queued();
        match self.store.blocking(|s| s.recover_outbox(time::now())).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                messages = n,
                "mail was being delivered when Latchkey stopped; it is sent again with the same Message-ID"
            ),
            Err(e) => tracing::error!(error = %e, "could not read the mail outbox"),
        }
        loop {
            let pause = match self.deliver_due(&stop).await {
                Ok(Some(next)) => Duration::from_secs((next - time::now()).max(0) as u64),
                // Nothing queued: only a commit that queues mail wakes us.
                Ok(None) => Duration::from_secs(24 * 3600),
                Err(e) => {
                    tracing::error!(error = %e, "could not read the mail outbox");
                    STORE_TROUBLE_PAUSE
                }
            };
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Delivers every message due now; returns when the next one falls due.
    async fn deliver_due(
        &self,
        stop: &watch::Receiver<bool>,
    ) -> Result<Option<time::Timestamp>, StoreError> {
        loop {
            let due = self
                .store
                .blocking(|s| s.due_mail(time::now(), BATCH))
                .await?;
            if due.is_empty() || *stop.borrow() {
                return self.store.blocking(|s| s.next_mail_due()).await;
            }
            self.deliver(due, stop).await?;
        }
    }

    /// One batch over one connection, opened when the first message needs it.
    async fn deliver(&self, ids: Vec<u64>, stop: &watch::Receiver<bool>) -> Result<(), StoreError> {
        let mut connection: Option<Connection> = None;
        // Once connecting failed, the rest of the batch fails the same way
        // without knocking on a closed door again.
        let mut unreachable: Option<SendError> = None;
        for id in ids {
            if *stop.borrow() {
                break;
            }
            let retry = self.retry;
            let Some(record) = self
                .store
                .blocking(move |s| {
                    s.begin_mail_attempt(id, time::now(), |attempts| {
                        retry.delay_after(attempts).as_secs() as i64
                    })
                })
                .await?
            else {
                continue;
            };
            let result = match (&mut connection, &unreachable) {
                (_, Some(e)) => Err(e.clone()),
                (Some(open), None) => self.send(open, &record).await,
                (None, None) => match self.transport.connect().await {
                    Ok(mut open) => {
                        let result = self.send(&mut open, &record).await;
                        connection = Some(open);
                        result
                    }
                    Err(e) => {
                        unreachable = Some(e.clone());
                        Err(e)
                    }
                },
            };
            if result.is_err() {
                // After a refusal or a broken conversation, start afresh.
                if let Some(open) = connection.take() {
                    open.close().await;
                }
            }
            let outcome = self.outcome(&record, result);
            self.store
                .blocking(move |s| s.finish_mail_attempt(id, outcome, time::now()))
                .await?;
        }
        if let Some(open) = connection {
            open.close().await;
        }
        Ok(())
    }

    async fn send(
        &self,
        connection: &mut Connection,
        record: &OutboxMessage,
    ) -> Result<super::Delivery, SendError> {
        hand_over(&self.composer, connection, record).await
    }

    fn outcome(
        &self,
        record: &OutboxMessage,
        result: Result<super::Delivery, SendError>,
    ) -> AttemptOutcome {
        match result {
            Ok(delivery) => {
                tracing::info!(mail = record.id, attempts = record.attempts, reply = %delivery.reply, "mail delivered");
                AttemptOutcome::Sent {
                    reply: delivery.reply,
                }
            }
            Err(SendError::Permanent(error)) => {
                tracing::warn!(mail = record.id, %error, "mail refused for good");
                AttemptOutcome::GiveUp { error }
            }
            Err(SendError::Temporary(error)) if record.attempts >= self.retry.max_attempts => {
                tracing::warn!(mail = record.id, %error, attempts = record.attempts, "mail given up on");
                AttemptOutcome::GiveUp {
                    error: format!("{error} (gave up after {} attempts)", record.attempts),
                }
            }
            Err(SendError::Temporary(error)) => {
                let wait = self.retry.delay_after(record.attempts);
                tracing::warn!(mail = record.id, %error, retry_in_secs = wait.as_secs(), "mail delivery failed; will retry");
                AttemptOutcome::Retry { error }
            }
        }
    }
}

/// Sends one message directly, outside the queue: the Settings page's test,
/// whose answer is shown at once.
pub async fn send_now(
    composer: &Composer,
    transport: &Transport,
    record: &OutboxMessage,
) -> Result<super::Delivery, SendError> {
    let mut connection = transport.connect().await?;
    let result = hand_over(composer, &mut connection, record).await;
    connection.close().await;
    result
}

/// Builds the MIME message and hands it to the open connection. The `.eml`
/// file's name starts with the queueing time, so a folder listing reads in
/// order, and ends with the Message-ID, so a message written twice is one file.
async fn hand_over(
    composer: &Composer,
    connection: &mut Connection,
    record: &OutboxMessage,
) -> Result<super::Delivery, SendError> {
    let mime = composer
        .mime(record)
        .map_err(|e| SendError::Permanent(format!("can't build the message: {e}")))?;
    let file_name = format!("{}-{}", record.created_at, record.message_id);
    connection
        .send(
            &composer.from().address,
            &record.message.to,
            &file_name,
            &mime,
        )
        .await
}
