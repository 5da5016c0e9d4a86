//! Signed-in sessions, their stages and lifetimes.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UserId;
use super::sealed::SealedSecret;
use super::time::Timestamp;

/// How long the half-signed-in state (password accepted, code not yet
/// given) lasts.
pub const SECOND_STEP_SECS: i64 = 5 * 60;

/// How far a session has got. Only [`SessionStage::SignedIn`] grants access
/// to anything; the other two reach only the page that completes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    #[default]
    SignedIn,
    /// The password was right; a 2FA code or a recovery code must follow
    /// within [`SECOND_STEP_SECS`].
    AwaitingSecondFactor,
    /// The password was right, 2FA is required for local users and this one
    /// has none: set-up is the only way on.
    TwoFactorSetUpRequired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: UserId,
    /// When the user signed in; kept when the session id is renewed, so a
    /// renewal never extends the absolute timeout.
    pub created_at: Timestamp,
    /// Last request seen, refreshed at most once a minute (see `accounts::sessions`).
    pub last_seen_at: Timestamp,
    /// Per-session CSRF token, compared on every mutation.
    pub csrf: String,
    #[serde(default)]
    pub stage: SessionStage,
    /// The browser's User-Agent at sign-in, cut to `user_agent::MAX_LEN`.
    #[serde(default)]
    pub user_agent: String,
    /// The address the user signed in from.
    #[serde(default)]
    pub client: Option<IpAddr>,
    /// When the user last confirmed their password or a code in this
    /// session (sudo mode); signing in itself does not count.
    #[serde(default)]
    pub reauthenticated_at: Option<Timestamp>,
    /// A 2FA secret being set up in this session, not yet confirmed by a code.
    #[serde(default)]
    pub two_factor_setup: Option<PendingSetUp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSetUp {
    pub secret: SealedSecret,
    pub started_at: Timestamp,
}

impl Session {
    /// A new session for `user` at `now`, at `stage`.
    pub fn new(user_id: UserId, now: Timestamp, stage: SessionStage, csrf: String) -> Self {
        Self {
            user_id,
            created_at: now,
            last_seen_at: now,
            csrf,
            stage,
            user_agent: String::new(),
            client: None,
            reauthenticated_at: None,
            two_factor_setup: None,
        }
    }

    /// Ended by the idle timeout or the absolute timeout (or, half signed
    /// in, by the second step's).
    pub fn is_expired(&self, now: Timestamp, idle: Duration, absolute: Duration) -> bool {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        now.saturating_sub(self.last_seen_at) >= secs(idle)
            || now.saturating_sub(self.created_at) >= secs(absolute)
            || (self.stage == SessionStage::AwaitingSecondFactor
                && now.saturating_sub(self.created_at) >= SECOND_STEP_SECS)
    }

    /// Whether the user confirmed their password or a code less than
    /// `window` ago.
    pub fn reauthenticated_within(&self, now: Timestamp, window: Duration) -> bool {
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        self.reauthenticated_at
            .is_some_and(|at| at <= now && now.saturating_sub(at) < window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_timeouts() {
        let s = Session {
            last_seen_at: 1500,
            ..Session::new(1, 1000, SessionStage::SignedIn, String::new())
        };
        let (idle, abs) = (Duration::from_secs(600), Duration::from_secs(3600));
        assert!(!s.is_expired(2099, idle, abs));
        assert!(s.is_expired(2100, idle, abs));
        let busy = Session {
            last_seen_at: 4590,
            ..s
        };
        assert!(busy.is_expired(4600, idle, abs));
    }

    #[test]
    fn the_half_signed_in_state_lasts_minutes() {
        let (idle, abs) = (Duration::from_secs(1800), Duration::from_secs(43200));
        let s = Session::new(1, 1000, SessionStage::AwaitingSecondFactor, String::new());
        assert!(!s.is_expired(1000 + SECOND_STEP_SECS - 1, idle, abs));
        assert!(s.is_expired(1000 + SECOND_STEP_SECS, idle, abs));
        let full = Session::new(1, 1000, SessionStage::SignedIn, String::new());
        assert!(!full.is_expired(1000 + SECOND_STEP_SECS, idle, abs));
    }

    #[test]
    fn reauthentication_is_fresh_only_within_the_window() {
        let window = Duration::from_secs(600);
        let mut s = Session::new(1, 1000, SessionStage::SignedIn, String::new());
        assert!(
            !s.reauthenticated_within(1000, window),
            "signing in is not enough"
        );
        s.reauthenticated_at = Some(2000);
        assert!(s.reauthenticated_within(2599, window));
        assert!(!s.reauthenticated_within(2600, window));
        assert!(
            !s.reauthenticated_within(1999, window),
            "not from the future"
        );
    }

    #[test]
    fn records_from_before_2fa_still_read() {
        let old = r#"{"user_id":3,"created_at":1,"last_seen_at":2,"csrf":"x"}"#;
        let s: Session = serde_json::from_str(old).unwrap();
        assert_eq!(s.stage, SessionStage::SignedIn);
        assert_eq!(s.reauthenticated_at, None);
    }
}
