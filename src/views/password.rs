//! Forgotten password and Reset password.

use maud::{Markup, html};

use super::components::{Field, Tone, csrf_field, form_errors, notice};
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;

/// What the Forgotten-password card shows.
pub enum ForgotState<'a> {
    /// The form, with what was typed and any problem.
    Asking {
        email: &'a str,
        errors: &'a FieldErrors,
        problem: Option<&'a str>,
    },
    /// The answer, the same whether or not the address has an account.
    Sent { email: &'a str, lifetime: &'a str },
}

pub fn forgot_page(chrome: &Chrome<'_>, state: &ForgotState<'_>) -> Markup {
    page(
        chrome,
        "Forgotten your password?",
        html! {
            div.narrow {
                (card("Forgotten your password?", html! {}, forgot_fragment(chrome.csrf, state)))
            }
        },
    )
}

/// The card's body, which htmx swaps after *Reset Password*.
pub fn forgot_fragment(csrf: &str, state: &ForgotState<'_>) -> Markup {
    html! {
        div #password-forgot {
            @match state {
                ForgotState::Asking { email, errors, problem } => {
                    div aria-live="polite" {
                        @if let Some(problem) = problem { (notice(Tone::Error, problem)) }
                        @else { (form_errors(errors)) }
                    }
                    p { "Enter the email address of your account. We'll send you a link to choose a new password." }
                    form method="post" action="/password/forgot"
                        data-hx-post="/password/forgot" data-hx-target="#password-forgot" data-hx-swap="outerHTML" novalidate {
                        (csrf_field(csrf))
                        (Field::new("email", "Email", email).kind("email").autocomplete("username").render(errors))
                        div.form-actions {
                            button.button.primary type="submit" { "Reset Password" }
                            a.button href="/signin" { "Back to sign in" }
                        }
                    }
                }
                ForgotState::Sent { email, lifetime } => {
                    div aria-live="polite" {
                        (notice(Tone::Success, "Check your email."))
                    }
                    p {
                        "If " strong { (email) } " belongs to an account, we've sent it a link to choose a new password. "
                        "The link works once, for " (lifetime) "."
                    }
                    p.muted { "Nothing arrived after a few minutes? Look in your spam folder, check the address, or ask again." }
                    p.actions {
                        a.button href="/signin" { "Back to sign in" }
                        " "
                        a.button href="/password/forgot" { "Ask again" }
                    }
                }
            }
        }
    }
}

pub fn reset_page(chrome: &Chrome<'_>, token: &str, email: &str, errors: &FieldErrors) -> Markup {
    page(
        chrome,
        "Reset password",
        html! {
            div.narrow {
                (card("Reset password", html! {}, reset_fragment(chrome.csrf, token, email, errors)))
            }
        },
    )
}

/// The form, which htmx swaps when it has errors.
pub fn reset_fragment(csrf: &str, token: &str, email: &str, errors: &FieldErrors) -> Markup {
    html! {
        form #password-reset method="post" action="/password/reset"
            data-hx-post="/password/reset" data-hx-target="this" data-hx-swap="outerHTML" novalidate {
            div aria-live="polite" { (form_errors(errors)) }
            p { "Choose a new password for " strong { (email) } "." }
            (csrf_field(csrf))
            input type="hidden" name="token" value=(token);
            (Field::new("password", "New password", "").kind("password").autocomplete("new-password")
                .hint("12 to 128 characters. A few unrelated words make a strong one.").render(errors))
            (Field::new("password_confirm", "Confirm the new password", "").kind("password").autocomplete("new-password").render(errors))
            div.form-actions {
                button.button.primary type="submit" { "Set Password" }
            }
            p.hint { "Setting it signs you out everywhere; then sign in with the new password." }
        }
    }
}

/// A link that no longer works, with the way to get a new one.
pub fn link_invalid_page(
    chrome: &Chrome<'_>,
    title: &str,
    explanation: &str,
    action: (&str, &str),
) -> Markup {
    page(
        chrome,
        title,
        html! {
            div.narrow {
                (card(title, html! {}, html! {
                    (notice(Tone::Error, "This link has already been used, was replaced by a newer one, or has expired."))
                    p { (explanation) }
                    p.actions { a.button.primary href=(action.1) { (action.0) } }
                }))
            }
        },
    )
}
