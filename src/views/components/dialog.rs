//! Dialogs: a `<dialog>` that htmx swaps into the page's dialog slot and
//! `app.js` opens as a modal; without JavaScript the same content is a
//! plain page, so every dialog's body must make sense on its own.

use maud::{Markup, html};

use crate::views::icons;

/// The element that holds the open dialog: pages that open dialogs render
/// one, and dialog links target it.
pub const DIALOG_SLOT: &str = "dialog-slot";

/// A modal dialog titled `title`, opened as soon as it is swapped in
/// (`data-open`), closed by its close button, Escape or any
/// [`CloseLink`] inside it.
pub fn dialog(id: &str, title: &str, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    html! {
        dialog #(id) .dialog aria-labelledby=(title_id) data-open {
            div.dialog-header {
                h2 #(title_id) { (title) }
                button.icon-button type="button" aria-label="Close" title="Close" data-close-dialog {
                    (icons::close())
                }
            }
            div.dialog-body { (body) }
        }
    }
}

/// *Cancel* or *No*: inside a dialog it closes the dialog; on the plain
/// page (no JavaScript) it is a link back to `href`.
pub struct CloseLink<'a> {
    pub href: &'a str,
    pub label: &'a str,
}

impl CloseLink<'_> {
    pub fn render(&self) -> Markup {
        html! { a.button href=(self.href) data-close-dialog { (self.label) } }
    }
}
