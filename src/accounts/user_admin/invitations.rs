//! *Invite user* and *Resend invite* (`users.invite`): the administrator's
//! half of an invitation. The invited person's half, accepting, is in
//! `accounts::invitations`, with the link and its message.
//!
//! Inviting creates the Invited user, issues the link, queues the mail and
//! records the event in one transaction, so there is never an Invited user
//! without a mailed link, nor a mail for a user that doesn't exist.

use std::time::Duration;

use super::{UserAdmin, may_manage, may_manage_now, target};
use crate::accounts::invitations::issue_invitation;
use crate::accounts::settings::require;
use crate::accounts::users::email_taken_as_field_error;
use crate::accounts::{AccountsError, FieldErrors};
use crate::domain::{
    AuditAction, Email, NewEvent, Permission, PersonName, SignInMethod, User, UserId, UserStatus,
    time,
};
use crate::mail::{Mailer, in_words};
use crate::store::{NewUser, StoreError, Txn};

pub const ALREADY_ACCEPTED: &str =
    "This user has accepted their invitation already, so there is nothing to resend.";

/// The *Invite user* form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub sign_in_method: String,
}

impl UserAdmin<'_> {
    /// Invites `form.email` (`users.invite`): a new Invited user with no
    /// name and no role yet, sent a link that works for the configured
    /// lifetime (`invitations.link_lifetime`, 7 days). An address that
    /// already has an account is refused beside the field.
    pub async fn invite(&self, form: &InviteForm) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersInvite)?;
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&form.email));
        let method = errors.check("sign_in_method", SignInMethod::parse(&form.sign_in_method));
        let (Some(email), Some(method), true) = (email, method, errors.is_empty()) else {
            return Err(AccountsError::Invalid(errors));
        };
        let client = self.who.client;
        let (mailer, lifetime) = (
            self.accounts.mailer.clone(),
            self.accounts.config.invitation_link_lifetime,
        );
        let user = self
            .acting(Permission::UsersInvite, move |t, actor, _| {
                let user = t
                    .insert_user(NewUser {
                        first_name: PersonName::not_given(),
                        last_name: PersonName::not_given(),
                        email,
                        phone: None,
                        status: UserStatus::Invited,
                        password_hash: None,
                        roles: Vec::new(),
                        created_at: time::now(),
                    })
                    .map_err(email_taken_as_field_error)?;
                let event = NewEvent::new(AuditAction::UserInvited)
                    .by(&actor, Some(client))
                    .detail(format!(
                        "{} sign-in; link valid for {}",
                        method.label().to_lowercase(),
                        in_words(lifetime)
                    ));
                send_invitation(t, &mailer, lifetime, &user, &actor, event)?;
                Ok(user)
            })
            .await?;
        tracing::info!(by = self.who.user.id, user = user.id, "user invited");
        Ok(user)
    }

    /// The Invited user whose invitation is about to be sent again, after
    /// the checks [`Self::resend_invitation`] makes.
    pub fn invitation_to_resend(&self, id: UserId) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersInvite)?;
        let user = self.stored(id)?;
        may_manage_now(self.accounts, self.who, &user)?;
        if user.is_active() {
            return Err(AccountsError::Conflict(ALREADY_ACCEPTED));
        }
        Ok(user)
    }

    /// *Resend invite* (`users.invite`, and only for a user whose
    /// permissions the administrator holds): a new link and mail; the older
    /// link stops working.
    pub async fn resend_invitation(&self, id: UserId) -> Result<User, AccountsError> {
        require(self.who, Permission::UsersInvite)?;
        let client = self.who.client;
        let (mailer, lifetime) = (
            self.accounts.mailer.clone(),
            self.accounts.config.invitation_link_lifetime,
        );
        let user = self
            .acting(Permission::UsersInvite, move |t, actor, permissions| {
                let user = target(t, id)?;
                may_manage(t, permissions, &user)?;
                if user.is_active() {
                    return Err(AccountsError::Conflict(ALREADY_ACCEPTED));
                }
                let event = NewEvent::new(AuditAction::InvitationResent)
                    .by(&actor, Some(client))
                    .detail("the earlier link no longer works");
                send_invitation(t, &mailer, lifetime, &user, &actor, event)?;
                Ok::<_, AccountsError>(user)
            })
            .await?;
        tracing::info!(by = self.who.user.id, user = id, "invitation resent");
        Ok(user)
    }
}

/// Issues `user`'s invitation link and its mail, and records `event` on
/// them, in the caller's transaction: inviting and resending differ only in
/// what the event says.
fn send_invitation(
    t: &Txn<'_>,
    mailer: &Mailer,
    lifetime: Duration,
    user: &User,
    actor: &User,
    event: NewEvent,
) -> Result<(), StoreError> {
    issue_invitation(
        t,
        mailer.composer(),
        mailer.max_per_recipient(),
        user,
        actor,
        lifetime,
    )?;
    t.record(event.on(user))?;
    Ok(())
}
