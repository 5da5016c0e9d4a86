//! Two-factor authentication for local users: set-up with an authenticator
//! app, recovery codes, turning it off (by the user, an administrator, or
//! the command line), and checking a code.
//!
//! A set-up lives in the session that started it until a code from the app
//! confirms it; only then is a [`TwoFactor`] record written, so an abandoned
//! set-up leaves 2FA off. Every check of a code runs inside the write
//! transaction that records its use: the TOTP step it matched becomes the
//! user's `last_step` (and an equal or earlier step is refused from then
//! on), a recovery code is removed. Two requests racing with one code can't
//! both succeed, as writers are serialised.
//!
//! Turning 2FA on or off ends the user's other sessions and gives this
//! browser a new session id, in the same transaction.

use super::sessions::{end_others_in, renew_in};
use super::settings::require;
use super::user_admin::{actor_now, may_manage, may_manage_now};
use super::{Accounts, AccountsError, SignedIn};
use crate::domain::recovery_code::RecoveryCodeHash;
use crate::domain::time::{self, Timestamp};
use crate::domain::totp::{self, TotpSecret};
use crate::domain::two_factor::secret_owner;
use crate::domain::{
    AuditAction, EncryptionKey, NewEvent, PendingSetUp, Permission, RecoveryCode, SealedSecret,
    SessionStage, Token, TwoFactor, TwoFactorStatus, User, UserId,
};
use crate::store::{Store, StoreError, Txn};

/// The two-factor use cases, over the shared [`Accounts`].
pub struct TwoFactorAuth<'a> {
    accounts: &'a Accounts,
}

impl Accounts {
    pub fn two_factor(&self) -> TwoFactorAuth<'_> {
        TwoFactorAuth { accounts: self }
    }
}

/// What the set-up page shows.
pub struct SetUpView {
    /// The key in groups of four, for typing into an app.
    pub key: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: Option<String>,
    pub issuer: String,
    pub account: String,
}

/// 2FA just turned on: the recovery codes (shown once) and the browser's
/// new session token.
pub struct Enabled {
    pub recovery_codes: Vec<RecoveryCode>,
    pub token: Token,
}

/// What a code from the sign-in step or a confirmation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    AppCode,
    RecoveryCode { left: usize },
}

