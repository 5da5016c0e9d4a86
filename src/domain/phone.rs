//! Contact phone numbers.

/// A phone number as people write it: digits with optional `+`, spaces,
/// dashes, dots and brackets, holding 6 to 15 digits (E.164's maximum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses an optional field: blank means "no phone".
    pub fn parse_optional(input: &str) -> Result<Option<Self>, &'static str> {
        let value = input.trim();
        if value.is_empty() {
            return Ok(None);
        }
        Self::parse(value).map(Some)
    }

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let value = input.trim();
        let message = "Enter a phone number of 6 to 15 digits, like +44 20 7946 0958.";
        if value.chars().count() > 32 {
            return Err(message);
        }
        let allowed = value.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0)
        });
        let digits = value.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(6..=15).contains(&digits) {
            return Err(message);
        }
        Ok(Self(value.to_owned()))
    }
}

super::newtype::validated_string!(Phone);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_formats() {
        for ok in [
            "+44 20 7946 0958",
            "(555) 010-9999",
            "020.7946.0958",
            "123456",
        ] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_the_rest() {
        for bad in [
            "12345",
            "1234567890123456",
            "call me",
            "12+34567",
            "+",
            "555-CALL-NOW",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_is_none() {
        assert_eq!(Phone::parse_optional("  ").unwrap(), None);
    }
}
