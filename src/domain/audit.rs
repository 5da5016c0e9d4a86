//! Audit events: who did what, to whom, when, from where (SPEC §3, Audit log).
//!
//! An event is written in the same store transaction as the change it
//! records, so the log never claims a change that was rolled back nor misses
//! one that happened. Actor and subject are kept by id *and* by the email they
//! had at the time, so the log still reads after a user is deleted or renamed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::{User, UserId};

/// Every kind of event. The serialised names are stable: they are stored,
/// filtered on and exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "sign_in.succeeded")]
    SignInSucceeded,
    #[serde(rename = "sign_in.failed")]
    SignInFailed,
    #[serde(rename = "sign_out")]
    SignedOut,
    #[serde(rename = "session.ended")]
    SessionEnded,
    #[serde(rename = "two_factor.enabled")]
    TwoFactorEnabled,
    #[serde(rename = "two_factor.disabled")]
    TwoFactorDisabled,
    #[serde(rename = "two_factor.recovery_codes_renewed")]
    RecoveryCodesRenewed,
    #[serde(rename = "password.reset_requested")]
    PasswordResetRequested,
    #[serde(rename = "password.changed")]
    PasswordChanged,
    #[serde(rename = "profile.updated")]
    ProfileUpdated,
    #[serde(rename = "email.change_requested")]
    EmailChangeRequested,
    #[serde(rename = "email.changed")]
    EmailChanged,
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.invited")]
    UserInvited,
    #[serde(rename = "user.invitation_resent")]
    InvitationResent,
    #[serde(rename = "user.invitation_accepted")]
    InvitationAccepted,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deletion_requested")]
    DeletionRequested,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "role.created")]
    RoleCreated,
    #[serde(rename = "role.updated")]
    RoleUpdated,
    #[serde(rename = "role.deleted")]
    RoleDeleted,
    #[serde(rename = "role.assigned")]
    RoleAssigned,
    #[serde(rename = "role.unassigned")]
    RoleUnassigned,
    #[serde(rename = "settings.changed")]
    SettingsChanged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 25] = [
        AuditAction::SignInSucceeded,
        AuditAction::SignInFailed,
        AuditAction::SignedOut,
        AuditAction::SessionEnded,
        AuditAction::TwoFactorEnabled,
        AuditAction::TwoFactorDisabled,
        AuditAction::RecoveryCodesRenewed,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordChanged,
        AuditAction::ProfileUpdated,
        AuditAction::EmailChangeRequested,
        AuditAction::EmailChanged,
        AuditAction::UserCreated,
        AuditAction::UserInvited,
        AuditAction::InvitationResent,
        AuditAction::InvitationAccepted,
        AuditAction::UserUpdated,
        AuditAction::DeletionRequested,
        AuditAction::UserDeleted,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::RoleAssigned,
        AuditAction::RoleUnassigned,
        AuditAction::SettingsChanged,
    ];

    /// The stored name, e.g. `sign_in.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignInSucceeded => "sign_in.succeeded",
            AuditAction::SignInFailed => "sign_in.failed",
            AuditAction::SignedOut => "sign_out",
            AuditAction::SessionEnded => "session.ended",
            AuditAction::TwoFactorEnabled => "two_factor.enabled",
            AuditAction::TwoFactorDisabled => "two_factor.disabled",
            AuditAction::RecoveryCodesRenewed => "two_factor.recovery_codes_renewed",
            AuditAction::PasswordResetRequested => "password.reset_requested",
            AuditAction::PasswordChanged => "password.changed",
            AuditAction::ProfileUpdated => "profile.updated",
            AuditAction::EmailChangeRequested => "email.change_requested",
            AuditAction::EmailChanged => "email.changed",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserInvited => "user.invited",
            AuditAction::InvitationResent => "user.invitation_resent",
            AuditAction::InvitationAccepted => "user.invitation_accepted",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::DeletionRequested => "user.deletion_requested",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::RoleCreated => "role.created",
            AuditAction::RoleUpdated => "role.updated",
            AuditAction::RoleDeleted => "role.deleted",
            AuditAction::RoleAssigned => "role.assigned",
            AuditAction::RoleUnassigned => "role.unassigned",
            AuditAction::SettingsChanged => "settings.changed",
        }
    }

    /// In words, for the Audit log page.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::SignInSucceeded => "Signed in",
            AuditAction::SignInFailed => "Sign-in failed",
            AuditAction::SignedOut => "Signed out",
            AuditAction::SessionEnded => "Session ended",
            AuditAction::TwoFactorEnabled => "2FA turned on",
            AuditAction::TwoFactorDisabled => "2FA turned off",
            AuditAction::RecoveryCodesRenewed => "Recovery codes renewed",
            AuditAction::PasswordResetRequested => "Password reset requested",
            AuditAction::PasswordChanged => "Password changed",
            AuditAction::ProfileUpdated => "Profile updated",
            AuditAction::EmailChangeRequested => "Email change requested",
            AuditAction::EmailChanged => "Email changed",
            AuditAction::UserCreated => "User created",
            AuditAction::UserInvited => "User invited",
            AuditAction::InvitationResent => "Invitation resent",
            AuditAction::InvitationAccepted => "Invitation accepted",
            AuditAction::UserUpdated => "User updated",
            AuditAction::DeletionRequested => "Deletion requested",
            AuditAction::UserDeleted => "User deleted",
            AuditAction::RoleCreated => "Role created",
            AuditAction::RoleUpdated => "Role updated",
            AuditAction::RoleDeleted => "Role deleted",
            AuditAction::RoleAssigned => "Role assigned",
            AuditAction::RoleUnassigned => "Role removed",
            AuditAction::SettingsChanged => "Settings changed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// A user as an event names them: id, and the email they had at the time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventParty {
    pub id: Option<UserId>,
    pub label: String,
}