impl TwoFactorAuth<'_> {
    /// The user's 2FA state, if it is on.
    pub fn status(&self, user: UserId) -> Result<Option<TwoFactorStatus>, AccountsError> {
        Ok(self.accounts.store.two_factor(user)?.map(|r| r.status()))
    }

    /// The secret being set up in this session, made on the first visit and
    /// shown again on a reload (so a code from an app that scanned it still
    /// works). `None` when 2FA is already on.
    pub async fn begin_set_up(&self, who: &SignedIn) -> Result<Option<SetUpView>, AccountsError> {
        require_local(&who.user)?;
        if self.status(who.user.id)?.is_some() {
            return Ok(None);
        }
        let key = self.key();
        let owner = secret_owner(who.user.id);
        let existing = who
            .session
            .two_factor_setup
            .as_ref()
            .and_then(|p| p.secret.open(key.as_ref(), &owner).ok())
            .and_then(|bytes| TotpSecret::from_bytes(&bytes));
        let secret = match existing {
            Some(secret) => secret,
            None => {
                let secret = TotpSecret::generate();
                let pending = PendingSetUp {
                    secret: SealedSecret::seal(secret.bytes(), key.as_ref(), &owner),
                    started_at: time::now(),
                };
                let hash = who.hash;
                self.accounts
                    .store
                    .blocking(move |s| {
                        s.transact(|t| {
                            t.modify_session::<StoreError>(hash, |session| {
                                session.two_factor_setup = Some(pending);
                                Ok(())
                            })
                        })
                    })
                    .await?;
                secret
            }
        };
        let issuer = self.accounts.config.two_factor.issuer.clone();
        let account = who.user.email.to_string();
        Ok(Some(SetUpView {
            key: secret.grouped(),
            uri: secret.otpauth_uri(&issuer, &account),
            issuer,
            account,
        }))
    }

    /// Confirms the set-up with a code from the app: turns 2FA on with ten
    /// new recovery codes, ends the user's other sessions and renews this
    /// one (which also ends a set-up that sign-in required). A wrong code
    /// changes nothing.
    pub async fn confirm_set_up(
        &self,
        who: &SignedIn,
        code: &str,
    ) -> Result<Enabled, AccountsError> {
        require_local(&who.user)?;
        let key = self.key();
        let (hash, user) = (who.hash, who.user.clone());
        let code = totp::normalize_code(code);
        let detail = if who.session.stage == SessionStage::TwoFactorSetUpRequired {
            "set up at sign-in, as required"
        } else {
            ""
        };
        let event = NewEvent::new(AuditAction::TwoFactorEnabled)
            .by_self(&who.user, Some(who.client))
            .detail(detail);
        let enabled = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    if t.two_factor(user.id)?.is_some() {
                        return Err(AccountsError::Conflict("2FA is already on."));
                    }
                    let owner = secret_owner(user.id);
                    let session = t.session(hash)?.ok_or(AccountsError::SetUpExpired)?;
                    let secret = session
                        .two_factor_setup
                        .and_then(|p| p.secret.open(key.as_ref(), &owner).ok())
                        .and_then(|bytes| TotpSecret::from_bytes(&bytes))
                        .ok_or(AccountsError::SetUpExpired)?;
                    let now = time::now();
                    let step = secret
                        .matching_step(&code, now)
                        .ok_or(AccountsError::WrongCode)?;
                    let recovery_codes = RecoveryCode::generate_set();
                    t.put_two_factor(
                        user.id,
                        &TwoFactor {
                            secret: SealedSecret::seal(secret.bytes(), key.as_ref(), &owner),
                            enabled_at: now,
                            last_step: step,
                            recovery_codes: recovery_codes.iter().map(RecoveryCode::hash).collect(),
                            recovery_codes_issued_at: now,
                        },
                    )?;
                    end_others_in(t, user.id, hash)?;
                    let token = renew_in(t, hash, SessionStage::SignedIn)?;
                    t.record(event)?;
                    Ok(Enabled {
                        recovery_codes,
                        token,
                    })
                })
            })
            .await?;
        tracing::info!(user = who.user.id, "2FA turned on");
        Ok(enabled)
    }

    /// Turns the viewer's 2FA off, after a recent re-authentication; ends
    /// their other sessions and renews this one. Returns the new token.
    pub async fn disable(&self, who: &SignedIn) -> Result<Token, AccountsError> {
        require_local(&who.user)?;
        self.accounts.reauthentication().require_recent(who)?;
        let (hash, user) = (who.hash, who.user.id);
        let event =
            NewEvent::new(AuditAction::TwoFactorDisabled).by_self(&who.user, Some(who.client));
        let token = self
            .accounts
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    if !t.remove_two_factor(user)? {
                        return Err(AccountsError::Conflict("2FA is already off."));
                    }
                    end_others_in(t, user, hash)?;
                    let token = renew_in(t, hash, SessionStage::SignedIn)?;
                    t.record(event)?;
                    Ok(token)
                })
            })
            .await?;
        tracing::info!(user = who.user.id, "2FA turned off");
        Ok(token)
    }

    /// A new set of recovery codes, after a recent re-authentication; the
    /// old set stops working.
    pub async fn renew_recovery_codes(
        &self,
        who: &SignedIn,
    ) -> Result<Vec<RecoveryCode>, AccountsError> {
        self.accounts.reauthentication().require_recent(who)?;
        let user = who.user.id;
        let codes = RecoveryCode::generate_set();
        let hashes: Vec<RecoveryCodeHash> = codes.iter().map(RecoveryCode::hash).collect();
        let event =
            NewEvent::new(AuditAction::RecoveryCodesRenewed).by_self(&who.user, Some(who.client));
        self.accounts
            .store
            .blocking_or(move |s| {
                s.transact::<_, AccountsError>(|t| {
                    let mut record = t
                        .two_factor(user)?
                        .ok_or(AccountsError::Conflict("2FA is off."))?;
                    record.recovery_codes = hashes;
                    record.recovery_codes_issued_at = time::now();
                    t.put_two_factor(user, &record)?;
                    t.record(event)?;
                    Ok(())
                })
            })
            .await?;
        tracing::info!(user = who.user.id, "recovery codes renewed");
        Ok(codes)
    }

    /// The user an administrator is about to turn 2FA off for, with its
    /// state, after the same checks as [`Self::disable_for`].
    pub fn user_for_disabling(
        &self,
        admin: &SignedIn,
        user: UserId,
    ) -> Result<(User, Option<TwoFactorStatus>), AccountsError> {
        require(admin, Permission::UsersDisable2fa)?;
        let subject = self
            .accounts
            .store
            .user(user)?
            .ok_or(AccountsError::NotFound("user"))?;
        check_subject(admin, &subject)?;
        may_manage_now(self.accounts, admin, &subject)?;
        let status = self.status(user)?;
        Ok((subject, status))
    }

    /// An administrator (`users.disable_2fa`) turns another local user's
    /// 2FA off; never on, and only for a user whose permissions they hold
    /// (the ceiling of `user_admin`: otherwise anyone with this permission
    /// could weaken a Global Administrator's sign-in). Ends that user's
    /// sessions. Returns the user and whether 2FA was on.
    pub async fn disable_for(
        &self,
        admin: &SignedIn,
        user: UserId,
    ) -> Result<(User, bool), AccountsError> {
        require(admin, Permission::UsersDisable2fa)?;
        self.accounts.reauthentication().require_recent(admin)?;
        let admin = admin.clone();
        self.accounts
            .store
            .blocking_or(move |s| {
                s.transact(|t| {
                    let (actor, permissions) = actor_now(t, &admin, Permission::UsersDisable2fa)?;
                    let subject = t.user(user)?.ok_or(AccountsError::NotFound("user"))?;
                    check_subject(&admin, &subject)?;
                    may_manage(t, permissions, &subject)?;
                    let was_on = t.remove_two_factor(user)?;
                    if was_on {
                        t.end_sessions_of_user(user)?;
                        t.record(
                            NewEvent::new(AuditAction::TwoFactorDisabled)
                                .by(&actor, Some(admin.client))
                                .on(&subject)
                                .detail("by an administrator"),
                        )?;
                        tracing::info!(user, by = actor.id, "2FA turned off by an administrator");
                    }
                    Ok((subject, was_on))
                })
            })
            .await
    }

    fn key(&self) -> Option<EncryptionKey> {
        self.accounts.config.two_factor.encryption_key.clone()
    }
}

