//! Invitations: the link and its message, and accepting it.
//!
//! An administrator's *Invite user* and *Resend invite* (in
//! `user_admin::invitations`) call [`issue_invitation`] inside their write
//! transaction; issuing voids the user's older invitation link, so a resend
//! replaces it. The invited person opens the link (`/invitation?token=…`),
//! gives their name, phone and a password, and is Active and signed in:
//! the link is spent, the user activated, the session opened and the event
//! recorded in one commit, so a link can't be accepted twice, nor after a
//! resend or the user's deletion.
//!
//! A link that doesn't work (unknown, used, replaced, expired) gets one
//! answer whatever the reason, so the page says nothing about tokens it
//! wasn't given. Submitting such links is counted per client address, so
//! a flood of guesses is turned away with a 429 (opening the page only
//! reads, and is not counted).

use std::time::Duration;

use super::sessions::{self, Origin};
use super::sign_in::{SignInOutcome, SignedInUser, address_group};
use super::users::NewUserForm;
use super::{Accounts, AccountsError, FieldErrors};
use crate::domain::{
    AuditAction, DeviceCookie, NewEvent, Phone, SessionStage, Token, User, UserId, UserStatus, time,
};
use crate::mail::{Composer, templates};
use crate::store::{Limit, OneTimeToken, StoreError, ThrottleKey, TokenPurpose, Txn};

/// The accept form as submitted. Not `Debug`: it holds a password.
#[derive(Default, Clone, serde::Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// The invited person's use cases; see [`Accounts::invitations`].
pub struct Invitations<'a> {
    accounts: &'a Accounts,
}

impl Accounts {
    pub fn invitations(&self) -> Invitations<'_> {
        Invitations { accounts: self }
    }
}

impl Invitations<'_> {
    /// The Invited user a link is for, if the link still works. Reads only.
    pub fn pending(&self, token: &str) -> Result<Option<User>, AccountsError> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let store = &self.accounts.store;
        let Some(link) = store.valid_token(token.hash(), TokenPurpose::Invitation, time::now())?
        else {
            return Ok(None);
        };
        let Some(id) = link.user_id else {
            return Ok(None);
        };
        Ok(store.user(id)?.filter(|u| u.status == UserStatus::Invited))
    }

    /// Accepts an invitation: the user gets the name, phone and password
    /// of the form (SPEC's password rules; errors beside the fields,
    /// nothing changed) and is Active and signed in, as a sign-in would
    /// leave them: straight into 2FA set-up when *Require 2FA* is on.
    /// `LinkInvalid` when the link doesn't work (any reason); such links
    /// are counted per client address like failed sign-ins, and past
    /// `sign_in.max_failures_per_address` in a lockout window that address
    /// is `Throttled` before anything is looked up.
    pub async fn accept(
        &self,
        form: &AcceptForm,
        origin: &Origin,
    ) -> Result<SignInOutcome, AccountsError> {
        let config = self.accounts.config.sign_in;
        let window = config.lockout.as_secs() as i64;
        let limits = [Limit {
            key: ThrottleKey::link_address(&address_group(origin.client)),
            max: config.max_failures_per_address,
        }];
        let attempt = self.accounts.admit(&limits, window).await?;
        let Some(invited) = self.pending(&form.token)? else {
            self.accounts
                .store
                .blocking(move |s| s.record_failed_attempt(attempt, window, time::now()))
                .await?;
            tracing::info!(client = %origin.client, "invitation link refused");
            return Err(AccountsError::LinkInvalid);
        };
        let mut errors = FieldErrors::default();
        let phone = errors.check("phone", Phone::parse_optional(&form.phone));
        let details = NewUserForm {
            first_name: form.first_name.clone(),
            last_name: form.last_name.clone(),
            email: invited.email.to_string(),
            password: form.password.clone(),
            password_confirm: form.password_confirm.clone(),
        }
        .validate();
        let (valid, phone) = match (details, phone) {
            (Ok(valid), Some(phone)) => (valid, phone),
            (Err(AccountsError::Invalid(more)), _) => {
                for (field, message) in more.iter() {
                    errors.add(field, message);
                }
                return Err(AccountsError::Invalid(errors));
            }
            (Err(other), _) => return Err(other),
            (Ok(_), None) => return Err(AccountsError::Invalid(errors)),
        };
        let hash = self
            .accounts
            .hasher
            .hash(valid.password.expose().to_owned())
            .await?;
        let set_up_required = self.accounts.two_factor_set_up_required(&invited)?;
        let stage = if set_up_required {
            SessionStage::TwoFactorSetUpRequired
        } else {
            SessionStage::SignedIn
        };
        let now = time::now();
        let (session_token, session) = sessions::prepare(invited.id, stage, origin, now);
        let session_hash = session_token.hash();
        let (token, client) = (form.token.clone(), origin.client);
        let user = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact(|t| {
                    if take_invitation(t, &token)? != invited.id {
                        return Err(AccountsError::LinkInvalid);
                    }
                    let user = t.modify_user::<AccountsError>(invited.id, |u| {
                        if u.status != UserStatus::Invited {
                            return Err(AccountsError::LinkInvalid);
                        }
                        u.first_name = valid.first_name;
                        u.last_name = valid.last_name;
                        u.phone = phone;
                        u.password_hash = Some(hash);
                        u.status = UserStatus::Active;
                        u.last_sign_in_at = Some(now);
                        Ok(())
                    })?;
                    t.insert_session(session_hash, &session)?;
                    let detail = if set_up_required {
                        "signed in; 2FA set-up required before anything else"
                    } else {
                        "signed in"
                    };
                    t.record(
                        NewEvent::new(AuditAction::InvitationAccepted)
                            .by_self(&user, Some(client))
                            .detail(detail),
                    )?;
                    Ok(user)
                })
            })
            .await?;
        let device_cookie =
            DeviceCookie::issue(user.id, now).seal(&self.accounts.store.device_key()?);
        tracing::info!(user = user.id, client = %origin.client, "invitation accepted");
        let signed_in = SignedInUser {
            user,
            token: session_token,
            device_cookie,
        };
        Ok(if set_up_required {
            SignInOutcome::SetUpRequired(signed_in)
        } else {
            SignInOutcome::SignedIn(signed_in)
        })
    }
}

