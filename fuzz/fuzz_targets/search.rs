//! The Users list's search: any term parses or is blank, and the index
//! never hides a user the term matches (every gram the term looks up is
//! among the user's indexed grams).
#![no_main]

use latchkey::domain::user_search::{SearchTerm, SearchText, joined_matches};
use latchkey::domain::{Email, PersonName, SignInMethod, User, UserStatus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str, &str)| {
    let (first, last, email, typed) = input;
    let Some(term) = SearchTerm::parse(typed) else {
        return;
    };
    // Normalised: parsing the term again changes nothing.
    assert_eq!(SearchTerm::parse(term.as_str()).as_ref(), Some(&term));
    let (Ok(first_name), Ok(last_name), Ok(email)) = (
        PersonName::parse(first),
        PersonName::parse(last),
        Email::parse(email),
    ) else {
        return;
    };
    let user = User {
        id: 1,
        first_name,
        last_name,
        email,
        phone: None,
        status: UserStatus::Active,
        sign_in_method: SignInMethod::Local,
        password_hash: None,
        roles: Vec::new(),
        created_at: 0,
        last_sign_in_at: None,
        deletion_requested_at: None,
    };
    let text = SearchText::of(&user);
    let matches = text.matches(&term);
    assert_eq!(joined_matches(&text.joined(), &term), matches);
    if matches {
        let grams = term.grams();
        assert!(!grams.is_empty(), "{term:?} matches but looks nothing up");
        let indexed = text.grams();
        for gram in grams {
            assert!(indexed.contains(&gram), "{gram:?} of {term:?} not indexed");
        }
    }
});
