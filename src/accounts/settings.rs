//! Account settings, changed by holders of `settings.manage`; they apply to
//! the next request, as every request reads them.

use super::{Accounts, AccountsError, SignedIn};
use crate::domain::{AccountSettings, AuditAction, NewEvent, Permission};

/// The Settings form as submitted: a checkbox is present only when ticked.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub self_service_profile_updates: Option<String>,
}

impl Accounts {
    pub fn account_settings(&self, who: &SignedIn) -> Result<AccountSettings, AccountsError> {
        require(who, Permission::SettingsManage)?;
        Ok(self.store.account_settings()?)
    }

    /// Saves the settings. *Require 2FA for local users* keeps its stored
    /// value: it can't be enforced until 2FA set-up exists.
    pub async fn update_account_settings(
        &self,
        who: &SignedIn,
        form: &SettingsForm,
    ) -> Result<AccountSettings, AccountsError> {
        require(who, Permission::SettingsManage)?;
        let self_service = form.self_service_profile_updates.is_some();
        let event = NewEvent::new(AuditAction::SettingsChanged)
            .by(&who.user, Some(who.client))
            .detail(format!(
                "self-service profile updates {}",
                if self_service { "on" } else { "off" }
            ));
        let settings = self
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let before = t.modify_account_settings(|_| {})?;
                    let after = t.modify_account_settings(|settings| {
                        settings.self_service_profile_updates = self_service;
                    })?;
                    if before != after {
                        t.record(event)?;
                    }
                    Ok::<_, crate::store::StoreError>(after)
                })
            })
            .await?;
        tracing::info!(user = who.user.id, ?settings, "account settings changed");
        Ok(settings)
    }
}

/// The server-side check behind every administration action.
pub fn require(who: &SignedIn, permission: Permission) -> Result<(), AccountsError> {
    if who.permissions.contains(permission) {
        Ok(())
    } else {
        Err(AccountsError::Forbidden(
            "this needs a permission you don't hold",
        ))
    }
}
