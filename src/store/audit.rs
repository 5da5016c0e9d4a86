//! The audit log: append-only events, each written in the transaction of the
//! change it records (see `Txn::record`), with a per-user index for the User
//! history tab.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, next_id, tables};
use crate::domain::time::{self, Timestamp};
use crate::domain::{AuditAction, AuditEvent, NewEvent, UserId};

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

/// Which events to read. Every part is optional; all given parts must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Events where this user is the actor or the subject.
    pub user: Option<UserId>,
    pub action: Option<AuditAction>,
    /// At or after this moment.
    pub since: Option<Timestamp>,
    /// Before this moment.
    pub until: Option<Timestamp>,
}

/// Where a page of events starts. Paging by event id keeps pages stable while
/// new events arrive: they get higher ids and never push others along.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor {
    /// The newest events.
    #[default]
    Newest,
    /// The newest events older than this id (the next page).
    Before(u64),
    /// The oldest events newer than this id (the previous page).
    After(u64),
}

/// A page of events, newest first, and whether there are more either side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    pub has_newer: bool,
    pub has_older: bool,
}

impl Store {
    /// One page of the events matching `query`, at most `limit`.
    ///
    /// Reads only what it must: with a user, that user's ids from
    /// `AUDIT_BY_USER`; with dates, the ids between the first event at or
    /// after each bound, found by bisecting the ids (events are appended in
    /// time order, so ids grow with time). Only events inside those bounds are
    /// decoded, newest first (oldest first after an `After` cursor), until the
    /// page is full. An action filter is checked on each decoded event, so a
    /// rare action over a long range reads that whole range.
    pub fn events(
        &self,
        query: &EventQuery,
        cursor: Cursor,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        self.read(|tx| {
            let audit = tx.open_table(tables::AUDIT)?;
            // Candidate ids: [low, high).
            let mut low = 0;
            let mut high = u64::MAX;
            if let Some(since) = query.since {
                low = first_id_at_or_after(&audit, since)?;
            }
            if let Some(until) = query.until {
                high = first_id_at_or_after(&audit, until)?;
            }
            match cursor {
                Cursor::Newest => {}
                Cursor::Before(id) => high = high.min(id),
                Cursor::After(id) => low = low.max(id.saturating_add(1)),
            }
            let ascending = matches!(cursor, Cursor::After(_));
            let mut page = Scan {
                query,
                low,
                high,
                ascending,
                limit,
                found: Vec::new(),
            };
            if low < high {
                match query.user {
                    Some(user) => {
                        let ids = tx.open_multimap_table(tables::AUDIT_BY_USER)?.get(user)?;
                        let ids = ids.map(|id| id.map(|id| id.value()));
                        if ascending {
                            page.run(&audit, ids)?;
                        } else {
                            page.run(&audit, ids.rev())?;
                        }
                    }
                    None => {
                        let ids = audit.range(low..high)?.map(|e| e.map(|(id, _)| id.value()));
                        if ascending {
                            page.run(&audit, ids)?;
                        } else {
                            page.run(&audit, ids.rev())?;
                        }
                    }
                }
            }
            let more = page.found.len() > limit;
            let mut events = page.found;
            events.truncate(limit);
            if ascending {
                events.reverse();
            }
            // A cursor names an event shown on the page it came from, so
            // there is something on that side of it.
            Ok(EventPage {
                events,
                has_newer: if ascending {
                    more
                } else {
                    matches!(cursor, Cursor::Before(_))
                },
                has_older: if ascending { true } else { more },
            })
        })
    }
}

/// One pass over candidate ids in reading order, keeping up to `limit + 1`
/// matches (the extra one says whether there are more).
struct Scan<'q> {
    query: &'q EventQuery,
    low: u64,
    high: u64,
    ascending: bool,
    limit: usize,
    found: Vec<AuditEvent>,
}

