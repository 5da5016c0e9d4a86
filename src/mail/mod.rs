//! Outgoing mail: composing messages, the transports that carry them, and
//! the outbox worker that is the only thing that sends.
//!
//! A use case composes a message with a template (`templates`, built on
//! [`Composer`]: one layout for every message, text and HTML, with the
//! product name and absolute links from `server.public_url`) and queues it
//! with `Txn::enqueue_mail` in the same write transaction as the change that
//! causes it. After the commit the store wakes the [`OutboxWorker`], which
//! delivers due messages through the configured [`Transport`] (`.eml` files
//! or SMTP), writing each attempt down before it starts and its outcome as
//! soon as the server answers; failures are retried on the
//! `config::RetrySchedule`. The Settings page's *Send test email* is the one
//! message sent directly, so that the server's answer can be shown at once.

mod compose;
pub mod templates;
mod transport;
mod worker;

use std::sync::Arc;

pub use compose::{Composer, Letter, in_words};
pub use transport::{Connection, Delivery, SendError, Transport};
pub use worker::OutboxWorker;

use crate::config::Config;
use crate::store::Store;

/// What the use cases need for mail: the composer for messages, and the
/// transport for the one direct send. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    composer: Arc<Composer>,
    transport: Arc<Transport>,
    max_per_recipient: u32,
}

impl Mailer {
    pub fn new(config: &Config) -> Self {
        Self {
            composer: Arc::new(Composer::new(
                &config.server.public_url,
                config.mail.from.clone(),
            )),
            transport: Arc::new(Transport::new(&config.mail.transport)),
            max_per_recipient: config.mail.max_per_recipient,
        }
    }

    /// How many messages requests may send one address in an hour
    /// (`mail.max_per_recipient`; see `Txn::enqueue_requested_mail`).
    pub fn max_per_recipient(&self) -> u32 {
        self.max_per_recipient
    }

    pub fn composer(&self) -> &Composer {
        &self.composer
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends one message now, outside the queue, and says what the server answered.
    pub async fn send_now(
        &self,
        record: &crate::store::OutboxMessage,
    ) -> Result<Delivery, SendError> {
        worker::send_now(&self.composer, &self.transport, record).await
    }

    /// The outbox worker over `store`; spawn its `run`.
    pub fn worker(&self, store: Store, retry: crate::config::RetrySchedule) -> OutboxWorker {
        OutboxWorker::new(store, self.composer.clone(), self.transport.clone(), retry)
    }
}
