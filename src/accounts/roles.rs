//! Roles administration (`roles.manage`): list, add, edit, clone, delete.
//!
//! Global Administrator is listed but refused here for every change, whatever
//! the page offered. Deleting a role that users hold takes it from them in
//! the same transaction (each loses its permissions at their next request)
//! and records a *Role removed* event on each, so their history stays true.

use super::settings::require;
use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::role::parse_description;
use crate::domain::{AuditAction, NewEvent, Permission, Role, RoleId, RoleName};
use crate::store::{NewRole, Store, StoreError};

/// Why Global Administrator refuses every change.
const LOCKED: &str = "Global Administrator can't be edited, cloned or deleted";

/// The roles use cases, over the shared store.
pub struct Roles<'a> {
    store: &'a Store,
}

impl Accounts {
    pub fn roles(&self) -> Roles<'_> {
        Roles { store: &self.store }
    }
}

/// The role form as submitted: the ticked permission switches arrive as
/// repeated `permission` fields, which is why it is read from pairs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoleForm {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
}

impl RoleForm {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name.clone_from(value),
                "description" => form.description.clone_from(value),
                "permission" => form.permissions.push(value.clone()),
                _ => {}
            }
        }
        form
    }

    pub fn from_role(role: &Role) -> Self {
        Self {
            name: role.name.to_string(),
            description: role.description.clone(),
            permissions: role
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    /// Whether the switch for `permission` is on.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.iter().any(|p| p == permission.as_str())
    }

    fn validate(&self) -> Result<NewRole, AccountsError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", RoleName::parse(&self.name));
        let description = errors.check("description", parse_description(&self.description));
        let mut permissions = Vec::new();
        for name in &self.permissions {
            match Permission::parse(name) {
                Some(p) if !permissions.contains(&p) => permissions.push(p),
                Some(_) => {}
                None => errors.add("permissions", "Choose permissions from the list."),
            }
        }
        // Stored in the order the form lists them, whatever order they came in.
        permissions.sort();
        match (name, description) {
            (Some(name), Some(description)) if errors.is_empty() => Ok(NewRole {
                name,
                description,
                permissions,
            }),
            _ => Err(AccountsError::Invalid(errors)),
        }
    }
}

impl Roles<'_> {
    /// Every role whose name or description contains `search` (any case),
    /// Global Administrator first. There are few roles: filtered in memory.
    pub fn list(&self, who: &SignedIn, search: &str) -> Result<Vec<Role>, AccountsError> {
        require(who, Permission::RolesManage)?;
        let needle = search.trim().to_lowercase();
        let mut roles = self.store.roles()?;
        roles.retain(|r| {
            r.name.key().contains(&needle) || r.description.to_lowercase().contains(&needle)
        });
        Ok(roles)
    }

    pub fn get(&self, who: &SignedIn, id: RoleId) -> Result<Role, AccountsError> {
        require(who, Permission::RolesManage)?;
        self.store.role(id)?.ok_or(AccountsError::NotFound("role"))
    }

    /// A role that may be changed: what the edit, clone and delete pages show.
    pub fn changeable(&self, who: &SignedIn, id: RoleId) -> Result<Role, AccountsError> {
        let role = self.get(who, id)?;
        refuse_locked(&role)?;
        Ok(role)
    }

    pub async fn create(&self, who: &SignedIn, form: &RoleForm) -> Result<Role, AccountsError> {
        require(who, Permission::RolesManage)?;
        let new = form.validate()?;
        let actor = who.clone();
        self.store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let role = t.insert_role(new)?;
                    t.record(
                        NewEvent::new(AuditAction::RoleCreated)
                            .by(&actor.user, Some(actor.client))
                            .detail(role.name.to_string()),
                    )?;
                    Ok(role)
                })
            })
            .await
            .map_err(name_taken_as_field_error)
    }

    /// Saves name, description and permissions. A save that changes nothing
    /// records nothing.
    pub async fn update(
        &self,
        who: &SignedIn,
        id: RoleId,
        form: &RoleForm,
    ) -> Result<Role, AccountsError> {
        require(who, Permission::RolesManage)?;
        let new = form.validate()?;
        let actor = who.clone();
        self.store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let mut before = None;
                    let role = t.modify_role(id, |role| {
                        refuse_locked(role)?;
                        before = Some(role.clone());
                        role.name = new.name;
                        role.description = new.description;
                        role.permissions = new.permissions;
                        Ok::<_, AccountsError>(())
                    })?;
                    if let Some(detail) = before.and_then(|b| changes(&b, &role)) {
                        t.record(
                            NewEvent::new(AuditAction::RoleUpdated)
                                .by(&actor.user, Some(actor.client))
                                .detail(detail),
                        )?;
                    }
                    Ok(role)
                })
            })
            .await
            .map_err(name_taken_as_field_error)
    }

    /// A new role named `name` with the description and permissions of role `id`.
    pub async fn clone_role(
        &self,
        who: &SignedIn,
        id: RoleId,
        name: &str,
    ) -> Result<Role, AccountsError> {
        require(who, Permission::RolesManage)?;
        let mut errors = FieldErrors::default();
        let name = errors.check("name", RoleName::parse(name));
        let Some(name) = name else {
            return Err(AccountsError::Invalid(errors));
        };
        let actor = who.clone();
        self.store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let original = t.role(id)?.ok_or(AccountsError::NotFound("role"))?;
                    refuse_locked(&original)?;
                    let role = t.insert_role(NewRole {
                        name,
                        description: original.description.clone(),
                        permissions: original.permissions.clone(),
                    })?;
                    t.record(
                        NewEvent::new(AuditAction::RoleCreated)
                            .by(&actor.user, Some(actor.client))
                            .detail(format!("{} (cloned from {})", role.name, original.name)),
                    )?;
                    Ok(role)
                })
            })
            .await
            .map_err(name_taken_as_field_error)
    }

    /// Deletes role `id` and takes it from its holders; returns the role as it
    /// was and how many users held it.
    pub async fn delete(&self, who: &SignedIn, id: RoleId) -> Result<(Role, usize), AccountsError> {
        require(who, Permission::RolesManage)?;
        let actor = who.clone();
        self.store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let role = t.role(id)?.ok_or(AccountsError::NotFound("role"))?;
                    refuse_locked(&role)?;
                    let (role, holders) = t.delete_role(id)?;
                    for holder in &holders {
                        t.record(
                            NewEvent::new(AuditAction::RoleUnassigned)
                                .by(&actor.user, Some(actor.client))
                                .on(holder)
                                .detail(format!("{} (role deleted)", role.name)),
                        )?;
                    }
                    let detail = match holders.len() {
                        0 => role.name.to_string(),
                        1 => format!("{} (taken from 1 user)", role.name),
                        n => format!("{} (taken from {n} users)", role.name),
                    };
                    t.record(
                        NewEvent::new(AuditAction::RoleDeleted)
                            .by(&actor.user, Some(actor.client))
                            .detail(detail),
                    )?;
                    Ok((role, holders.len()))
                })
            })
            .await
    }
}

