//! Signing in with email and password.
//!
//! Every attempt costs one argon2id verification, whether or not the email
//! belongs to anyone, and every refusal says the same thing, so neither the
//! answer nor its timing tells whether an account exists.
//!
//! Failures are counted per account (the typed email, existing or not) and
//! per client address; see `store::throttle` for why the count can't be
//! raced and why a correct password is never refused for failures that
//! haven't happened. A browser that shows a device cookie from an earlier
//! sign-in to the same account is counted on its own instead (OWASP's device
//! cookies), so strangers' guesses can lock the account for everyone but the
//! browsers its owner already uses.
//!
//! A right password alone signs in only a user without 2FA. With 2FA on,
//! it opens a half-signed-in session that reaches nothing but the second
//! step, which takes a code or a recovery code within a few minutes
//! (failures counted per user and per address, like passwords). When 2FA
//! is required for local users and this one has none, it opens a session
//! that reaches nothing but 2FA set-up.

use std::net::IpAddr;

use super::sessions::{Origin, prepare, renew_in};
use super::two_factor::{Accepted, accept_code};
use super::{Accounts, AccountsError, SignedIn};
use crate::domain::time;
use crate::domain::{AuditAction, EventParty, NewEvent, SessionStage};
use crate::domain::{DeviceCookie, Token, User, UserStatus};
use crate::store::{Admission, Limit, SignInAttempt, ThrottleKey};

pub struct SignedInUser {
    pub user: User,
    pub token: Token,
    /// A fresh device cookie for this browser, sealed.
    pub device_cookie: String,
}

/// Where a right password leads.
pub enum SignInOutcome {
    /// Signed in.
    SignedIn(SignedInUser),
    /// 2FA is on: the token is for a session that awaits a code.
    SecondFactorRequired { token: Token },
    /// 2FA is required and not set up: the token is for a session that
    /// reaches only set-up.
    SetUpRequired(SignedInUser),
}

