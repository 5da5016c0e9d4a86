//! Secret tokens (sessions, set-up links): 256 random bits handed out once
//! and stored only as their SHA-256, so a copy of the data file grants nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The secret itself, as given to the browser or put in a link.
#[derive(Clone)]
pub struct Token([u8; 32]);

/// What the store keeps in place of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl Token {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses the text form; anything that isn't 32 bytes of base64url is no token.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }

    /// The raw secret bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn as_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hashes_stably() {
        let token = Token::generate();
        let parsed = Token::parse(&token.as_text()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(token.as_text().len(), 43);
    }

    #[test]
    fn refuses_wrong_lengths_and_garbage() {
        assert!(Token::parse("").is_none());
        assert!(Token::parse("abc").is_none());
        assert!(Token::parse(&"A".repeat(44)).is_none());
        assert!(Token::parse("%%%%").is_none());
    }
}
