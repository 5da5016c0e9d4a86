//! Creating users outside the invitation flow: the first administrator
//! (set-up link) and `latchkey user add`.

use super::{Accounts, AccountsError, FieldErrors, PasswordHasher, hashing};
use crate::domain::role::GLOBAL_ADMINISTRATOR;
use crate::domain::{
    AuditAction, Email, NewEvent, NewPassword, PersonName, User, UserStatus, time,
};
use crate::store::{NewUser, Store, StoreError};

/// Name, email and a chosen password, as a form or the command line gives them.
/// Not `Debug`: it holds a password.
#[derive(Default, Clone, serde::Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// The form, checked: everything a new active user needs except the hash.
pub struct ValidNewUser {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub password: NewPassword,
}

impl NewUserForm {
    pub fn validate(&self) -> Result<ValidNewUser, AccountsError> {
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&self.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&self.last_name));
        let email = errors.check("email", Email::parse(&self.email));
        let personal = [
            self.email.as_str(),
            self.first_name.as_str(),
            self.last_name.as_str(),
        ];
        let password = errors.check("password", NewPassword::parse(&self.password, &personal));
        if self.password != self.password_confirm {
            errors.add("password_confirm", "The passwords don't match.");
        }
        match (first_name, last_name, email, password) {
            (Some(first_name), Some(last_name), Some(email), Some(password))
                if errors.is_empty() =>
            {
                Ok(ValidNewUser {
                    first_name,
                    last_name,
                    email,
                    password,
                })
            }
            _ => Err(AccountsError::Invalid(errors)),
        }
    }
}

impl ValidNewUser {
    pub fn into_new_user(self, password_hash: String, admin: bool) -> NewUser {
        NewUser {
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: None,
            status: UserStatus::Active,
            password_hash: Some(password_hash),
            roles: if admin {
                vec![GLOBAL_ADMINISTRATOR]
            } else {
                Vec::new()
            },
            created_at: time::now(),
        }
    }
}

/// Maps a taken address to a message beside the email field.
pub fn email_taken_as_field_error(e: StoreError) -> AccountsError {
    match e {
        StoreError::EmailTaken => {
            let mut errors = FieldErrors::default();
            errors.add("email", "A user with that email address already exists.");
            AccountsError::Invalid(errors)
        }
        other => other.into(),
    }
}

/// Creates an active local user (`latchkey user add`, with or without a
/// running server): hashes on `hasher`, writes on the blocking pool.
pub async fn add_user(
    store: &Store,
    hasher: &PasswordHasher,
    form: &NewUserForm,
    admin: bool,
) -> Result<User, AccountsError> {
    let valid = form.validate()?;
    let hash = hasher.hash(valid.password.expose().to_owned()).await?;
    let new = valid.into_new_user(hash, admin);
    store
        .blocking(move |s| insert_from_command_line(s, new))
        .await
        .map_err(email_taken_as_field_error)
}

/// Inserts a user made on the command line, with its audit event.
fn insert_from_command_line(store: &Store, new: NewUser) -> Result<User, StoreError> {
    store.transact(|t| {
        let user = t.insert_user(new)?;
        t.record(
            NewEvent::new(AuditAction::UserCreated)
                .on(&user)
                .detail("from the command line"),
        )?;
        Ok(user)
    })
}

/// Creates an active local user on the current thread, for callers already
/// off the runtime (test set-up).
pub fn add_user_now(store: &Store, form: &NewUserForm, admin: bool) -> Result<User, AccountsError> {
    let valid = form.validate()?;
    let hash = hashing::hash_now(valid.password.expose())?;
    insert_from_command_line(store, valid.into_new_user(hash, admin))
        .map_err(email_taken_as_field_error)
}

impl Accounts {
    pub fn has_users(&self) -> Result<bool, AccountsError> {
        Ok(self.store.user_count()? > 0)
    }
}
