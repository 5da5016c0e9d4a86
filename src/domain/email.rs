//! Email addresses: unique per user, compared without regard to case.

/// The longest address we accept; SPEC caps invitations at 128 characters and
/// one limit everywhere keeps the rules easy to state.
pub const MAX_LEN: usize = 128;

/// A syntactically valid email address, kept as the person typed it (trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses what a person typed. The check is deliberately modest (one `@`,
    /// a dotted domain, no spaces): only a confirmation mail proves an address.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Enter an email address.");
        }
        if value.chars().count() > MAX_LEN {
            return Err("Email addresses can be at most 128 characters long.");
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("Enter an email address like name@example.com.");
        };
        let valid = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !value.chars().any(|c| {
                c.is_whitespace()
                    || super::text::is_hidden(c)
                    || matches!(c, '<' | '>' | ',' | ';' | '"')
            });
        if !valid {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(Self(value.to_owned()))
    }

    /// The key under which the address is unique: lower-cased.
    pub fn key(&self) -> String {
        normalize(&self.0)
    }
}

/// Lower-cases and trims an address, valid or not, so that a look-up by a
/// mistyped address costs the same as any other.
pub fn normalize(input: &str) -> String {
    input.trim().to_lowercase()
}

super::newtype::validated_string!(Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_trims() {
        let email = Email::parse("  Emma.Wright@Example.com ").unwrap();
        assert_eq!(email.as_str(), "Emma.Wright@Example.com");
        assert_eq!(email.key(), "emma.wright@example.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@b",
            "a@.com",
            "a@com.",
            "a b@example.com",
            "a@@example.com",
            "a@exa..mple.com",
            "<a@example.com>",
            "emma\u{202e}@example.com",
            "em\u{200b}ma@example.com",
            "emma@exa\u{feff}mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn limits_length_in_characters() {
        let local = "é".repeat(116);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        let local = "é".repeat(117);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        // A cheap property test over a spread of awkward strings.
        let pieces = [
            "",
            "@",
            ".",
            "a",
            "é",
            "\u{0}",
            " ",
            "\u{202e}",
            "x".repeat(300).leak(),
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let input = format!("{a}{b}{c}");
                    if let Ok(email) = Email::parse(&input) {
                        assert!(email.as_str().chars().count() <= MAX_LEN);
                        assert!(email.as_str().contains('@'));
                    }
                }
            }
        }
    }
}