fn refuse_locked(role: &Role) -> Result<(), AccountsError> {
    if role.locked {
        Err(AccountsError::Forbidden(LOCKED))
    } else {
        Ok(())
    }
}

/// What a save changed, for the audit event; `None` when nothing did.
fn changes(before: &Role, after: &Role) -> Option<String> {
    let mut parts = Vec::new();
    if before.name != after.name {
        parts.push(format!("renamed from {}", before.name));
    }
    if before.description != after.description {
        parts.push("description changed".to_owned());
    }
    let listed = |from: &Role, to: &Role| -> Vec<&'static str> {
        to.permissions
            .iter()
            .filter(|p| !from.permissions.contains(p))
            .map(|p| p.as_str())
            .collect()
    };
    let added = listed(before, after);
    let removed = listed(after, before);
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    (!parts.is_empty()).then(|| format!("{}: {}", after.name, parts.join("; ")))
}

/// Maps a taken name to a message beside the name field.
fn name_taken_as_field_error(e: AccountsError) -> AccountsError {
    match e {
        AccountsError::Store(StoreError::RoleNameTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("name", "Another role already has this name.");
            AccountsError::Invalid(errors)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_reads_repeated_permissions_and_validates() {
        let form = RoleForm::from_pairs(&pairs(&[
            ("csrf", "x"),
            ("name", " Help desk "),
            ("description", "First line"),
            ("permission", "users.view"),
            ("permission", "audit.view"),
            ("permission", "users.view"),
        ]));
        let valid = form.validate().unwrap();
        assert_eq!(valid.name.as_str(), "Help desk");
        assert_eq!(
            valid.permissions,
            [Permission::UsersView, Permission::AuditView]
        );
        let bad = RoleForm::from_pairs(&pairs(&[
            ("name", ""),
            ("description", "a\u{202e}b"),
            ("permission", "root"),
        ]));
        let Err(AccountsError::Invalid(errors)) = bad.validate() else {
            panic!("invalid");
        };
        assert!(errors.get("name").is_some());
        assert!(errors.get("description").is_some());
        assert!(errors.get("permissions").is_some());
    }

    #[test]
    fn changes_name_what_a_save_changed() {
        let before = Role::operator();
        assert_eq!(changes(&before, &before), None);
        let mut after = before.clone();
        after.name = RoleName::parse("Support").unwrap();
        after.permissions = vec![Permission::UsersView, Permission::AuditView];
        assert_eq!(
            changes(&before, &after).unwrap(),
            "Support: renamed from Operator; added audit.view; removed users.edit, users.invite"
        );
    }
}