/// `latchkey user reset-2fa --email E`: turns 2FA off for a local user and
/// ends their sessions. Returns the user and whether 2FA was on.
pub async fn reset_two_factor(store: &Store, email: &str) -> Result<(User, bool), AccountsError> {
    let email = email.to_owned();
    store
        .blocking_or(move |s| {
            s.transact::<_, AccountsError>(|t| {
                let user = t
                    .user_by_email(&email)?
                    .ok_or(AccountsError::NotFound("user with that email"))?;
                require_local(&user)?;
                let was_on = t.remove_two_factor(user.id)?;
                if was_on {
                    t.end_sessions_of_user(user.id)?;
                    t.record(
                        NewEvent::new(AuditAction::TwoFactorDisabled)
                            .on(&user)
                            .detail("from the command line"),
                    )?;
                }
                Ok((user, was_on))
            })
        })
        .await
}

/// Checks a code typed by `user` inside the transaction that records its
/// use: a 6-digit code from the app (never one of an already used step), or,
/// when `recovery` allows, a recovery code (removed once used).
pub(super) fn accept_code(
    t: &Txn<'_>,
    user: UserId,
    input: &str,
    key: Option<&EncryptionKey>,
    now: Timestamp,
    recovery: bool,
) -> Result<Accepted, AccountsError> {
    let mut record = t.two_factor(user)?.ok_or(AccountsError::WrongCode)?;
    if totp::looks_like_code(input) {
        let bytes = record.secret.open(key, &secret_owner(user))?;
        let secret = TotpSecret::from_bytes(&bytes).ok_or(AccountsError::Secret(
            crate::domain::sealed::OpenError::Malformed,
        ))?;
        let step = secret
            .matching_step(&totp::normalize_code(input), now)
            .ok_or(AccountsError::WrongCode)?;
        if step <= record.last_step {
            return Err(AccountsError::CodeUsed);
        }
        record.last_step = step;
        t.put_two_factor(user, &record)?;
        return Ok(Accepted::AppCode);
    }
    if !recovery {
        return Err(AccountsError::WrongCode);
    }
    let index =
        RecoveryCodeHash::find(&record.recovery_codes, input).ok_or(AccountsError::WrongCode)?;
    record.recovery_codes.remove(index);
    t.put_two_factor(user, &record)?;
    Ok(Accepted::RecoveryCode {
        left: record.recovery_codes.len(),
    })
}

