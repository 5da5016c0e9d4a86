//! Roles, and the permissions a user holds through them.
//!
//! Role names are unique without regard to case. There are few roles, so
//! the check reads them all inside the write transaction rather than keeping
//! an index; deleting a role reads every user once to take it from its
//! holders, which is rare enough to need no index either.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, Txn, next_id, tables};
use crate::domain::{Permission, PermissionSet, Role, RoleId, RoleName, User, UserId};

impl Record for Role {
    const TABLE: &'static str = "roles";
    const VERSION: u8 = 1;
}

/// A role about to be created; the store assigns the id.
pub struct NewRole {
    pub name: RoleName,
    pub description: String,
    pub permissions: Vec<Permission>,
}

impl Store {
    /// What `user`'s roles grant now (for a page that offers an action; the
    /// action checks again inside its transaction).
    pub fn permissions_of(&self, user: &User) -> Result<PermissionSet, StoreError> {
        self.read(|tx| permissions_of(tx, user))
    }

    /// Every role, by id (Global Administrator first).
    pub fn roles(&self) -> Result<Vec<Role>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::ROLES)?;
            table
                .iter()?
                .map(|entry| Role::from_bytes(entry?.1.value()))
                .collect()
        })
    }

    pub fn role(&self, id: RoleId) -> Result<Option<Role>, StoreError> {
        self.read(|tx| read_role(tx, id))
    }
}

impl Txn<'_> {
    pub fn role(&self, id: RoleId) -> Result<Option<Role>, StoreError> {
        role_in(&self.tx.open_table(tables::ROLES)?, id)
    }

    /// Creates a role; refuses a name another role has (in any case).
    pub fn insert_role(&self, new: NewRole) -> Result<Role, StoreError> {
        ensure_name_free(self.tx, &new.name, None)?;
        let role = Role {
            id: next_id(self.tx, "next_role_id")?,
            name: new.name,
            description: new.description,
            permissions: new.permissions,
            locked: false,
        };
        put_role(self.tx, &role)?;
        Ok(role)
    }

    /// Changes a role in place (see [`Txn::modify_user`]); `change` may refuse
    /// with its own error. Refuses a new name another role has. Returns the
    /// role as stored.
    pub fn modify_role<E: From<StoreError>>(
        &self,
        id: RoleId,
        change: impl FnOnce(&mut Role) -> Result<(), E>,
    ) -> Result<Role, E> {
        let mut role = self.role(id)?.ok_or(StoreError::NotFound("role"))?;
        change(&mut role)?;
        ensure_name_free(self.tx, &role.name, Some(id))?;
        put_role(self.tx, &role)?;
        Ok(role)
    }

    /// Deletes a role and takes it from every user who holds it; returns the
    /// role as it was and those users as they are now.
    pub fn delete_role(&self, id: RoleId) -> Result<(Role, Vec<User>), StoreError> {
        let role = Role::from_found(self.tx.open_table(tables::ROLES)?.remove(id)?)?
            .ok_or(StoreError::NotFound("role"))?;
        let mut holders = Vec::new();
        for user in holders_of(self.tx, id)? {
            holders.push(self.modify_user::<StoreError>(user, |u| {
                u.roles.retain(|r| *r != id);
                Ok(())
            })?);
        }
        Ok((role, holders))
    }
}

/// Refuses `name` when a role other than `except` has it, in any case.
fn ensure_name_free(
    tx: &WriteTransaction,
    name: &RoleName,
    except: Option<RoleId>,
) -> Result<(), StoreError> {
    let key = name.key();
    for entry in tx.open_table(tables::ROLES)?.iter()? {
        let role = Role::from_bytes(entry?.1.value())?;
        if Some(role.id) != except && role.name.key() == key {
            return Err(StoreError::RoleNameTaken);
        }
    }
    Ok(())
}

/// The users holding role `id`: a read of every user (see the module note).
fn holders_of(tx: &WriteTransaction, id: RoleId) -> Result<Vec<UserId>, StoreError> {
    let mut holders = Vec::new();
    for entry in tx.open_table(tables::USERS)?.iter()? {
        let user = User::from_bytes(entry?.1.value())?;
        if user.roles.contains(&id) {
            holders.push(user.id);
        }
    }
    Ok(holders)
}

