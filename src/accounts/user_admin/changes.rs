//! The changes an administrator makes to users, each one write transaction
//! that re-checks its rules against the data as it stands (see the parent
//! module) and records its audit events.

use super::{UserAdmin, dedup};
use crate::accounts::profile::ProfileForm;
use crate::accounts::settings::require;
use crate::accounts::{AccountsError, FieldErrors, SignedIn};
use crate::domain::role::GLOBAL_ADMINISTRATOR;
use crate::domain::{
    AuditAction, NewEvent, Permission, PermissionSet, PersonName, Phone, RoleId, User, UserId,
};
use crate::store::Txn;

pub const SELF_DELETION: &str = "You can't delete your own account. Another administrator can, or you can ask for it on your Profile.";
pub const LAST_ADMINISTRATOR_DELETION: &str = "At least one active user must hold Global Administrator, and this deletion would leave none. Give the role to another active user first.";
pub const LAST_ADMINISTRATOR_ROLE: &str = "This is the last active Global Administrator. Give the role to another active user before removing it here.";
pub const OUTRANKED: &str = "you can only manage users whose permissions you hold yourself";
pub const ROLE_OUTRANKS: &str =
    "you can only assign or remove roles whose permissions you hold yourself";

/// Why deleting `targets` must be refused, if it must: `administrators`
/// are the Active Global Administrators before the deletion.
pub(super) fn deletion_refusal(
    actor: UserId,
    targets: &[User],
    administrators: &[User],
) -> Option<&'static str> {
    if targets.iter().any(|u| u.id == actor) {
        return Some(SELF_DELETION);
    }
    let left = administrators
        .iter()
        .filter(|a| !targets.iter().any(|t| t.id == a.id))
        .count();
    (left == 0).then_some(LAST_ADMINISTRATOR_DELETION)
}

