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

use super::{
    Store, StoreError, audit, outbox, roles, sessions, settings, tables, user_index, users,
};
use crate::domain::{
    AccountSettings, MailMessage, NewEvent, PermissionSet, Role, RoleId, User, UserId,
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

    /// Deletes a user, their sessions and their one-time links; `None` if
    /// there was no such user.
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

    pub fn role(&self, id: RoleId) -> Result<Option<Role>, StoreError> {
        roles::read_role_for_update(self.tx, id)
    }

    /// Writes a role as given (creating or replacing it).
    pub fn put_role(&self, role: &Role) -> Result<(), StoreError> {
        roles::put_role(self.tx, role)
    }

    /// What `user`'s roles grant as stored now.
    pub fn permissions_of(&self, user: &User) -> Result<PermissionSet, StoreError> {
        roles::permissions_of_for_update(self.tx, user)
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

    /// Ends one session.
    pub fn end_session(&self, hash: crate::domain::TokenHash) -> Result<(), StoreError> {
        sessions::remove_session(self.tx, hash)
    }

    /// Ends every session of `user`; returns how many there were.
    pub fn end_sessions_of_user(&self, user: UserId) -> Result<usize, StoreError> {
        sessions::remove_sessions_of_user(self.tx, user)
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