/// Issues a new invitation link for the Invited `user` (voiding any older
/// one) and queues the invitation from `inviter`, within the address's
/// hourly quota of `quota` messages (`MailQuota` past it); returns the link.
pub fn issue_invitation(
    t: &Txn<'_>,
    composer: &Composer,
    quota: u32,
    user: &User,
    inviter: &User,
    lifetime: Duration,
) -> Result<String, StoreError> {
    let token = Token::generate();
    t.issue_token(
        token.hash(),
        &OneTimeToken {
            purpose: TokenPurpose::Invitation,
            user_id: Some(user.id),
            expires_at: time::now() + lifetime.as_secs() as i64,
            new_email: None,
        },
    )?;
    t.enqueue_requested_mail(
        templates::invitation(composer, &user.email, inviter, &token, lifetime),
        quota,
    )?;
    Ok(composer.url(&format!(
        "{}?token={}",
        templates::INVITATION_PATH,
        token.as_text()
    )))
}

/// Spends an invitation link (as typed in the URL): the invited user's id,
/// or `LinkInvalid` when it is unknown, used, replaced or expired.
pub fn take_invitation(t: &Txn<'_>, token: &str) -> Result<UserId, StoreError> {
    let token = Token::parse(token).ok_or(StoreError::LinkInvalid)?;
    t.take_token(token.hash(), TokenPurpose::Invitation, time::now())?
        .user_id
        .ok_or(StoreError::LinkInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mailbox;
    use crate::domain::{AccountSettings, Email, PersonName, UserStatus};
    use crate::store::{NewUser, Store};

    fn invited(store: &Store, email: &str) -> User {
        store
            .insert_user(NewUser {
                first_name: PersonName::parse("Ivy").unwrap(),
                last_name: PersonName::parse("Invited").unwrap(),
                email: Email::parse(email).unwrap(),
                phone: None,
                status: UserStatus::Invited,
                password_hash: None,
                roles: Vec::new(),
                created_at: time::now(),
            })
            .unwrap()
    }

    #[test]
    fn a_link_works_once_and_resending_voids_the_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let composer = Composer::new(
            "https://accounts.example.com",
            Mailbox::parse("a@example.com").unwrap(),
        );
        let inviter = invited(&store, "admin@example.com");
        let ivy = invited(&store, "ivy@example.com");
        let week = Duration::from_secs(7 * 86_400);
        let issue = || {
            store
                .transact(|t| issue_invitation(t, &composer, 10, &ivy, &inviter, week))
                .unwrap()
        };
        let first = issue();
        let second = issue();
        let token_of = |link: &str| link.split("token=").nth(1).unwrap().to_owned();
        assert!(second.starts_with("https://accounts.example.com/invitation?token="));

        let outbox = store.outbox(10).unwrap();
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox[0].message.to, "ivy@example.com");
        assert_eq!(
            outbox[0].message.subject,
            "Latchkey: Ivy Invited invited you"
        );
        assert!(outbox[0].message.text.contains(&second));
        assert!(outbox[0].message.text.contains("for 7 days"));

        let take = |token: &str| store.transact(|t| take_invitation(t, token));
        assert!(
            matches!(take(&token_of(&first)), Err(StoreError::LinkInvalid)),
            "replaced"
        );
        assert_eq!(take(&token_of(&second)).unwrap(), ivy.id);
        assert!(
            matches!(take(&token_of(&second)), Err(StoreError::LinkInvalid)),
            "used"
        );
        assert!(matches!(take("garbage"), Err(StoreError::LinkInvalid)));

        // An expired link is refused, and a password-reset link is no invitation.
        let expired = store
            .transact(|t| issue_invitation(t, &composer, 10, &ivy, &inviter, Duration::ZERO))
            .unwrap();
        assert!(matches!(
            take(&token_of(&expired)),
            Err(StoreError::LinkInvalid)
        ));
        let token = Token::generate();
        store
            .transact::<_, StoreError>(|t| {
                t.issue_token(
                    token.hash(),
                    &OneTimeToken {
                        purpose: TokenPurpose::PasswordReset,
                        user_id: Some(ivy.id),
                        expires_at: time::now() + 3600,
                        new_email: None,
                    },
                )
            })
            .unwrap();
        assert!(matches!(
            take(&token.as_text()),
            Err(StoreError::LinkInvalid)
        ));
        assert!(
            store
                .valid_token(token.hash(), TokenPurpose::PasswordReset, time::now())
                .unwrap()
                .is_some(),
            "a refused take leaves other links alone"
        );
    }
}