/// The administrator as stored now: still there, still holding
/// `permission`. Returns their permissions at this moment.
fn actor_now(
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

/// Refuses when `target` holds a permission the administrator doesn't.
fn may_manage(t: &Txn<'_>, actor: PermissionSet, target: &User) -> Result<(), AccountsError> {
    if actor.contains_all(t.permissions_of(target)?) {
        Ok(())
    } else {
        Err(AccountsError::Forbidden(OUTRANKED))
    }
}

/// An administrator asks to change `user`'s address to `new_email`.
///
/// FOR THE MAIL MERGE: this is where the email-change confirmation flow
/// goes: call the mail branch's `request_email_change` here, in the same
/// transaction as the rest of the edit (it queues the link to the new
/// address and the notice to the old), recording `EmailChangeRequested` by
/// `actor`. Until then the change is refused beside the field.
fn request_email_change(
    _t: &Txn<'_>,
    _actor: &User,
    _user: &User,
    _new_email: &str,
) -> Result<(), AccountsError> {
    let mut errors = FieldErrors::default();
    errors.add(
        "email",
        "Changing the email address needs a confirmation mail, which is not available yet.",
    );
    Err(AccountsError::Invalid(errors))
}

fn target(t: &Txn<'_>, id: UserId) -> Result<User, AccountsError> {
    t.user(id)?.ok_or(AccountsError::NotFound("user"))
}

impl UserAdmin<'_> {
    /// Runs `change` in one write transaction on the blocking pool, as the
    /// administrator stands at that moment: still there and still holding
    /// `permission` (else refused), with every permission they hold.
    async fn acting<T: Send + 'static>(
        &self,
        permission: Permission,
        change: impl FnOnce(&Txn<'_>, User, PermissionSet) -> Result<T, AccountsError> + Send + 'static,
    ) -> Result<T, AccountsError> {
        let who = self.who.clone();
        self.accounts
            .store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let (actor, permissions) = actor_now(t, &who, permission)?;
                    change(t, actor, permissions)
                })
            })
            .await
    }

    /// Changes a user's first and last name and phone (`users.edit`).
    /// Invalid input changes nothing and comes back as field errors.
    pub async fn update_details(
        &self,
        id: UserId,
        form: &ProfileForm,
    ) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersEdit)?;
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
        let phone = errors.check("phone", Phone::parse_optional(&form.phone));
        let (Some(first_name), Some(last_name), Some(phone), true) =
            (first_name, last_name, phone, errors.is_empty())
        else {
            return Err(AccountsError::Invalid(errors));
        };
        let email = form.email.clone();
        let client = self.who.client;
        let user = self
            .acting(Permission::UsersEdit, move |t, actor, permissions| {
                let before = target(t, id)?;
                may_manage(t, permissions, &before)?;
                if let Some(email) = &email
                    && crate::domain::email::normalize(email) != before.email.key()
                {
                    request_email_change(t, &actor, &before, email)?;
                }
                let mut changed = Vec::new();
                if before.first_name != first_name {
                    changed.push("first name");
                }
                if before.last_name != last_name {
                    changed.push("last name");
                }
                if before.phone != phone {
                    changed.push("phone");
                }
                if changed.is_empty() {
                    return Ok(before);
                }
                let user = t.modify_user::<AccountsError>(id, |user| {
                    user.first_name = first_name;
                    user.last_name = last_name;
                    user.phone = phone;
                    Ok(())
                })?;
                t.record(
                    NewEvent::new(AuditAction::UserUpdated)
                        .by(&actor, Some(client))
                        .on(&user)
                        .detail(changed.join(", ")),
                )?;
                Ok(user)
            })
            .await?;
        tracing::info!(by = self.who.user.id, user = id, "user details updated");
        Ok(user)
    }

    /// Deletes users (`users.delete`): all of them or, if any rule
    /// refuses, none. Ends their sessions and voids their links.
    pub async fn delete(&self, ids: &[UserId]) -> Result<Vec<User>, AccountsError> {
        require(self.who, Permission::UsersDelete)?;
        let ids = dedup(ids);
        if ids.is_empty() {
            return Err(AccountsError::Conflict(
                "Select at least one user to delete.",
            ));
        }
        let client = self.who.client;
        let deleted = self
            .acting(Permission::UsersDelete, move |t, actor, permissions| {
                let mut targets = Vec::with_capacity(ids.len());
                for id in &ids {
                    let user = target(t, *id)?;
                    may_manage(t, permissions, &user)?;
                    targets.push(user);
                }
                let administrators = t.active_global_administrators()?;
                if let Some(why) = deletion_refusal(actor.id, &targets, &administrators) {
                    return Err(AccountsError::Conflict(why));
                }
                for user in &targets {
                    t.delete_user(user.id)?;
                    t.record(
                        NewEvent::new(AuditAction::UserDeleted)
                            .by(&actor, Some(client))
                            .on(user),
                    )?;
                }
                Ok(targets)
            })
            .await?;
        for user in &deleted {
            tracing::info!(by = self.who.user.id, user = user.id, "user deleted");
        }
        Ok(deleted)
    }

    /// Gives a user a role (`users.assign_roles`); nothing happens if they
    /// have it already.
    pub async fn assign_role(&self, id: UserId, role: RoleId) -> Result<User, AccountsError> {
        self.change_role(id, role, true).await
    }

    /// Takes a role from a user (`users.assign_roles`), never Global
    /// Administrator from its last Active holder.
    pub async fn unassign_role(&self, id: UserId, role: RoleId) -> Result<User, AccountsError> {
        self.change_role(id, role, false).await
    }

    async fn change_role(
        &self,
        id: UserId,
        role_id: RoleId,
        give: bool,
    ) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersAssignRoles)?;
        let client = self.who.client;
        let user = self
            .acting(
                Permission::UsersAssignRoles,
                move |t, actor, permissions| {
                    let role = t.role(role_id)?.ok_or(AccountsError::NotFound("role"))?;
                    if !permissions.contains_all(role.permission_set()) {
                        return Err(AccountsError::Forbidden(ROLE_OUTRANKS));
                    }
                    let before = target(t, id)?;
                    may_manage(t, permissions, &before)?;
                    if before.roles.contains(&role_id) == give {
                        return Ok(before);
                    }
                    let user = t.modify_user::<AccountsError>(id, |user| {
                        if give {
                            user.roles.push(role_id);
                        } else {
                            user.roles.retain(|r| *r != role_id);
                        }
                        Ok(())
                    })?;
                    if role_id == GLOBAL_ADMINISTRATOR
                        && !give
                        && t.active_global_administrators()?.is_empty()
                    {
                        return Err(AccountsError::Conflict(LAST_ADMINISTRATOR_ROLE));
                    }
                    let action = if give {
                        AuditAction::RoleAssigned
                    } else {
                        AuditAction::RoleUnassigned
                    };
                    t.record(
                        NewEvent::new(action)
                            .by(&actor, Some(client))
                            .on(&user)
                            .detail(role.name.clone()),
                    )?;
                    Ok(user)
                },
            )
            .await?;
        tracing::info!(
            by = self.who.user.id,
            user = id,
            role = role_id,
            assigned = give,
            "role assignment changed"
        );
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, SignInMethod, UserStatus};

    fn user(id: UserId, admin: bool) -> User {
        User {
            id,
            first_name: PersonName::parse("Ada").unwrap(),
            last_name: PersonName::parse("Byron").unwrap(),
            email: Email::parse(&format!("u{id}@example.com")).unwrap(),
            phone: None,
            status: UserStatus::Active,
            sign_in_method: SignInMethod::Local,
            password_hash: None,
            roles: if admin {
                vec![GLOBAL_ADMINISTRATOR]
            } else {
                Vec::new()
            },
            created_at: 0,
            last_sign_in_at: None,
            deletion_requested_at: None,
        }
    }

    #[test]
    fn deletion_rules() {
        let (a, b, c) = (user(1, true), user(2, true), user(3, false));
        let admins = [a.clone(), b.clone()];
        assert_eq!(
            deletion_refusal(1, std::slice::from_ref(&a), &admins),
            Some(SELF_DELETION)
        );
        assert_eq!(deletion_refusal(1, std::slice::from_ref(&b), &admins), None);
        assert_eq!(
            deletion_refusal(3, &[a.clone(), b.clone()], &admins),
            Some(LAST_ADMINISTRATOR_DELETION)
        );
        assert_eq!(deletion_refusal(1, std::slice::from_ref(&c), &admins), None);
    }
}
