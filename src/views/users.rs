//! The Users screen: search, the sortable and paged table, bulk deletion,
//! and the dialogs shared with the User page (edit details, confirm a
//! deletion). See `user_page` for one user's page.

use maud::{Markup, html};

use super::components::{
    Badge, CloseLink, Column, DIALOG_SLOT, Field, ListUrl, Pager, SearchBox, Sorting, Table, Tone,
    badge, badge_titled, breakable_email, csrf_field, dialog_link, form_errors, icon_action,
    moment, notice,
};
use super::icons;
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;
use crate::accounts::profile::ProfileForm;
use crate::accounts::user_admin::{InviteForm, UserList};
use crate::domain::time;
use crate::domain::{Permission, PermissionSet, Role, SignInMethod, User, UserId, UserSort};

/// The id of the element holding the list's results, which htmx replaces.
pub const RESULTS: &str = "users-results";

/// The id of the list's notice, which a dialog's answer may fill out of band.
const NOTICE: &str = "users-notice";

/// What the viewer may do here, from their permissions.
#[derive(Clone, Copy)]
pub struct Abilities {
    pub viewer: UserId,
    pub edit: bool,
    pub delete: bool,
    pub invite: bool,
    pub assign_roles: bool,
    pub disable_2fa: bool,
}

impl Abilities {
    pub fn of(viewer: UserId, permissions: PermissionSet) -> Self {
        Self {
            viewer,
            edit: permissions.contains(Permission::UsersEdit),
            delete: permissions.contains(Permission::UsersDelete),
            invite: permissions.contains(Permission::UsersInvite),
            assign_roles: permissions.contains(Permission::UsersAssignRoles),
            disable_2fa: permissions.contains(Permission::UsersDisable2fa),
        }
    }
}

/// The list as the request asked for it.
pub struct UsersView<'a> {
    pub list: &'a UserList,
    pub url: &'a ListUrl,
    pub sort: UserSort,
    pub descending: bool,
    pub can: Abilities,
    /// A message after a change (users deleted…).
    pub notice: Option<(Tone, String)>,
}

pub fn users_page(chrome: &Chrome<'_>, view: &UsersView<'_>) -> Markup {
    let actions = html! {
        @if view.can.invite {
            (dialog_link("/account/users/invite", "button primary", html! { (icons::plus()) "Invite user" }))
        }
    };
    page(
        chrome,
        "Users",
        html! {
            (card("Users", actions, html! {
                (users_notice(view.notice.as_ref(), false))
                (SearchBox {
                    url: view.url,
                    name: "q",
                    label: "Search by name or email",
                    placeholder: "Name or email",
                    target: RESULTS,
                }.render())
                (users_results(chrome.csrf, view))
            }))
        },
    )
}

/// The list's notice; `out_of_band` for a dialog's answer that replaces
/// it beside the element it targets.
pub fn users_notice(message: Option<&(Tone, String)>, out_of_band: bool) -> Markup {
    html! {
        div #(NOTICE) aria-live="polite" data-hx-swap-oob=[out_of_band.then_some("true")] {
            @if let Some((tone, message)) = message { (notice(*tone, message)) }
        }
    }
}

/// The results: table, bulk actions and pager, swapped whole by search,
/// sorting and paging.
pub fn users_results(csrf: &str, view: &UsersView<'_>) -> Markup {
    let list = &view.list;
    let page = &list.page;
    let select = html! {
        input type="checkbox" data-select-all aria-label="Select every user on this page";
    };
    let mut columns = Vec::new();
    if view.can.delete {
        columns.push(Column::custom("Select", select));
    }
    columns.extend([
        Column::sorted("Name", UserSort::Name.as_str()),
        Column::sorted("Email", UserSort::Email.as_str()),
        Column::sorted("Roles", UserSort::Roles.as_str()),
        Column::sorted("Last sign-in", UserSort::LastSignIn.as_str()),
        Column::sorted("Status", UserSort::Status.as_str()),
    ]);
    if view.can.edit || view.can.delete || view.can.invite {
        columns.push(Column::actions());
    }
    let sorting = Sorting {
        key: view.sort.as_str(),
        descending: view.descending,
        url: view.url,
        target: RESULTS,
    };
    let search = view.url.get("q").unwrap_or_default();
    let empty = if search.is_empty() {
        "No users yet.".to_owned()
    } else {
        format!("No user's name or email matches “{search}”.")
    };
    let caption = format!("Users, sorted by {}", sorting_label(view));
    let rows = page
        .users
        .iter()
        .map(|user| user_row(user, &list.roles, view.can))
        .collect();
    html! {
        div #(RESULTS) .list-results {
            form #users-bulk method="post" action="/account/users/delete" {
                (csrf_field(csrf))
                (Table {
                    caption: &caption,
                    columns: &columns,
                    sorting: Some(&sorting),
                    empty: &empty,
                    class: "",
                }.render(rows))
                @if view.can.delete && !page.users.is_empty() {
                    div.bulk-actions {
                        button.button.small.danger-outline type="submit"
                            data-hx-post="/account/users/delete" data-hx-target=(format!("#{DIALOG_SLOT}"))
                            data-hx-swap="innerHTML" {
                            (icons::trash()) "Delete selected"
                        }
                    }
                }
            }
            (Pager::numbered(
                view.url,
                RESULTS,
                page.page,
                crate::domain::user_search::USERS_PER_PAGE,
                page.users.len(),
                page.total,
                page.has_more,
                ("user", "users"),
            ).render())
        }
    }
}

