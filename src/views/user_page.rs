//! One user's page (`/account/users/{id}`): a head with who they are, and
//! three tabs: *User details* (edit, 2FA, delete), *User role assignments*
//! and *User history*. The head, tabs and panel form one region that htmx
//! swaps, so the tabs and the head never disagree with the panel.

use maud::{Markup, html};

use super::audit::events_table;
use super::components::{
    Badge, Column, Pager, Switch, Tab, Table, Tone, badge, csrf_field, dialog_link, icon_action,
    notice, tabs,
};
use super::icons;
use super::layout::card;
use super::users::{Abilities, resend_action, status_badge};
use super::{Chrome, page};
use crate::accounts::email_change::PendingEmailChange;
use crate::domain::{PersonName, Role, User, role, time};
use crate::store::EventPage;

/// The id of the swapped region.
pub const MAIN: &str = "user-main";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum UserTab {
    Details,
    Roles,
    History,
}

impl UserTab {
    fn href(self, user: &User) -> String {
        match self {
            UserTab::Details => format!("/account/users/{}", user.id),
            UserTab::Roles => format!("/account/users/{}/roles", user.id),
            UserTab::History => format!("/account/users/{}/history", user.id),
        }
    }
}

pub struct UserPageView<'a> {
    pub user: &'a User,
    pub roles: &'a [Role],
    pub can: Abilities,
    pub csrf: &'a str,
    pub tab: UserTab,
    pub notice: Option<(Tone, String)>,
    /// Whether the user has 2FA on.
    pub two_factor: bool,
    /// Whether the viewer may read the Audit log (history names link there).
    pub audit: bool,
    /// A new address waiting for its confirmation link to be opened.
    pub pending_email: Option<&'a PendingEmailChange>,
    /// When an invited user's link stops working, if they have one.
    pub invitation_expires: Option<time::Timestamp>,
}

pub fn user_page(chrome: &Chrome<'_>, view: &UserPageView<'_>, panel: Markup) -> Markup {
    let name = view.user.full_name();
    page(
        chrome,
        &name,
        html! {
            (card(&name, html! { a.button href="/account/users" { "All users" } }, user_main(view, panel)))
        },
    )
}

/// Head, tabs, notice and the panel of the current tab.
pub fn user_main(view: &UserPageView<'_>, panel: Markup) -> Markup {
    let user = view.user;
    let tab = |label, which: UserTab| Tab {
        label,
        href: which.href(user),
        current: view.tab == which,
    };
    html! {
        div #(MAIN) {
            div.profile-head {
                span.initials-circle aria-hidden="true" { (user.initials()) }
                div {
                    p.profile-name { (user.full_name()) " " (status_badge(user)) }
                    p.muted {
                        // Before a name is given, the heading is the address.
                        @if user.has_name() { (user.email) " · " }
                        (user.sign_in_method.label()) " user"
                    }
                    @if let Some(at) = user.deletion_requested_at {
                        p { (badge(Badge::Alert, &format!("Deletion requested {}", time::display(at)))) }
                    }
                }
            }
            (tabs("User", &[
                tab("User details", UserTab::Details),
                tab("User role assignments", UserTab::Roles),
                tab("User history", UserTab::History),
            ], MAIN))
            div aria-live="polite" {
                @if let Some((tone, message)) = &view.notice { (notice(*tone, message)) }
            }
            (panel)
        }
    }
}

pub fn details_panel(view: &UserPageView<'_>) -> Markup {
    let user = view.user;
    let edit = format!("/account/users/{}/edit", user.id);
    let delete = format!("/account/users/{}/delete", user.id);
    html! {
        section #user-details .details-panel aria-labelledby="user-details-title" {
            div.panel-header {
                h2 #user-details-title { "User details" }
                div.panel-actions {
                    @if view.can.invite && !user.is_active() {
                        (resend_action(user, "page"))
                    }
                    // An invited user gives their own details when they accept.
                    @if view.can.edit && user.is_active() {
                        (icon_action(&edit, &format!("Edit {}", user.full_name()), "edit", icons::pencil()))
                    }
                }
            }
            @if !user.is_active() {
                p.hint {
                    "Invited: the user gives their name, phone and password when they accept the invitation mailed to them. "
                    @match view.invitation_expires {
                        Some(at) if at > time::now() => { "Its link works until " (time::display(at)) "." }
                        _ => { "Its link no longer works: resend the invitation." }
                    }
                }
            }
            dl.details {
                div { dt { "First name" } dd { (name_or_not_given(&user.first_name)) } }
                div { dt { "Last name" } dd { (name_or_not_given(&user.last_name)) } }
                div { dt { "Email" } dd {
                    (user.email)
                    @if let Some(pending) = view.pending_email {
                        span.subline { "Changing to " (pending.new_email) " when the link sent there is opened (until " (time::display(pending.expires_at)) ")" }
                    }
                } }
                div { dt { "Sign-in method" } dd { (user.sign_in_method.label()) } }
                div { dt { "Phone" } dd {
                    @if let Some(phone) = &user.phone { (phone) } @else { span.muted { "Not set" } }
                } }
                div { dt { "Status" } dd { (status_badge(user)) } }
                div { dt { "Created" } dd { (time::display(user.created_at)) } }
                div { dt { "Last sign-in" } dd {
                    @match user.last_sign_in_at { Some(at) => (time::display(at)), None => span.muted { "Never" } }
                } }
            }
        }
        @if user.is_local() && user.is_active() {
            section.details-panel.compact aria-labelledby="user-2fa-title" {
                div.panel-header { h2 #user-2fa-title { "Two-factor authentication" } }
                (Switch {
                    id: "user-two-factor",
                    name: None,
                    label: "2FA Enabled",
                    on: view.two_factor,
                    enabled: false,
                    description: if view.two_factor {
                        "An administrator can turn 2FA off (for a lost phone); only the user can turn it on."
                    } else {
                        "2FA is off. Only the user can turn it on, from their Profile."
                    },
                }.render())
                // Not for oneself: one's own 2FA is turned off from the Profile.
                @if view.two_factor && view.can.disable_2fa && user.id != view.can.viewer {
                    div.form-actions {
                        a.button.danger-outline href=(format!("/account/users/{}/two-factor/disable", user.id)) {
                            "Turn off 2FA"
                        }
                    }
                }
            }
        }
        @if view.can.delete && user.id != view.can.viewer {
            div.danger-zone {
                (dialog_link(&delete, "button danger-outline", html! { (icons::trash()) "Delete user" }))
            }
        }
    }
}

