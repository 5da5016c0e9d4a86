//! Roles, and the permissions a user holds through them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, tables};
use crate::domain::{PermissionSet, Role, RoleId, User};

impl Record for Role {
    const TABLE: &'static str = "roles";
    const VERSION: u8 = 1;
}

impl Store {
    pub fn roles(&self) -> Result<Vec<Role>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::ROLES)?;
            table
                .iter()?
                .map(|entry| Role::from_bytes(entry?.1.value()))
                .collect()
        })
    }
}

pub(super) fn read_role(tx: &ReadTransaction, id: RoleId) -> Result<Option<Role>, StoreError> {
    Role::from_found(tx.open_table(tables::ROLES)?.get(id)?)
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
    let mut set = PermissionSet::default();
    for id in &user.roles {
        if let Some(role) = read_role(tx, *id)? {
            set = set.union(role.permission_set());
        }
    }
    Ok(set)
}

/// [`read_role`] inside a write transaction.
pub(super) fn read_role_for_update(
    tx: &WriteTransaction,
    id: RoleId,
) -> Result<Option<Role>, StoreError> {
    Role::from_found(tx.open_table(tables::ROLES)?.get(id)?)
}

/// [`permissions_of`] inside a write transaction: the permissions as they
/// stand at this moment, for rules checked where they can't go stale.
pub(super) fn permissions_of_for_update(
    tx: &WriteTransaction,
    user: &User,
) -> Result<PermissionSet, StoreError> {
    let mut set = PermissionSet::default();
    for id in &user.roles {
        if let Some(role) = read_role_for_update(tx, *id)? {
            set = set.union(role.permission_set());
        }
    }
    Ok(set)
}
