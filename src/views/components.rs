//! Pieces every screen uses: labelled fields with their errors, notices,
//! switches and buttons, built once so that accessibility is built once.
//! Lists (search box, sortable table head, pager), dialogs and tabs live in
//! the submodules and are re-exported here.

mod dialog;
mod list;
mod tabs;

pub use dialog::{CloseLink, DIALOG_SLOT, dialog};
pub use list::{Column, ListUrl, Pager, SearchBox, Sorting, group_digits, table_head};
pub use tabs::{Tab, tabs};

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
        }
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
                    @if !self.required { span.optional { " (optional)" } }
                }
                input #(id) type=(self.kind) name=(self.name) value=(self.value)
                    autocomplete=(self.autocomplete)
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
        let description_id = format!("{}-description", self.id);
        html! {
            div.switch-row {
                label.switch for=(self.id) {
                    input #(self.id) type="checkbox" role="switch" name=[self.name] value="on"
                        checked[self.on] disabled[!self.enabled] aria-describedby=(description_id);
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
