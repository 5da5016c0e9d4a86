//! One write transaction as a typed unit of work.
//!
//! A use case that changes several things at once (a user, the audit event
//! that records it, the mail it causes) does all of it inside
//! [`Store::transact`], through a [`Txn`]: everything commits together or
//! nothing does, and no redb type leaves the store. The same closure that
//! checks a rule against the current record makes the change, so no other
//! writer can slip in between.

use std::cell::Cell;

use redb::WriteTransaction;

use super::throttle::{self, Limit, Quota, ThrottleKey};
use super::{
    OneTimeToken, Store, StoreError, TokenPurpose, audit, one_time_tokens, outbox, roles, sessions,
    settings, tables, two_factor, user_index, users,
};
use crate::domain::time::{self, Timestamp};
use crate::domain::{
    AccountSettings, MailMessage, NewEvent, PermissionSet, Session, TokenHash, TwoFactor, User,
    UserId,
};

/// The open write transaction handed to a [`Store::transact`] closure.
pub struct Txn<'a> {
    pub(super) tx: &'a WriteTransaction,
    mail_queued: &'a Cell<bool>,
}

impl Store {
    /// Runs `f` in one write transaction and commits if it returns `Ok`; an
    /// `Err` (the caller's own error type) rolls everything back. Wakes the
    /// outbox worker once the commit is durable, if mail was queued.
    pub fn transact<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mail_queued = Cell::new(false);
        let out = self.write_or(|tx| {
            f(&Txn {
                tx,
                mail_queued: &mail_queued,
            })
        })?;
        if mail_queued.get() {
            self.mail_queued.notify_one();
        }
        Ok(out)
    }
}

