//! Permissions, the unit every route checks on the server.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "users.view")]
    UsersView,
    #[serde(rename = "users.edit")]
    UsersEdit,
    #[serde(rename = "users.invite")]
    UsersInvite,
    #[serde(rename = "users.delete")]
    UsersDelete,
    #[serde(rename = "users.assign_roles")]
    UsersAssignRoles,
    #[serde(rename = "users.disable_2fa")]
    UsersDisable2fa,
    #[serde(rename = "roles.manage")]
    RolesManage,
    #[serde(rename = "settings.manage")]
    SettingsManage,
    #[serde(rename = "audit.view")]
    AuditView,
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::UsersView,
        Permission::UsersEdit,
        Permission::UsersInvite,
        Permission::UsersDelete,
        Permission::UsersAssignRoles,
        Permission::UsersDisable2fa,
        Permission::RolesManage,
        Permission::SettingsManage,
        Permission::AuditView,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::UsersView => "users.view",
            Permission::UsersEdit => "users.edit",
            Permission::UsersInvite => "users.invite",
            Permission::UsersDelete => "users.delete",
            Permission::UsersAssignRoles => "users.assign_roles",
            Permission::UsersDisable2fa => "users.disable_2fa",
            Permission::RolesManage => "roles.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::AuditView => "audit.view",
        }
    }

    /// Its name in words, for the role form's switches.
    pub fn label(self) -> &'static str {
        match self {
            Permission::UsersView => "View users",
            Permission::UsersEdit => "Edit users",
            Permission::UsersInvite => "Invite users",
            Permission::UsersDelete => "Delete users",
            Permission::UsersAssignRoles => "Assign roles",
            Permission::UsersDisable2fa => "Turn off users' 2FA",
            Permission::RolesManage => "Manage roles",
            Permission::SettingsManage => "Manage settings",
            Permission::AuditView => "View the audit log",
        }
    }

    /// What holding the permission lets a person do, for the role form.
    pub fn description(self) -> &'static str {
        match self {
            Permission::UsersView => "See the Users list and each user's page.",
            Permission::UsersEdit => "Change users' names, email addresses and phone numbers.",
            Permission::UsersInvite => "Invite new users and resend invitations.",
            Permission::UsersDelete => "Delete users.",
            Permission::UsersAssignRoles => "Give roles to users and take them away.",
            Permission::UsersDisable2fa => "Turn off a user's two-factor authentication.",
            Permission::RolesManage => "Add, edit, clone and delete roles.",
            Permission::SettingsManage => "Change the account settings.",
            Permission::AuditView => "Read and export the audit log.",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The permissions a user holds through all their roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet(u16);

impl PermissionSet {
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Every permission of `other` is in this set too.
    pub fn contains_all(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |bits, p| bits | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_arithmetic() {
        let operator: PermissionSet = [Permission::UsersView, Permission::UsersEdit]
            .into_iter()
            .collect();
        assert!(operator.contains(Permission::UsersEdit));
        assert!(!operator.contains(Permission::AuditView));
        assert!(PermissionSet::all().contains(Permission::AuditView));
        assert!(PermissionSet::default().is_empty());
        assert!(PermissionSet::all().contains_all(operator));
        assert!(operator.contains_all(PermissionSet::default()));
        assert!(!operator.contains_all(PermissionSet::all()));
    }

    #[test]
    fn serialises_as_spec_names() {
        let json = serde_json::to_string(&Permission::UsersDisable2fa).unwrap();
        assert_eq!(json, "\"users.disable_2fa\"");
        for p in Permission::ALL {
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
    }
}
