//! Signed-in sessions: creation, look-up on every request, activity,
//! renewal, the user's own list of them, ending.
//!
//! Looking a session up only reads. Activity is recorded at most once per
//! `touch_every` per session, by a background task that batches updates, so
//! a signed-in page load never waits for (or performs) a write.
//!
//! A session id is renewed (a new token for the same browser, the old one
//! ended) whenever what the session may do changes: at sign-in, when 2FA is
//! completed, turned on or off, and when the password changes. A token
//! someone learned before then is worth nothing after.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::SessionConfig;
use crate::domain::time::{self, Timestamp};
use crate::domain::{
    AuditAction, NewEvent, PermissionSet, Session, SessionStage, Token, TokenHash, User, UserId,
    user_agent,
};
use crate::store::{Store, StoreError, Txn};

/// Who is making a request, as the session says.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub hash: TokenHash,
    /// Where this request came from (for audit events).
    pub client: IpAddr,
    pub session: Session,
    pub user: User,
    pub permissions: PermissionSet,
}

#[derive(Clone)]
pub struct SessionManager {
    store: Store,
    config: SessionConfig,
    touches: mpsc::UnboundedSender<TokenHash>,
    touch_every: i64,
}

impl SessionManager {
    /// Starts the manager; the returned future records activity and must be spawned.
    pub fn new(store: Store, config: SessionConfig) -> (Self, impl Future<Output = ()> + Send) {
        let (touches, rx) = mpsc::unbounded_channel();
        // Refresh often enough that an active session never idles out.
        let touch_every = (config.idle_timeout.as_secs() / 2).clamp(1, 60) as i64;
        let worker = record_activity(store.clone(), rx);
        (
            Self {
                store,
                config,
                touches,
                touch_every,
            },
            worker,
        )
    }

    /// Opens a session for `user`; the token goes to the browser, only its hash is kept.
    pub async fn create(
        &self,
        user: UserId,
        stage: SessionStage,
        origin: &Origin,
    ) -> Result<Token, StoreError> {
        let (token, session) = prepare(user, stage, origin, time::now());
        let hash = token.hash();
        self.store
            .blocking(move |s| s.insert_session(hash, &session))
            .await?;
        Ok(token)
    }

    /// Gives the viewer's browser a new session id for the same session (a
    /// password change calls this); the old id stops working.
    pub async fn renew(&self, who: &SignedIn) -> Result<Token, StoreError> {
        let (hash, stage) = (who.hash, who.session.stage);
        self.store
            .blocking(move |s| s.transact(|t| renew_in(t, hash, stage)))
            .await
    }

    /// The viewer's sessions that grant access, this one first, then the
    /// most recently active.
    pub fn of_viewer(&self, who: &SignedIn) -> Result<Vec<SessionSummary>, StoreError> {
        let SessionConfig {
            idle_timeout,
            absolute_timeout,
        } = self.config;
        let mut list: Vec<SessionSummary> = self
            .store
            .sessions_of_user(who.user.id, time::now(), idle_timeout, absolute_timeout)?
            .into_iter()
            .filter(|(_, s)| s.stage == SessionStage::SignedIn)
            .map(|(hash, s)| SessionSummary::of(hash, &s, hash == who.hash))
            .collect();
        list.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.last_active_at)));
        Ok(list)
    }

    /// Signs one of the viewer's other sessions out, named by its reference.
    /// Returns whether there was such a session.
    pub async fn end_one(&self, who: &SignedIn, reference: &str) -> Result<bool, StoreError> {
        let (user, current) = (who.user.clone(), who.hash);
        let reference = reference.to_owned();
        let client = who.client;
        let SessionConfig {
            idle_timeout,
            absolute_timeout,
        } = self.config;
        self.store
            .blocking(move |s| {
                let sessions =
                    s.sessions_of_user(user.id, time::now(), idle_timeout, absolute_timeout)?;
                let Some((hash, session)) = sessions
                    .into_iter()
                    .find(|(hash, _)| *hash != current && session_reference(*hash) == reference)
                else {
                    return Ok(false);
                };
                let event = NewEvent::new(AuditAction::SessionEnded)
                    .by_self(&user, Some(client))
                    .detail(format!(
                        "signed out {}",
                        user_agent::describe(&session.user_agent)
                    ));
                s.transact(|t| {
                    if t.session(hash)?.is_none() {
                        return Ok(false);
                    }
                    t.end_session(hash)?;
                    t.record(event)?;
                    Ok::<_, StoreError>(true)
                })
            })
            .await
    }

    /// Signs out every session of the viewer's but this one; returns how many.
    pub async fn end_others(&self, who: &SignedIn) -> Result<usize, StoreError> {
        let (hash, user) = (who.hash, who.user.id);
        let event = NewEvent::new(AuditAction::SessionEnded)
            .by_self(&who.user, Some(who.client))
            .detail("signed out everywhere else");
        self.store
            .blocking(move |s| {
                s.transact(|t| {
                    let ended = end_others_in(t, user, hash)?;
                    if ended > 0 {
                        t.record(event)?;
                    }
                    Ok(ended)
                })
            })
            .await
    }

    /// The live session behind a cookie value, if any. Reads only.
    pub fn resolve(&self, cookie: &str, client: IpAddr) -> Result<Option<SignedIn>, StoreError> {
        let Some(token) = Token::parse(cookie) else {
            return Ok(None);
        };
        let hash = token.hash();
        let found = match self.store.session_context(hash) {
            Ok(found) => found,
            // A record that can't be read (its user's, say) must not turn
            // every page, `/signin` included, into an error: the browser is
            // treated as signed out and can sign in again once it is fixed.
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::warn!(error = %e, "treating a session as signed out");
                None
            }
            Err(e) => return Err(e),
        };
        let Some((session, user, permissions)) = found else {
            return Ok(None);
        };
        let now = time::now();
        if session.is_expired(now, self.config.idle_timeout, self.config.absolute_timeout) {
            return Ok(None);
        }
        if now - session.last_seen_at >= self.touch_every {
            // The worker only stops at shutdown, when a lost touch doesn't matter.
            let _ = self.touches.send(hash);
        }
        Ok(Some(SignedIn {
            hash,
            client,
            session,
            user,
            permissions,
        }))
    }

    pub async fn end(&self, hash: TokenHash) -> Result<(), StoreError> {
        self.store.blocking(move |s| s.delete_session(hash)).await
    }

    /// Log out: ends the viewer's session and records it.
    pub async fn sign_out(&self, who: &SignedIn) -> Result<(), StoreError> {
        let hash = who.hash;
        let event = NewEvent::new(AuditAction::SignedOut).by_self(&who.user, Some(who.client));
        self.store
            .blocking(move |s| {
                s.transact(|t| {
                    t.end_session(hash)?;
                    t.record(event)?;
                    Ok(())
                })
            })
            .await
    }

    /// Deletes sessions past their timeouts; run periodically.
    pub async fn sweep(&self, now: Timestamp) -> Result<usize, StoreError> {
        let SessionConfig {
            idle_timeout,
            absolute_timeout,
        } = self.config;
        self.store
            .blocking(move |s| s.delete_expired_sessions(now, idle_timeout, absolute_timeout))
            .await
    }
}