impl EventParty {
    pub fn user(user: &User) -> Self {
        Self {
            id: Some(user.id),
            label: user.email.to_string(),
        }
    }

    /// Someone known only by what they typed (a failed sign-in's email), cut
    /// to a sane length and stripped of invisible characters.
    pub fn typed(text: &str) -> Self {
        let label: String = text
            .trim()
            .chars()
            .filter(|c| !super::text::is_hidden(*c))
            .take(super::email::MAX_LEN)
            .collect();
        Self { id: None, label }
    }
}

/// An event about to be recorded; the store gives it its id and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub action: AuditAction,
    /// Who did it; `None` for the command line or the system itself.
    pub actor: Option<EventParty>,
    /// Whom it was done to, when that is a user.
    pub subject: Option<EventParty>,
    pub client: Option<IpAddr>,
    /// A short description of what changed (a role's name, a setting…).
    pub detail: String,
}

impl NewEvent {
    pub fn new(action: AuditAction) -> Self {
        Self {
            action,
            actor: None,
            subject: None,
            client: None,
            detail: String::new(),
        }
    }

    /// Done by `user`, from `client`.
    pub fn by(mut self, user: &User, client: Option<IpAddr>) -> Self {
        self.actor = Some(EventParty::user(user));
        self.client = client;
        self
    }

    /// Done to `user`.
    pub fn on(mut self, user: &User) -> Self {
        self.subject = Some(EventParty::user(user));
        self
    }

    /// Done by and to the same user (their own profile, their own sign-in).
    pub fn by_self(self, user: &User, client: Option<IpAddr>) -> Self {
        self.by(user, client).on(user)
    }

    pub fn subject(mut self, subject: EventParty) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn from(mut self, client: IpAddr) -> Self {
        self.client = Some(client);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: u64,
    pub at: Timestamp,
    pub action: AuditAction,
    pub actor: Option<EventParty>,
    pub subject: Option<EventParty>,
    pub client: Option<String>,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_parse_back() {
        for action in AuditAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }

    #[test]
    fn typed_labels_are_bounded_and_visible() {
        let party = EventParty::typed(&format!("a\u{202e}{}", "x".repeat(500)));
        assert_eq!(party.label.chars().count(), 128);
        assert!(!party.label.contains('\u{202e}'));
    }
}
