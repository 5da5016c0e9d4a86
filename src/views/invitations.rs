//! The page an invitation link opens: the invited person gives their name,
//! phone and password, and is signed in.

use maud::{Markup, html};

use super::components::{Field, csrf_field, form_errors};
use super::layout::card;
use super::password::link_invalid_page;
use super::{Chrome, page};
use crate::accounts::FieldErrors;
use crate::accounts::invitations::AcceptForm;
use crate::mail::templates::INVITATION_PATH;

pub fn accept_page(
    chrome: &Chrome<'_>,
    email: &str,
    form: &AcceptForm,
    errors: &FieldErrors,
) -> Markup {
    page(
        chrome,
        "Accept your invitation",
        html! {
            div.narrow {
                (card("Accept your invitation", html! {}, html! {
                    div aria-live="polite" { (form_errors(errors)) }
                    p { "You're joining Latchkey as " strong { (email) } ". Tell us your name and choose a password; you'll be signed in straight away." }
                    form method="post" action=(INVITATION_PATH) novalidate {
                        (csrf_field(chrome.csrf))
                        input type="hidden" name="token" value=(form.token);
                        (Field::new("first_name", "First name", &form.first_name).autocomplete("given-name").render(errors))
                        (Field::new("last_name", "Last name", &form.last_name).autocomplete("family-name").render(errors))
                        (Field::new("phone", "Phone", &form.phone).kind("tel").autocomplete("tel").optional().render(errors))
                        (Field::new("password", "Password", "").kind("password").autocomplete("new-password")
                            .hint("12 to 128 characters. A few unrelated words make a strong password.").render(errors))
                        (Field::new("password_confirm", "Confirm password", "").kind("password").autocomplete("new-password").render(errors))
                        div.form-actions {
                            button.button.primary type="submit" { "Accept and sign in" }
                        }
                    }
                }))
            }
        },
    )
}

/// A link that doesn't work, whatever the reason: the same page for a used,
/// replaced or expired link as for one that never existed.
pub fn invitation_invalid_page(chrome: &Chrome<'_>) -> Markup {
    link_invalid_page(
        chrome,
        "Invitation",
        "An invitation link works once and for a limited time, and a new invitation replaces the older one. If you have accepted it already, sign in; otherwise ask the person who invited you to send the invitation again.",
        ("Go to sign in", "/signin"),
    )
}
