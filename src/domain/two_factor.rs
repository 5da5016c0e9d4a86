//! A user's two-factor authentication, as stored: the TOTP secret (sealed,
//! see `sealed`), the replay guard, and the hashes of the recovery codes left.

use serde::{Deserialize, Serialize};

use super::UserId;
use super::recovery_code::RecoveryCodeHash;
use super::sealed::SealedSecret;
use super::time::Timestamp;

/// Present only while 2FA is on: turning it off deletes the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactor {
    pub secret: SealedSecret,
    pub enabled_at: Timestamp,
    /// The last TOTP step a code was accepted for. A code of this step or an
    /// earlier one is refused, so a code seen over a shoulder or in a proxy
    /// log can't be used again (RFC 6238 §5.2).
    pub last_step: u64,
    /// Unused recovery codes; a code is removed when it is used.
    pub recovery_codes: Vec<RecoveryCodeHash>,
    pub recovery_codes_issued_at: Timestamp,
}

/// What the Profile shows about a user's 2FA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TwoFactorStatus {
    pub enabled_at: Timestamp,
    pub recovery_codes_left: usize,
    pub recovery_codes_issued_at: Timestamp,
}

impl TwoFactor {
    pub fn status(&self) -> TwoFactorStatus {
        TwoFactorStatus {
            enabled_at: self.enabled_at,
            recovery_codes_left: self.recovery_codes.len(),
            recovery_codes_issued_at: self.recovery_codes_issued_at,
        }
    }
}

/// The associated data a user's TOTP secret is sealed with: it opens only
/// as that user's.
pub fn secret_owner(user: UserId) -> String {
    format!("totp:{user}")
}
