//! Roles: named sets of permissions.

use serde::{Deserialize, Serialize};

use super::{Permission, PermissionSet};

pub type RoleId = u64;

/// Fixed id of Global Administrator, created with the store and never edited.
pub const GLOBAL_ADMINISTRATOR: RoleId = 1;
/// Id Operator gets at first start; it may later be edited or deleted.
pub const OPERATOR: RoleId = 2;

/// The longest role name: the same bound as a person's name.
pub const NAME_MAX_LEN: usize = 64;
/// The longest description: a sentence or two for the Roles table.
pub const DESCRIPTION_MAX_LEN: usize = 200;

/// A role's name: 1–64 characters, trimmed, no control or invisible
/// characters (a name differing from another only by a zero-width space
/// would pass for it in a list). Unique without regard to case: see [`RoleName::key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Enter a name for the role.");
        }
        if value.chars().count() > NAME_MAX_LEN {
            return Err("Role names can be at most 64 characters long.");
        }
        if super::text::has_hidden(value) {
            return Err("Role names can't contain invisible characters.");
        }
        Ok(Self(value.to_owned()))
    }

    /// The form under which names are unique: lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

super::newtype::validated_string!(RoleName);

/// Checks a role's description: optional, at most 200 characters, on one
/// line, nothing invisible. Returns it trimmed.
pub fn parse_description(input: &str) -> Result<String, &'static str> {
    let value = input.trim();
    if value.chars().count() > DESCRIPTION_MAX_LEN {
        return Err("Descriptions can be at most 200 characters long.");
    }
    if super::text::has_hidden(value) {
        return Err("Descriptions must be one line, without invisible characters.");
    }
    Ok(value.to_owned())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: RoleName,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Global Administrator: holds every permission, cannot be edited, cloned or deleted.
    pub locked: bool,
}

impl Role {
    pub fn global_administrator() -> Self {
        Self {
            id: GLOBAL_ADMINISTRATOR,
            name: RoleName("Global Administrator".into()),
            description: "Holds every permission. At least one active user always has it.".into(),
            permissions: Permission::ALL.to_vec(),
            locked: true,
        }
    }

    pub fn operator() -> Self {
        Self {
            id: OPERATOR,
            name: RoleName("Operator".into()),
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

    /// Whether the role holds `permission` (Global Administrator holds all).
    pub fn grants(&self, permission: Permission) -> bool {
        self.permission_set().contains(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_visible() {
        assert_eq!(
            RoleName::parse("  Help desk ").unwrap().as_str(),
            "Help desk"
        );
        assert!(RoleName::parse("").is_err());
        assert!(RoleName::parse("   ").is_err());
        assert!(RoleName::parse(&"é".repeat(64)).is_ok());
        assert!(RoleName::parse(&"é".repeat(65)).is_err());
        for hidden in [
            "Help\u{200b}desk",
            "Admin\u{202e}",
            "a\u{7}b",
            "a\nb",
            "\u{feff}Ops",
        ] {
            assert!(RoleName::parse(hidden).is_err(), "{hidden:?}");
        }
        assert_eq!(RoleName::parse("Help Desk").unwrap().key(), "help desk");
    }

    #[test]
    fn descriptions_are_optional_bounded_and_one_line() {
        assert_eq!(parse_description("  ").unwrap(), "");
        assert!(parse_description(&"x".repeat(200)).is_ok());
        assert!(parse_description(&"x".repeat(201)).is_err());
        assert!(parse_description("two\nlines").is_err());
        assert!(parse_description("zero\u{200b}width").is_err());
    }

    #[test]
    fn the_built_in_names_are_valid() {
        for role in [Role::global_administrator(), Role::operator()] {
            assert_eq!(RoleName::parse(role.name.as_str()).unwrap(), role.name);
        }
    }
}
