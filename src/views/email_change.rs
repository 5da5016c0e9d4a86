//! Confirming a new email address from the link mailed to it.

use maud::{Markup, html};

use super::components::csrf_field;
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::email_change::PendingEmailChange;
use crate::domain::time;

/// The page the link opens: opening it changes nothing until *Confirm*, so
/// a mail scanner that follows links can't spend it.
pub fn confirm_page(chrome: &Chrome<'_>, token: &str, pending: &PendingEmailChange) -> Markup {
    page(
        chrome,
        "Confirm your new email address",
        html! {
            div.narrow {
                (card("Confirm your new email address", html! {}, html! {
                    p {
                        "Change the email address of " strong { (pending.user.full_name()) } "'s account from "
                        strong { (pending.user.email) } " to " strong { (pending.new_email) } "?"
                    }
                    p.hint { "You then sign in with the new address. This link works until " (time::display(pending.expires_at)) "." }
                    form method="post" action="/profile/email/confirm" {
                        (csrf_field(chrome.csrf))
                        input type="hidden" name="token" value=(token);
                        div.form-actions {
                            button.button.primary type="submit" { "Confirm new address" }
                            a.button href="/" { "Cancel" }
                        }
                    }
                }))
            }
        },
    )
}
