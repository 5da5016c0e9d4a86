//! Changing a user's email address: by confirmation link, never directly.
//!
//! Asking (on one's own Profile, or an administrator on the User page)
//! stores a one-time link that holds the new address, mails it to the new
//! address, and mails a notice to the old one. The address changes only
//! when the link is opened and confirmed, and only if no other account has
//! taken it meanwhile. Asking again voids the older link.
//!
//! Asking is a sensitive action (the password or a code confirmed lately,
//! see `reauthentication`); confirming is not: the link proves the new
//! mailbox, and is often opened signed out or on another device.

use std::net::IpAddr;

use super::settings::require;
use super::user_admin::{actor_now, may_manage};
use super::users::email_taken_as_field_error;
use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::{AuditAction, Email, NewEvent, Permission, Token, User, UserId, time};
use crate::mail::{Mailer, templates};
use crate::store::{OneTimeToken, StoreError, TokenPurpose, Txn};

/// The email-change use cases; see [`Accounts::email_changes`].
pub struct EmailChanges<'a> {
    accounts: &'a Accounts,
}

/// A change waiting for its link to be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEmailChange {
    pub user: User,
    pub new_email: Email,
    pub expires_at: time::Timestamp,
}

impl Accounts {
    pub fn email_changes(&self) -> EmailChanges<'_> {
        EmailChanges { accounts: self }
    }
}

impl EmailChanges<'_> {
    /// Starts changing `user_id`'s address to `new_email`: a user for
    /// themself (while self-service updates are on), anyone else with
    /// `users.edit`; either way within the actor's re-authentication window.
    /// Returns the address the link went to, or `None` when the address is
    /// the current one.
    pub async fn request_email_change(
        &self,
        actor: &SignedIn,
        user_id: UserId,
        new_email: &str,
    ) -> Result<Option<Email>, AccountsError> {
        if actor.user.id == user_id {
            self.accounts.require_own_profile_editing(actor)?;
        } else {
            require(actor, Permission::UsersEdit)?;
        }
        let new_email = parse(new_email)?;
        // Sensitive for whoever asks (see `reauthentication`).
        self.accounts.reauthentication().require_recent(actor)?;
        let (mailer, lifetime) = (
            self.accounts.mailer.clone(),
            self.accounts.config.email_change_link_lifetime,
        );
        let who = actor.clone();
        let sent = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    let user = t.user(user_id)?.ok_or(AccountsError::NotFound("user"))?;
                    let by = if who.user.id == user_id {
                        who.user.clone()
                    } else {
                        // Another user's address: only within the ceiling
                        // (a new address is where their reset links go).
                        let (by, permissions) = actor_now(t, &who, Permission::UsersEdit)?;
                        may_manage(t, permissions, &user)?;
                        by
                    };
                    if user.email.key() == new_email.key() {
                        return Ok(None);
                    }
                    let request = EmailChangeRequest {
                        by: &by,
                        client: who.client,
                        lifetime,
                    };
                    request
                        .queue(t, &mailer, &user, &new_email)
                        .map_err(email_taken_as_field_error)?;
                    Ok(Some(new_email))
                })
            })
            .await?;
        tracing::info!(user = user_id, by = actor.user.id, "email change requested");
        Ok(sent)
    }

    /// The change a link confirms, if the link still works. Reads only.
    pub fn pending(&self, token: &str) -> Result<Option<PendingEmailChange>, AccountsError> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let store = &self.accounts.store;
        let Some(link) = store.valid_token(token.hash(), TokenPurpose::EmailChange, time::now())?
        else {
            return Ok(None);
        };
        let (Some(id), Some(new_email)) = (link.user_id, link.new_email) else {
            return Ok(None);
        };
        Ok(store.user(id)?.map(|user| PendingEmailChange {
            user,
            new_email,
            expires_at: link.expires_at,
        }))
    }

    /// The change waiting for `user`'s confirmation, if any (for the Profile).
    pub fn pending_for(&self, user: &User) -> Result<Option<PendingEmailChange>, AccountsError> {
        let now = time::now();
        Ok(self
            .accounts
            .store
            .tokens_of(user.id, TokenPurpose::EmailChange)?
            .into_iter()
            .filter(|t| t.expires_at > now)
            .find_map(|t| {
                t.new_email.map(|new_email| PendingEmailChange {
                    user: user.clone(),
                    new_email,
                    expires_at: t.expires_at,
                })
            }))
    }

    /// Opens the link: the address changes now, unless another account
    /// took it meanwhile (`EmailTaken`, and the link stays usable).
    pub async fn confirm(&self, token: &str, client: IpAddr) -> Result<User, AccountsError> {
        let token = Token::parse(token).ok_or(AccountsError::LinkInvalid)?;
        let user = self
            .accounts
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let link =
                        t.take_token(token.hash(), TokenPurpose::EmailChange, time::now())?;
                    let (Some(id), Some(new_email)) = (link.user_id, link.new_email) else {
                        return Err(StoreError::LinkInvalid);
                    };
                    let before = t.user(id)?.ok_or(StoreError::LinkInvalid)?;
                    let user = t.modify_user::<StoreError>(id, |u| {
                        u.email = new_email;
                        Ok(())
                    })?;
                    // Links mailed to the old address stop working.
                    t.void_tokens(id, TokenPurpose::PasswordReset)?;
                    t.void_tokens(id, TokenPurpose::EmailChange)?;
                    t.record(
                        NewEvent::new(AuditAction::EmailChanged)
                            .on(&user)
                            .from(client)
                            .detail(format!(
                                "from {} to {}, confirmed by link",
                                before.email, user.email
                            )),
                    )?;
                    Ok(user)
                })
            })
            .await
            .map_err(|e| match e {
                StoreError::EmailTaken => AccountsError::EmailTaken,
                other => other.into(),
            })?;
        tracing::info!(user = user.id, "email address changed");
        Ok(user)
    }
}