impl Scan<'_> {
    fn run<T: ReadableTable<u64, &'static [u8]>>(
        &mut self,
        audit: &T,
        ids: impl Iterator<Item = Result<u64, redb::StorageError>>,
    ) -> Result<(), StoreError> {
        for id in ids {
            let id = id?;
            if id < self.low || id >= self.high {
                // Past the far bound: nothing further can match.
                if (self.ascending && id >= self.high) || (!self.ascending && id < self.low) {
                    break;
                }
                continue;
            }
            let Some(event) = decode_event(audit.get(id)?)? else {
                continue;
            };
            if self.matches(&event) {
                self.found.push(event);
                if self.found.len() > self.limit {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The id bounds come from bisection, which trusts the clock never went
    /// back; each event's own time is checked too.
    fn matches(&self, event: &AuditEvent) -> bool {
        let q = self.query;
        q.action.is_none_or(|a| a == event.action)
            && q.since.is_none_or(|since| event.at >= since)
            && q.until.is_none_or(|until| event.at < until)
    }
}

/// The id of the first event stamped at or after `at` (one past the last id
/// when there is none): O(log n) reads, as ids grow with time.
fn first_id_at_or_after<T: ReadableTable<u64, &'static [u8]>>(
    audit: &T,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let (Some(first), Some(last)) = (audit.first()?, audit.last()?) else {
        return Ok(0);
    };
    let (mut low, mut high) = (first.0.value(), last.0.value() + 1);
    while low < high {
        let mid = low + (high - low) / 2;
        // The first stored event at or after id `mid` (ids may have gaps).
        let Some(entry) = audit.range(mid..)?.next() else {
            high = mid;
            continue;
        };
        let (id, bytes) = entry?;
        let event = count_decode(AuditEvent::from_bytes(bytes.value()))?;
        if event.at >= at {
            high = mid;
        } else {
            low = id.value() + 1;
        }
    }
    Ok(low)
}

fn decode_event(
    found: Option<redb::AccessGuard<'_, &'static [u8]>>,
) -> Result<Option<AuditEvent>, StoreError> {
    found
        .map(|v| count_decode(AuditEvent::from_bytes(v.value())))
        .transpose()
}

#[cfg(test)]
thread_local! {
    /// Events decoded on this thread: lets tests prove a query read little.
    static DECODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_decode<T>(decoded: T) -> T {
    #[cfg(test)]
    DECODED.with(|n| n.set(n.get() + 1));
    decoded
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountSettings, EventParty};

    const DAY: Timestamp = 86_400;

    fn party(id: UserId) -> EventParty {
        EventParty {
            id: Some(id),
            label: format!("user{id}@example.com"),
        }
    }

    /// `count` events, one an hour: user `i % 10` signs in, except every
    /// hundredth event, a settings change by user 1000 + i.
    fn store_with_events(count: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        store
            .write(|tx| {
                for i in 0..count {
                    let at = i as Timestamp * 3600;
                    let event = if i % 100 == 0 {
                        let mut e = NewEvent::new(AuditAction::SettingsChanged);
                        e.actor = Some(party(1000 + i));
                        e
                    } else {
                        let mut e = NewEvent::new(AuditAction::SignInSucceeded);
                        e.actor = Some(party(i % 10));
                        e.subject = Some(party(i % 10));
                        e
                    };
                    record_at(tx, event, at)?;
                }
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn decoded_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
        DECODED.with(|n| n.set(0));
        let out = f();
        (out, DECODED.with(|n| n.get()))
    }

    fn ids(page: &EventPage) -> Vec<u64> {
        page.events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn pages_walk_back_and_forth_without_gaps_or_repeats() {
        let (_dir, store) = store_with_events(95);
        let all = EventQuery::default();
        let first = store.events(&all, Cursor::Newest, 40).unwrap();
        assert_eq!(ids(&first), (56..=95).rev().collect::<Vec<_>>());
        assert!(first.has_older && !first.has_newer);
        // New events arrive: the next page is unaffected.
        store
            .write(|tx| record(tx, NewEvent::new(AuditAction::SignedOut)))
            .unwrap();
        let second = store.events(&all, Cursor::Before(56), 40).unwrap();
        assert_eq!(ids(&second), (16..=55).rev().collect::<Vec<_>>());
        assert!(second.has_older && second.has_newer);
        let third = store.events(&all, Cursor::Before(16), 40).unwrap();
        assert_eq!(ids(&third), (1..=15).rev().collect::<Vec<_>>());
        assert!(!third.has_older && third.has_newer);
        // And forward again from the oldest page.
        let back = store.events(&all, Cursor::After(15), 40).unwrap();
        assert_eq!(ids(&back), ids(&second));
        assert!(back.has_older && back.has_newer);
        let newest = store.events(&all, Cursor::After(55), 40).unwrap();
        assert_eq!(ids(&newest), (56..=96).rev().skip(1).collect::<Vec<_>>());
        assert!(newest.has_newer, "the event that arrived meanwhile");
    }

    #[test]
    fn a_user_filter_reads_only_that_users_events() {
        let (_dir, store) = store_with_events(5_000);
        let query = EventQuery {
            user: Some(1_000 + 4_900),
            ..EventQuery::default()
        };
        let (page, decoded) = decoded_by(|| store.events(&query, Cursor::Newest, 50).unwrap());
        assert_eq!(ids(&page), [4_901]);
        assert_eq!(decoded, 1);
        let query = EventQuery {
            user: Some(3),
            ..EventQuery::default()
        };
        let (page, decoded) = decoded_by(|| store.events(&query, Cursor::Newest, 50).unwrap());
        assert_eq!(page.events.len(), 50);
        assert!(
            page.events
                .iter()
                .all(|e| e.actor.as_ref().unwrap().id == Some(3))
        );
        assert!(decoded <= 51, "{decoded}");
    }

    #[test]
    fn a_date_range_bisects_the_ids_instead_of_reading_everything() {
        let (_dir, store) = store_with_events(20_000);
        // Day 400 holds the events of hours 9600..9624, ids 9601..=9624.
        let query = EventQuery {
            since: Some(400 * DAY),
            until: Some(401 * DAY),
            ..EventQuery::default()
        };
        let (page, decoded) = decoded_by(|| store.events(&query, Cursor::Newest, 50).unwrap());
        assert_eq!(ids(&page), (9_601..=9_624).rev().collect::<Vec<_>>());
        assert!(!page.has_older && !page.has_newer);
        assert!(decoded < 24 + 2 * 20, "{decoded}");
        // Bounds outside the log.
        let before_all = EventQuery {
            until: Some(0),
            ..EventQuery::default()
        };
        assert!(
            store
                .events(&before_all, Cursor::Newest, 50)
                .unwrap()
                .events
                .is_empty()
        );
        let after_all = EventQuery {
            since: Some(20_000 * 3600),
            ..EventQuery::default()
        };
        assert!(
            store
                .events(&after_all, Cursor::Newest, 50)
                .unwrap()
                .events
                .is_empty()
        );
        let open_ended = EventQuery {
            since: Some(19_990 * 3600),
            ..EventQuery::default()
        };
        assert_eq!(
            store
                .events(&open_ended, Cursor::Newest, 50)
                .unwrap()
                .events
                .len(),
            10
        );
    }

    #[test]
    fn filters_combine() {
        let (_dir, store) = store_with_events(2_000);
        let settings = EventQuery {
            action: Some(AuditAction::SettingsChanged),
            since: Some(500 * 3600),
            until: Some(1_500 * 3600),
            ..EventQuery::default()
        };
        let page = store.events(&settings, Cursor::Newest, 50).unwrap();
        assert_eq!(
            ids(&page),
            [1_401, 1_301, 1_201, 1_101, 1_001, 901, 801, 701, 601, 501]
        );
        let user_in_range = EventQuery {
            user: Some(7),
            since: Some(100 * 3600),
            until: Some(120 * 3600),
            ..EventQuery::default()
        };
        let page = store.events(&user_in_range, Cursor::Newest, 50).unwrap();
        assert_eq!(ids(&page), [118, 108]);
        let older = store
            .events(&user_in_range, Cursor::Before(108), 50)
            .unwrap();
        assert!(older.events.is_empty() && older.has_newer && !older.has_older);
    }
}