impl Accounts {
    /// `device_cookie` is the browser's device cookie, as sent, if any.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        origin: &Origin,
        device_cookie: Option<&str>,
    ) -> Result<SignInOutcome, AccountsError> {
        let client = origin.client;
        let config = self.config.sign_in;
        let window = config.lockout.as_secs() as i64;
        let device = self.known_device(email, device_cookie)?;
        // A success clears the counter it vouches for: the device's own, or
        // the account's. The address counter only forgets by time.
        let (counters, vouched) = match &device {
            Some(device) => {
                let key = ThrottleKey::device(&device.nonce);
                let max = config.max_failures_per_account;
                (vec![Limit { key, max }], key)
            }
            None => {
                let account = Limit {
                    key: ThrottleKey::account(email),
                    max: config.max_failures_per_account,
                };
                let address = Limit {
                    key: ThrottleKey::address(&address_group(client)),
                    max: config.max_failures_per_address,
                };
                (vec![account, address], account.key)
            }
        };
        let attempt = self.admit(&counters, window).await?;

        let user = self.store.user_by_email(email)?;
        let phc = user
            .as_ref()
            .filter(|u| u.status == UserStatus::Active && u.is_local())
            .and_then(|u| u.password_hash.clone());
        let matches = self.hasher.verify(password, phc).await?;
        // An existing account's history shows the attempts against it.
        let subject = user
            .as_ref()
            .map_or_else(|| EventParty::typed(email), EventParty::user);
        let Some(user) = user.filter(|_| matches) else {
            // Awaited, so the failure is on file before the answer is sent.
            let event = NewEvent::new(AuditAction::SignInFailed)
                .subject(subject)
                .from(client);
            self.store
                .blocking(move |s| s.record_failed_sign_in(attempt, window, time::now(), event))
                .await?;
            tracing::info!(client = %client, known_device = device.is_some(), "sign-in failed");
            return Err(AccountsError::BadCredentials);
        };

        let user_id = user.id;
        let now = time::now();
        if self.store.two_factor(user_id)?.is_some() {
            // Only the second step completes this sign-in (and records it).
            self.store
                .blocking(move |s| s.record_correct_password(attempt, vouched))
                .await?;
            let token = self
                .sessions
                .create(user_id, SessionStage::AwaitingSecondFactor, origin)
                .await?;
            tracing::info!(user = user_id, client = %client, "password accepted; 2FA code next");
            return Ok(SignInOutcome::SecondFactorRequired { token });
        }
        let set_up_required = self.two_factor_set_up_required(&user)?;
        let mut event = NewEvent::new(AuditAction::SignInSucceeded).by_self(&user, Some(client));
        if set_up_required {
            event = event.detail("2FA set-up required before anything else");
        }
        let stage = if set_up_required {
            SessionStage::TwoFactorSetUpRequired
        } else {
            SessionStage::SignedIn
        };
        // The session starts in the commit that records the sign-in.
        let (token, session) = prepare(user_id, stage, origin, now);
        let started = (token.hash(), session);
        self.store
            .blocking(move |s| {
                s.record_successful_sign_in(attempt, vouched, user_id, now, event, started)
            })
            .await?;
        let device_cookie = DeviceCookie::issue(user.id, now).seal(&self.store.device_key()?);
        tracing::info!(user = user.id, client = %client, ?stage, "signed in");
        let signed_in = SignedInUser {
            user,
            token,
            device_cookie,
        };
        Ok(if set_up_required {
            SignInOutcome::SetUpRequired(signed_in)
        } else {
            SignInOutcome::SignedIn(signed_in)
        })
    }

    /// Whether a user without 2FA must set it up before anything else.
    pub fn two_factor_set_up_required(&self, user: &User) -> Result<bool, AccountsError> {
        Ok(user.is_local() && self.store.account_settings()?.require_2fa_for_local_users)
    }

    /// The second step: a code from the app or a recovery code completes a
    /// sign-in the password started (`pending`). Renews the session, so the
    /// half-signed-in id is worthless afterwards.
    pub async fn complete_sign_in(
        &self,
        pending: &SignedIn,
        code: &str,
    ) -> Result<(SignedInUser, Accepted), AccountsError> {
        if pending.session.stage != SessionStage::AwaitingSecondFactor {
            return Err(AccountsError::Forbidden(
                "this sign-in is not waiting for a code",
            ));
        }
        let config = self.config.sign_in;
        let window = config.lockout.as_secs() as i64;
        let own = ThrottleKey::second_factor(pending.user.id);
        let limits = [
            Limit {
                key: own,
                max: config.max_failures_per_account,
            },
            Limit {
                key: ThrottleKey::address(&address_group(pending.client)),
                max: config.max_failures_per_address,
            },
        ];
        let attempt = self.admit(&limits, window).await?;
        let key = self.config.two_factor.encryption_key.clone();
        let (hash, user, client) = (pending.hash, pending.user.clone(), pending.client);
        let code = code.to_owned();
        let outcome = self
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    let now = time::now();
                    let live = t
                        .session(hash)?
                        .is_some_and(|s| s.stage == SessionStage::AwaitingSecondFactor);
                    if !live {
                        return Err(AccountsError::Forbidden("this sign-in has ended"));
                    }
                    let accepted = accept_code(t, user.id, &code, key.as_ref(), now, true)?;
                    t.clear_throttle(own)?;
                    t.record_sign_in(user.id, now)?;
                    let detail = match accepted {
                        Accepted::AppCode => "with a 2FA code".to_owned(),
                        Accepted::RecoveryCode { left } => {
                            format!("with a recovery code ({left} left)")
                        }
                    };
                    t.record(
                        NewEvent::new(AuditAction::SignInSucceeded)
                            .by_self(&user, Some(client))
                            .detail(detail),
                    )?;
                    let token = renew_in(t, hash, SessionStage::SignedIn)?;
                    Ok((token, accepted))
                })
            })
            .await;
        let (token, accepted) = match outcome {
            Ok(done) => done,
            Err(e @ (AccountsError::WrongCode | AccountsError::CodeUsed)) => {
                let event = NewEvent::new(AuditAction::SignInFailed)
                    .subject(EventParty::user(&pending.user))
                    .from(client)
                    .detail("wrong 2FA code or recovery code");
                self.store
                    .blocking(move |s| s.record_failed_sign_in(attempt, window, time::now(), event))
                    .await?;
                tracing::info!(user = pending.user.id, client = %client, "2FA code refused");
                return Err(e);
            }
            Err(other) => return Err(other),
        };
        drop(attempt);
        let user = pending.user.clone();
        let device_cookie =
            DeviceCookie::issue(user.id, time::now()).seal(&self.store.device_key()?);
        tracing::info!(user = user.id, client = %client, "signed in with 2FA");
        Ok((
            SignedInUser {
                user,
                token,
                device_cookie,
            },
            accepted,
        ))
    }

    /// Waits until the attempt may check its password, or says for how long
    /// the counters are locked.
    pub(super) async fn admit(
        &self,
        limits: &[Limit],
        window: i64,
    ) -> Result<SignInAttempt, AccountsError> {
        loop {
            match self.store.admit_sign_in(limits, window, time::now())? {
                Admission::Admitted(attempt) => return Ok(attempt),
                Admission::Locked { retry_after } => {
                    return Err(AccountsError::Throttled { retry_after });
                }
                Admission::Busy(finished) => finished.wait().await,
            }
        }
    }

    /// The device cookie, if it is genuine, current, and was issued to the
    /// account this email names. Any other cookie is as good as none.
    fn known_device(
        &self,
        email: &str,
        device_cookie: Option<&str>,
    ) -> Result<Option<DeviceCookie>, AccountsError> {
        let Some(text) = device_cookie else {
            return Ok(None);
        };
        let Some(device) = DeviceCookie::open(text, &self.store.device_key()?, time::now()) else {
            return Ok(None);
        };
        let owner = self.store.user_by_email(email)?.map(|u| u.id);
        Ok((owner == Some(device.user)).then_some(device))
    }
}

/// The unit an address limit applies to: one IPv4 address, or one IPv6 /64
/// (the block a single subscriber usually holds, so rotating through it
/// doesn't reset the count).
pub(super) fn address_group(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_grouped_by_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_group(a), address_group(b));
        assert_ne!(address_group(a), address_group(c));
        assert_eq!(
            address_group("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
        assert_eq!(address_group("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
