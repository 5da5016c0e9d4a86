//! Sessions, keyed by the SHA-256 of their token, with a per-user index so
//! that all of a user's sessions can be ended together.

use std::time::Duration;

use redb::{ReadableTable, WriteTransaction};

use super::codec::Record;
use super::{Store, StoreError, roles, tables, users};
use crate::domain::time::Timestamp;
use crate::domain::{PermissionSet, Session, TokenHash, User, UserId};

impl Record for Session {
    const TABLE: &'static str = "sessions";
    const VERSION: u8 = 1;
}

impl Store {
    pub fn insert_session(&self, hash: TokenHash, session: &Session) -> Result<(), StoreError> {
        self.write(|tx| put_session(tx, hash, session))
    }

    /// Every session of `user` that has not timed out, with its key.
    pub fn sessions_of_user(
        &self,
        user: UserId,
        now: Timestamp,
        idle: Duration,
        absolute: Duration,
    ) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        self.read(|tx| {
            let sessions = tx.open_table(tables::SESSIONS)?;
            let mut out = Vec::new();
            for hash in tx
                .open_multimap_table(tables::SESSIONS_BY_USER)?
                .get(user)?
            {
                let hash = hash?;
                let Ok(key) = <[u8; 32]>::try_from(hash.value()) else {
                    continue;
                };
                let Some(session) = Session::from_found(sessions.get(key.as_slice())?)? else {
                    continue;
                };
                if !session.is_expired(now, idle, absolute) {
                    out.push((TokenHash(key), session));
                }
            }
            Ok(out)
        })
    }

    /// The session, its user and their permissions, read in one snapshot.
    pub fn session_context(
        &self,
        hash: TokenHash,
    ) -> Result<Option<(Session, User, PermissionSet)>, StoreError> {
        self.read(|tx| {
            let sessions = tx.open_table(tables::SESSIONS)?;
            let Some(session) = Session::from_found(sessions.get(hash.0.as_slice())?)? else {
                return Ok(None);
            };
            let Some(user) = users::read_user(tx, session.user_id)? else {
                return Ok(None);
            };
            let permissions = roles::permissions_of(tx, &user)?;
            Ok(Some((session, user, permissions)))
        })
    }

    pub fn delete_session(&self, hash: TokenHash) -> Result<(), StoreError> {
        self.write(|tx| remove_session(tx, hash))
    }

    /// Ends every session of a user; returns how many there were.
    pub fn delete_sessions_of_user(&self, user: UserId) -> Result<usize, StoreError> {
        self.write(|tx| remove_sessions_of_user(tx, user))
    }

    /// Records activity on several sessions in one commit.
    pub fn touch_sessions(&self, hashes: &[TokenHash], at: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut sessions = tx.open_table(tables::SESSIONS)?;
            for hash in hashes {
                let Some(mut session) = Session::from_found(sessions.get(hash.0.as_slice())?)?
                else {
                    continue;
                };
                session.last_seen_at = session.last_seen_at.max(at);
                sessions.insert(hash.0.as_slice(), session.to_bytes().as_slice())?;
            }
            Ok(())
        })
    }

    /// Removes sessions past either timeout; returns how many.
    pub fn delete_expired_sessions(
        &self,
        now: Timestamp,
        idle: Duration,
        absolute: Duration,
    ) -> Result<usize, StoreError> {
        let expired: Vec<[u8; 32]> = self.read(|tx| {
            let sessions = tx.open_table(tables::SESSIONS)?;
            let mut expired = Vec::new();
            for entry in sessions.iter()? {
                let (key, value) = entry?;
                let stale = Session::from_bytes(value.value())
                    .map_or(true, |s| s.is_expired(now, idle, absolute));
                if stale && let Ok(hash) = key.value().try_into() {
                    expired.push(hash);
                }
            }
            Ok(expired)
        })?;
        if expired.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            for hash in &expired {
                remove_session(tx, TokenHash(*hash))?;
            }
            Ok(expired.len())
        })
    }
}

pub(super) fn put_session(
    tx: &WriteTransaction,
    hash: TokenHash,
    session: &Session,
) -> Result<(), StoreError> {
    tx.open_table(tables::SESSIONS)?
        .insert(hash.0.as_slice(), session.to_bytes().as_slice())?;
    tx.open_multimap_table(tables::SESSIONS_BY_USER)?
        .insert(session.user_id, hash.0.as_slice())?;
    Ok(())
}

pub(super) fn read_session_for_update(
    tx: &WriteTransaction,
    hash: TokenHash,
) -> Result<Option<Session>, StoreError> {
    Session::from_found(tx.open_table(tables::SESSIONS)?.get(hash.0.as_slice())?)
}

pub(super) fn remove_sessions_of_user(
    tx: &WriteTransaction,
    user: UserId,
) -> Result<usize, StoreError> {
    let hashes: Vec<Vec<u8>> = tx
        .open_multimap_table(tables::SESSIONS_BY_USER)?
        .remove_all(user)?
        .map(|v| v.map(|v| v.value().to_vec()))
        .collect::<Result<_, _>>()?;
    let mut sessions = tx.open_table(tables::SESSIONS)?;
    for hash in &hashes {
        sessions.remove(hash.as_slice())?;
    }
    Ok(hashes.len())
}

pub(super) fn remove_session(tx: &WriteTransaction, hash: TokenHash) -> Result<(), StoreError> {
    let removed = Session::from_found(tx.open_table(tables::SESSIONS)?.remove(hash.0.as_slice())?);
    if let Ok(Some(session)) = removed {
        tx.open_multimap_table(tables::SESSIONS_BY_USER)?
            .remove(session.user_id, hash.0.as_slice())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountSettings, SessionStage, Token};

    #[test]
    fn all_sessions_of_a_user_end_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let session = |user| Session::new(user, 1, SessionStage::SignedIn, String::new());
        let (a, b, other) = (
            Token::generate().hash(),
            Token::generate().hash(),
            Token::generate().hash(),
        );
        store.insert_session(a, &session(7)).unwrap();
        store.insert_session(b, &session(7)).unwrap();
        store.insert_session(other, &session(8)).unwrap();
        assert_eq!(store.delete_sessions_of_user(7).unwrap(), 2);
        // The other user's session stays.
        let exists = |h: TokenHash| {
            store.read(|tx| {
                Ok(tx
                    .open_table(tables::SESSIONS)?
                    .get(h.0.as_slice())?
                    .is_some())
            })
        };
        assert!(!exists(a).unwrap() && !exists(b).unwrap() && exists(other).unwrap());
        assert_eq!(store.delete_sessions_of_user(7).unwrap(), 0);
    }
}
