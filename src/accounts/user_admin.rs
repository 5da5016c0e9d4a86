//! Administering users (SPEC §3, Users and User page): the list, one
//! user's page and history, inviting them (`invitations`), editing their
//! details, deleting them, and their role assignments (`changes`).
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
//! themselves Global Administrator. The same ceiling (`may_manage`)
//! guards resending an invitation here, and, in their own modules, asking
//! for another user's new email address and turning off their 2FA: each
//! would otherwise let a lesser administrator take over, or weaken, a
//! greater one's account.

mod changes;
mod invitations;

use super::email_change::PendingEmailChange;
use super::settings::require;
use super::{Accounts, AccountsError, SignedIn};
use crate::domain::time::Timestamp;
use crate::domain::{Permission, PermissionSet, Role, User, UserId, UserPage, UserQuery};
use crate::store::{Cursor, EventPage, EventQuery, TokenPurpose, Txn};

pub use changes::{
    DetailsSaved, INVITED_NOT_EDITABLE, LAST_ADMINISTRATOR_DELETION, LAST_ADMINISTRATOR_ROLE,
    ROLE_OUTRANKS, SELF_DELETION,
};
pub use invitations::{ALREADY_ACCEPTED, InviteForm};

pub const OUTRANKED: &str = "you can only manage users whose permissions you hold yourself";

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
        Ok((self.stored(id)?, self.accounts.store.roles()?))
    }

    /// A user about to be edited (`users.edit`): Active users only.
    pub fn user_to_edit(&self, id: UserId) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersEdit)?;
        let user = self.stored(id)?;
        if !user.is_active() {
            return Err(AccountsError::Conflict(INVITED_NOT_EDITABLE));
        }
        Ok(user)
    }

    /// The user as stored now, for a use case that checked its permission.
    fn stored(&self, id: UserId) -> Result<User, AccountsError> {
        self.accounts
            .store
            .user(id)?
            .ok_or(AccountsError::NotFound("user"))
    }

    /// Every role (to name them after a change).
    pub fn roles(&self) -> Result<Vec<Role>, AccountsError> {
        Ok(self.accounts.store.roles()?)
    }

    /// Whether `user` has 2FA on, for the details tab. Takes a user another
    /// use case handed out, which checked the permission (viewing the user,
    /// or editing them, whose answer shows the tab again).
    pub fn two_factor_on(&self, user: &User) -> Result<bool, AccountsError> {
        Ok(self.accounts.store.two_factor(user.id)?.is_some())
    }

    /// The new address waiting for `user`'s confirmation, if any, for the
    /// details tab (a user another use case handed out, as above).
    pub fn pending_email(&self, user: &User) -> Result<Option<PendingEmailChange>, AccountsError> {
        self.accounts.email_changes().pending_for(user)
    }

    /// When `user`'s invitation link stops working, if they have one (as
    /// above, a user handed out by a use case that checked the permission).
    pub fn invitation_expires(&self, user: &User) -> Result<Option<Timestamp>, AccountsError> {
        if user.is_active() {
            return Ok(None);
        }
        Ok(self
            .accounts
            .store
            .tokens_of(user.id, TokenPurpose::Invitation)?
            .iter()
            .map(|t| t.expires_at)
            .max())
    }

    /// A page of a user's events (`users.view`), newest first, paged like
    /// the Audit log.
    pub fn history(&self, id: UserId, cursor: Cursor) -> Result<EventPage, AccountsError> {
        require(self.who, Permission::UsersView)?;
        let query = EventQuery {
            user: Some(id),
            ..EventQuery::default()
        };
        Ok(self
            .accounts
            .store
            .events(&query, cursor, super::audit::PAGE_SIZE)?)
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
            return Err(AccountsError::Conflict(
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

/// The administrator as stored now: still there, still holding
/// `permission`. Returns their permissions at this moment. Every change to
/// another user starts here, inside its write transaction (also turning
/// off someone's 2FA, in `two_factor`).
pub(in crate::accounts) fn actor_now(
    t: &Txn<'_>,
    who: &SignedIn,
    permission: Permission,
) -> Result<(User, PermissionSet), AccountsError> {
    let actor = t
        .user(who.user.id)?
        .ok_or(AccountsError::Forbidden("your account no longer exists"))?;
    let permissions = t.permissions_of(&actor)?;
    if !permissions.contains(permission) {
        return Err(AccountsError::Forbidden(
            "this needs a permission you no longer hold",
        ));
    }
    Ok((actor, permissions))
}

/// The permission ceiling: refuses when `target` holds a permission the
/// administrator (holding `actor`) doesn't.
pub(in crate::accounts) fn may_manage(
    t: &Txn<'_>,
    actor: PermissionSet,
    target: &User,
) -> Result<(), AccountsError> {
    if actor.contains_all(t.permissions_of(target)?) {
        Ok(())
    } else {
        Err(AccountsError::Forbidden(OUTRANKED))
    }
}

/// The ceiling as a page that offers an action sees it (the action checks
/// again, in its transaction, with [`may_manage`]).
pub(in crate::accounts) fn may_manage_now(
    accounts: &Accounts,
    who: &SignedIn,
    target: &User,
) -> Result<(), AccountsError> {
    if who
        .permissions
        .contains_all(accounts.store.permissions_of(target)?)
    {
        Ok(())
    } else {
        Err(AccountsError::Forbidden(OUTRANKED))
    }
}

fn target(t: &Txn<'_>, id: UserId) -> Result<User, AccountsError> {
    t.user(id)?.ok_or(AccountsError::NotFound("user"))
}

/// The ids once each, in the order given.
fn dedup(ids: &[UserId]) -> Vec<UserId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}
