//! Device cookies: a browser's proof that it has signed in to an account
//! before (OWASP's "Slow Down Online Guessing Attacks with Device Cookies").
//!
//! A browser that shows one for the account it is signing in to is judged by
//! its own failures alone, so a stranger's guesses can't lock the owner out.
//! The cookie names the user, a random nonce (what its failures are counted
//! against) and when it was issued, sealed with HMAC-SHA256 under a key that
//! never leaves the server: it can't be forged or moved to another account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::UserId;
use super::time::Timestamp;

/// How long a device stays known after its last successful sign-in.
pub const LIFETIME_SECS: i64 = 365 * 24 * 60 * 60;

/// Leading byte of the sealed form, so the layout can change later.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// Format byte, user id, nonce, issue time: the part the MAC covers.
const BODY_LEN: usize = 1 + 8 + NONCE_LEN + 8;
const SEALED_LEN: usize = BODY_LEN + MAC_LEN;
/// Length of the sealed form in unpadded base64.
const TEXT_LEN: usize = (SEALED_LEN * 4).div_ceil(3);

/// The server's secret for sealing device cookies, made once per data file.
#[derive(Clone)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Anything but 32 bytes is no key.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(…)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCookie {
    pub user: UserId,
    /// Random, so each issued cookie has its own failure counter.
    pub nonce: [u8; NONCE_LEN],
    pub issued_at: Timestamp,
}

impl DeviceCookie {
    /// A new cookie for `user`, with a fresh nonce.
    pub fn issue(user: UserId, now: Timestamp) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        Self {
            user,
            nonce,
            issued_at: now,
        }
    }

    /// The cookie value: base64url of the fields and their MAC.
    pub fn seal(&self, key: &DeviceKey) -> String {
        let body = self.body();
        let tag = key.mac(&body).finalize().into_bytes();
        let mut sealed = Vec::with_capacity(SEALED_LEN);
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The cookie a browser sent, if `key` sealed it and it hasn't expired.
    /// Anything else (garbage, a changed byte, another key) is no cookie.
    pub fn open(text: &str, key: &DeviceKey, now: Timestamp) -> Option<Self> {
        // Checked before decoding, so an oversized value costs nothing.
        if text.len() != TEXT_LEN {
            return None;
        }
        let sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (body, tag) = sealed.split_at_checked(BODY_LEN)?;
        key.mac(body).verify_slice(tag).ok()?;
        let (format, rest) = body.split_first()?;
        if *format != FORMAT {
            return None;
        }
        let (user, rest) = rest.split_at(8);
        let (nonce, issued_at) = rest.split_at(NONCE_LEN);
        let cookie = Self {
            user: u64::from_be_bytes(user.try_into().ok()?),
            nonce: nonce.try_into().ok()?,
            issued_at: i64::from_be_bytes(issued_at.try_into().ok()?),
        };
        // A minute's grace for a clock stepped back since issue.
        let age = now.checked_sub(cookie.issued_at)?;
        (-60..LIFETIME_SECS).contains(&age).then_some(cookie)
    }

    fn body(&self) -> [u8; BODY_LEN] {
        let mut body = [0u8; BODY_LEN];
        body[0] = FORMAT;
        body[1..9].copy_from_slice(&self.user.to_be_bytes());
        body[9..9 + NONCE_LEN].copy_from_slice(&self.nonce);
        body[9 + NONCE_LEN..].copy_from_slice(&self.issued_at.to_be_bytes());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = 1_800_000_000;

    #[test]
    fn a_sealed_cookie_opens_with_its_key_only() {
        let key = DeviceKey::generate();
        let cookie = DeviceCookie::issue(7, NOW);
        let text = cookie.seal(&key);
        assert_eq!(DeviceCookie::open(&text, &key, NOW + 10), Some(cookie));
        assert_eq!(DeviceCookie::open(&text, &DeviceKey::generate(), NOW), None);
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let key = DeviceKey::generate();
        let text = DeviceCookie::issue(7, NOW).seal(&key);
        let sealed = URL_SAFE_NO_PAD.decode(&text).unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            let tampered = URL_SAFE_NO_PAD.encode(tampered);
            assert_eq!(DeviceCookie::open(&tampered, &key, NOW), None, "byte {i}");
        }
    }

    #[test]
    fn expires_after_its_lifetime_and_refuses_garbage() {
        let key = DeviceKey::generate();
        let text = DeviceCookie::issue(7, NOW).seal(&key);
        assert!(DeviceCookie::open(&text, &key, NOW + LIFETIME_SECS - 1).is_some());
        assert_eq!(DeviceCookie::open(&text, &key, NOW + LIFETIME_SECS), None);
        assert_eq!(DeviceCookie::open(&text, &key, NOW - 3600), None);
        for garbage in ["", "abc", "%%%", &"A".repeat(87), &"A".repeat(100_000)] {
            assert_eq!(DeviceCookie::open(garbage, &key, NOW), None);
        }
    }
}
