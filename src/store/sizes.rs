//! How much the store holds, cheaply: table lengths (kept by redb in each
//! table's header) and the oldest queued message (the first row of the
//! outbox's due table, since message ids only grow). What `/metrics` shows
//! at every scrape, so it must never scan a table.

use redb::{ReadableTable, ReadableTableMetadata};

use super::codec::Record;
use super::{OutboxMessage, Store, StoreError, tables};
use crate::domain::time::Timestamp;

/// Row counts, and when the oldest message still waiting was queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreSizes {
    pub users: u64,
    pub sessions: u64,
    pub outbox_queued: u64,
    pub oldest_queued_at: Option<Timestamp>,
    pub sign_in_throttle: u64,
    pub request_throttle: u64,
}

impl Store {
    pub fn sizes(&self) -> Result<StoreSizes, StoreError> {
        self.read(|tx| {
            let due = tx.open_table(tables::OUTBOX_DUE)?;
            let oldest_queued_at = match due.first()? {
                Some((id, _)) => {
                    let outbox = tx.open_table(tables::OUTBOX)?;
                    OutboxMessage::from_found(outbox.get(id.value())?)?.map(|m| m.created_at)
                }
                None => None,
            };
            Ok(StoreSizes {
                users: tx.open_table(tables::USERS)?.len()?,
                sessions: tx.open_table(tables::SESSIONS)?.len()?,
                outbox_queued: due.len()?,
                oldest_queued_at,
                sign_in_throttle: tx.open_table(tables::SIGN_IN_THROTTLE)?.len()?,
                request_throttle: tx.open_table(tables::REQUEST_THROTTLE)?.len()?,
            })
        })
    }
}
