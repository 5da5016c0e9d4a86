//! The changes an administrator makes to users, each one write transaction
//! that re-checks its rules against the data as it stands (see the parent
//! module) and records its audit events.

use super::{UserAdmin, actor_now, dedup, may_manage, target};
use crate::accounts::email_change::EmailChangeRequest;
use crate::accounts::profile::ProfileForm;
use crate::accounts::settings::require;
use crate::accounts::users::email_taken_as_field_error;
use crate::accounts::{AccountsError, FieldErrors};
use crate::domain::role::GLOBAL_ADMINISTRATOR;
use crate::domain::{
    AuditAction, Email, NewEvent, Permission, PermissionSet, PersonName, Phone, RoleId, User,
    UserId,
};
use crate::store::Txn;

pub const SELF_DELETION: &str = "You can't delete your own account. Another administrator can, or you can ask for it on your Profile.";
pub const LAST_ADMINISTRATOR_DELETION: &str = "At least one active user must hold Global Administrator, and this deletion would leave none. Give the role to another active user first.";
pub const LAST_ADMINISTRATOR_ROLE: &str = "This is the last active Global Administrator. Give the role to another active user before removing it here.";
pub const ROLE_OUTRANKS: &str =
    "you can only assign or remove roles whose permissions you hold yourself";
pub const INVITED_NOT_EDITABLE: &str = "An invited user gives their own name and phone when they accept. To use another address, delete this invitation and invite that address instead.";

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

/// What an administrator's save of a user's details did.
#[derive(Debug)]
pub struct DetailsSaved {
    pub user: User,
    /// The new address a confirmation link went to; the address itself
    /// changes when the link is opened.
    pub confirmation_sent_to: Option<Email>,
}

impl UserAdmin<'_> {
    /// Runs `change` in one write transaction on the blocking pool, as the
    /// administrator stands at that moment: still there and still holding
    /// `permission` (else refused), with every permission they hold.
    pub(super) async fn acting<T: Send + 'static>(
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

    /// Changes a user's first and last name and phone (`users.edit`), and
    /// asks for a new email address by confirmation link (the address
    /// changes when the link is opened; see `email_change`), all in one
    /// transaction. A new address is a sensitive change: it needs the
    /// administrator's recent re-authentication (`ReauthenticationRequired`
    /// first, with nothing saved). Invalid input changes nothing and comes
    /// back as field errors. Invited users are refused: they give their
    /// own details when they accept.
    pub async fn update_details(
        &self,
        id: UserId,
        form: &ProfileForm,
    ) -> Result<DetailsSaved, AccountsError> {
        require(self.who, Permission::UsersEdit)?;
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
        let email = match &form.email {
            Some(typed) => errors.check("email", Email::parse(typed)).map(Some),
            None => Some(None),
        };
        let phone = errors.check("phone", Phone::parse_optional(&form.phone));
        let (Some(first_name), Some(last_name), Some(email), Some(phone), true) =
            (first_name, last_name, email, phone, errors.is_empty())
        else {
            return Err(AccountsError::Invalid(errors));
        };
        let current = self.user_to_edit(id)?;
        let new_email = email.filter(|e| e.key() != current.email.key());
        if new_email.is_some() {
            self.accounts.reauthentication().require_recent(self.who)?;
        }
        let client = self.who.client;
        let (mailer, lifetime) = (
            self.accounts.mailer.clone(),
            self.accounts.config.email_change_link_lifetime,
        );
        let saved = self
            .acting(Permission::UsersEdit, move |t, actor, permissions| {
                let before = target(t, id)?;
                may_manage(t, permissions, &before)?;
                if !before.is_active() {
                    return Err(AccountsError::Conflict(INVITED_NOT_EDITABLE));
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
                let user = if changed.is_empty() {
                    before
                } else {
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
                    user
                };
                if let Some(new_email) = &new_email {
                    let request = EmailChangeRequest {
                        by: &actor,
                        client,
                        lifetime,
                    };
                    request
                        .queue(t, &mailer, &user, new_email)
                        .map_err(email_taken_as_field_error)?;
                }
                Ok(DetailsSaved {
                    user,
                    confirmation_sent_to: new_email,
                })
            })
            .await?;
        tracing::info!(
            by = self.who.user.id,
            user = id,
            email_change = saved.confirmation_sent_to.is_some(),
            "user details updated"
        );
        Ok(saved)
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
