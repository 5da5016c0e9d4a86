//! "Confirm it's you": the password or a 2FA code before a sensitive action.

use maud::{Markup, html};

use super::components::{Field, Tone, csrf_field, notice};
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;

pub struct ReauthenticationView<'a> {
    /// Offer the code field (the user has 2FA on).
    pub code: bool,
    /// Minutes before the user is asked again.
    pub window_minutes: u64,
    pub next: Option<&'a str>,
    pub message: Option<(Tone, &'a str)>,
}

pub fn reauthentication_page(
    chrome: &Chrome<'_>,
    view: &ReauthenticationView<'_>,
    errors: &FieldErrors,
) -> Markup {
    let minutes = view.window_minutes;
    page(
        chrome,
        "Confirm it's you",
        html! {
            div.narrow {
                (card("Confirm it's you", html! {}, html! {
                    div aria-live="polite" {
                        @if let Some((tone, text)) = view.message { (notice(tone, text)) }
                    }
                    p {
                        "You're about to change something that protects your account. "
                        @if view.code { "Enter your password, or a code from your authenticator app. " }
                        @else { "Enter your password. " }
                        "You won't be asked again for " (minutes) (if minutes == 1 { " minute" } else { " minutes" }) "."
                    }
                    form method="post" action="/reauthenticate" novalidate {
                        (csrf_field(chrome.csrf))
                        @if let Some(next) = view.next { input type="hidden" name="next" value=(next); }
                        @if view.code {
                            (Field::new("password", "Password", "").kind("password").autocomplete("current-password")
                                .one_of().hint("Or leave this empty and enter a code below.").render(errors))
                            (Field::new("code", "6-digit code from your app", "")
                                .autocomplete("one-time-code").inputmode("numeric").one_of().render(errors))
                        } @else {
                            (Field::new("password", "Password", "").kind("password").autocomplete("current-password").render(errors))
                        }
                        div.form-actions {
                            button.button.primary type="submit" { "Confirm" }
                            a.button href="/profile" { "Cancel" }
                        }
                    }
                }))
            }
        },
    )
}
