//! Account settings, changed by holders of `settings.manage`; they apply to
//! the next request, as every request reads them.

use super::{Accounts, AccountsError, SignedIn};
use crate::domain::{AccountSettings, AuditAction, NewEvent, Permission};

/// The Settings form as submitted: a checkbox is present only when ticked.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub self_service_profile_updates: Option<String>,
    #[serde(default)]
    pub require_2fa_for_local_users: Option<String>,
}

impl Accounts {
    pub fn account_settings(&self, who: &SignedIn) -> Result<AccountSettings, AccountsError> {
        require(who, Permission::SettingsManage)?;
        Ok(self.store.account_settings()?)
    }

    /// Saves the settings. *Require 2FA for local users* applies at each
    /// user's next sign-in: sessions already open are not cut short.
    pub async fn update_account_settings(
        &self,
        who: &SignedIn,
        form: &SettingsForm,
    ) -> Result<AccountSettings, AccountsError> {
        require(who, Permission::SettingsManage)?;
        let self_service = form.self_service_profile_updates.is_some();
        let require_2fa = form.require_2fa_for_local_users.is_some();
        let actor = who.user.clone();
        let client = who.client;
        let settings = self
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let before = t.modify_account_settings(|_| {})?;
                    let after = t.modify_account_settings(|settings| {
                        settings.self_service_profile_updates = self_service;
                        settings.require_2fa_for_local_users = require_2fa;
                    })?;
                    let on_off = |on: bool| if on { "on" } else { "off" };
                    let mut changes = Vec::new();
                    if before.self_service_profile_updates != after.self_service_profile_updates {
                        changes.push(format!(
                            "self-service profile updates {}",
                            on_off(self_service)
                        ));
                    }
                    if before.require_2fa_for_local_users != after.require_2fa_for_local_users {
                        changes.push(format!(
                            "2FA required for local users {}",
                            on_off(require_2fa)
                        ));
                    }
                    if !changes.is_empty() {
                        t.record(
                            NewEvent::new(AuditAction::SettingsChanged)
                                .by(&actor, Some(client))
                                .detail(changes.join(", ")),
                        )?;
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
