//! Pieces every screen uses: labelled fields with their errors, notices,
//! switches and buttons, built once so that accessibility is built once.

use maud::{Markup, html};

use super::icons;
use crate::accounts::FieldErrors;

/// A text-like input with its label and, when there is one, its error,
/// tied together with `aria-describedby` so screen readers read both.
pub struct Field<'a> {
    pub name: &'static str,
    pub label: &'a str,
    pub kind: &'static str,
    pub value: &'a str,
    pub autocomplete: &'static str,
    pub required: bool,
    pub readonly: bool,
    pub hint: Option<&'a str>,
    /// The on-screen keyboard to offer (`numeric` for 6-digit codes).
    pub inputmode: Option<&'static str>,
    /// Say "(optional)" beside the label of a field that isn't required.
    pub mark_optional: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'static str, label: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label,
            kind: "text",
            value,
            autocomplete: "off",
            required: true,
            readonly: false,
            hint: None,
            inputmode: None,
            mark_optional: true,
        }
    }

    /// One of several fields of which any one will do: not required, and
    /// not called optional either (the hint says what to fill in).
    pub fn one_of(mut self) -> Self {
        self.required = false;
        self.mark_optional = false;
        self
    }

    pub fn inputmode(mut self, inputmode: &'static str) -> Self {
        self.inputmode = Some(inputmode);
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = autocomplete;
        self
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn readonly(mut self, hint: &'a str) -> Self {
        self.readonly = true;
        self.hint = Some(hint);
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn render(&self, errors: &FieldErrors) -> Markup {
        let id = format!("field-{}", self.name);
        let error = errors.get(self.name);
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.clone());
        }
        if error.is_some() {
            described.push(error_id.clone());
        }
        html! {
            div.field.has-error[error.is_some()] {
                label for=(id) {
                    (self.label)
                    @if !self.required && self.mark_optional { span.optional { " (optional)" } }
                }
                input #(id) type=(self.kind) name=(self.name) value=(self.value)
                    autocomplete=(self.autocomplete) inputmode=[self.inputmode]
                    required[self.required] readonly[self.readonly]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
                @if let Some(hint) = self.hint { p.hint #(hint_id) { (hint) } }
                @if let Some(error) = error { p.field-error #(error_id) { (error) } }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Success,
    Error,
}

/// A dismissible message at the top of a card, announced to screen readers.
pub fn notice(tone: Tone, message: &str) -> Markup {
    let (class, role) = match tone {
        Tone::Info => ("notice notice-info", "status"),
        Tone::Success => ("notice notice-success", "status"),
        Tone::Error => ("notice notice-error", "alert"),
    };
    html! {
        div class=(class) role=(role) {
            p { (message) }
            button.notice-close type="button" aria-label="Dismiss" title="Dismiss" data-dismiss { (icons::close()) }
        }
    }
}

/// The summary notice for a form with errors.
pub fn form_errors(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            (notice(Tone::Error, "Please correct the highlighted fields."))
        }
    }
}

/// A switch: a real checkbox (`role="switch"`) drawn as a toggle. With a
/// `name` it is a form control; without one it only shows a state.
pub struct Switch<'a> {
    pub id: &'a str,
    pub name: Option<&'static str>,
    pub label: &'a str,
    pub on: bool,
    pub enabled: bool,
    pub description: &'a str,
}

impl Switch<'_> {
    pub fn render(&self) -> Markup {
        self.render_with("on", None)
    }

    /// For a group of switches sharing one `name`, each sending its own value.
    pub fn render_with_value(&self, value: &str) -> Markup {
        self.render_with(value, None)
    }

    /// A switch whose turning opens `href`: disabled in the markup (without
    /// JavaScript it can only show the state, so the page must offer a link
    /// too), enabled by `app.js`.
    pub fn navigates_to(&self, href: &str) -> Markup {
        self.render_with("on", Some(href))
    }

    fn render_with(&self, value: &str, href: Option<&str>) -> Markup {
        let description_id = format!("{}-description", self.id);
        html! {
            div.switch-row {
                label.switch for=(self.id) {
                    input #(self.id) type="checkbox" role="switch" name=[self.name] value=(value)
                        checked[self.on] disabled[!self.enabled] aria-describedby=(description_id)
                        data-switch-href=[href];
                    span.switch-track aria-hidden="true" { span.switch-thumb {} }
                    span.switch-label { (self.label) }
                }
                p.hint #(description_id) { (self.description) }
            }
        }
    }
}

/// Hidden CSRF field for forms.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A search box that filters a region as the person types (htmx, debounced)
/// and is a plain GET form without JavaScript. The server answers the htmx
/// request with the region alone (`target`, swapped whole).
pub struct SearchBox<'a> {
    /// The page's own path: the form's action and htmx's source.
    pub action: &'a str,
    pub label: &'a str,
    pub placeholder: &'a str,
    /// The current search text.
    pub value: &'a str,
    /// CSS selector of the region to replace with the answer.
    pub target: &'a str,
}

