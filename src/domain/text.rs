//! Characters that must not hide in names and addresses.
//!
//! Control characters and Unicode *format* characters (category Cf: bidi
//! overrides such as U+202E, zero-width spaces and joiners, the BOM…) are
//! invisible or reorder what is shown, so `Emma\u{202E}moc.elpmaxe` could
//! pass for someone else in a list of users or a notification mail.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// True when `c` is a control or format character.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// True when `text` holds any [`is_hidden`] character.
pub fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_controls_bidi_overrides_and_zero_width_characters() {
        for hidden in [
            '\u{0}',
            '\u{7}',
            '\u{7f}',
            '\u{202e}',
            '\u{202a}',
            '\u{2066}',
            '\u{200b}',
            '\u{200d}',
            '\u{feff}',
            '\u{ad}',
            '\u{e0041}',
        ] {
            assert!(is_hidden(hidden), "{:04x}", hidden as u32);
        }
        for shown in ['a', 'é', 'ß', '中', ' ', '-', '\u{301}'] {
            assert!(!is_hidden(shown), "{:04x}", shown as u32);
        }
    }
}
