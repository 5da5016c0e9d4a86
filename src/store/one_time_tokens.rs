//! Single-use links: first-start set-up, password reset, email change and
//! invitation, stored by the SHA-256 of their token.
//!
//! Issuing a link for a user voids that user's older links of the same
//! purpose, so only the newest mail works. Taking a link checks purpose,
//! expiry and existence and removes it, inside the write transaction that
//! acts on it: two requests racing with one link can't both succeed.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::Record;
use super::{NewUser, Store, StoreError, tables, users};
use crate::domain::time::Timestamp;
use crate::domain::{AuditAction, Email, NewEvent, TokenHash, User, UserId, role};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenPurpose {
    /// Creates the first user, a Global Administrator, while there is none.
    Setup,
    /// Sets a new password for `user_id`.
    PasswordReset,
    /// Confirms `new_email` as the address of `user_id`.
    EmailChange,
    /// Lets the invited `user_id` set their details and password.
    Invitation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub purpose: TokenPurpose,
    pub user_id: Option<UserId>,
    pub expires_at: Timestamp,
    /// The address an email-change link confirms.
    #[serde(default)]
    pub new_email: Option<Email>,
}

impl Record for OneTimeToken {
    const TABLE: &'static str = "one_time_tokens";
    const VERSION: u8 = 1;
}

impl OneTimeToken {
    /// Usable now for `purpose`.
    pub fn is_valid_for(&self, purpose: TokenPurpose, now: Timestamp) -> bool {
        self.purpose == purpose && self.expires_at > now
    }
}

impl Store {
    /// Replaces any earlier set-up link with this one.
    pub fn replace_setup_token(
        &self,
        hash: TokenHash,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            remove_tokens(tx, TokenPurpose::Setup)?;
            let token = OneTimeToken {
                purpose: TokenPurpose::Setup,
                user_id: None,
                expires_at,
                new_email: None,
            };
            tx.open_table(tables::ONE_TIME_TOKENS)?
                .insert(hash.0.as_slice(), token.to_bytes().as_slice())?;
            Ok(())
        })
    }

    /// The token behind `hash` if it exists, has `purpose` and has not expired.
    pub fn valid_token(
        &self,
        hash: TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::ONE_TIME_TOKENS)?;
            let token = OneTimeToken::from_found(table.get(hash.0.as_slice())?)?;
            Ok(token.filter(|t| t.is_valid_for(purpose, now)))
        })
    }

    /// Spends a set-up link: creates `new` as a Global Administrator if the
    /// link is valid and there is still no user, all in one transaction, so
    /// two people racing with the same link can't both succeed.
    pub fn create_first_administrator(
        &self,
        hash: TokenHash,
        mut new: NewUser,
        now: Timestamp,
        client: Option<std::net::IpAddr>,
    ) -> Result<User, StoreError> {
        self.write(|tx| {
            let token = OneTimeToken::from_found(
                tx.open_table(tables::ONE_TIME_TOKENS)?
                    .get(hash.0.as_slice())?,
            )?;
            let valid = token.is_some_and(|t| t.is_valid_for(TokenPurpose::Setup, now));
            if !valid || tx.open_table(tables::USERS)?.len()? > 0 {
                return Err(StoreError::LinkInvalid);
            }
            new.roles = vec![role::GLOBAL_ADMINISTRATOR];
            let user = users::insert_user(tx, new)?;
            let event = NewEvent::new(AuditAction::UserCreated)
                .by_self(&user, client)
                .detail("first Global Administrator, through the set-up link");
            super::audit::record_at(tx, event, now)?;
            Ok(user)
        })
    }

    /// The links of `purpose` that `user` holds (at most one, as issuing voids older ones).
    pub fn tokens_of(
        &self,
        user: UserId,
        purpose: TokenPurpose,
    ) -> Result<Vec<OneTimeToken>, StoreError> {
        self.read(|tx| {
            let mut found = Vec::new();
            for entry in tx.open_table(tables::ONE_TIME_TOKENS)?.iter()? {
                let token = OneTimeToken::from_bytes(entry?.1.value())?;
                if token.purpose == purpose && token.user_id == Some(user) {
                    found.push(token);
                }
            }
            Ok(found)
        })
    }

    /// Removes links that have expired; run periodically.
    pub fn prune_expired_tokens(&self, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(tables::ONE_TIME_TOKENS)?.retain(|_, value| {
                OneTimeToken::from_bytes(value).is_ok_and(|t| t.expires_at > now)
            })?;
            Ok(())
        })
    }
}

