//! Form decoding as the handlers do it (`application/x-www-form-urlencoded`
//! into each form), then the checks the use cases run on the fields: any
//! bytes decode to a form or an error, and no check panics.
#![no_main]

use latchkey::accounts::invitations::AcceptForm;
use latchkey::accounts::password_reset::ResetForm;
use latchkey::accounts::profile::ProfileForm;
use latchkey::accounts::roles::RoleForm;
use latchkey::accounts::settings::SettingsForm;
use latchkey::accounts::user_admin::InviteForm;
use latchkey::accounts::users::NewUserForm;
use latchkey::domain::{Email, PersonName, Phone, SignInMethod};
use latchkey::web::return_to;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_urlencoded::from_bytes(body).ok()
}

/// The field checks, which must refuse with a message rather than panic.
fn check_fields(values: &[&str]) {
    for value in values {
        let _ = Email::parse(value);
        let _ = PersonName::parse(value);
        let _ = Phone::parse_optional(value);
        let _ = SignInMethod::parse(value);
        if let Some(next) = return_to::safe(value) {
            // Never a way off the site.
            assert!(next.starts_with('/') && !next.starts_with("//"), "{next}");
            assert!(!next.contains('\\') && !next.chars().any(char::is_control));
        }
    }
}

fuzz_target!(|body: &[u8]| {
    // What the CSRF layer reads, and the roles form's pairs.
    let pairs: Vec<(String, String)> = decode(body).unwrap_or_default();
    let role = RoleForm::from_pairs(&pairs);
    let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    check_fields(&values);
    check_fields(&[&role.name, &role.description]);

    if let Some(form) = decode::<ProfileForm>(body) {
        check_fields(&[&form.first_name, &form.last_name, &form.phone]);
    }
    if let Some(form) = decode::<InviteForm>(body) {
        check_fields(&[&form.email, &form.sign_in_method]);
    }
    if let Some(form) = decode::<NewUserForm>(body) {
        // The password policy is slow on purpose for long input; the form
        // limit keeps real input short.
        if form.password.len() <= 256 {
            let _ = form.validate();
        }
    }
    let _ = decode::<SettingsForm>(body);
    if let Some(form) = decode::<AcceptForm>(body) {
        check_fields(&[&form.token, &form.first_name, &form.last_name, &form.phone]);
    }
    if let Some(form) = decode::<ResetForm>(body) {
        check_fields(&[&form.token]);
    }
});
