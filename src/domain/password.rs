//! The password policy: 12–128 characters, strong by zxcvbn's estimate (score
//! 3 or more, counting the person's own name and email as guessable words),
//! and not the email or a name. No composition rules: they make passwords
//! harder to remember without making them harder to guess.

use std::fmt;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;
const MIN_SCORE: u8 = 3;

/// A new password that passed the policy. Not serialisable and not printable,
/// so it can't end up in a log or a record by accident.
pub struct NewPassword(String);

/// Why a password was refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRejection(pub String);

impl fmt::Display for PasswordRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl NewPassword {
    /// Checks `password` for the person described by `personal` (email, first
    /// and last name), which it may not equal and which count against it.
    pub fn parse(password: &str, personal: &[&str]) -> Result<Self, PasswordRejection> {
        let reject = |m: &str| Err(PasswordRejection(m.to_owned()));
        let length = password.chars().count();
        if length < MIN_LEN {
            return reject("Use at least 12 characters.");
        }
        if length > MAX_LEN {
            return reject("Use at most 128 characters.");
        }
        let lowered = password.to_lowercase();
        if personal
            .iter()
            .any(|p| !p.trim().is_empty() && p.trim().to_lowercase() == lowered)
        {
            return reject("Don't use your email address or name as your password.");
        }
        // zxcvbn matches user inputs as lower-case words; an email also
        // contributes its local part and the words of its domain.
        let mut words: Vec<String> = Vec::new();
        for item in personal
            .iter()
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
        {
            words.extend(
                item.split(['@', '.', ' ', '-', '_', '+'])
                    .filter(|w| w.len() > 2)
                    .map(str::to_owned),
            );
            words.push(item);
        }
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        if (estimate.score() as u8) < MIN_SCORE {
            let mut message = String::from("This password is too easy to guess.");
            if let Some(feedback) = estimate.feedback() {
                if let Some(warning) = feedback.warning() {
                    message.push(' ');
                    message.push_str(&warning.to_string());
                }
                for suggestion in feedback.suggestions() {
                    message.push(' ');
                    message.push_str(&suggestion.to_string());
                }
            }
            return Err(PasswordRejection(message));
        }
        Ok(Self(password.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: [&str; 3] = ["emma.wright@example.com", "Emma", "Wright"];

    #[test]
    fn accepts_a_long_unusual_passphrase() {
        assert!(NewPassword::parse("correct horse battery staple 42", &PERSON).is_ok());
    }

    #[test]
    fn enforces_length_in_characters() {
        assert!(NewPassword::parse("short", &PERSON).is_err());
        assert!(NewPassword::parse(&"ẞ".repeat(129), &PERSON).is_err());
    }

    #[test]
    fn refuses_weak_and_personal_passwords() {
        assert!(NewPassword::parse("password1234", &PERSON).is_err());
        assert!(NewPassword::parse("EMMA.WRIGHT@EXAMPLE.COM", &PERSON).is_err());
        assert!(NewPassword::parse("wrightwright1", &PERSON).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let password = NewPassword::parse("correct horse battery staple 42", &PERSON).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
