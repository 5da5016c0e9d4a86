//! The Roles screen: the list with its search, and the add, edit, clone and
//! delete forms, each a `<dialog>` for htmx or a page of its own without
//! JavaScript (see `components::dialog`).

use maud::{Markup, html};

use super::components::{
    Badge, CloseLink, Column, Field, ListUrl, SearchBox, Switch, Table, Tone, badge, csrf_field,
    dialog_link, form_errors, icon_action, notice,
};
use super::layout::card;
use super::{Chrome, icons, page};
use crate::accounts::FieldErrors;
use crate::accounts::roles::RoleForm;
use crate::domain::{Permission, Role};

/// The id of the region search and saves replace.
pub const RESULTS: &str = "roles-results";

pub fn roles_page(chrome: &Chrome<'_>, search: &str, results: Markup) -> Markup {
    let add = dialog_link(
        "/account/roles/new",
        "button primary",
        html! { (icons::plus()) "Add role" },
    );
    let url = ListUrl::new("/account/roles").param("q", search);
    page(
        chrome,
        "Roles",
        card(
            "Roles",
            add,
            html! {
                (SearchBox {
                    url: &url,
                    name: "q",
                    label: "Search roles",
                    placeholder: "Name or description",
                    target: RESULTS,
                }.render())
                (results)
            },
        ),
    )
}

/// The table of roles (what the search box and a saved dialog replace), with
/// a notice saying what just happened.
pub fn roles_results(roles: &[Role], search: &str, done: Option<&str>) -> Markup {
    let columns = [
        Column::new("Name"),
        Column::new("Description"),
        Column::new("Permissions"),
        Column::actions(),
    ];
    let empty = if search.trim().is_empty() {
        "There are no roles.".to_owned()
    } else {
        format!("No role matches “{}”.", search.trim())
    };
    let rows = roles.iter().map(role_row).collect();
    html! {
        div #(RESULTS) {
            div aria-live="polite" {
                @if let Some(done) = done { (notice(Tone::Success, done)) }
            }
            (Table { caption: "Role list", columns: &columns, sorting: None, empty: &empty, class: "" }.render(rows))
        }
    }
}

fn role_row(role: &Role) -> Markup {
    let name = role.name.as_str();
    html! {
        tr {
            td.name-cell {
                span.role-name { (name) }
                @if role.locked { " " (badge(Badge::Neutral, "Built in")) }
            }
            td {
                @if role.description.is_empty() { span.muted { "—" } }
                @else { (role.description) }
            }
            td.permissions-cell {
                @if role.locked {
                    "Every permission"
                } @else if role.permissions.is_empty() {
                    span.muted { "None" }
                } @else {
                    @for p in &role.permissions { (badge(Badge::Code, p.as_str())) " " }
                }
            }
            td.actions-cell {
                @if role.locked {
                    span.locked-note title="Built in: can't be edited, cloned or deleted" {
                        (icons::lock())
                        span.visually-hidden { "Built in: can't be edited, cloned or deleted" }
                    }
                } @else {
                    (icon_action(&format!("/account/roles/{}/edit", role.id), &format!("Edit {name}"), "edit", icons::pencil()))
                    (icon_action(&format!("/account/roles/{}/clone", role.id), &format!("Clone {name}"), "clone", icons::copy()))
                    (icon_action(&format!("/account/roles/{}/delete", role.id), &format!("Delete {name}"), "delete", icons::trash()))
                }
            }
        }
    }
}

/// The add and edit form: name, description, one switch per permission.
/// With `htmx` it is sent from its dialog by htmx, carrying the search text
/// so the refreshed list keeps it; without, it is a plain form.
pub struct RoleFormView<'a> {
    pub action: &'a str,
    pub submit: &'a str,
    pub form: &'a RoleForm,
    pub errors: &'a FieldErrors,
    pub csrf: &'a str,
    pub htmx: bool,
}

pub fn role_form(view: &RoleFormView<'_>) -> Markup {
    let form = view.form;
    let errors = view.errors;
    let permissions_error = errors.get("permissions");
    html! {
        (role_dialog_form(view.action, view.htmx, html! {
            div aria-live="polite" { (form_errors(errors)) }
            (csrf_field(view.csrf))
            (Field::new("name", "Name", &form.name).hint("Up to 64 characters; unique.").render(errors))
            (Field::new("description", "Description", &form.description).optional().render(errors))
            fieldset.permissions aria-describedby=[permissions_error.map(|_| "permissions-error")] {
                legend { "Permissions" }
                @if let Some(error) = permissions_error {
                    p.field-error #permissions-error { (error) }
                }
                @for p in Permission::ALL {
                    (Switch {
                        id: &format!("permission-{}", p.as_str().replace(['.', '_'], "-")),
                        name: Some("permission"),
                        label: p.label(),
                        on: form.has(p),
                        enabled: true,
                        description: &format!("{} ({})", p.description(), p.as_str()),
                    }.render_with_value(p.as_str()))
                }
            }
            (dialog_actions(view.submit, "button primary"))
        }))
    }
}

/// The clone form: only the new name.
pub struct CloneFormView<'a> {
    pub original: &'a Role,
    pub name: &'a str,
    pub errors: &'a FieldErrors,
    pub csrf: &'a str,
    pub htmx: bool,
}

pub fn clone_form(view: &CloneFormView<'_>) -> Markup {
    let action = format!("/account/roles/{}/clone", view.original.id);
    html! {
        (role_dialog_form(&action, view.htmx, html! {
            div aria-live="polite" { (form_errors(view.errors)) }
            p { "The new role gets the description and permissions of " strong { (view.original.name) } "." }
            (csrf_field(view.csrf))
            (Field::new("name", "Name of the new role", view.name).render(view.errors))
            (dialog_actions("Clone", "button primary"))
        }))
    }
}

/// The Yes/No question before a delete.
pub fn delete_form(role: &Role, csrf: &str, htmx: bool) -> Markup {
    let action = format!("/account/roles/{}/delete", role.id);
    html! {
        (role_dialog_form(&action, htmx, html! {
            p { "Delete the role " strong { (role.name) } "?" }
            p.muted { "Users who hold it lose its permissions at once. This can't be undone." }
            (csrf_field(csrf))
            (dialog_actions("Yes, delete", "button danger"))
        }))
    }
}

/// A role form: a plain form, which with `htmx` is sent from its dialog,
/// carrying the search text so the refreshed list keeps it, and comes back
/// into the dialog with its messages.
fn role_dialog_form(action: &str, htmx: bool, body: Markup) -> Markup {
    html! {
        form #role-form .dialog-form method="post" action=(action) novalidate
            data-hx-post=[htmx.then_some(action)]
            data-hx-target=[htmx.then_some("this")]
            data-hx-swap=[htmx.then_some("outerHTML")]
            data-hx-include=[htmx.then_some("#search-q")] { (body) }
    }
}

/// Submit and Cancel (back to the list, or closing the dialog).
fn dialog_actions(submit: &str, class: &str) -> Markup {
    html! {
        div.form-actions {
            button type="submit" class=(class) { (submit) }
            (CloseLink { href: "/account/roles", label: "Cancel" }.render())
        }
    }
}
