//! Mail you can see: the outbox and a test message, for holders of
//! `settings.manage` on the Settings page. Silent mail failure is what
//! people complain about most in products like this one, so every message
//! is listed with its state, its last error and its next attempt.

use super::settings::require;
use super::{Accounts, AccountsError, SignedIn};
use crate::domain::{Permission, time};
use crate::mail::templates;
use crate::store::{AttemptOutcome, MailCounts, OutboxMessage};

/// How many messages the Settings page lists.
pub const LISTED: usize = 20;

/// The outbox as the Settings page shows it.
pub struct OutboxOverview {
    /// Where mail goes, in words.
    pub transport: String,
    pub counts: MailCounts,
    /// The newest messages, newest first.
    pub recent: Vec<OutboxMessage>,
}

/// See [`Accounts::outgoing_mail`].
pub struct OutgoingMail<'a> {
    accounts: &'a Accounts,
}

impl Accounts {
    pub fn outgoing_mail(&self) -> OutgoingMail<'_> {
        OutgoingMail { accounts: self }
    }
}

impl OutgoingMail<'_> {
    pub fn overview(&self, who: &SignedIn) -> Result<OutboxOverview, AccountsError> {
        require(who, Permission::SettingsManage)?;
        let store = &self.accounts.store;
        Ok(OutboxOverview {
            transport: self.accounts.mailer.transport().describe(),
            counts: store.outbox_counts()?,
            recent: store.outbox(LISTED)?,
        })
    }

    /// Sends a test message to the viewer now, through the transport
    /// itself rather than the queue, and keeps it in the outbox list with
    /// the server's answer. Returns the stored message. Counted against the
    /// viewer's address like any requested mail (`Throttled` past it), so
    /// the button can't flood a mailbox or the mail server.
    pub async fn send_test(&self, who: &SignedIn) -> Result<OutboxMessage, AccountsError> {
        require(who, Permission::SettingsManage)?;
        let mailer = &self.accounts.mailer;
        let (to, quota) = (who.user.email.to_string(), mailer.max_per_recipient());
        self.accounts
            .store
            .blocking(move |s| s.transact(|t| t.spend_mail_quota(&to, quota)))
            .await?;
        let message = templates::test_message(mailer.composer(), &who.user);
        let record = OutboxMessage::new(message, time::now());
        let outcome = match mailer.send_now(&record).await {
            Ok(delivery) => AttemptOutcome::Sent {
                reply: delivery.reply,
            },
            Err(e) => AttemptOutcome::GiveUp {
                error: e.to_string(),
            },
        };
        tracing::info!(user = who.user.id, ?outcome, "test message sent");
        let store = self.accounts.store.clone();
        let id = store
            .blocking(move |s| s.record_direct_mail(record, outcome))
            .await?;
        self.message(who, id)?
            .ok_or(AccountsError::NotFound("message"))
    }

    /// One message of the outbox.
    pub fn message(&self, who: &SignedIn, id: u64) -> Result<Option<OutboxMessage>, AccountsError> {
        require(who, Permission::SettingsManage)?;
        Ok(self.accounts.store.outbox_message(id)?)
    }

    /// Queues a failed message again, due now.
    pub async fn retry(&self, who: &SignedIn, id: u64) -> Result<bool, AccountsError> {
        require(who, Permission::SettingsManage)?;
        Ok(self
            .accounts
            .store
            .blocking(move |s| s.retry_failed_mail(id, time::now()))
            .await?)
    }
}
