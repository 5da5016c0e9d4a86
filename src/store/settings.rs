//! Account settings, one record.

use redb::WriteTransaction;

use super::{Store, StoreError, codec, tables};
use crate::domain::AccountSettings;

const SETTINGS_VERSION: u8 = 1;
const ACCOUNT: &str = "account";

impl Store {
    pub fn account_settings(&self) -> Result<AccountSettings, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::SETTINGS)?;
            match table.get(ACCOUNT)? {
                Some(v) => codec::decode("settings", SETTINGS_VERSION, v.value()),
                None => Ok(AccountSettings::default()),
            }
        })
    }

    pub fn set_account_settings(&self, settings: AccountSettings) -> Result<(), StoreError> {
        self.write(|tx| put_account_settings(tx, &settings))
    }
}

pub(super) fn put_account_settings(
    tx: &WriteTransaction,
    settings: &AccountSettings,
) -> Result<(), StoreError> {
    tx.open_table(tables::SETTINGS)?.insert(
        ACCOUNT,
        codec::encode(SETTINGS_VERSION, settings).as_slice(),
    )?;
    Ok(())
}
