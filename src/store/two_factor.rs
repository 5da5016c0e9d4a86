//! Users' two-factor records, one per user with 2FA on.

use redb::{ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, tables};
use crate::domain::{TwoFactor, UserId};

impl Record for TwoFactor {
    const TABLE: &'static str = "two_factor";
    const VERSION: u8 = 1;
}

impl Store {
    /// The user's 2FA record, if 2FA is on.
    pub fn two_factor(&self, user: UserId) -> Result<Option<TwoFactor>, StoreError> {
        self.read(|tx| TwoFactor::from_found(tx.open_table(tables::TWO_FACTOR)?.get(user)?))
    }

    /// Rewrites every record with `reseal` (which returns `None` to leave a
    /// record as it is); returns how many changed. Used after start-up to
    /// encrypt secrets stored before a key was configured, while requests
    /// are served: the records to change are found by reading, then each is
    /// read again and changed inside one write transaction, so a 2FA change
    /// made meanwhile (a recovery code spent) is never overwritten.
    pub fn reseal_two_factor_secrets(
        &self,
        reseal: impl Fn(UserId, &TwoFactor) -> Option<TwoFactor>,
    ) -> Result<usize, StoreError> {
        let candidates: Vec<UserId> = self.read(|tx| {
            let table = tx.open_table(tables::TWO_FACTOR)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (user, bytes) = entry?;
                let record = TwoFactor::from_bytes(bytes.value())?;
                if reseal(user.value(), &record).is_some() {
                    out.push(user.value());
                }
            }
            Ok(out)
        })?;
        if candidates.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut changed = 0;
            for user in candidates {
                let Some(record) = read_for_update(tx, user)? else {
                    continue;
                };
                if let Some(new) = reseal(user, &record) {
                    put(tx, user, &new)?;
                    changed += 1;
                }
            }
            Ok(changed)
        })
    }

    /// How many users' secrets are stored encrypted and how many plain.
    pub fn two_factor_secret_counts(&self) -> Result<(usize, usize), StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::TWO_FACTOR)?;
            let (mut encrypted, mut plain) = (0, 0);
            for entry in table.iter()? {
                if TwoFactor::from_bytes(entry?.1.value())?
                    .secret
                    .is_encrypted()
                {
                    encrypted += 1;
                } else {
                    plain += 1;
                }
            }
            Ok((encrypted, plain))
        })
    }
}

pub(super) fn read_for_update(
    tx: &WriteTransaction,
    user: UserId,
) -> Result<Option<TwoFactor>, StoreError> {
    TwoFactor::from_found(tx.open_table(tables::TWO_FACTOR)?.get(user)?)
}

pub(super) fn put(
    tx: &WriteTransaction,
    user: UserId,
    record: &TwoFactor,
) -> Result<(), StoreError> {
    tx.open_table(tables::TWO_FACTOR)?
        .insert(user, record.to_bytes().as_slice())?;
    Ok(())
}

/// Deletes the record; returns whether there was one.
pub(super) fn remove(tx: &WriteTransaction, user: UserId) -> Result<bool, StoreError> {
    Ok(tx.open_table(tables::TWO_FACTOR)?.remove(user)?.is_some())
}
