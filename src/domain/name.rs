//! First and last names.

pub const MAX_LEN: usize = 64;

/// A first or last name: 1–64 characters, no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Enter a name.");
        }
        if value.chars().count() > MAX_LEN {
            return Err("Names can be at most 64 characters long.");
        }
        if super::text::has_hidden(value) || value.contains(['<', '>']) {
            return Err("Names can't contain invisible characters or angle brackets.");
        }
        Ok(Self(value.to_owned()))
    }

    /// An invited user's name until they accept the invitation and give
    /// it: empty, the one value [`PersonName::parse`] never yields.
    pub fn not_given() -> Self {
        Self(String::new())
    }

    /// False for [`PersonName::not_given`].
    pub fn is_given(&self) -> bool {
        !self.0.is_empty()
    }

    /// A stored name: what `parse` accepts, or the empty name of an
    /// invited user. Forms never come this way (they call `parse`).
    fn decode(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            Ok(Self::not_given())
        } else {
            Self::parse(text)
        }
    }

    /// The first letter, upper-cased, for the profile initials.
    pub fn initial(&self) -> String {
        self.0
            .chars()
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default()
    }
}

super::newtype::validated_string!(PersonName, PersonName::decode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(PersonName::parse("  Emma ").unwrap().as_str(), "Emma");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(64)).is_ok());
        assert!(PersonName::parse(&"a".repeat(65)).is_err());
        assert!(PersonName::parse("a\u{7}b").is_err());
        assert!(PersonName::parse("<script>").is_err());
        assert!(PersonName::parse("Emma\u{202e}thgirW").is_err());
        assert!(PersonName::parse("Em\u{200b}ma").is_err());
    }

    #[test]
    fn only_a_stored_name_may_be_not_given() {
        assert!(!PersonName::not_given().is_given());
        let stored: PersonName = serde_json::from_str(r#""""#).unwrap();
        assert_eq!(stored, PersonName::not_given());
        assert!(PersonName::try_from(String::new()).is_err());
        assert!(serde_json::from_str::<PersonName>(r#"" ""#).is_err());
    }

    #[test]
    fn initial_is_upper_case() {
        assert_eq!(PersonName::parse("émile").unwrap().initial(), "É");
    }
}
