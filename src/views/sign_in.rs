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

/// The second step of signing in with 2FA: a code from the app or a
/// recovery code.
pub fn second_step_page(
    chrome: &Chrome<'_>,
    email: &str,
    next: Option<&str>,
    message: Option<(Tone, &str)>,
    errors: &FieldErrors,
) -> Markup {
    page(
        chrome,
        "Two-factor authentication",
        html! {
            div.narrow {
                (card("Two-factor authentication", html! {}, html! {
                    div aria-live="polite" {
                        @if let Some((tone, text)) = message { (notice(tone, text)) }
                    }
                    p { "Signing in as " strong { (email) } "." }
                    form method="post" action="/signin/2fa" {
                        (csrf_field(chrome.csrf))
                        @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                        (Field::new("code", "Authentication code", "")
                            .autocomplete("one-time-code")
                            .hint("The 6-digit code your authenticator app shows now. Lost your phone? Enter one of your recovery codes instead.")
                            .render(errors))
                        div.form-actions {
                            button.button.primary type="submit" { "Verify" }
                        }
                    }
                    form.cancel-sign-in method="post" action="/signout" {
                        (csrf_field(chrome.csrf))
                        button.link-button type="submit" { "Cancel and sign in as someone else" }
                    }
                }))
            }
        },
    )
}
