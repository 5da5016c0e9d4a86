//! Signed-in sessions: creation, look-up on every request, activity, ending.
//!
//! Looking a session up only reads. Activity is recorded at most once per
//! `touch_every` per session, by a background task that batches updates, so
//! a signed-in page load never waits for (or performs) a write.

use std::net::IpAddr;

use tokio::sync::mpsc;

use crate::config::SessionConfig;
use crate::domain::time::{self, Timestamp};
use crate::domain::{
    AuditAction, NewEvent, PermissionSet, Session, Token, TokenHash, User, UserId,
};
use crate::store::{Store, StoreError};

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
    pub async fn create(&self, user: UserId) -> Result<Token, StoreError> {
        let token = Token::generate();
        let now = time::now();
        let session = Session {
            user_id: user,
            created_at: now,
            last_seen_at: now,
            csrf: Token::generate().as_text(),
        };
        let hash = token.hash();
        self.store
            .blocking(move |s| s.insert_session(hash, &session))
            .await?;
        Ok(token)
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
