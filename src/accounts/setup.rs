//! First start: a one-time link that creates the first Global Administrator.

use super::users::{NewUserForm, email_taken_as_field_error};
use super::{Accounts, AccountsError};
use crate::domain::{Token, User, time};
use crate::store::TokenPurpose;

/// How long a set-up link works; a restart while there is no user makes a new one.
const SETUP_LINK_LIFETIME: i64 = 24 * 3600;

impl Accounts {
    /// With no users, makes a new set-up link (replacing any older one) and
    /// returns its URL; with users, returns `None`.
    pub async fn prepare_setup_link(&self) -> Result<Option<String>, AccountsError> {
        if self.has_users()? {
            return Ok(None);
        }
        let token = Token::generate();
        let (hash, expires) = (token.hash(), time::now() + SETUP_LINK_LIFETIME);
        self.store
            .blocking(move |s| s.replace_setup_token(hash, expires))
            .await?;
        Ok(Some(format!(
            "{}/setup?token={}",
            self.config.server.public_url,
            token.as_text()
        )))
    }

    pub fn setup_link_is_valid(&self, token: &str) -> Result<bool, AccountsError> {
        let Some(token) = Token::parse(token) else {
            return Ok(false);
        };
        let valid = self
            .store
            .valid_token(token.hash(), TokenPurpose::Setup, time::now())?
            .is_some();
        Ok(valid && !self.has_users()?)
    }

    /// Creates the first Global Administrator through a set-up link.
    pub async fn complete_setup(
        &self,
        token: &str,
        form: &NewUserForm,
    ) -> Result<User, AccountsError> {
        if !self.setup_link_is_valid(token)? {
            return Err(AccountsError::LinkInvalid);
        }
        let valid = form.validate()?;
        let hash = self.hasher.hash(valid.password.expose().to_owned()).await?;
        let token_hash = Token::parse(token)
            .ok_or(AccountsError::LinkInvalid)?
            .hash();
        let new = valid.into_new_user(hash, true);
        let user = self
            .store
            .blocking(move |s| s.create_first_administrator(token_hash, new, time::now()))
            .await
            .map_err(email_taken_as_field_error)?;
        tracing::info!(
            user = user.id,
            "first administrator created through the set-up link"
        );
        Ok(user)
    }
}
