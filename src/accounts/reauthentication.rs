//! Re-authentication ("sudo mode", as GitHub calls it): sensitive actions
//! (turning 2FA off, new recovery codes, changing the email, an
//! administrator turning off someone's 2FA) need the password or a current
//! 2FA code to have been confirmed in this session within
//! `two_factor.reauthentication_window`.
//!
//! A use case calls [`Reauthentication::require_recent`]; the web layer
//! answers [`AccountsError::ReauthenticationRequired`] by sending the
//! browser to the confirmation page, which calls
//! [`Reauthentication::confirm`] and returns to the action. Signing in does
//! not count: the window opens only when the user confirms, so a session
//! signed in hours ago (or a session token someone took) is asked first.
//! Failed confirmations are counted like failed sign-ins.

use super::sign_in::address_group;
use super::two_factor::accept_code;
use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::time;
use crate::domain::{AuditAction, NewEvent};
use crate::store::{Limit, StoreError, ThrottleKey};

pub struct Reauthentication<'a> {
    accounts: &'a Accounts,
}

impl Accounts {
    pub fn reauthentication(&self) -> Reauthentication<'_> {
        Reauthentication { accounts: self }
    }
}

impl Reauthentication<'_> {
    /// Whether the viewer confirmed their password or a code recently enough.
    pub fn is_fresh(&self, who: &SignedIn) -> bool {
        who.session.reauthenticated_within(
            time::now(),
            self.accounts.config.two_factor.reauthentication_window,
        )
    }

    /// Refuses with [`AccountsError::ReauthenticationRequired`] unless fresh.
    pub fn require_recent(&self, who: &SignedIn) -> Result<(), AccountsError> {
        if self.is_fresh(who) {
            Ok(())
        } else {
            Err(AccountsError::ReauthenticationRequired)
        }
    }

    /// Checks the password, or else a 6-digit code from the user's app
    /// (recovery codes are for signing in only), and on success opens the
    /// window for this session. Wrong answers are throttled: a password
    /// against the account's counter, a code against the user's
    /// second-factor counter, both against the address's.
    pub async fn confirm(
        &self,
        who: &SignedIn,
        password: String,
        code: &str,
    ) -> Result<(), AccountsError> {
        let config = self.accounts.config.sign_in;
        let window = config.lockout.as_secs() as i64;
        let use_code = password.is_empty();
        if use_code && code.trim().is_empty() {
            let mut errors = FieldErrors::default();
            errors.add("password", "Enter your password or a code from your app.");
            return Err(AccountsError::Invalid(errors));
        }
        let own = if use_code {
            ThrottleKey::second_factor(who.user.id)
        } else {
            ThrottleKey::account(who.user.email.as_str())
        };
        let limits = [
            Limit {
                key: own,
                max: config.max_failures_per_account,
            },
            Limit {
                key: ThrottleKey::address(&address_group(who.client)),
                max: config.max_failures_per_address,
            },
        ];
        let attempt = self.accounts.admit(&limits, window).await?;
        let password_ok = if use_code {
            None
        } else {
            let phc = who.user.password_hash.clone();
            Some(self.accounts.hasher.verify(password, phc).await?)
        };
        let key = self.accounts.config.two_factor.encryption_key.clone();
        let (hash, user, code) = (who.hash, who.user.id, code.to_owned());
        let outcome = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    let now = time::now();
                    match password_ok {
                        Some(true) => {}
                        Some(false) => return Err(AccountsError::BadCredentials),
                        None => {
                            accept_code(t, user, &code, key.as_ref(), now, false)?;
                        }
                    }
                    t.clear_throttle(own)?;
                    t.modify_session::<StoreError>(hash, |session| {
                        session.reauthenticated_at = Some(now);
                        Ok(())
                    })?;
                    Ok(())
                })
            })
            .await;
        match outcome {
            Ok(()) => {
                drop(attempt);
                tracing::info!(user = who.user.id, "re-authenticated");
                Ok(())
            }
            Err(
                e @ (AccountsError::BadCredentials
                | AccountsError::WrongCode
                | AccountsError::CodeUsed),
            ) => {
                let event = NewEvent::new(AuditAction::SignInFailed)
                    .by_self(&who.user, Some(who.client))
                    .detail(if use_code {
                        "confirming a sensitive action: wrong 2FA code"
                    } else {
                        "confirming a sensitive action: wrong password"
                    });
                self.accounts
                    .store
                    .blocking(move |s| s.record_failed_sign_in(attempt, window, time::now(), event))
                    .await?;
                Err(e)
            }
            Err(other) => Err(other),
        }
    }
}
