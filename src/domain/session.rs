//! Signed-in sessions and their lifetimes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UserId;
use super::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Last request seen, refreshed at most once a minute (see `accounts::sessions`).
    pub last_seen_at: Timestamp,
    /// Per-session CSRF token, compared on every mutation.
    pub csrf: String,
}

impl Session {
    /// Ended by the idle timeout or the absolute timeout.
    pub fn is_expired(&self, now: Timestamp, idle: Duration, absolute: Duration) -> bool {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        now.saturating_sub(self.last_seen_at) >= secs(idle)
            || now.saturating_sub(self.created_at) >= secs(absolute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_timeouts() {
        let s = Session {
            user_id: 1,
            created_at: 1000,
            last_seen_at: 1500,
            csrf: String::new(),
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
}
