//! Dialogs: one mechanism for every screen. A link or form that opens a
//! dialog targets the page's dialog slot (every page has one, see
//! `layout::page`); the server answers htmx with a `<dialog data-modal>`,
//! which `app.js` opens as a modal, focusing the first field with an error,
//! an `autofocus` control, the first field or, in a question, its safe
//! answer; closing it (its close button, a [`CloseLink`], Escape) removes
//! it and gives focus back to the control that opened it. Without
//! JavaScript the same link loads the same content as a page of its own
//! ([`dialog_or_page`]), so every dialog's body must make sense alone.

use maud::{Markup, html};

use super::super::layout::card;
use super::super::{Chrome, icons, page};

/// The id of the element that holds the open dialog.
pub const DIALOG_SLOT: &str = "dialog-slot";

/// Where htmx puts a dialog; empty until one is asked for.
pub fn dialog_slot() -> Markup {
    html! { div #(DIALOG_SLOT) {} }
}

/// Sent alongside a successful dialog form's answer: empties the slot,
/// which closes the dialog.
pub fn close_dialog() -> Markup {
    html! { div #(DIALOG_SLOT) data-hx-swap-oob="true" {} }
}

/// A modal dialog titled `title` (its heading gets the id `{id}-title`).
pub fn dialog(id: &str, title: &str, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    html! {
        dialog #(id) .modal data-modal aria-labelledby=(title_id) {
            div.modal-header {
                h2 #(title_id) { (title) }
                button.icon-button type="button" aria-label="Close" title="Close" data-close-dialog {
                    (icons::close())
                }
            }
            div.modal-body { (body) }
        }
    }
}

/// The same content as a dialog for htmx, or as a page of its own.
pub fn dialog_or_page(
    chrome: &Chrome<'_>,
    htmx: bool,
    id: &str,
    title: &str,
    body: Markup,
) -> Markup {
    if htmx {
        dialog(id, title, body)
    } else {
        page(
            chrome,
            title,
            html! { div.dialog-page { (card(title, html! {}, body)) } },
        )
    }
}

/// A link whose page opens as a dialog with JavaScript (a button-styled
/// *Add role*, *Delete user*); a plain link without.
pub fn dialog_link(href: &str, class: &str, content: Markup) -> Markup {
    html! {
        a class=(class) href=(href) data-hx-get=(href)
            data-hx-target=(format!("#{DIALOG_SLOT}")) data-hx-swap="innerHTML" { (content) }
    }
}

/// An icon link in a table row or panel header (edit, clone, delete) that
/// opens its page as a dialog; `label` names it for screen readers and in
/// its tooltip.
pub fn icon_action(href: &str, label: &str, class: &str, icon: Markup) -> Markup {
    html! {
        a class=(format!("icon-button {class}")) href=(href) aria-label=(label) title=(label)
            data-hx-get=(href) data-hx-target=(format!("#{DIALOG_SLOT}"))
            data-hx-swap="innerHTML" { (icon) }
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
