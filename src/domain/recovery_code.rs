//! Recovery codes: ten single-use codes that stand in for the authenticator
//! app when it is lost.
//!
//! Each code is 16 characters of Crockford base32 (80 random bits), shown as
//! `xxxx-xxxx-xxxx-xxxx`. Only a SHA-256 of each is stored. A slow hash like
//! argon2 is for secrets people choose; with 80 random bits, guessing a code
//! from its SHA-256 is out of reach however fast the hash, and a check costs
//! ten SHA-256s instead of up to ten argon2 runs (which would let anyone who
//! knows a password tie the hashing threads up). Every stored hash is
//! compared, in constant time, whatever matched.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters in a code, without the dashes.
const LENGTH: usize = 16;
/// Crockford's base32: no I, L, O or U, which read as other characters.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A code as shown to the user, once. Not `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

/// What is stored in place of a code.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecoveryCodeHash([u8; 32]);

impl RecoveryCode {
    pub fn generate() -> Self {
        let mut bytes = [0u8; LENGTH];
        rand::rng().fill_bytes(&mut bytes);
        // 32 divides 256, so masking picks every character equally often.
        Self(
            bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect(),
        )
    }

    /// A fresh set of [`COUNT`] codes.
    pub fn generate_set() -> Vec<Self> {
        (0..COUNT).map(|_| Self::generate()).collect()
    }

    /// `xxxx-xxxx-xxxx-xxxx`.
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    pub fn hash(&self) -> RecoveryCodeHash {
        RecoveryCodeHash::of(&self.0)
    }
}

impl RecoveryCodeHash {
    fn of(normalized: &str) -> Self {
        Self(
            Sha256::new()
                .chain_update(b"latchkey recovery code:")
                .chain_update(normalized.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// Which of `stored` the typed `input` is, if any. Dashes, spaces and
    /// case don't matter, and letters read for digits (O for 0, I or L for
    /// 1) are read as Crockford intends.
    pub fn find(stored: &[RecoveryCodeHash], input: &str) -> Option<usize> {
        let normalized = normalize(input)?;
        let candidate = Self::of(&normalized);
        let mut found = None;
        for (i, hash) in stored.iter().enumerate() {
            if bool::from(hash.0.ct_eq(&candidate.0)) {
                found = Some(i);
            }
        }
        found
    }
}

/// The code's 16 characters, or `None` if `input` can't be a code.
fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(LENGTH);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == LENGTH {
            return None;
        }
        out.push(c);
    }
    (out.len() == LENGTH).then_some(out)
}

impl std::fmt::Debug for RecoveryCodeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodeHash(…)")
    }
}

impl TryFrom<String> for RecoveryCodeHash {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bytes = hex::decode(&text).map_err(|e| e.to_string())?;
        Ok(Self(bytes.try_into().map_err(|_| "not 32 bytes")?))
    }
}

impl From<RecoveryCodeHash> for String {
    fn from(hash: RecoveryCodeHash) -> Self {
        hex::encode(hash.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_80_bits_shown_in_groups() {
        let code = RecoveryCode::generate();
        let shown = code.display();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.matches('-').count(), 3);
        let set = RecoveryCode::generate_set();
        assert_eq!(set.len(), COUNT);
        let mut texts: Vec<String> = set.iter().map(RecoveryCode::display).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), COUNT, "no repeats");
    }

    #[test]
    fn a_code_is_found_however_it_is_typed() {
        let set = RecoveryCode::generate_set();
        let hashes: Vec<RecoveryCodeHash> = set.iter().map(RecoveryCode::hash).collect();
        let third = set[2].display();
        assert_eq!(RecoveryCodeHash::find(&hashes, &third), Some(2));
        assert_eq!(
            RecoveryCodeHash::find(&hashes, &third.to_uppercase().replace('-', " ")),
            Some(2)
        );
        let misread = set[2].0.replace('0', "O").replace('1', "l");
        assert_eq!(RecoveryCodeHash::find(&hashes, &misread), Some(2));
        for bad in ["", "123456", "not a code at all", &format!("{third}x")] {
            assert_eq!(RecoveryCodeHash::find(&hashes, bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes_round_trip_as_hex() {
        let hash = RecoveryCode::generate().hash();
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json.len(), 66);
        let back: RecoveryCodeHash = serde_json::from_str(&json).unwrap();
        assert!(back == hash);
        assert!(serde_json::from_str::<RecoveryCodeHash>("\"zz\"").is_err());
    }
}