fn sorting_label(view: &UsersView<'_>) -> String {
    let column = match view.sort {
        UserSort::Name => "name",
        UserSort::Email => "email",
        UserSort::Roles => "roles",
        UserSort::LastSignIn => "last sign-in",
        UserSort::Status => "status",
    };
    let order = if view.descending {
        "descending"
    } else {
        "ascending"
    };
    format!("{column}, {order}")
}

/// The names of the user's roles, in role order (roles since deleted are left out).
pub fn role_names<'a>(user: &User, roles: &'a [Role]) -> Vec<&'a str> {
    roles
        .iter()
        .filter(|r| user.roles.contains(&r.id))
        .map(|r| r.name.as_str())
        .collect()
}

/// One row; also what an edit from the list swaps back in.
pub fn user_row(user: &User, roles: &[Role], can: Abilities) -> Markup {
    let name = user.full_name();
    let href = format!("/account/users/{}", user.id);
    let names = role_names(user, roles);
    html! {
        tr #(format!("user-{}", user.id)) {
            @if can.delete {
                td.select {
                    input type="checkbox" name="id" value=(user.id)
                        aria-label=(format!("Select {name}"));
                }
            }
            td {
                @if user.has_name() {
                    a href=(href) { (name) }
                } @else {
                    a href=(href) aria-label=(format!("{name}, no name yet")) { em.muted { "No name yet" } }
                }
                @if let Some(at) = user.deletion_requested_at {
                    " " (badge_titled(Badge::Alert, "Deletion requested", Some(&format!("Asked on {}", time::display(at)))))
                }
            }
            td {
                span.email { (breakable_email(user.email.as_str())) }
                span.subline { (user.sign_in_method.label()) }
            }
            td {
                @if names.is_empty() { span.muted { "No role" } }
                @else { (names.join(", ")) }
            }
            td {
                @match user.last_sign_in_at {
                    Some(at) => (moment(at)),
                    None => span.muted { "Never" },
                }
            }
            td { (status_badge(user)) }
            @if can.edit || can.delete || can.invite {
                td.actions-cell {
                    @if can.invite && !user.is_active() {
                        (resend_action(user, "list"))
                    }
                    // An invited user gives their own details when they accept.
                    @if can.edit && user.is_active() {
                        (icon_action(&format!("/account/users/{}/edit?from=list", user.id), &format!("Edit {name}"), "edit", icons::pencil()))
                    }
                    @if can.delete && user.id != can.viewer {
                        (icon_action(&format!("/account/users/{}/delete", user.id), &format!("Delete {name}"), "delete", icons::trash()))
                    }
                }
            }
        }
    }
}

/// *Resend invite*, the blue envelope, opened `from` the list or the page.
pub fn resend_action(user: &User, from: &str) -> Markup {
    icon_action(
        &format!("/account/users/{}/invite/resend?from={from}", user.id),
        &format!("Resend invite to {}", user.email),
        "resend",
        icons::envelope(),
    )
}

pub fn status_badge(user: &User) -> Markup {
    if user.is_active() {
        badge(Badge::Good, "Active")
    } else {
        badge(Badge::Pending, "Invited")
    }
}

/// Where an edit was opened from: it decides what a successful save
/// swaps back (the row, or the User page).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EditFrom {
    List,
    Page,
}

impl EditFrom {
    pub fn parse(text: Option<&str>) -> Self {
        if text == Some("list") {
            EditFrom::List
        } else {
            EditFrom::Page
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EditFrom::List => "list",
            EditFrom::Page => "page",
        }
    }
}

/// The form that edits a user's details, in a dialog or on its own page.
pub fn edit_form(
    csrf: &str,
    user: &User,
    form: &ProfileForm,
    errors: &FieldErrors,
    from: EditFrom,
) -> Markup {
    let action = format!("/account/users/{}/edit", user.id);
    let email = form.email.as_deref().unwrap_or(user.email.as_str());
    let cancel = format!("/account/users/{}", user.id);
    html! {
        form #user-edit-form method="post" action=(action) novalidate
            data-hx-post=(action) data-hx-target="this" data-hx-swap="outerHTML" {
            div aria-live="polite" { (form_errors(errors)) }
            (csrf_field(csrf))
            input type="hidden" name="from" value=(from.as_str());
            (Field::new("first_name", "First name", &form.first_name).autocomplete("off").render(errors))
            (Field::new("last_name", "Last name", &form.last_name).autocomplete("off").render(errors))
            (Field::new("email", "Email", email).kind("email").autocomplete("off")
                .hint("A new address gets a confirmation link and changes when the link is opened; the old address is told. You'll confirm your password first.")
                .render(errors))
            (Field::new("phone", "Phone", &form.phone).kind("tel").optional().render(errors))
            div.form-actions {
                button.button.primary type="submit" { "Save" }
                (CloseLink { href: &cancel, label: "Cancel" }.render())
            }
        }
    }
}

