//! Administering users (SPEC §3, Users and User page): the list, one
//! user's page and history, editing their details, deleting them, and
//! their role assignments.
//!
//! [`UserAdmin`] is the administrator acting; each use case first checks
//! the permission it needs. Changes then re-check, inside their one write
//! transaction, everything another request could have changed meanwhile:
//! that the administrator still exists and still holds the permission, and
//! who still holds Global Administrator. redb runs one write transaction at
//! a time, so two administrators acting at once (removing each other's
//! role, deleting each other) are judged one after the other against what
//! the first left, and at least one Active Global Administrator always
//! remains.
//!
//! One more rule keeps the permissions from leaking upwards: an
//! administrator may change, delete or re-role only users whose permissions
//! they hold themselves, and assign or remove only roles whose permissions
//! they hold. Without it, anyone with `users.assign_roles` could make
//! themselves Global Administrator.

mod changes;

use super::settings::require;
use super::{Accounts, AccountsError, SignedIn};
use crate::domain::{AuditEvent, Permission, Role, User, UserId, UserPage, UserQuery};

pub use changes::{
    LAST_ADMINISTRATOR_DELETION, LAST_ADMINISTRATOR_ROLE, OUTRANKED, ROLE_OUTRANKS, SELF_DELETION,
};

/// Events per page of the User history tab.
pub const EVENTS_PER_PAGE: usize = 50;

/// The administrator, acting on users.
pub struct UserAdmin<'a> {
    accounts: &'a Accounts,
    who: &'a SignedIn,
}

impl Accounts {
    pub fn user_admin<'a>(&'a self, who: &'a SignedIn) -> UserAdmin<'a> {
        UserAdmin {
            accounts: self,
            who,
        }
    }
}

/// A page of the Users list, with the roles to name.
pub struct UserList {
    pub page: UserPage,
    pub roles: Vec<Role>,
}

/// A page of a user's history, newest first.
pub struct UserHistory {
    pub events: Vec<AuditEvent>,
    /// The `before` of the next (older) page, if there is one.
    pub older: Option<u64>,
}

impl UserAdmin<'_> {
    /// One page of the list (`users.view`). Off the runtime: a search at
    /// scale takes a millisecond or two.
    pub async fn list(&self, query: UserQuery) -> Result<UserList, AccountsError> {
        require(self.who, Permission::UsersView)?;
        let (page, roles) = self
            .accounts
            .store
            .blocking(move |s| Ok((s.user_page(&query)?, s.roles()?)))
            .await?;
        Ok(UserList { page, roles })
    }

    /// One user (`users.view`), and every role, to name theirs and offer the rest.
    pub fn user(&self, id: UserId) -> Result<(User, Vec<Role>), AccountsError> {
        require(self.who, Permission::UsersView)?;
        let user = self
            .accounts
            .store
            .user(id)?
            .ok_or(AccountsError::NotFound("user"))?;
        Ok((user, self.accounts.store.roles()?))
    }

    /// A user about to be edited (`users.edit`).
    pub fn user_to_edit(&self, id: UserId) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersEdit)?;
        self.accounts
            .store
            .user(id)?
            .ok_or(AccountsError::NotFound("user"))
    }

    /// Every role (to name them after a change).
    pub fn roles(&self) -> Result<Vec<Role>, AccountsError> {
        Ok(self.accounts.store.roles()?)
    }

    /// A user's events (`users.view`), newest first, older than event
    /// `before` when paging.
    pub fn history(&self, id: UserId, before: Option<u64>) -> Result<UserHistory, AccountsError> {
        require(self.who, Permission::UsersView)?;
        let mut events = self
            .accounts
            .store
            .events_of_user(id, before, EVENTS_PER_PAGE + 1)?;
        let older = (events.len() > EVENTS_PER_PAGE).then(|| {
            events.truncate(EVENTS_PER_PAGE);
            events.last().map_or(0, |e| e.id)
        });
        Ok(UserHistory { events, older })
    }

    /// The users about to be deleted, for the confirmation (`users.delete`),
    /// with the rule that would refuse it, if any, so the question is only
    /// asked when Yes can work.
    pub fn deletion_preview(
        &self,
        ids: &[UserId],
    ) -> Result<(Vec<User>, Option<&'static str>), AccountsError> {
        require(self.who, Permission::UsersDelete)?;
        let mut users = Vec::new();
        for id in dedup(ids) {
            if let Some(user) = self.accounts.store.user(id)? {
                users.push(user);
            }
        }
        if ids.is_empty() {
            return Err(AccountsError::Refused(
                "Select at least one user to delete.",
            ));
        }
        if users.is_empty() {
            return Err(AccountsError::NotFound("user"));
        }
        let administrators: Vec<User> = self
            .accounts
            .store
            .global_administrators()?
            .into_iter()
            .filter(User::is_active)
            .collect();
        Ok((
            users.clone(),
            changes::deletion_refusal(self.who.user.id, &users, &administrators),
        ))
    }
}

/// The ids once each, in the order given.
fn dedup(ids: &[UserId]) -> Vec<UserId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}
