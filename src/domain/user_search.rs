//! Finding users on the Users page: what a search term matches, how the
//! list sorts, and the grams the store indexes so a search never reads every
//! user.
//!
//! A term of three or more characters matches a user whose name ("first
//! last") or email contains it anywhere, ignoring case. A term of one or two
//! characters matches the *start of a word* of the name or email (words are
//! runs of letters and digits: `emma`, `wright`, `example`, `com`), so "wr"
//! finds Wright but not Andrew; anywhere-matching on one letter would match
//! nearly everyone and tell the person nothing.
//!
//! The store indexes, for each user, every trigram of the lower-cased name
//! and email, plus each word's first one and two characters behind a marker
//! ([`WORD_START`]). A three-character term is then exactly one trigram; a
//! short term exactly one marked gram; a longer term's trigrams narrow the
//! candidates, which [`SearchText::matches`] confirms.

use std::collections::BTreeSet;

use super::{User, UserStatus};

/// Users per page of the list (and of `latchkey user list`'s walk).
pub const USERS_PER_PAGE: u32 = 50;

/// Marks a word-start gram so it can't collide with a trigram (control
/// characters never appear in names or emails).
pub const WORD_START: char = '\u{1}';

/// The longest term worth looking up: no name or email is longer.
const MAX_TERM_CHARS: usize = 130;

/// A column the Users list sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    Name,
    Email,
    /// Grouped by role: Global Administrator first, then the others by age,
    /// then users with no role. By id rather than name, so renaming a role
    /// doesn't reorder anything stored.
    Roles,
    LastSignIn,
    Status,
}

impl UserSort {
    pub const ALL: [UserSort; 5] = [
        UserSort::Name,
        UserSort::Email,
        UserSort::Roles,
        UserSort::LastSignIn,
        UserSort::Status,
    ];

    /// The name in URLs (`?sort=last_sign_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::Name => "name",
            UserSort::Email => "email",
            UserSort::Roles => "roles",
            UserSort::LastSignIn => "last_sign_in",
            UserSort::Status => "status",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The key of `user` in this order (the store appends the id, so equal
    /// keys still have one stable order).
    pub fn key_of(self, user: &User) -> Vec<u8> {
        let name = name_key(user);
        match self {
            UserSort::Name => name.into_bytes(),
            UserSort::Email => user.email.key().into_bytes(),
            UserSort::Roles => {
                let mut ids = user.roles.clone();
                ids.sort_unstable();
                ids.dedup();
                let mut key = Vec::with_capacity(ids.len() * 9 + 1 + name.len());
                if ids.is_empty() {
                    // After every list of roles.
                    key.push(2);
                } else {
                    for id in ids {
                        key.push(1);
                        key.extend_from_slice(&id.to_be_bytes());
                    }
                    // Ends the list, so [1] sorts before [1, 2].
                    key.push(0);
                }
                key.extend_from_slice(name.as_bytes());
                key
            }
            UserSort::LastSignIn => match user.last_sign_in_at {
                // Never signed in sorts before any time.
                None => vec![0],
                Some(at) => {
                    let mut key = vec![1];
                    // Flipping the sign bit makes signed order byte order.
                    key.extend_from_slice(&((at as u64) ^ (1 << 63)).to_be_bytes());
                    key
                }
            },
            UserSort::Status => {
                let status = match user.status {
                    UserStatus::Active => 0,
                    UserStatus::Invited => 1,
                };
                let mut key = vec![status];
                key.extend_from_slice(name.as_bytes());
                key
            }
        }
    }
}

/// What a Users list request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuery {
    pub search: Option<SearchTerm>,
    pub sort: UserSort,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            search: None,
            sort: UserSort::Name,
            descending: false,
            page: 1,
            per_page: USERS_PER_PAGE,
        }
    }
}

impl UserQuery {
    /// How many users come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.per_page)
    }
}

/// One page of the list.
#[derive(Clone, Debug)]
pub struct UserPage {
    pub users: Vec<User>,
    /// How many users match in all; `None` when counting would mean reading
    /// most of the index (a long term that nearly everyone matches).
    pub total: Option<u64>,
    /// Whether a later page has anyone on it.
    pub has_more: bool,
    /// The page shown (a page past the end shows the last one).
    pub page: u32,
}

/// A search term as people type it, lower-cased, trimmed, with runs of
/// spaces made one (names are stored that way) and invisible characters
/// dropped. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// `None` for a blank term: the whole list.
    pub fn parse(input: &str) -> Option<Self> {
        let visible: String = input
            .chars()
            .filter(|c| !super::text::is_hidden(*c))
            .collect();
        let words: Vec<&str> = visible.split_whitespace().collect();
        let term = words.join(" ").to_lowercase();
        (!term.is_empty()).then_some(Self(term))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_short(&self) -> bool {
        self.0.chars().nth(2).is_none()
    }

    /// The grams a matching user must have, rarest first not implied. Empty
    /// when nobody can match (a term longer than any name or email, or a
    /// short term that can't start a word).
    pub fn grams(&self) -> Vec<String> {
        if self.0.chars().nth(MAX_TERM_CHARS).is_some() {
            return Vec::new();
        }
        if self.is_short() {
            if !self.0.chars().all(char::is_alphanumeric) {
                return Vec::new();
            }
            return vec![format!("{WORD_START}{}", self.0)];
        }
        let mut grams: Vec<String> = trigrams(&self.0).collect();
        grams.sort_unstable();
        grams.dedup();
        grams
    }

    /// Whether one gram decides the match alone (so its posting count is
    /// the exact number of matches).
    pub fn is_single_gram(&self) -> bool {
        self.is_short() || self.0.chars().nth(3).is_none()
    }
}