impl SearchBox<'_> {
    pub fn render(&self) -> Markup {
        html! {
            form.search-box method="get" action=(self.action) role="search" {
                label.visually-hidden for="search-q" { (self.label) }
                input #search-q type="search" name="q" value=(self.value)
                    placeholder=(self.placeholder) autocomplete="off"
                    data-hx-get=(self.action) data-hx-trigger="input changed delay:300ms, search"
                    data-hx-target=(self.target) data-hx-swap="outerHTML" data-hx-replace-url="true";
                button.button type="submit" { "Search" }
            }
        }
    }
}

/// A table column: its heading and a class for its cells (`actions` right-aligns).
#[derive(Clone, Copy)]
pub struct Column {
    pub label: &'static str,
    pub class: &'static str,
    /// Read by screen readers only (the actions column needs no visible heading).
    pub hidden_label: bool,
}

impl Column {
    pub const fn new(label: &'static str) -> Self {
        Self {
            label,
            class: "",
            hidden_label: false,
        }
    }

    /// The right-aligned column of icon buttons.
    pub const fn actions() -> Self {
        Self {
            label: "Actions",
            class: "actions-cell",
            hidden_label: true,
        }
    }
}

/// A data table with a header row; `rows` are `<tr>`s. When there are none,
/// one row spanning every column says `empty`.
pub fn data_table(caption: &str, columns: &[Column], rows: Vec<Markup>, empty: &str) -> Markup {
    html! {
        div.table-wrap {
            table.data-table {
                caption.visually-hidden { (caption) }
                thead {
                    tr {
                        @for column in columns {
                            th scope="col" class=[(!column.class.is_empty()).then_some(column.class)] {
                                @if column.hidden_label { span.visually-hidden { (column.label) } }
                                @else { (column.label) }
                            }
                        }
                    }
                }
                tbody {
                    @if rows.is_empty() {
                        tr.empty-row { td colspan=(columns.len()) { (empty) } }
                    }
                    @for row in rows { (row) }
                }
            }
        }
    }
}

/// Newer / Older links under a paged table; each is a link (a page without
/// JavaScript) that htmx follows into `target`. Shown only when there is
/// another page.
pub struct Pager<'a> {
    pub newer: Option<String>,
    pub older: Option<String>,
    pub target: &'a str,
}

impl Pager<'_> {
    pub fn render(&self) -> Markup {
        let link = |href: &Option<String>, label: &str, rel: &str| {
            html! {
                @if let Some(href) = href {
                    a.button href=(href) rel=(rel) data-hx-get=(href) data-hx-target=(self.target)
                        data-hx-swap="outerHTML" data-hx-replace-url="true" { (label) }
                } @else {
                    // Keeps the other link on its side.
                    span {}
                }
            }
        };
        html! {
            @if self.newer.is_some() || self.older.is_some() {
                nav.pager aria-label="Pages" {
                    (link(&self.newer, "← Newer", "prev"))
                    (link(&self.older, "Older →", "next"))
                }
            }
        }
    }
}

/// An icon link in a table row (edit, clone, delete): a page without
/// JavaScript, a dialog fetched into `#dialog-slot` with it.
pub fn icon_action(href: &str, label: &str, class: &str, icon: Markup) -> Markup {
    html! {
        a class=(format!("icon-button {class}")) href=(href) aria-label=(label) title=(label)
            data-hx-get=(href) data-hx-target="#dialog-slot" data-hx-swap="innerHTML" { (icon) }
    }
}

/// Where htmx puts a dialog; empty until one is asked for.
pub fn dialog_slot() -> Markup {
    html! { div #dialog-slot {} }
}

/// Sent with a successful dialog form: empties the slot, which closes the dialog.
pub fn close_dialog() -> Markup {
    html! { div #dialog-slot data-hx-swap-oob="true" {} }
}

/// A modal `<dialog>` (opened by `app.js` once swapped in; Escape and every
/// `data-dialog-close` control close it). Pages without JavaScript show the
/// same body in a card instead: see [`dialog_or_page`].
pub fn modal(title: &str, body: Markup) -> Markup {
    html! {
        dialog.modal data-modal aria-labelledby="dialog-title" {
            div.modal-header { h2 #dialog-title { (title) } }
            div.modal-body { (body) }
        }
    }
}

/// The same content as a dialog for htmx, or as a page of its own.
pub fn dialog_or_page(chrome: &super::Chrome<'_>, htmx: bool, title: &str, body: Markup) -> Markup {
    if htmx {
        modal(title, body)
    } else {
        super::page(
            chrome,
            title,
            super::layout::card(title, html! {}, html! { div.narrow-form { (body) } }),
        )
    }
}

/// A small label in a table cell (a permission's name, "Built in").
pub fn badge(text: &str, class: &str) -> Markup {
    html! { span class=(format!("badge {class}")) { (text) } }
}
