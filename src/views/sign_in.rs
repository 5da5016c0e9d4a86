//! The sign-in screen.

use maud::{Markup, html};

use super::components::{Field, Tone, csrf_field, notice};
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;

/// `next` is where to go after signing in (already checked to be local).
pub fn sign_in_page(
    chrome: &Chrome<'_>,
    email: &str,
    next: Option<&str>,
    message: Option<(Tone, &str)>,
) -> Markup {
    let errors = FieldErrors::default();
    page(
        chrome,
        "Sign in",
        html! {
            div.narrow {
                (card("Sign in", html! {}, html! {
                    div aria-live="polite" {
                        @if let Some((tone, text)) = message { (notice(tone, text)) }
                    }
                    form method="post" action="/signin" {
                        (csrf_field(chrome.csrf))
                        @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                        (Field::new("email", "Email", email).kind("email").autocomplete("username").render(&errors))
                        (Field::new("password", "Password", "").kind("password").autocomplete("current-password").render(&errors))
                        div.form-actions {
                            button.button.primary type="submit" { "Sign in" }
                        }
                    }
                    p.muted { a href="/password/forgot" { "Forgotten your password?" } }
                }))
            }
        },
    )
}