pub(super) fn read_role(tx: &ReadTransaction, id: RoleId) -> Result<Option<Role>, StoreError> {
    role_in(&tx.open_table(tables::ROLES)?, id)
}

/// A role from the roles table, read or write.
fn role_in(
    table: &impl ReadableTable<RoleId, &'static [u8]>,
    id: RoleId,
) -> Result<Option<Role>, StoreError> {
    Role::from_found(table.get(id)?)
}

pub(super) fn put_role(tx: &WriteTransaction, role: &Role) -> Result<(), StoreError> {
    tx.open_table(tables::ROLES)?
        .insert(role.id, role.to_bytes().as_slice())?;
    Ok(())
}

/// The union of the permissions of the user's roles (roles since deleted count for nothing).
pub(super) fn permissions_of(
    tx: &ReadTransaction,
    user: &User,
) -> Result<PermissionSet, StoreError> {
    permissions_in(&tx.open_table(tables::ROLES)?, user)
}

/// [`permissions_of`] over the roles table of a read or a write transaction
/// (inside a write, the permissions as they stand at this moment, for rules
/// checked where they can't go stale).
pub(super) fn permissions_in(
    table: &impl ReadableTable<RoleId, &'static [u8]>,
    user: &User,
) -> Result<PermissionSet, StoreError> {
    let mut set = PermissionSet::default();
    for id in &user.roles {
        if let Some(role) = role_in(table, *id)? {
            set = set.union(role.permission_set());
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountSettings;
    use crate::domain::role::{GLOBAL_ADMINISTRATOR, OPERATOR};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        (dir, store)
    }

    fn new_role(name: &str) -> NewRole {
        NewRole {
            name: RoleName::parse(name).unwrap(),
            description: String::new(),
            permissions: vec![Permission::AuditView],
        }
    }

    #[test]
    fn names_are_unique_without_regard_to_case() {
        let (_dir, store) = store();
        let made = store
            .transact::<_, StoreError>(|t| t.insert_role(new_role("Help desk")))
            .unwrap();
        assert!(made.id > OPERATOR);
        for taken in ["help DESK", "operator", "GLOBAL administrator"] {
            let again = store.transact(|t| t.insert_role(new_role(taken)));
            assert!(matches!(again, Err(StoreError::RoleNameTaken)), "{taken}");
        }
        // Renaming onto another role's name is refused; changing case of its own is not.
        let renamed = store.transact(|t| {
            t.modify_role::<StoreError>(made.id, |r| {
                r.name = RoleName::parse("OPERATOR").unwrap();
                Ok(())
            })
        });
        assert!(matches!(renamed, Err(StoreError::RoleNameTaken)));
        let recased = store
            .transact(|t| {
                t.modify_role::<StoreError>(made.id, |r| {
                    r.name = RoleName::parse("Help Desk").unwrap();
                    Ok(())
                })
            })
            .unwrap();
        assert_eq!(recased.name.as_str(), "Help Desk");
        assert_eq!(store.roles().unwrap().len(), 3);
    }

    #[test]
    fn deleting_a_role_takes_it_from_its_holders() {
        let (_dir, store) = store();
        let user = store
            .insert_user(super::super::NewUser {
                first_name: crate::domain::PersonName::parse("Emma").unwrap(),
                last_name: crate::domain::PersonName::parse("Wright").unwrap(),
                email: crate::domain::Email::parse("emma@example.com").unwrap(),
                phone: None,
                status: crate::domain::UserStatus::Active,
                password_hash: None,
                roles: vec![GLOBAL_ADMINISTRATOR, OPERATOR],
                created_at: 1,
            })
            .unwrap();
        let (role, holders) = store
            .transact::<_, StoreError>(|t| t.delete_role(OPERATOR))
            .unwrap();
        assert_eq!(role.name.as_str(), "Operator");
        assert_eq!(holders.len(), 1);
        assert_eq!(holders[0].roles, [GLOBAL_ADMINISTRATOR]);
        assert_eq!(
            store.user(user.id).unwrap().unwrap().roles,
            [GLOBAL_ADMINISTRATOR]
        );
        assert!(store.role(OPERATOR).unwrap().is_none());
        assert!(matches!(
            store.transact(|t| t.delete_role(OPERATOR)),
            Err(StoreError::NotFound("role"))
        ));
    }
}