/// Stores `token` under `hash`, first voiding the user's other links of the same purpose.
pub(super) fn issue(
    tx: &WriteTransaction,
    hash: TokenHash,
    token: &OneTimeToken,
) -> Result<(), StoreError> {
    if let Some(user) = token.user_id {
        remove_tokens_of(tx, user, token.purpose)?;
    }
    tx.open_table(tables::ONE_TIME_TOKENS)?
        .insert(hash.0.as_slice(), token.to_bytes().as_slice())?;
    Ok(())
}

/// Spends the link behind `hash` if it exists, has `purpose` and has not expired.
pub(super) fn take(
    tx: &WriteTransaction,
    hash: TokenHash,
    purpose: TokenPurpose,
    now: Timestamp,
) -> Result<OneTimeToken, StoreError> {
    let mut table = tx.open_table(tables::ONE_TIME_TOKENS)?;
    let token = OneTimeToken::from_found(table.get(hash.0.as_slice())?)?
        .filter(|t| t.is_valid_for(purpose, now))
        .ok_or(StoreError::LinkInvalid)?;
    table.remove(hash.0.as_slice())?;
    Ok(token)
}

/// Voids every link of `purpose` that `user` holds.
pub(super) fn remove_tokens_of(
    tx: &WriteTransaction,
    user: UserId,
    purpose: TokenPurpose,
) -> Result<(), StoreError> {
    remove_tokens_where(tx, |t| t.purpose == purpose && t.user_id == Some(user))
}

/// Voids every link of `purpose`, whoever holds it.
pub(super) fn remove_tokens(
    tx: &WriteTransaction,
    purpose: TokenPurpose,
) -> Result<(), StoreError> {
    remove_tokens_where(tx, |t| t.purpose == purpose)
}

/// Voids every link issued to `user`, whatever it was for (a deleted user).
pub(super) fn remove_tokens_of_user(tx: &WriteTransaction, user: UserId) -> Result<(), StoreError> {
    remove_tokens_where(tx, |t| t.user_id == Some(user))
}

/// Voids the links `void` picks. A user holds at most one link per purpose,
/// living hours (an invitation, a week), so the table stays small enough to
/// sweep.
fn remove_tokens_where(
    tx: &WriteTransaction,
    void: impl Fn(&OneTimeToken) -> bool,
) -> Result<(), StoreError> {
    tx.open_table(tables::ONE_TIME_TOKENS)?
        .retain(|_, value| OneTimeToken::from_bytes(value).map_or(true, |t| !void(&t)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountSettings, Email, PersonName, Token, UserStatus};

    #[test]
    fn deleting_a_user_voids_their_links_and_no_one_elses() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let new = |email: &str| NewUser {
            first_name: PersonName::parse("Emma").unwrap(),
            last_name: PersonName::parse("Wright").unwrap(),
            email: Email::parse(email).unwrap(),
            phone: None,
            status: UserStatus::Active,
            password_hash: None,
            roles: Vec::new(),
            created_at: 1,
        };
        let (gone, kept) = (
            store.insert_user(new("a@example.com")).unwrap(),
            store.insert_user(new("b@example.com")).unwrap(),
        );
        let link = |user: &User| {
            let hash = Token::generate().hash();
            let token = OneTimeToken {
                purpose: TokenPurpose::Setup,
                user_id: Some(user.id),
                expires_at: i64::MAX,
                new_email: None,
            };
            store
                .write(|tx| {
                    tx.open_table(tables::ONE_TIME_TOKENS)?
                        .insert(hash.0.as_slice(), token.to_bytes().as_slice())?;
                    Ok(())
                })
                .unwrap();
            hash
        };
        let (gone_link, kept_link) = (link(&gone), link(&kept));
        store
            .transact::<_, StoreError>(|t| t.delete_user(gone.id))
            .unwrap();
        let valid = |hash| store.valid_token(hash, TokenPurpose::Setup, 0).unwrap();
        assert!(valid(gone_link).is_none());
        assert!(valid(kept_link).is_some());
    }
}
