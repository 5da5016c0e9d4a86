//! Pieces every screen uses: labelled fields with their errors, notices,
//! switches and buttons, built once so that accessibility is built once.
//! Lists (search box, table, pager), dialogs and tabs live in the
//! submodules and are re-exported here: every screen draws them with these
//! same pieces, so they look and behave alike everywhere.

mod dialog;
mod list;
mod tabs;

pub use dialog::{
    CloseLink, DIALOG_SLOT, close_dialog, dialog, dialog_link, dialog_or_page, dialog_slot,
    icon_action,
};
pub use list::{Column, ListUrl, Pager, SearchBox, Sorting, Table, group_digits};
pub use tabs::{Tab, tabs};

use maud::{Markup, html};

use super::icons;
use crate::accounts::FieldErrors;
use crate::domain::time::{self, Timestamp};

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

/// What a badge says about its subject, which sets its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Badge {
    /// Plain facts: "This session", "Built in".
    Neutral,
    /// A permission's stored name, in a fixed-width face.
    Code,
    /// Waiting: Invited, Queued.
    Pending,
    /// Done and well: Active, Sent.
    Good,
    /// Needs attention: Failed, Deletion requested.
    Alert,
}

/// A small label beside a name or in a table cell.
pub fn badge(tone: Badge, text: &str) -> Markup {
    badge_titled(tone, text, None)
}

/// [`badge`] with a tooltip that says more (when a deletion was asked for).
pub fn badge_titled(tone: Badge, text: &str, title: Option<&str>) -> Markup {
    let class = match tone {
        Badge::Neutral => "badge",
        Badge::Code => "badge badge-code",
        Badge::Pending => "badge badge-pending",
        Badge::Good => "badge badge-good",
        Badge::Alert => "badge badge-alert",
    };
    html! { span class=(class) title=[title] { (text) } }
}

/// A moment in a table cell: a `<time>` with the date, and the time of day
/// below it, so time columns stay narrow.
pub fn moment(at: Timestamp) -> Markup {
    let shown = time::display(at);
    let (date, clock) = shown.split_once(' ').unwrap_or((shown.as_str(), ""));
    html! {
        time datetime=(time::rfc3339(at)) {
            span.date { (date) }
            span.subline { (clock) }
        }
    }
}

/// An email address (or a label that may be one) that may wrap after its
/// `@`, never inside a word.
pub fn breakable_email(email: &str) -> Markup {
    match email.split_once('@') {
        Some((local, domain)) => html! { (local) "@" wbr; (domain) },
        None => html! { (email) },
    }
}
