//! Time-based one-time passwords (RFC 6238) as authenticator apps make them:
//! HMAC-SHA-1, 6 digits, a 30-second step, and one step of clock skew either
//! way.
//!
//! totp-rs computes the codes and builds the `otpauth://` URI; this module
//! decides which steps are acceptable and compares in constant time. It
//! returns the step a code matched, so the caller can refuse a step that was
//! already used (the replay guard lives with the stored record, see
//! `accounts::two_factor`).

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder};

use super::time::Timestamp;

/// Digits in a code people type.
pub const DIGITS: u8 = 6;
/// Seconds a code lasts.
pub const STEP_SECS: u64 = 30;
/// Steps of clock difference tolerated either way.
pub const SKEW_STEPS: u64 = 1;
/// 160 bits, the size RFC 4226 recommends for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;

/// The shared secret an authenticator app holds. Not `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// RFC 4648 base32 without padding (20 bytes make exactly 32 letters),
    /// as authenticator apps expect it typed.
    pub fn base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }

    /// The base32 key in groups of four, easier to copy by hand.
    pub fn grouped(&self) -> String {
        let text = self.base32();
        text.as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://totp/…` URI for the QR code, labelled
    /// `issuer:account`. `None` only if a label can't be encoded, which the
    /// callers prevent (the issuer is checked at config load, and a colon in
    /// the account is replaced, as the URI format reserves it).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Option<String> {
        self.totp(DIGITS)
            .with_issuer(Some(issuer))
            .with_account_name(account.replace(':', "_"))
            .build()
            .ok()?
            .to_url()
            .ok()
    }

    /// The code for the step that contains `unix_time`, with `digits` digits.
    pub fn code_at(&self, unix_time: u64, digits: u8) -> String {
        self.totp(digits)
            .build_noncompliant()
            .generate(unix_time)
            .to_string()
    }

    /// The step a 6-digit `code` belongs to, if it is the code of the step
    /// at `now` or one step either side. Every candidate is computed and
    /// compared in constant time, so timing says nothing about which (if
    /// any) matched.
    pub fn matching_step(&self, code: &str, now: Timestamp) -> Option<u64> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = u64::try_from(now).ok()? / STEP_SECS;
        let mut found = None;
        for step in current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS {
            let expected = self.code_at(step * STEP_SECS, DIGITS);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }

    fn totp(&self, digits: u8) -> Builder {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(SKEW_STEPS as u16)
            .with_step_duration(STEP_SECS)
            .with_secret(self.0.to_vec())
    }
}

/// Looks like a code from an app (six digits, spaces allowed), as opposed to
/// a recovery code.
pub fn looks_like_code(input: &str) -> bool {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == usize::from(DIGITS) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Removes the spaces people type into codes ("123 456").
pub fn normalize_code(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B uses the ASCII secret "12345678901234567890" for SHA-1.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let secret = rfc_secret();
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at(time, 8), expected, "T = {time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_the_rfc_values() {
        // Truncation to 6 digits is the same value modulo 10^6 (RFC 4226 §5.3).
        let secret = rfc_secret();
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(secret.code_at(time, DIGITS), expected, "T = {time}");
            let step = time / STEP_SECS;
            assert_eq!(
                secret.matching_step(expected, time as i64),
                Some(step),
                "the check accepts it"
            );
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let secret = rfc_secret();
        let now: i64 = 1_234_567_890;
        let step = now as u64 / STEP_SECS;
        for offset in [-1i64, 0, 1] {
            let at = (step as i64 + offset) as u64 * STEP_SECS;
            let code = secret.code_at(at, DIGITS);
            assert_eq!(
                secret.matching_step(&code, now),
                Some((step as i64 + offset) as u64)
            );
        }
        for offset in [-2i64, 2] {
            let at = (step as i64 + offset) as u64 * STEP_SECS;
            let code = secret.code_at(at, DIGITS);
            assert_eq!(secret.matching_step(&code, now), None, "offset {offset}");
        }
    }

    #[test]
    fn malformed_codes_match_nothing() {
        let secret = rfc_secret();
        for bad in ["", "12345", "1234567", "+28708", "abcdef", "２８７０８２"] {
            assert_eq!(secret.matching_step(bad, 59), None, "{bad:?}");
        }
        assert_eq!(secret.matching_step(" 287082 ", 59), Some(1));
    }

    #[test]
    fn the_uri_and_key_are_what_apps_expect() {
        let secret = rfc_secret();
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        let uri = secret.otpauth_uri("Latchkey", "emma@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Latchkey:emma%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert!(uri.contains("issuer=Latchkey"));
        // A colon is reserved in the label.
        assert!(secret.otpauth_uri("Latchkey", "a:b@example.com").is_some());
    }

    #[test]
    fn codes_and_recovery_codes_are_told_apart() {
        assert!(looks_like_code("123456"));
        assert!(looks_like_code("123 456"));
        assert!(!looks_like_code("abcd-efgh-jkmn-pqrs"));
        assert_eq!(normalize_code(" 123 456 "), "123456");
    }
}
