//! The Audit log screen: the filter (user, action, dates), a page of events
//! newest first with its pager, and the CSV export of the filtered view.

use maud::{Markup, html};

use super::components::{Column, Pager, Table, Tone, breakable_email, moment, notice};
use super::layout::card;
use super::{Chrome, csv, icons, page};
use crate::accounts::FieldErrors;
use crate::accounts::audit::AuditFilterForm;
use crate::domain::{AuditAction, AuditEvent, EventParty, time};
use crate::store::EventPage;

/// The id of the region the filter and the pager replace: the form (so its
/// messages sit beside its fields) and the results.
pub const PANEL: &str = "audit-panel";

pub fn audit_page(chrome: &Chrome<'_>, panel: Markup) -> Markup {
    page(chrome, "Audit log", card("Audit log", html! {}, panel))
}

/// The filter form and, when the filter is valid, the page of events.
pub fn audit_panel(
    form: &AuditFilterForm,
    errors: &FieldErrors,
    page: Option<&EventPage>,
) -> Markup {
    html! {
        div #(PANEL) {
            (filter_form(form, errors))
            div aria-live="polite" {
                @if let Some(message) = errors.get("page") { (notice(Tone::Error, message)) }
                @else if !errors.is_empty() { (notice(Tone::Error, "Please correct the filter.")) }
            }
            @if let Some(page) = page { (results(form, page)) }
        }
    }
}

fn filter_form(form: &AuditFilterForm, errors: &FieldErrors) -> Markup {
    html! {
        form.filter-form method="get" action="/account/audit" novalidate
            data-hx-get="/account/audit" data-hx-target=(format!("#{PANEL}")) data-hx-swap="outerHTML"
            data-hx-replace-url="true"
            data-hx-trigger="submit, change from:#field-action, change from:#field-from, change from:#field-to" {
            (filter_field("user", "User (email)", "email", &form.user, errors))
            div.field.has-error[errors.get("action").is_some()] {
                label for="field-action" { "Action" }
                select #field-action name="action"
                    aria-invalid=[errors.get("action").map(|_| "true")]
                    aria-describedby=[errors.get("action").map(|_| "field-action-error")] {
                    option value="" selected[form.action.is_empty()] { "All actions" }
                    @for action in AuditAction::ALL {
                        option value=(action.as_str()) selected[form.action == action.as_str()] { (action.label()) }
                    }
                }
                @if let Some(error) = errors.get("action") { p.field-error #field-action-error { (error) } }
            }
            (filter_field("from", "From", "date", &form.from, errors))
            (filter_field("to", "To", "date", &form.to, errors))
            div.filter-actions {
                button.button.primary type="submit" { "Filter" }
                @if form.is_filtered() { a.button href="/account/audit" { "Clear" } }
            }
        }
    }
}

/// A labelled filter input with its error tied to it.
fn filter_field(name: &str, label: &str, kind: &str, value: &str, errors: &FieldErrors) -> Markup {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let error = errors.get(name);
    html! {
        div.field.has-error[error.is_some()] {
            label for=(id) { (label) }
            input #(id) type=(kind) name=(name) value=(value) autocomplete="off"
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())];
            @if let Some(error) = error { p.field-error #(error_id) { (error) } }
        }
    }
}

fn results(form: &AuditFilterForm, page: &EventPage) -> Markup {
    let base = form.without_cursor();
    let link = |cursor: (&str, u64)| {
        let mut query = base.clone();
        match cursor.0 {
            "before" => query.before = cursor.1.to_string(),
            _ => query.after = cursor.1.to_string(),
        }
        format!("/account/audit?{}", query.to_query())
    };
    let pager = Pager::newest_first(
        PANEL,
        page.has_newer
            .then(|| page.events.first().map(|e| link(("after", e.id))))
            .flatten(),
        page.has_older
            .then(|| page.events.last().map(|e| link(("before", e.id))))
            .flatten(),
    );
    let export = match base.to_query() {
        q if q.is_empty() => "/account/audit.csv".to_owned(),
        q => format!("/account/audit.csv?{q}"),
    };
    let empty = if form.is_filtered() {
        "No events match this filter."
    } else {
        "No events yet."
    };
    html! {
        div.results-bar {
            p.muted {
                @if form.is_filtered() { "Filtered events, newest first." } @else { "All events, newest first." }
            }
            a.button href=(export) download { (icons::download()) "Export CSV" }
        }
        (events_table("Audit events", &page.events, empty, true))
        (pager.render())
    }
}

/// Events as a table, newest first: the Audit log's, and a user's history
/// on the User page. With `link_parties` each named user links to their
/// events in the Audit log (for viewers who may see it).
pub fn events_table(
    caption: &str,
    events: &[AuditEvent],
    empty: &str,
    link_parties: bool,
) -> Markup {
    let columns = [
        Column::new("Time"),
        Column::new("Action"),
        Column::new("Actor"),
        Column::new("Subject"),
        Column::new("Details"),
        Column::new("Address"),
    ];
    let rows = events.iter().map(|e| event_row(e, link_parties)).collect();
    Table {
        caption,
        columns: &columns,
        sorting: None,
        empty,
        class: "",
    }
    .render(rows)
}

fn event_row(event: &AuditEvent, link_parties: bool) -> Markup {
    html! {
        tr {
            td { (moment(event.at)) }
            td.action-cell { (event.action.label()) }
            td.party-cell { (party(event.actor.as_ref(), "System", link_parties)) }
            td.party-cell { (party(event.subject.as_ref(), "—", link_parties)) }
            td.detail-cell { (event.detail) }
            td.nowrap { @if let Some(client) = &event.client { (client) } @else { span.muted { "—" } } }
        }
    }
}

/// A user as the event names them; a link to their events when they have an id.
fn party(party: Option<&EventParty>, none: &str, link: bool) -> Markup {
    html! {
        @match party {
            Some(p) if link && p.id.is_some() => {
                a href=(format!("/account/audit?{}", serde_urlencoded::to_string([("user", &p.label)]).unwrap_or_default()))
                    title=(format!("Events of {}", p.label)) { (breakable_email(&p.label)) }
            }
            Some(p) => { (breakable_email(&p.label)) }
            None => { span.muted { (none) } }
        }
    }
}

/// The header of the CSV export.
pub fn csv_header() -> String {
    let mut out = String::new();
    csv::row(
        &mut out,
        [
            "id",
            "time",
            "action",
            "action_label",
            "actor",
            "actor_id",
            "subject",
            "subject_id",
            "client_address",
            "detail",
        ],
    );
    out
}

/// Events as CSV records (see [`csv`] for quoting and formula neutralising).
pub fn csv_rows(events: &[AuditEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let label =
            |p: &Option<EventParty>| p.as_ref().map(|p| p.label.clone()).unwrap_or_default();
        let id = |p: &Option<EventParty>| {
            p.as_ref()
                .and_then(|p| p.id)
                .map(|id| id.to_string())
                .unwrap_or_default()
        };
        csv::row(
            &mut out,
            [
                e.id.to_string().as_str(),
                &time::rfc3339(e.at),
                e.action.as_str(),
                e.action.label(),
                &label(&e.actor),
                &id(&e.actor),
                &label(&e.subject),
                &id(&e.subject),
                e.client.as_deref().unwrap_or_default(),
                &e.detail,
            ],
        );
    }
    out
}