/// Where a session is opened from, as its list shows it.
#[derive(Clone, Debug)]
pub struct Origin {
    pub client: IpAddr,
    /// The User-Agent header as sent (cut to a bounded length when stored).
    pub user_agent: String,
}

/// A new session and its token, not yet stored.
pub fn prepare(
    user: UserId,
    stage: SessionStage,
    origin: &Origin,
    now: time::Timestamp,
) -> (Token, Session) {
    let mut session = Session::new(user, now, stage, Token::generate().as_text());
    session.user_agent = user_agent::bounded(&origin.user_agent);
    session.client = Some(origin.client);
    (Token::generate(), session)
}

/// Inside a transaction: ends the session `hash` and starts its successor
/// at `stage`, with a new token and CSRF token. The successor keeps the
/// sign-in time (so the absolute timeout still counts from it), the origin
/// and the time of the last re-authentication (renewal is not one); a set-up
/// in progress is dropped. Returns the new token.
pub fn renew_in(t: &Txn<'_>, hash: TokenHash, stage: SessionStage) -> Result<Token, StoreError> {
    let old = t.session(hash)?.ok_or(StoreError::NotFound("session"))?;
    let token = Token::generate();
    let successor = Session {
        stage,
        csrf: Token::generate().as_text(),
        last_seen_at: time::now(),
        two_factor_setup: None,
        ..old
    };
    t.end_session(hash)?;
    t.insert_session(token.hash(), &successor)?;
    Ok(token)
}

/// Inside a transaction: ends every session of `user` except `keep` (if
/// it is still there); returns how many ended.
pub fn end_others_in(t: &Txn<'_>, user: UserId, keep: TokenHash) -> Result<usize, StoreError> {
    let kept = t.session(keep)?.filter(|s| s.user_id == user);
    let ended = t.end_sessions_of_user(user)?;
    // Ending all and putting one back is a single pass over the index.
    match kept {
        Some(session) => {
            t.insert_session(keep, &session)?;
            Ok(ended.saturating_sub(1))
        }
        None => Ok(ended),
    }
}

/// A session as its user's list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// Names the session in forms without revealing its key.
    pub reference: String,
    /// "Firefox 128 on Linux".
    pub device: String,
    pub client: Option<IpAddr>,
    pub signed_in_at: time::Timestamp,
    pub last_active_at: time::Timestamp,
    /// The session of the browser looking at the list.
    pub current: bool,
}

impl SessionSummary {
    fn of(hash: TokenHash, session: &Session, current: bool) -> Self {
        Self {
            reference: session_reference(hash),
            device: user_agent::describe(&session.user_agent),
            client: session.client,
            signed_in_at: session.created_at,
            last_active_at: session.last_seen_at,
            current,
        }
    }
}

/// A session's name in the list: derived from its key (itself a hash of
/// the token) so that nothing on the page can be used as a cookie.
fn session_reference(hash: TokenHash) -> String {
    let digest = Sha256::new()
        .chain_update(b"latchkey session reference:")
        .chain_update(hash.0)
        .finalize();
    hex::encode(&digest[..16])
}

async fn record_activity(store: Store, mut rx: mpsc::UnboundedReceiver<TokenHash>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        batch.sort_by_key(|h| h.0);
        batch.dedup();
        let now = time::now();
        if let Err(e) = store.blocking(move |s| s.touch_sessions(&batch, now)).await {
            tracing::warn!(error = %e, "could not record session activity");
        }
    }
}
