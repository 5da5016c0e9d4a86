//! Forgotten password: a link by email, then a new password.
//!
//! Asking answers the same way whether or not the address has an account,
//! and does the same work (one write transaction that counts the request
//! and records it in the audit log; with an account it also stores the link
//! and queues the mail), so neither the page nor its timing says which.
//! Requests are counted per typed address and per client address, so one
//! mailbox gets at most a few messages an hour; the link's mail also counts
//! against the address's quota for all mail that requests send
//! (`mail.max_per_recipient`), and past it nothing is sent, with the same
//! answer.
//!
//! Links hold 256 random bits, are stored hashed, work once and expire;
//! asking again voids the older link. Setting the password ends every
//! session of the user and mails a notice. A reset never signs anyone in
//! and leaves two-factor authentication as it was.

use std::net::IpAddr;

use super::sign_in::address_group;
use super::{Accounts, AccountsError, FieldErrors};
use crate::domain::{
    AuditAction, Email, EventParty, NewEvent, NewPassword, Token, User, UserStatus, time,
};
use crate::mail::templates;
use crate::store::{
    Limit, OneTimeToken, Quota, REQUEST_WINDOW, StoreError, ThrottleKey, TokenPurpose,
};

/// The reset form as submitted. Not `Debug`: it holds a password.
#[derive(Default, Clone, serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// The password-reset use cases; see [`Accounts::password_reset`].
pub struct PasswordReset<'a> {
    accounts: &'a Accounts,
}

impl Accounts {
    pub fn password_reset(&self) -> PasswordReset<'_> {
        PasswordReset { accounts: self }
    }
}

impl PasswordReset<'_> {
    /// Sends a reset link to `typed_email` if it belongs to an active local
    /// user. Succeeds the same way either way; refuses only a malformed
    /// address (`Invalid`) or too many requests (`Throttled`).
    pub async fn request(&self, typed_email: &str, client: IpAddr) -> Result<(), AccountsError> {
        let email = Email::parse(typed_email).map_err(|m| {
            let mut errors = FieldErrors::default();
            errors.add("email", m);
            AccountsError::Invalid(errors)
        })?;
        let config = self.accounts.config.password_reset;
        let limits = [
            Limit {
                key: ThrottleKey::reset_email(email.as_str()),
                max: config.max_requests_per_email,
            },
            Limit {
                key: ThrottleKey::reset_address(&address_group(client)),
                max: config.max_requests_per_client,
            },
        ];
        let lifetime = config.link_lifetime;
        // Made whether or not it is used, so both paths do the same work.
        let token = Token::generate();
        let mailer = self.accounts.mailer.clone();
        let quota = mailer.max_per_recipient();
        let sent = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let now = time::now();
                    if let Quota::Exhausted { retry_after } =
                        t.spend_quota(&limits, REQUEST_WINDOW, now)?
                    {
                        return Err(AccountsError::Throttled { retry_after });
                    }
                    let user = t
                        .user_by_email(email.as_str())?
                        .filter(|u| u.status == UserStatus::Active && u.is_local());
                    let event = NewEvent::new(AuditAction::PasswordResetRequested).from(client);
                    let Some(user) = user else {
                        t.record(
                            event
                                .subject(EventParty::typed(email.as_str()))
                                .detail("no active account has this address: nothing sent"),
                        )?;
                        return Ok(false);
                    };
                    // Past the address's mail quota (other flows send it mail
                    // too), nothing goes out, and the answer is the same.
                    match t.spend_mail_quota(user.email.as_str(), quota) {
                        Ok(()) => {}
                        Err(StoreError::MailQuota { .. }) => {
                            t.record(event.on(&user).detail(
                                "this address has had as much mail as an hour allows: nothing sent",
                            ))?;
                            return Ok(false);
                        }
                        Err(other) => return Err(other.into()),
                    }
                    t.issue_token(
                        token.hash(),
                        &OneTimeToken {
                            purpose: TokenPurpose::PasswordReset,
                            user_id: Some(user.id),
                            expires_at: now + lifetime.as_secs() as i64,
                            new_email: None,
                        },
                    )?;
                    t.enqueue_mail(templates::password_reset(
                        mailer.composer(),
                        &user,
                        &token,
                        lifetime,
                    ))?;
                    t.record(event.on(&user).detail("reset link sent"))?;
                    Ok(true)
                })
            })
            .await?;
        tracing::info!(client = %client, account = sent, "password reset requested");
        Ok(())
    }

    /// The user a reset link is for, if it still works. Reads only.
    pub fn link_user(&self, token: &str) -> Result<Option<User>, AccountsError> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let store = &self.accounts.store;
        let Some(link) =
            store.valid_token(token.hash(), TokenPurpose::PasswordReset, time::now())?
        else {
            return Ok(None);
        };
        Ok(link
            .user_id
            .map(|id| store.user(id))
            .transpose()?
            .flatten()
            .filter(|u| u.status == UserStatus::Active))
    }

    /// Sets a new password through a reset link. Invalid input changes
    /// nothing and leaves the link usable; success spends the link, ends
    /// every session of the user and mails them a notice.
    pub async fn complete(&self, form: &ResetForm, client: IpAddr) -> Result<User, AccountsError> {
        // Checked before the costly hash; spent inside the transaction that
        // sets the password, so a link can't be used twice.
        let user = self
            .link_user(&form.token)?
            .ok_or(AccountsError::LinkInvalid)?;
        let token = Token::parse(&form.token).ok_or(AccountsError::LinkInvalid)?;
        let password = validate(&user, form)?;
        let hash = self
            .accounts
            .hasher
            .hash(password.expose().to_owned())
            .await?;
        let mailer = self.accounts.mailer.clone();
        let user = self
            .accounts
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let now = time::now();
                    let link = t.take_token(token.hash(), TokenPurpose::PasswordReset, now)?;
                    if link.user_id != Some(user.id) {
                        return Err(StoreError::LinkInvalid);
                    }
                    let user = t.modify_user::<StoreError>(user.id, |u| {
                        u.password_hash = Some(hash);
                        Ok(())
                    })?;
                    let ended = t.end_sessions_of_user(user.id)?;
                    t.void_tokens(user.id, TokenPurpose::PasswordReset)?;
                    // Whoever locked the account with guesses no longer
                    // knows the password that would unlock it.
                    t.clear_throttle(ThrottleKey::account(user.email.as_str()))?;
                    t.record(
                        NewEvent::new(AuditAction::PasswordChanged)
                            .on(&user)
                            .from(client)
                            .detail(format!("through a reset link; {ended} session(s) ended")),
                    )?;
                    t.enqueue_mail(templates::password_changed(mailer.composer(), &user, now))?;
                    Ok(user)
                })
            })
            .await?;
        tracing::info!(user = user.id, client = %client, "password reset");
        Ok(user)
    }
}

/// The policy for `user`, and the confirmation.
fn validate(user: &User, form: &ResetForm) -> Result<NewPassword, AccountsError> {
    let mut errors = FieldErrors::default();
    let personal = [
        user.email.as_str(),
        user.first_name.as_str(),
        user.last_name.as_str(),
    ];
    let password = errors.check("password", NewPassword::parse(&form.password, &personal));
    if form.password != form.password_confirm {
        errors.add("password_confirm", "The passwords don't match.");
    }
    match password {
        Some(password) if errors.is_empty() => Ok(password),
        _ => Err(AccountsError::Invalid(errors)),
    }
}