/// The searchable text of a user: lower-cased full name and email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    pub name: String,
    pub email: String,
}

impl SearchText {
    pub fn of(user: &User) -> Self {
        Self {
            name: name_key(user),
            email: user.email.key(),
        }
    }

    /// Name and email in one string, split by a NUL no term contains, as
    /// the store keeps it beside each sort key.
    pub fn joined(&self) -> String {
        format!("{}\0{}", self.name, self.email)
    }

    /// Every gram the store indexes for this user.
    pub fn grams(&self) -> BTreeSet<String> {
        let mut grams = BTreeSet::new();
        for field in [&self.name, &self.email] {
            grams.extend(trigrams(field));
            for word in words(field) {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    grams.insert(format!("{WORD_START}{first}"));
                    if let Some(second) = chars.next() {
                        grams.insert(format!("{WORD_START}{first}{second}"));
                    }
                }
            }
        }
        grams
    }

    pub fn matches(&self, term: &SearchTerm) -> bool {
        field_matches(&self.name, term) || field_matches(&self.email, term)
    }
}

/// [`SearchText::matches`] on the [`SearchText::joined`] form.
pub fn joined_matches(joined: &str, term: &SearchTerm) -> bool {
    let (name, email) = joined.split_once('\0').unwrap_or((joined, ""));
    fields_match(name, email, term)
}

/// [`SearchText::matches`] on a lower-cased name and email held apart.
pub fn fields_match(name: &str, email: &str, term: &SearchTerm) -> bool {
    field_matches(name, term) || field_matches(email, term)
}

fn field_matches(field: &str, term: &SearchTerm) -> bool {
    if term.is_short() {
        words(field).any(|w| w.starts_with(term.as_str()))
    } else {
        field.contains(term.as_str())
    }
}

/// The name as listed and sorted: "first last" (an invited user's address
/// until they give a name), lower-cased.
fn name_key(user: &User) -> String {
    user.full_name().to_lowercase()
}

fn words(field: &str) -> impl Iterator<Item = &str> {
    field
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn trigrams(text: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = text.chars().collect();
    let count = chars.len().saturating_sub(2);
    (0..count).map(move |i| chars[i..i + 3].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PersonName, SignInMethod};

    fn user(first: &str, last: &str, email: &str) -> User {
        User {
            id: 1,
            first_name: PersonName::parse(first).unwrap(),
            last_name: PersonName::parse(last).unwrap(),
            email: Email::parse(email).unwrap(),
            phone: None,
            status: UserStatus::Active,
            sign_in_method: SignInMethod::Local,
            password_hash: None,
            roles: Vec::new(),
            created_at: 0,
            last_sign_in_at: None,
            deletion_requested_at: None,
        }
    }

    fn term(text: &str) -> SearchTerm {
        SearchTerm::parse(text).unwrap()
    }

    #[test]
    fn terms_are_normalised() {
        assert_eq!(term("  Emma   WRIGHT ").as_str(), "emma wright");
        assert_eq!(term("Em\u{200b}ma").as_str(), "emma");
        assert!(SearchTerm::parse(" \t ").is_none());
    }

    #[test]
    fn long_terms_match_anywhere_short_ones_at_word_starts() {
        let text = SearchText::of(&user("Emma", "Wright", "E.Wright@Example.com"));
        for hit in [
            "emm", "MMA", "a wr", "right@ex", "ample.c", "e", "w", "wr", "ex", "co",
        ] {
            assert!(text.matches(&term(hit)), "{hit}");
        }
        for miss in ["mm", "ri", "om", "@e", "emma wrong", "zz"] {
            assert!(!text.matches(&term(miss)), "{miss}");
        }
    }

    #[test]
    fn every_match_has_the_terms_grams() {
        // The index may only narrow by grams if a match implies them all.
        let text = SearchText::of(&user("Zoë", "O'Brien-Smith", "zoe.ob+x@mail.example.org"));
        let indexed = text.grams();
        for t in [
            "zo", "zoë", "o'b", "brien-s", "smith", "+x@", "ma", "or", "b", "s",
        ] {
            let t = term(t);
            assert!(text.matches(&t), "{t:?}");
            for gram in t.grams() {
                assert!(indexed.contains(&gram), "{t:?} needs {gram:?}");
            }
        }
        assert!(joined_matches(&text.joined(), &term("o'brien")));
        assert!(!joined_matches(&text.joined(), &term("smith zoe")));
    }

    #[test]
    fn sort_keys_order_as_people_expect() {
        let mut a = user("Ada", "Byron", "b@example.com");
        let mut b = user("ada", "Lovelace", "a@example.com");
        assert!(UserSort::Name.key_of(&a) < UserSort::Name.key_of(&b));
        assert!(UserSort::Email.key_of(&b) < UserSort::Email.key_of(&a));
        a.roles = vec![2, 1];
        b.roles = vec![1];
        let none = user("Zed", "Zed", "z@example.com");
        let keys: Vec<Vec<u8>> = [&b, &a, &none]
            .iter()
            .map(|u| UserSort::Roles.key_of(u))
            .collect();
        assert!(keys[0] < keys[1] && keys[1] < keys[2], "{keys:?}");
        a.last_sign_in_at = Some(-5);
        b.last_sign_in_at = Some(1_700_000_000);
        assert!(UserSort::LastSignIn.key_of(&none) < UserSort::LastSignIn.key_of(&a));
        assert!(UserSort::LastSignIn.key_of(&a) < UserSort::LastSignIn.key_of(&b));
        a.status = UserStatus::Invited;
        assert!(UserSort::Status.key_of(&b) < UserSort::Status.key_of(&a));
    }
}
