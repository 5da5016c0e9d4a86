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
        Ok(self.live_setup_token(token)?.is_some())
    }

    /// The parsed token, if the link still works.
    fn live_setup_token(&self, token: &str) -> Result<Option<Token>, AccountsError> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let stored = self
            .store
            .valid_token(token.hash(), TokenPurpose::Setup, time::now())?;
        Ok(stored.is_some().then_some(token))
    }

    /// Creates the first Global Administrator through a set-up link.
    pub async fn complete_setup(
        &self,
        token: &str,
        form: &NewUserForm,
        client: std::net::IpAddr,
    ) -> Result<User, AccountsError> {
        // Checked before the costly hash; checked again, with "no user yet",
        // inside the transaction that creates the administrator.
        let token_hash = self
            .live_setup_token(token)?
            .ok_or(AccountsError::LinkInvalid)?
            .hash();
        let valid = form.validate()?;
        let hash = self.hasher.hash(valid.password.expose().to_owned()).await?;
        let new = valid.into_new_user(hash, true);
        let user = self
            .store
            .blocking(move |s| {
                s.create_first_administrator(token_hash, new, time::now(), Some(client))
            })
            .await
            .map_err(email_taken_as_field_error)?;
        tracing::info!(
            user = user.id,
            "first administrator created through the set-up link"
        );
        Ok(user)
    }
}
