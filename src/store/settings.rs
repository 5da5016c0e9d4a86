//! Account settings, one record.

use redb::{ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, tables};
use crate::domain::AccountSettings;

impl Record for AccountSettings {
    const TABLE: &'static str = "settings";
    const VERSION: u8 = 1;
}
const ACCOUNT: &str = "account";

impl Store {
    pub fn account_settings(&self) -> Result<AccountSettings, StoreError> {
        self.read(|tx| {
            let found =
                AccountSettings::from_found(tx.open_table(tables::SETTINGS)?.get(ACCOUNT)?)?;
            Ok(found.unwrap_or_default())
        })
    }

    /// Changes the settings in place, in one write transaction, so two
    /// administrators saving different switches at once both take effect.
    pub fn modify_account_settings(
        &self,
        change: impl FnOnce(&mut AccountSettings),
    ) -> Result<AccountSettings, StoreError> {
        self.write(|tx| modify(tx, change))
    }
}

pub(super) fn put_account_settings(
    tx: &WriteTransaction,
    settings: &AccountSettings,
) -> Result<(), StoreError> {
    tx.open_table(tables::SETTINGS)?
        .insert(ACCOUNT, settings.to_bytes().as_slice())?;
    Ok(())
}

pub(super) fn modify(
    tx: &WriteTransaction,
    change: impl FnOnce(&mut AccountSettings),
) -> Result<AccountSettings, StoreError> {
    let mut settings = AccountSettings::from_found(tx.open_table(tables::SETTINGS)?.get(ACCOUNT)?)?
        .unwrap_or_default();
    change(&mut settings);
    put_account_settings(tx, &settings)?;
    Ok(settings)
}
