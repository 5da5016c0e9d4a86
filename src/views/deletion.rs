//! *Delete user account*: a Yes/No question, as a dialog (htmx) or a page.

use maud::{Markup, html};

use super::components::csrf_field;
use super::layout::card;
use super::{Chrome, page};
use crate::domain::time::{self, Timestamp};

/// The question, in a `<dialog>` that `app.js` opens as a modal.
pub fn deletion_dialog(csrf: &str, requested_at: Option<Timestamp>) -> Markup {
    html! {
        dialog #deletion-dialog .modal data-modal aria-labelledby="deletion-title" {
            h2 #deletion-title { "Delete your account?" }
            (question(csrf, requested_at, html! {
                button.button type="button" data-close-dialog autofocus { "No" }
            }))
        }
    }
}

/// The same question as a page, without JavaScript.
pub fn deletion_page(chrome: &Chrome<'_>, requested_at: Option<Timestamp>) -> Markup {
    page(
        chrome,
        "Delete user account",
        html! {
            div.narrow {
                (card("Delete your account?", html! {}, question(chrome.csrf, requested_at, html! {
                    a.button href="/profile" { "No" }
                })))
            }
        },
    )
}

fn question(csrf: &str, requested_at: Option<Timestamp>, no: Markup) -> Markup {
    html! {
        p { "Your account can't be deleted from here: a Global Administrator does that. Yes sends them a request by email." }
        p.hint { "Your account keeps working until an administrator deletes it." }
        @if let Some(at) = requested_at {
            p.hint { "You already asked on " (time::display(at)) ". Asking again within a day sends nothing new." }
        }
        form method="post" action="/profile/delete" {
            (csrf_field(csrf))
            div.form-actions {
                button.button.danger type="submit" { "Yes, ask for deletion" }
                (no)
            }
        }
    }
}