/// Who asks for a change, for the audit log and the link's lifetime.
pub(super) struct EmailChangeRequest<'a> {
    pub by: &'a User,
    pub client: IpAddr,
    pub lifetime: std::time::Duration,
}

impl EmailChangeRequest<'_> {
    /// Inside the caller's transaction: refuses an address another account
    /// holds, stores the link (voiding older ones), queues the confirmation
    /// to the new address and the notice to the old one (refused with
    /// `MailQuota` past either's hourly quota), records the event.
    pub(super) fn queue(
        &self,
        t: &Txn<'_>,
        mailer: &Mailer,
        user: &User,
        new_email: &Email,
    ) -> Result<(), StoreError> {
        if t.user_by_email(new_email.as_str())?
            .is_some_and(|holder| holder.id != user.id)
        {
            return Err(StoreError::EmailTaken);
        }
        let token = Token::generate();
        t.issue_token(
            token.hash(),
            &OneTimeToken {
                purpose: TokenPurpose::EmailChange,
                user_id: Some(user.id),
                expires_at: time::now() + self.lifetime.as_secs() as i64,
                new_email: Some(new_email.clone()),
            },
        )?;
        let (composer, quota) = (mailer.composer(), mailer.max_per_recipient());
        // Both within their recipients' quotas: asking again and again
        // must not flood the new address, nor the old one.
        t.enqueue_requested_mail(
            templates::email_change_confirmation(composer, user, new_email, &token, self.lifetime),
            quota,
        )?;
        t.enqueue_requested_mail(
            templates::email_change_notice(composer, user, new_email),
            quota,
        )?;
        t.record(
            NewEvent::new(AuditAction::EmailChangeRequested)
                .by(self.by, Some(self.client))
                .on(user)
                .detail(format!("to {new_email}; confirmation link sent there")),
        )?;
        Ok(())
    }
}

fn parse(typed: &str) -> Result<Email, AccountsError> {
    Email::parse(typed).map_err(|m| {
        let mut errors = FieldErrors::default();
        errors.add("email", m);
        AccountsError::Invalid(errors)
    })
}
