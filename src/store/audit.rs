//! The audit log: append-only events, each written in the transaction of the
//! change it records (see `Txn::record`), with a per-user index for the User
//! history tab.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, next_id, tables};
use crate::domain::time::{self, Timestamp};
use crate::domain::{AuditEvent, NewEvent, UserId};

impl Record for AuditEvent {
    const TABLE: &'static str = "audit";
    const VERSION: u8 = 1;
}

impl Store {
    /// The newest events of all, newest first (at most `limit`).
    pub fn recent_events(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(tables::AUDIT)?;
            table
                .iter()?
                .rev()
                .take(limit)
                .map(|entry| AuditEvent::from_bytes(entry?.1.value()))
                .collect()
        })
    }

    /// The events where `user` is actor or subject, newest first, older than
    /// event `before` when given (for paging), at most `limit`.
    pub fn events_of_user(
        &self,
        user: UserId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(|tx| {
            let ids: Vec<u64> = tx
                .open_multimap_table(tables::AUDIT_BY_USER)?
                .get(user)?
                .rev()
                .map(|id| id.map(|id| id.value()))
                .filter(|id| !matches!((id, before), (Ok(id), Some(b)) if *id >= b))
                .take(limit)
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .filter_map(|id| read_event(tx, id).transpose())
                .collect()
        })
    }
}

fn read_event(tx: &ReadTransaction, id: u64) -> Result<Option<AuditEvent>, StoreError> {
    AuditEvent::from_found(tx.open_table(tables::AUDIT)?.get(id)?)
}

/// Appends `event`, stamped now; returns its id.
pub(super) fn record(tx: &WriteTransaction, event: NewEvent) -> Result<u64, StoreError> {
    record_at(tx, event, time::now())
}

pub(super) fn record_at(
    tx: &WriteTransaction,
    event: NewEvent,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let id = next_id(tx, "next_event_id")?;
    let parties: Vec<UserId> = [&event.actor, &event.subject]
        .into_iter()
        .filter_map(|p| p.as_ref().and_then(|p| p.id))
        .collect();
    let stored = AuditEvent {
        id,
        at,
        action: event.action,
        actor: event.actor,
        subject: event.subject,
        client: event.client.map(|c| c.to_string()),
        detail: event.detail,
    };
    tx.open_table(tables::AUDIT)?
        .insert(id, stored.to_bytes().as_slice())?;
    let mut by_user = tx.open_multimap_table(tables::AUDIT_BY_USER)?;
    for user in parties {
        by_user.insert(user, id)?;
    }
    Ok(id)
}