fn name_or_not_given(name: &PersonName) -> Markup {
    html! {
        @if name.is_given() { (name) } @else { span.muted { "Not given yet" } }
    }
}

pub fn roles_panel(view: &UserPageView<'_>) -> Markup {
    let user = view.user;
    let held: Vec<&Role> = view
        .roles
        .iter()
        .filter(|r| user.roles.contains(&r.id))
        .collect();
    let offered: Vec<&Role> = view
        .roles
        .iter()
        .filter(|r| !user.roles.contains(&r.id))
        .collect();
    let target = format!("#{MAIN}");
    let add = format!("/account/users/{}/roles/add", user.id);
    let remove = format!("/account/users/{}/roles/remove", user.id);
    let mut columns = vec![Column::new("Role"), Column::new("Description")];
    if view.can.assign_roles {
        columns.push(Column::actions());
    }
    let rows = held
        .iter()
        .map(|role| {
            html! {
                tr {
                    td { (role.name) }
                    td.muted { (role.description) }
                    @if view.can.assign_roles {
                        td.actions-cell {
                            form.inline method="post" action=(remove)
                                data-hx-post=(remove) data-hx-target=(target) data-hx-swap="outerHTML" {
                                (csrf_field(view.csrf))
                                input type="hidden" name="role" value=(role.id);
                                button.button.small.danger-outline type="submit"
                                    aria-label=(format!("Remove {}", role.name)) { "Remove" }
                            }
                        }
                    }
                }
            }
        })
        .collect();
    html! {
        section.details-panel aria-labelledby="user-roles-title" {
            div.panel-header { h2 #user-roles-title { "User role assignments" } }
            (Table {
                caption: "Roles held",
                columns: &columns,
                sorting: None,
                empty: "No roles: this user can use their own profile and nothing else.",
                class: "",
            }.render(rows))
            @if view.can.assign_roles && !offered.is_empty() {
                form.add-role method="post" action=(add)
                    data-hx-post=(add) data-hx-target=(target) data-hx-swap="outerHTML" {
                    (csrf_field(view.csrf))
                    div.field {
                        label for="field-role" { "Add a role" }
                        div.search-row {
                            select #field-role name="role" {
                                @for role in &offered { option value=(role.id) { (role.name) } }
                            }
                            button.button.primary type="submit" { "Add" }
                        }
                    }
                }
            }
            @if held.iter().any(|r| r.id == role::GLOBAL_ADMINISTRATOR) {
                p.hint { "At least one active user always holds Global Administrator." }
            }
            @if !view.can.assign_roles {
                p.hint { "Changing roles needs the users.assign_roles permission." }
            } @else {
                p.hint { "You can assign only roles whose permissions you hold yourself." }
            }
        }
    }
}

/// The user's events, newest first, paged like the Audit log.
pub fn history_panel(view: &UserPageView<'_>, history: &EventPage) -> Markup {
    let base = format!("/account/users/{}/history", view.user.id);
    let newer = history
        .has_newer
        .then(|| {
            history
                .events
                .first()
                .map(|e| format!("{base}?after={}", e.id))
        })
        .flatten();
    let older = history
        .has_older
        .then(|| {
            history
                .events
                .last()
                .map(|e| format!("{base}?before={}", e.id))
        })
        .flatten();
    html! {
        section.details-panel aria-labelledby="user-history-title" {
            div.panel-header { h2 #user-history-title { "User history" } }
            (events_table("Events, newest first", &history.events, "Nothing recorded yet.", view.audit))
            (Pager::newest_first(MAIN, newer, older).render())
        }
    }
}
