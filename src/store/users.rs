//! Users and the case-insensitive email index that keeps addresses unique.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, TokenPurpose, next_id, one_time_tokens, tables};
use crate::domain::time::Timestamp;
use crate::domain::{Email, PersonName, Phone, RoleId, SignInMethod, User, UserId, UserStatus};

impl Record for User {
    const TABLE: &'static str = "users";
    /// 2 added `sign_in_method`.
    const VERSION: u8 = 2;
}

/// A user about to be created; the store assigns the id.
pub struct NewUser {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub roles: Vec<RoleId>,
    pub created_at: Timestamp,
}

impl Store {
    pub fn user_count(&self) -> Result<u64, StoreError> {
        self.read(|tx| Ok(tx.open_table(tables::USERS)?.len()?))
    }

    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(|tx| read_user(tx, id))
    }

    /// Looks a user up by email, without regard to case.
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let key = crate::domain::email::normalize(email);
        self.read(|tx| {
            let index = tx.open_table(tables::USERS_BY_EMAIL)?;
            match index.get(key.as_str())? {
                Some(id) => read_user(tx, id.value()),
                None => Ok(None),
            }
        })
    }

    /// Every user, by id.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::USERS)?;
            table
                .iter()?
                .map(|entry| User::from_bytes(entry?.1.value()))
                .collect()
        })
    }

    pub fn insert_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.write(|tx| insert_user(tx, new))
    }

    /// Replaces a user's record, moving the email index entry if the address changed.
    pub fn update_user(&self, user: &User) -> Result<(), StoreError> {
        self.write(|tx| put_user(tx, user))
    }
}

pub(super) fn read_user(tx: &ReadTransaction, id: UserId) -> Result<Option<User>, StoreError> {
    User::from_found(tx.open_table(tables::USERS)?.get(id)?)
}

pub(super) fn insert_user(tx: &WriteTransaction, new: NewUser) -> Result<User, StoreError> {
    let key = new.email.key();
    if tx
        .open_table(tables::USERS_BY_EMAIL)?
        .get(key.as_str())?
        .is_some()
    {
        return Err(StoreError::EmailTaken);
    }
    let user = User {
        id: next_id(tx, "next_user_id")?,
        first_name: new.first_name,
        last_name: new.last_name,
        email: new.email,
        phone: new.phone,
        status: new.status,
        sign_in_method: SignInMethod::Local,
        password_hash: new.password_hash,
        roles: new.roles,
        created_at: new.created_at,
        last_sign_in_at: None,
    };
    tx.open_table(tables::USERS)?
        .insert(user.id, user.to_bytes().as_slice())?;
    tx.open_table(tables::USERS_BY_EMAIL)?
        .insert(key.as_str(), user.id)?;
    // A user exists now, so a pending first-start link must stop working.
    one_time_tokens::remove_tokens(tx, TokenPurpose::Setup)?;
    Ok(user)
}

pub(super) fn record_sign_in(
    tx: &WriteTransaction,
    id: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(tables::USERS)?;
    let Some(mut user) = User::from_found(table.get(id)?)? else {
        return Ok(());
    };
    user.last_sign_in_at = Some(at);
    // The email is unchanged, so the index needs no attention.
    table.insert(id, user.to_bytes().as_slice())?;
    Ok(())
}

fn put_user(tx: &WriteTransaction, user: &User) -> Result<(), StoreError> {
    let new_key = user.email.key();
    let mut users = tx.open_table(tables::USERS)?;
    let old = User::from_found(users.get(user.id)?)?;
    let mut index = tx.open_table(tables::USERS_BY_EMAIL)?;
    if let Some(holder) = index.get(new_key.as_str())?.map(|v| v.value())
        && holder != user.id
    {
        return Err(StoreError::EmailTaken);
    }
    if let Some(old) = old
        && old.email.key() != new_key
    {
        index.remove(old.email.key().as_str())?;
    }
    index.insert(new_key.as_str(), user.id)?;
    users.insert(user.id, user.to_bytes().as_slice())?;
    Ok(())
}
