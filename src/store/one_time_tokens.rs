//! Single-use links (first-start set-up now; invitations and password resets
//! use the same table), stored by the SHA-256 of their token.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{NewUser, Store, StoreError, codec, tables, users};
use crate::domain::time::Timestamp;
use crate::domain::{TokenHash, User, UserId, role};

const TOKEN_VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenPurpose {
    /// Creates the first user, a Global Administrator, while there is none.
    Setup,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub purpose: TokenPurpose,
    pub user_id: Option<UserId>,
    pub expires_at: Timestamp,
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
            };
            tx.open_table(tables::ONE_TIME_TOKENS)?.insert(
                hash.0.as_slice(),
                codec::encode(TOKEN_VERSION, &token).as_slice(),
            )?;
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
            let Some(v) = table.get(hash.0.as_slice())? else {
                return Ok(None);
            };
            let token: OneTimeToken = codec::decode("one_time_tokens", TOKEN_VERSION, v.value())?;
            Ok((token.purpose == purpose && token.expires_at > now).then_some(token))
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
    ) -> Result<User, StoreError> {
        self.write(|tx| {
            let token = tx
                .open_table(tables::ONE_TIME_TOKENS)?
                .get(hash.0.as_slice())?
                .map(|v| codec::decode::<OneTimeToken>("one_time_tokens", TOKEN_VERSION, v.value()))
                .transpose()?;
            let valid =
                token.is_some_and(|t| t.purpose == TokenPurpose::Setup && t.expires_at > now);
            if !valid || tx.open_table(tables::USERS)?.len()? > 0 {
                return Err(StoreError::LinkInvalid);
            }
            new.roles = vec![role::GLOBAL_ADMINISTRATOR];
            let user = users::insert_user(tx, new)?;
            remove_tokens(tx, TokenPurpose::Setup)?;
            Ok(user)
        })
    }

    /// Removes every set-up link (a user now exists).
    pub fn remove_setup_tokens(&self) -> Result<(), StoreError> {
        self.write(|tx| remove_tokens(tx, TokenPurpose::Setup))
    }
}

fn remove_tokens(tx: &WriteTransaction, purpose: TokenPurpose) -> Result<(), StoreError> {
    let mut table = tx.open_table(tables::ONE_TIME_TOKENS)?;
    table.retain(|_, value| {
        codec::decode::<OneTimeToken>("one_time_tokens", TOKEN_VERSION, value)
            .map_or(true, |t| t.purpose != purpose)
    })?;
    Ok(())
}
