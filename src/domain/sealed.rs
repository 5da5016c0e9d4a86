//! Secrets kept at rest that must be read back (TOTP keys, unlike passwords
//! and recovery codes, can't be stored as hashes: the server needs them to
//! compute codes).
//!
//! With an encryption key configured (`two_factor.encryption_key_file`), a
//! secret is sealed with XChaCha20-Poly1305 under a random 192-bit nonce,
//! bound to its owner by the associated data (so a sealed secret copied onto
//! another user's record doesn't open), and a copy of the data file alone
//! reveals nothing. Without a key it is stored as is, marked so: readable by
//! anyone who can read the file. A stored secret says which it is, so adding
//! a key later still reads the older, plain ones.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The 256-bit key from the deployment's key file. Not printable.
#[derive(Clone)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// Reads the key file's text: 64 hexadecimal characters (what
    /// `openssl rand -hex 32` prints), surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(
                "must hold 64 hexadecimal characters (make one with `openssl rand -hex 32`)",
            );
        }
        let bytes = hex::decode(text).map_err(|_| "holds characters that are not hexadecimal")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must hold 32 bytes")?;
        if key.iter().all(|b| *b == key[0]) {
            return Err("is not random (every byte is the same)");
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(…)")
    }
}

/// A secret as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SealedSecret {
    /// No key was configured when it was stored.
    Plain { hex: String },
    /// XChaCha20-Poly1305; both fields hexadecimal.
    Encrypted { nonce: String, ciphertext: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the secret is encrypted but no encryption key is configured (two_factor.encryption_key_file)"
    )]
    KeyMissing,
    #[error("the secret does not open with the configured encryption key, or it was altered")]
    WrongKey,
    #[error("the stored secret is malformed")]
    Malformed,
}

impl SealedSecret {
    /// Seals `secret` for `owner` (associated data: who it belongs to and
    /// what it is, e.g. `totp:7`).
    pub fn seal(secret: &[u8], key: Option<&EncryptionKey>, owner: &str) -> Self {
        let Some(key) = key else {
            return SealedSecret::Plain {
                hex: hex::encode(secret),
            };
        };
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&key.0).into());
        let payload = Payload {
            msg: secret,
            aad: owner.as_bytes(),
        };
        // Encryption fails only for messages of gigabytes.
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        SealedSecret::Encrypted {
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        }
    }

    pub fn open(&self, key: Option<&EncryptionKey>, owner: &str) -> Result<Vec<u8>, OpenError> {
        match self {
            SealedSecret::Plain { hex } => hex::decode(hex).map_err(|_| OpenError::Malformed),
            SealedSecret::Encrypted { nonce, ciphertext } => {
                let key = key.ok_or(OpenError::KeyMissing)?;
                let nonce = hex::decode(nonce).map_err(|_| OpenError::Malformed)?;
                let ciphertext = hex::decode(ciphertext).map_err(|_| OpenError::Malformed)?;
                if nonce.len() != 24 {
                    return Err(OpenError::Malformed);
                }
                let cipher = XChaCha20Poly1305::new((&key.0).into());
                let payload = Payload {
                    msg: &ciphertext,
                    aad: owner.as_bytes(),
                };
                cipher
                    .decrypt(XNonce::from_slice(&nonce), payload)
                    .map_err(|_| OpenError::WrongKey)
            }
        }
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self, SealedSecret::Encrypted { .. })
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_encrypted() {
            "encrypted"
        } else {
            "plain"
        };
        write!(f, "SealedSecret({kind}, …)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> EncryptionKey {
        let mut text = hex::encode([byte; 32]);
        text.replace_range(0..2, "00");
        EncryptionKey::parse(&text).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_owner() {
        let secret = b"twenty bytes of key.";
        let sealed = SealedSecret::seal(secret, Some(&key(7)), "totp:1");
        assert!(sealed.is_encrypted());
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains(&hex::encode(secret)), "{json}");
        assert_eq!(sealed.open(Some(&key(7)), "totp:1").unwrap(), secret);
        assert_eq!(
            sealed.open(Some(&key(8)), "totp:1"),
            Err(OpenError::WrongKey)
        );
        assert_eq!(
            sealed.open(Some(&key(7)), "totp:2"),
            Err(OpenError::WrongKey)
        );
        assert_eq!(sealed.open(None, "totp:1"), Err(OpenError::KeyMissing));
        // Two seals of one secret differ (fresh nonce each time).
        assert!(SealedSecret::seal(secret, Some(&key(7)), "totp:1") != sealed);
    }

    #[test]
    fn without_a_key_secrets_are_plain_and_still_open_once_a_key_is_set() {
        let sealed = SealedSecret::seal(b"abc", None, "totp:1");
        assert!(!sealed.is_encrypted());
        assert_eq!(sealed.open(Some(&key(7)), "totp:1").unwrap(), b"abc");
        assert_eq!(sealed.open(None, "totp:1").unwrap(), b"abc");
    }

    #[test]
    fn key_files_are_checked() {
        assert!(EncryptionKey::parse(&format!("  {}\n", hex::encode([1u8, 2].repeat(16)))).is_ok());
        assert!(EncryptionKey::parse("abc").is_err());
        assert!(EncryptionKey::parse(&"zz".repeat(32)).is_err());
        assert!(EncryptionKey::parse(&"00".repeat(32)).is_err());
        assert_eq!(format!("{:?}", key(3)), "EncryptionKey(…)");
    }
}
