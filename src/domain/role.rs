//! Roles: named sets of permissions.

use serde::{Deserialize, Serialize};

use super::{Permission, PermissionSet};

pub type RoleId = u64;

/// Fixed id of Global Administrator, created with the store and never edited.
pub const GLOBAL_ADMINISTRATOR: RoleId = 1;
/// Id Operator gets at first start; it may later be edited or deleted.
pub const OPERATOR: RoleId = 2;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Global Administrator: holds every permission, cannot be edited, cloned or deleted.
    pub locked: bool,
}

impl Role {
    pub fn global_administrator() -> Self {
        Self {
            id: GLOBAL_ADMINISTRATOR,
            name: "Global Administrator".into(),
            description: "Holds every permission. At least one active user always has it.".into(),
            permissions: Permission::ALL.to_vec(),
            locked: true,
        }
    }

    pub fn operator() -> Self {
        Self {
            id: OPERATOR,
            name: "Operator".into(),
            description: "Views, edits and invites users.".into(),
            permissions: vec![
                Permission::UsersView,
                Permission::UsersEdit,
                Permission::UsersInvite,
            ],
            locked: false,
        }
    }

    pub fn permission_set(&self) -> PermissionSet {
        if self.locked {
            PermissionSet::all()
        } else {
            self.permissions.iter().copied().collect()
        }
    }
}
