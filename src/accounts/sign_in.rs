//! Signing in with email and password.
//!
//! Every attempt costs one argon2id verification, whether or not the email
//! belongs to anyone, and every refusal says the same thing, so neither the
//! answer nor its timing tells whether an account exists. Failures are
//! counted per account (the typed email, existing or not) and per client
//! address; see `store::throttle` for why the count can't be raced.

use std::net::IpAddr;

use super::{Accounts, AccountsError};
use crate::domain::time;
use crate::domain::{Token, User, UserStatus, email};
use crate::store::ThrottleVerdict;

pub struct SignedInUser {
    pub user: User,
    pub token: Token,
}

impl Accounts {
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        client: IpAddr,
    ) -> Result<SignedInUser, AccountsError> {
        let account_key = format!("account:{}", email::normalize(email));
        let address_key = format!("address:{}", address_group(client));
        let limits = self.config.sign_in;
        let window = limits.lockout.as_secs() as i64;
        let now = time::now();
        let counters = vec![
            (account_key.clone(), limits.max_failures_per_account),
            (address_key.clone(), limits.max_failures_per_address),
        ];
        // A read first, so attempts during a lock-out cost no write.
        let mut verdict = self.store.throttle_check(&counters, window, now)?;
        if verdict == ThrottleVerdict::Allowed {
            verdict = self
                .store
                .blocking(move |s| s.throttle_reserve(&counters, window, now))
                .await?;
        }
        if let ThrottleVerdict::Locked { retry_after } = verdict {
            return Err(AccountsError::Throttled { retry_after });
        }

        let user = self.store.user_by_email(email)?;
        let phc = user
            .as_ref()
            .filter(|u| u.status == UserStatus::Active && u.is_local())
            .and_then(|u| u.password_hash.clone());
        let matches = self.hasher.verify(password, phc).await?;
        let Some(user) = user.filter(|_| matches) else {
            tracing::info!(client = %client, "sign-in failed");
            return Err(AccountsError::BadCredentials);
        };

        let user_id = user.id;
        self.store
            .blocking(move |s| {
                s.record_successful_sign_in(&account_key, &address_key, user_id, time::now())
            })
            .await?;
        let token = self.sessions.create(user.id).await?;
        tracing::info!(user = user.id, client = %client, "signed in");
        Ok(SignedInUser { user, token })
    }
}

/// The unit an address limit applies to: one IPv4 address, or one IPv6 /64
/// (the block a single subscriber usually holds, so rotating through it
/// doesn't reset the count).
fn address_group(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_grouped_by_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_group(a), address_group(b));
        assert_ne!(address_group(a), address_group(c));
        assert_eq!(
            address_group("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
        assert_eq!(address_group("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
