//! Users and their account state.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::{Email, PersonName, Phone, RoleId};

pub type UserId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    /// Invitation sent, not yet accepted.
    Invited,
    Active,
}

/// How a user signs in. Only `Local` exists now; an OpenID Connect method
/// arrives later, which is why it is a field rather than an assumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    Local,
}

impl SignInMethod {
    /// Every method, in the order a form offers them.
    pub const ALL: [SignInMethod; 1] = [SignInMethod::Local];

    pub fn label(self) -> &'static str {
        match self {
            SignInMethod::Local => "Local",
        }
    }

    /// The name a form sends.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Local => "local",
        }
    }

    /// What a form sent.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text.trim())
            .ok_or("Choose a sign-in method from the list.")
    }
}

/// Not `Debug`-derived: the password hash must never reach a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
    pub status: UserStatus,
    pub sign_in_method: SignInMethod,
    /// argon2id PHC string; `None` until the user sets a password.
    pub password_hash: Option<String>,
    pub roles: Vec<RoleId>,
    pub created_at: Timestamp,
    pub last_sign_in_at: Option<Timestamp>,
    /// When the user last asked the administrators to delete the account;
    /// the Users page shows a badge while it is set.
    #[serde(default)]
    pub deletion_requested_at: Option<Timestamp>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("status", &self.status)
            .field("sign_in_method", &self.sign_in_method)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl User {
    /// "First Last"; for an invited user who hasn't given a name yet, the
    /// email address, which is all that is known of them.
    pub fn full_name(&self) -> String {
        if self.has_name() {
            format!("{} {}", self.first_name, self.last_name)
        } else {
            self.email.to_string()
        }
    }

    /// False for an invited user until they accept and give their name.
    pub fn has_name(&self) -> bool {
        self.first_name.is_given() && self.last_name.is_given()
    }

    /// The two letters in the profile circle (one, from the email, before
    /// a name is given).
    pub fn initials(&self) -> String {
        if self.has_name() {
            format!("{}{}", self.first_name.initial(), self.last_name.initial())
        } else {
            self.email
                .as_str()
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .collect()
        }
    }

    pub fn is_global_administrator(&self) -> bool {
        self.roles.contains(&super::role::GLOBAL_ADMINISTRATOR)
    }

    pub fn is_local(&self) -> bool {
        self.sign_in_method == SignInMethod::Local
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password_hash() {
        let user = User {
            id: 1,
            first_name: PersonName::parse("Emma").unwrap(),
            last_name: PersonName::parse("Wright").unwrap(),
            email: Email::parse("emma@example.com").unwrap(),
            phone: None,
            status: UserStatus::Active,
            sign_in_method: SignInMethod::Local,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            roles: Vec::new(),
            created_at: 0,
            last_sign_in_at: None,
            deletion_requested_at: None,
        };
        let printed = format!("{user:?}");
        assert!(printed.contains("emma@example.com"));
        assert!(!printed.contains("argon2id"), "{printed}");
    }
}
