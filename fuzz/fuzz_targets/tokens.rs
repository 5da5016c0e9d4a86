//! Tokens as browsers and links hand them back: session and link tokens,
//! device cookies, recovery codes and app codes. None panics, and whatever
//! is accepted is exactly what Latchkey would have written.
#![no_main]

use latchkey::domain::device::DeviceKey;
use latchkey::domain::{DeviceCookie, RecoveryCode, RecoveryCodeHash, Token, totp};
use libfuzzer_sys::fuzz_target;

/// A fixed time, so a cookie's age is the same on every run.
const NOW: i64 = 1_800_000_000;

fuzz_target!(|text: &str| {
    if let Some(token) = Token::parse(text) {
        // Only the canonical text of 32 bytes is a token.
        assert_eq!(token.as_text(), text.trim());
    }

    let key = DeviceKey::from_bytes(&[7; 32]).expect("a 32-byte key");
    if let Some(cookie) = DeviceCookie::open(text, &key, NOW) {
        assert_eq!(cookie.seal(&key), text, "only a cookie we sealed opens");
    }
    // A genuine cookie with the input mixed into it opens only unchanged.
    let genuine = DeviceCookie {
        user: 42,
        nonce: [9; 16],
        issued_at: NOW - 10,
    }
    .seal(&key);
    let mixed: String = genuine
        .chars()
        .zip(text.chars().chain(std::iter::repeat('\0')))
        .map(|(g, t)| if t == '\0' { g } else { t })
        .collect();
    if mixed != genuine {
        assert!(DeviceCookie::open(&mixed, &key, NOW).is_none(), "{mixed}");
    }

    let codes: Vec<RecoveryCode> = (0..3).map(|_| RecoveryCode::generate()).collect();
    let stored: Vec<_> = codes.iter().map(RecoveryCode::hash).collect();
    // Random text never matches fresh random codes (2^-50 each).
    assert_eq!(RecoveryCodeHash::find(&stored, text), None);
    for (i, code) in codes.iter().enumerate() {
        assert_eq!(RecoveryCodeHash::find(&stored, &code.display()), Some(i));
    }

    if totp::looks_like_code(text) {
        let code = totp::normalize_code(text);
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    }
});
