//! *Delete user account*: a Yes/No question, as a dialog (htmx) or a page.

use maud::{Markup, html};

use super::Chrome;
use super::components::{CloseLink, csrf_field, dialog_or_page};
use crate::domain::time::{self, Timestamp};

/// The question; *No* closes the dialog, or leads back to the Profile.
pub fn deletion_question(
    chrome: &Chrome<'_>,
    htmx: bool,
    requested_at: Option<Timestamp>,
) -> Markup {
    let body = html! {
        p { "Your account can't be deleted from here: a Global Administrator does that. Yes sends them a request by email." }
        p.hint { "Your account keeps working until an administrator deletes it." }
        @if let Some(at) = requested_at {
            p.hint { "You already asked on " (time::display(at)) ". Asking again within a day sends nothing new." }
        }
        form method="post" action="/profile/delete" {
            (csrf_field(chrome.csrf))
            div.form-actions {
                button.button.danger type="submit" { "Yes, ask for deletion" }
                (CloseLink { href: "/profile", label: "No" }.render())
            }
        }
    };
    dialog_or_page(
        chrome,
        htmx,
        "deletion-dialog",
        "Delete your account?",
        body,
    )
}