/// Encrypts, at start-up, the secrets stored before an encryption key was
/// configured; warns when secrets are encrypted but no key is configured.
pub fn seal_stored_secrets(store: &Store, key: Option<&EncryptionKey>) -> Result<(), StoreError> {
    let Some(key) = key else {
        let (encrypted, _) = store.two_factor_secret_counts()?;
        if encrypted > 0 {
            tracing::warn!(
                users = encrypted,
                "2FA secrets are stored encrypted but two_factor.encryption_key_file is not set: \
                 these users can't complete sign-in until it is (or `latchkey user reset-2fa` turns their 2FA off)"
            );
        }
        return Ok(());
    };
    let sealed = store.reseal_two_factor_secrets(|user, record| {
        if record.secret.is_encrypted() {
            return None;
        }
        let owner = secret_owner(user);
        let bytes = record.secret.open(None, &owner).ok()?;
        Some(TwoFactor {
            secret: SealedSecret::seal(&bytes, Some(key), &owner),
            ..record.clone()
        })
    })?;
    if sealed > 0 {
        tracing::info!(
            users = sealed,
            "encrypted 2FA secrets stored before the key was set"
        );
    }
    Ok(())
}

fn require_local(user: &User) -> Result<(), AccountsError> {
    if user.is_local() {
        Ok(())
    } else {
        Err(AccountsError::Forbidden("2FA is only for local users"))
    }
}

/// Whom an administrator may turn 2FA off for: another local user.
fn check_subject(admin: &SignedIn, subject: &User) -> Result<(), AccountsError> {
    if subject.id == admin.user.id {
        return Err(AccountsError::Forbidden(
            "turn your own 2FA off from your Profile",
        ));
    }
    require_local(subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountSettings;

    #[test]
    fn secrets_stored_before_a_key_was_set_are_encrypted_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let secret = TotpSecret::generate();
        let record = TwoFactor {
            secret: SealedSecret::seal(secret.bytes(), None, &secret_owner(7)),
            enabled_at: 1,
            last_step: 2,
            recovery_codes: vec![RecoveryCode::generate().hash()],
            recovery_codes_issued_at: 1,
        };
        store
            .transact::<_, StoreError>(|t| t.put_two_factor(7, &record))
            .unwrap();
        // No key: left as it is.
        seal_stored_secrets(&store, None).unwrap();
        assert_eq!(store.two_factor_secret_counts().unwrap(), (0, 1));

        let key = EncryptionKey::parse(&"0123456789abcdef".repeat(4)).unwrap();
        seal_stored_secrets(&store, Some(&key)).unwrap();
        assert_eq!(store.two_factor_secret_counts().unwrap(), (1, 0));
        let stored = store.two_factor(7).unwrap().unwrap();
        assert_eq!(
            stored.secret.open(Some(&key), &secret_owner(7)).unwrap(),
            secret.bytes()
        );
        assert_eq!((stored.last_step, stored.recovery_codes.len()), (2, 1));
        // Running again changes nothing.
        let writes = store.write_count();
        seal_stored_secrets(&store, Some(&key)).unwrap();
        assert_eq!(store.write_count(), writes);
    }
}
