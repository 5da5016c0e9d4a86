//! Use cases: what a person can do, with the rules that govern it.
//!
//! Functions here know nothing of HTTP. They validate input into domain
//! types, check permissions and invariants, and call the store (writes on the
//! blocking pool). The web layer turns their results into pages.

pub mod audit;
pub mod deletion;
pub mod email_change;
pub mod hashing;
pub mod invitations;
pub mod outgoing_mail;
pub mod password_reset;
pub mod profile;
pub mod reauthentication;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod two_factor;
pub mod user_admin;
pub mod users;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use hashing::PasswordHasher;
pub use sessions::{SessionManager, SignedIn};

use crate::config::Config;
use crate::mail::Mailer;
use crate::store::{Store, StoreError};

/// Everything the use cases need, shared by every request.
///
/// One `Arc` around the whole: axum hands every layer and handler of a
/// request its own clone of the state, and cloning the parts one by one
/// cost about fifteen atomic increments (and as many decrements) each time,
/// on counters every core touches: 14 % of the server's time on `/profile`.
#[derive(Clone)]
pub struct Accounts(Arc<Services>);

/// The parts of [`Accounts`].
pub struct Services {
    pub store: Store,
    pub hasher: PasswordHasher,
    pub sessions: SessionManager,
    pub mailer: Mailer,
    pub config: Arc<Config>,
}

impl Accounts {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for Accounts {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Messages for form fields, by field name, in the order the form shows them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the parsed value, or records the message and yields `None`.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(field, e.to_string())).ok()
    }

    pub fn into_result(self) -> Result<(), AccountsError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AccountsError::Invalid(self))
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("the form has errors")]
    Invalid(FieldErrors),
    #[error("incorrect email or password")]
    BadCredentials,
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("the link is not valid any more")]
    LinkInvalid,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("that email address is used by another account")]
    EmailTaken,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("that code is not right")]
    WrongCode,
    #[error("that code has been used already")]
    CodeUsed,
    #[error("confirm your password or a code first")]
    ReauthenticationRequired,
    #[error("the 2FA set-up in this session has ended")]
    SetUpExpired,
    /// Allowed, but a rule or the state of things stands in the way (2FA
    /// already on, deleting yourself, leaving no Global Administrator); the
    /// message says which, to the person.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("2FA secret: {0}")]
    Secret(#[from] crate::domain::sealed::OpenError),
}

impl From<StoreError> for AccountsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LinkInvalid => AccountsError::LinkInvalid,
            StoreError::NotFound(what) => AccountsError::NotFound(what),
            StoreError::MailQuota { retry_after } => AccountsError::Throttled { retry_after },
            other => AccountsError::Store(other),
        }
    }
}
