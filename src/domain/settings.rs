//! Account settings, edited by administrators and applied at once.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// *Enable self-service user profile updates*.
    pub self_service_profile_updates: bool,
    /// *Require 2FA for local users*.
    pub require_2fa_for_local_users: bool,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            self_service_profile_updates: true,
            require_2fa_for_local_users: false,
        }
    }
}
