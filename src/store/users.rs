//! Users and the case-insensitive email index that keeps addresses unique.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::codec::Record;
use super::{
    Store, StoreError, TokenPurpose, next_id, one_time_tokens, sessions, tables, two_factor,
    user_index,
};
use crate::domain::time::Timestamp;
use crate::domain::{
    Email, PersonName, Phone, RoleId, SignInMethod, User, UserId, UserPage, UserQuery, UserStatus,
};

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

    /// One page of the Users list: searched, sorted and cut through the
    /// index (see `user_index`), reading only the users shown.
    pub fn user_page(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        self.read(|tx| user_index::page(tx, query))
    }

    /// The users holding Global Administrator, Active or not.
    pub fn global_administrators(&self) -> Result<Vec<User>, StoreError> {
        self.read(|tx| {
            let keys = tx.open_table(tables::USER_SORT_KEYS)?;
            let mut holders = Vec::new();
            for id in user_index::global_administrators(&keys)? {
                holders.extend(read_user(tx, id)?);
            }
            Ok(holders)
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

    /// Changes a user in place: reads the record, lets `change` edit it and
    /// writes it back, all in one write transaction, so a concurrent change
    /// to another field (a sign-in's time, a role, a password) is never
    /// undone by a stale copy. `change` may refuse with its own error, which
    /// leaves the record untouched. Moves the email index entry if the
    /// address changed. Returns the user as stored.
    pub fn modify_user<E: From<StoreError>>(
        &self,
        id: UserId,
        change: impl FnOnce(&mut User) -> Result<(), E>,
    ) -> Result<User, E> {
        self.transact(|t| t.modify_user(id, change))
    }
}

pub(super) fn read_user(tx: &ReadTransaction, id: UserId) -> Result<Option<User>, StoreError> {
    User::from_found(tx.open_table(tables::USERS)?.get(id)?)
}

/// A user read inside a write transaction, to be changed and written back.
pub(super) fn read_user_for_update(
    tx: &WriteTransaction,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    User::from_found(tx.open_table(tables::USERS)?.get(id)?)
}

pub(super) fn user_by_email_for_update(
    tx: &WriteTransaction,
    email: &str,
) -> Result<Option<User>, StoreError> {
    let key = crate::domain::email::normalize(email);
    let id = tx
        .open_table(tables::USERS_BY_EMAIL)?
        .get(key.as_str())?
        .map(|v| v.value());
    match id {
        Some(id) => read_user_for_update(tx, id),
        None => Ok(None),
    }
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
        deletion_requested_at: None,
    };
    tx.open_table(tables::USERS)?
        .insert(user.id, user.to_bytes().as_slice())?;
    tx.open_table(tables::USERS_BY_EMAIL)?
        .insert(key.as_str(), user.id)?;
    user_index::reindex(tx, user.id, Some(&user))?;
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
    // The email is unchanged, so its index needs no attention; the list's
    // Last sign-in order does.
    table.insert(id, user.to_bytes().as_slice())?;
    drop(table);
    user_index::reindex(tx, id, Some(&user))
}

pub(super) fn put_user(tx: &WriteTransaction, user: &User) -> Result<(), StoreError> {
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
    drop((users, index));
    user_index::reindex(tx, user.id, Some(user))
}

/// Deletes a user with everything that lets them in or finds them: the
/// record, the email and list indexes, their sessions, their 2FA record and
/// their one-time links (set-up, reset, email change, invitation). Their
/// audit events stay (they name the user by email). Returns the user as
/// they were, `None` if there was none.
pub(super) fn remove_user(tx: &WriteTransaction, id: UserId) -> Result<Option<User>, StoreError> {
    let Some(user) = User::from_found(tx.open_table(tables::USERS)?.remove(id)?)? else {
        return Ok(None);
    };
    tx.open_table(tables::USERS_BY_EMAIL)?
        .remove(user.email.key().as_str())?;
    user_index::reindex(tx, id, None)?;
    sessions::remove_sessions_of_user(tx, id)?;
    two_factor::remove(tx, id)?;
    one_time_tokens::remove_tokens_of_user(tx, id)?;
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountSettings;

    fn store_with_user() -> (tempfile::TempDir, Store, UserId) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let user = store
            .insert_user(NewUser {
                first_name: PersonName::parse("Emma").unwrap(),
                last_name: PersonName::parse("Wright").unwrap(),
                email: Email::parse("emma@example.com").unwrap(),
                phone: None,
                status: UserStatus::Active,
                password_hash: None,
                roles: Vec::new(),
                created_at: 1,
            })
            .unwrap();
        (dir, store, user.id)
    }

    #[test]
    fn a_write_waiting_on_a_modification_applies_on_top_of_it() {
        let (_dir, store, id) = store_with_user();
        let other = store.clone();
        let mut waiting = None;
        store
            .modify_user::<StoreError>(id, |user| {
                // Another writer starts mid-change; it must wait for this
                // transaction and then see its result, not overwrite it.
                waiting = Some(std::thread::spawn(move || {
                    other.write(|tx| record_sign_in(tx, id, 42))
                }));
                std::thread::sleep(std::time::Duration::from_millis(20));
                user.phone = Some(Phone::parse("+44 20 7946 0958").unwrap());
                Ok(())
            })
            .unwrap();
        waiting.unwrap().join().unwrap().unwrap();
        let user = store.user(id).unwrap().unwrap();
        assert_eq!(user.last_sign_in_at, Some(42));
        assert!(user.phone.is_some());
    }

    #[test]
    fn a_refused_change_writes_nothing() {
        let (_dir, store, id) = store_with_user();
        let writes = store.write_count();
        let result = store.modify_user(id, |user| {
            user.first_name = PersonName::parse("Changed").unwrap();
            Err(StoreError::EmailTaken)
        });
        assert!(matches!(result, Err(StoreError::EmailTaken)));
        assert_eq!(store.user(id).unwrap().unwrap().first_name.as_str(), "Emma");
        assert_eq!(store.write_count(), writes);
        assert!(matches!(
            store.modify_user::<StoreError>(999, |_| Ok(())),
            Err(StoreError::NotFound("user"))
        ));
    }
}