/// The question before deleting, or the rule that forbids it.
pub fn delete_body(csrf: &str, users: &[User], refusal: Option<&str>, back: &str) -> Markup {
    html! {
        div aria-live="assertive" {
            @if let Some(why) = refusal { (notice(Tone::Error, why)) }
        }
        @if users.is_empty() {
        } @else if let [user] = users {
            p { "Delete " strong { (user.full_name()) } " (" (user.email) ")?" }
        } @else {
            p { "Delete these " (users.len()) " users?" }
            ul.plain-list {
                @for user in users { li { (user.full_name()) " " span.muted { "(" (user.email) ")" } } }
            }
        }
        @if refusal.is_none() && !users.is_empty() {
            p.hint { "Their sessions end at once and their links stop working. This can't be undone." }
            form method="post" action="/account/users/delete"
                data-hx-post="/account/users/delete" data-hx-target=(format!("#{DIALOG_SLOT}")) data-hx-swap="innerHTML" {
                (csrf_field(csrf))
                input type="hidden" name="confirm" value="yes";
                @for user in users { input type="hidden" name="id" value=(user.id); }
                div.form-actions {
                    button.button.danger type="submit" { "Yes, delete" }
                    (CloseLink { href: back, label: "No" }.render())
                }
            }
        } @else {
            div.form-actions { (CloseLink { href: back, label: "Close" }.render()) }
        }
    }
}

pub fn delete_title(users: &[User]) -> String {
    match users {
        [user] => format!("Delete {}", user.full_name()),
        _ => "Delete users".into(),
    }
}

/// *Invite user*: the address and the sign-in method (only Local for now,
/// shown as the choice it will become). `sent` says who was just invited,
/// for an administrator who can't see the list.
pub fn invite_form(
    csrf: &str,
    form: &InviteForm,
    errors: &FieldErrors,
    sent: Option<&str>,
    lifetime: &str,
) -> Markup {
    let action = "/account/users/invite";
    let method_error = errors.get("sign_in_method");
    html! {
        form #user-invite-form method="post" action=(action) novalidate
            data-hx-post=(action) data-hx-target="this" data-hx-swap="outerHTML" {
            div aria-live="polite" {
                @if let Some(email) = sent {
                    (notice(Tone::Success, &format!("Invitation sent to {email}.")))
                }
                (form_errors(errors))
            }
            p { "We'll email a link that works for " (lifetime) ". The person sets their name, phone and password, and can sign in at once." }
            (csrf_field(csrf))
            (Field::new("email", "Email", &form.email).kind("email").autocomplete("off").render(errors))
            div.field.has-error[method_error.is_some()] {
                label for="field-sign_in_method" { "Sign-in method" }
                select #field-sign_in_method name="sign_in_method"
                    aria-describedby=(if method_error.is_some() { "field-sign_in_method-hint field-sign_in_method-error" } else { "field-sign_in_method-hint" }) {
                    @for method in SignInMethod::ALL {
                        option value=(method.as_str()) selected[form.sign_in_method == method.as_str()] { (method.label()) }
                    }
                }
                p.hint #field-sign_in_method-hint { "Local: email and password, with 2FA if they set it up." }
                @if let Some(error) = method_error { p.field-error #field-sign_in_method-error { (error) } }
            }
            div.form-actions {
                button.button.primary type="submit" { "Send invitation" }
                (CloseLink { href: "/account/users", label: "Cancel" }.render())
            }
        }
    }
}

/// *Resend invite*: the question, then (`sent`) what was done.
pub fn resend_body(csrf: &str, user: &User, back: &str, sent: Option<&str>) -> Markup {
    let action = format!("/account/users/{}/invite/resend", user.id);
    html! {
        @if let Some(lifetime) = sent {
            div aria-live="polite" {
                (notice(Tone::Success, &format!("A new invitation is on its way to {}.", user.email)))
            }
            p { "Its link works for " (lifetime) ". The link in the earlier invitation no longer works." }
            div.form-actions { (CloseLink { href: back, label: "Close" }.render()) }
        } @else {
            p { "Send a new invitation to " strong { (user.email) } "?" }
            p.hint { "The link in the earlier invitation stops working." }
            form method="post" action=(action)
                data-hx-post=(action) data-hx-target=(format!("#{DIALOG_SLOT}")) data-hx-swap="innerHTML" {
                (csrf_field(csrf))
                div.form-actions {
                    button.button.primary type="submit" { "Yes, send again" }
                    (CloseLink { href: back, label: "No" }.render())
                }
            }
        }
    }
}
