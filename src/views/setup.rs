//! First start: the form behind the one-time set-up link.

use maud::{Markup, html};

use super::components::{Field, csrf_field, form_errors};
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;
use crate::accounts::users::NewUserForm;

pub fn setup_page(
    chrome: &Chrome<'_>,
    token: &str,
    form: &NewUserForm,
    errors: &FieldErrors,
) -> Markup {
    page(
        chrome,
        "Set up Latchkey",
        html! {
            div.narrow {
                (card("Set up Latchkey", html! {}, html! {
                    p { "Create the first account. It becomes a Global Administrator, who can invite everyone else." }
                    div aria-live="polite" { (form_errors(errors)) }
                    form method="post" action="/setup" {
                        (csrf_field(chrome.csrf))
                        input type="hidden" name="token" value=(token);
                        (Field::new("first_name", "First name", &form.first_name).autocomplete("given-name").render(errors))
                        (Field::new("last_name", "Last name", &form.last_name).autocomplete("family-name").render(errors))
                        (Field::new("email", "Email", &form.email).kind("email").autocomplete("email").render(errors))
                        (Field::new("password", "Password", "").kind("password").autocomplete("new-password")
                            .hint("12 to 128 characters. A few unrelated words make a strong password.").render(errors))
                        (Field::new("password_confirm", "Confirm password", "").kind("password").autocomplete("new-password").render(errors))
                        div.form-actions {
                            button.button.primary type="submit" { "Create account" }
                        }
                    }
                }))
            }
        },
    )
}