impl Txn<'_> {
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        users::read_user_for_update(self.tx, id)
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        users::user_by_email_for_update(self.tx, email)
    }

    /// See [`Store::modify_user`].
    pub fn modify_user<E: From<StoreError>>(
        &self,
        id: UserId,
        change: impl FnOnce(&mut User) -> Result<(), E>,
    ) -> Result<User, E> {
        let mut user = self.user(id)?.ok_or(StoreError::NotFound("user"))?;
        change(&mut user)?;
        users::put_user(self.tx, &user)?;
        Ok(user)
    }

    pub fn insert_user(&self, new: super::NewUser) -> Result<User, StoreError> {
        users::insert_user(self.tx, new)
    }

    /// Deletes a user, their sessions, 2FA record and one-time links;
    /// `None` if there was no such user.
    pub fn delete_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        users::remove_user(self.tx, id)
    }

    /// The Active users holding Global Administrator at this moment: the
    /// set the last-administrator rule protects. Read through the Users
    /// list index, so it costs the holders, not every user.
    pub fn active_global_administrators(&self) -> Result<Vec<User>, StoreError> {
        let keys = self.tx.open_table(tables::USER_SORT_KEYS)?;
        let mut active = Vec::new();
        for id in user_index::global_administrators(&keys)? {
            if let Some(user) = self.user(id)?
                && user.is_active()
                && user.is_global_administrator()
            {
                active.push(user);
            }
        }
        Ok(active)
    }

    /// What `user`'s roles grant as stored now.
    pub fn permissions_of(&self, user: &User) -> Result<PermissionSet, StoreError> {
        roles::permissions_in(&self.tx.open_table(tables::ROLES)?, user)
    }

    /// Appends an audit event to this transaction; returns its id.
    pub fn record(&self, event: NewEvent) -> Result<u64, StoreError> {
        audit::record(self.tx, event)
    }

    /// Queues a message, sent once (and only if) this transaction commits.
    pub fn enqueue_mail(&self, message: MailMessage) -> Result<u64, StoreError> {
        let id = outbox::enqueue(self.tx, message)?;
        self.mail_queued.set(true);
        Ok(id)
    }

    /// Queues a message that someone's request asks for, within its
    /// recipient's hourly quota of `max`; a spent quota is
    /// [`StoreError::MailQuota`], and the caller's transaction rolls back.
    pub fn enqueue_requested_mail(
        &self,
        message: MailMessage,
        max: u32,
    ) -> Result<u64, StoreError> {
        self.spend_mail_quota(&message.to, max)?;
        self.enqueue_mail(message)
    }

    /// Counts one message to `recipient` against its hourly quota of
    /// `max`, or refuses with [`StoreError::MailQuota`] (counting nothing).
    pub fn spend_mail_quota(&self, recipient: &str, max: u32) -> Result<(), StoreError> {
        match throttle::spend_mail_quota(self.tx, recipient, max, time::now())? {
            Quota::Allowed => Ok(()),
            Quota::Exhausted { retry_after } => Err(StoreError::MailQuota { retry_after }),
        }
    }

    /// Ends one session.
    pub fn end_session(&self, hash: TokenHash) -> Result<(), StoreError> {
        sessions::remove_session(self.tx, hash)
    }

    pub fn session(&self, hash: TokenHash) -> Result<Option<Session>, StoreError> {
        sessions::read_session_for_update(self.tx, hash)
    }

    /// Starts a session (the token's hash is its key).
    pub fn insert_session(&self, hash: TokenHash, session: &Session) -> Result<(), StoreError> {
        sessions::put_session(self.tx, hash, session)
    }

    /// Changes a session in place; its user can't change.
    pub fn modify_session<E: From<StoreError>>(
        &self,
        hash: TokenHash,
        change: impl FnOnce(&mut Session) -> Result<(), E>,
    ) -> Result<Session, E> {
        let mut session = self.session(hash)?.ok_or(StoreError::NotFound("session"))?;
        let user = session.user_id;
        change(&mut session)?;
        session.user_id = user;
        sessions::put_session(self.tx, hash, &session)?;
        Ok(session)
    }

    /// The user's 2FA record, if 2FA is on.
    pub fn two_factor(&self, user: UserId) -> Result<Option<TwoFactor>, StoreError> {
        two_factor::read_for_update(self.tx, user)
    }

    pub fn put_two_factor(&self, user: UserId, record: &TwoFactor) -> Result<(), StoreError> {
        two_factor::put(self.tx, user, record)
    }

    /// Turns 2FA off for `user`; returns whether it was on.
    pub fn remove_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        two_factor::remove(self.tx, user)
    }

    /// Forgets the failures counted against `key` (after a success it vouches for).
    pub fn clear_throttle(&self, key: ThrottleKey) -> Result<(), StoreError> {
        throttle::clear_sign_in_failures(self.tx, key)
    }

    /// Sets the user's last sign-in time.
    pub fn record_sign_in(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        users::record_sign_in(self.tx, user, at)
    }

    /// Ends every session of `user`; returns how many there were.
    pub fn end_sessions_of_user(&self, user: UserId) -> Result<usize, StoreError> {
        sessions::remove_sessions_of_user(self.tx, user)
    }

    /// Stores a one-time link, voiding the user's older links of the same purpose.
    pub fn issue_token(&self, hash: TokenHash, token: &OneTimeToken) -> Result<(), StoreError> {
        one_time_tokens::issue(self.tx, hash, token)
    }

    /// Spends a one-time link: `LinkInvalid` unless it exists, has `purpose`
    /// and has not expired. Rolled back with the rest if the action fails.
    pub fn take_token(
        &self,
        hash: TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<OneTimeToken, StoreError> {
        one_time_tokens::take(self.tx, hash, purpose, now)
    }

    /// Voids every link of `purpose` that `user` holds.
    pub fn void_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<(), StoreError> {
        one_time_tokens::remove_tokens_of(self.tx, user, purpose)
    }

    /// Counts a request against `limits`, or says how long they are used up.
    pub fn spend_quota(
        &self,
        limits: &[Limit],
        window: i64,
        now: Timestamp,
    ) -> Result<Quota, StoreError> {
        throttle::spend_quota(self.tx, limits, window, now)
    }

    pub fn modify_account_settings(
        &self,
        change: impl FnOnce(&mut AccountSettings),
    ) -> Result<AccountSettings, StoreError> {
        settings::modify(self.tx, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditAction, MailMessage};

    fn message() -> MailMessage {
        MailMessage {
            to: "ada@example.com".into(),
            subject: "Hello".into(),
            text: "Hi".into(),
            html: "<p>Hi</p>".into(),
        }
    }

    #[test]
    fn mail_and_events_commit_with_the_change_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let refused: Result<(), StoreError> = store.transact(|t| {
            t.enqueue_mail(message())?;
            t.record(NewEvent::new(AuditAction::SettingsChanged))?;
            Err(StoreError::EmailTaken)
        });
        assert!(refused.is_err());
        assert!(store.outbox(10).unwrap().is_empty());
        assert!(store.recent_events(10).unwrap().is_empty());

        let woken = store.mail_queued();
        store
            .transact::<_, StoreError>(|t| {
                t.enqueue_mail(message())?;
                t.record(NewEvent::new(AuditAction::SettingsChanged))
            })
            .unwrap();
        assert_eq!(store.outbox(10).unwrap().len(), 1);
        assert_eq!(store.recent_events(10).unwrap().len(), 1);
        // The worker is woken once the commit is durable.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), woken.notified())
                .await
                .expect("woken");
        });
    }
}
