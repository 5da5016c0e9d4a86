//! The Profile screen: initials, details (with in-place Edit), 2FA state and
//! the account actions.

use maud::{Markup, html};

use super::components::{Field, Switch, Tone, csrf_field, dialog_link, form_errors, notice};
use super::icons;
use super::layout::card;
use super::sessions::sessions_card;
use super::{Chrome, page};
use crate::accounts::FieldErrors;
use crate::accounts::email_change::PendingEmailChange;
use crate::accounts::profile::ProfileForm;
use crate::accounts::sessions::SessionSummary;
use crate::domain::{TwoFactorStatus, User, time};

/// What the Profile screen shows besides the user.
pub struct ProfileView<'a> {
    pub user: &'a User,
    pub can_edit: bool,
    /// A message about what just happened (saved, link sent, request made).
    pub notice: Option<(Tone, String)>,
    /// A new address waiting for its confirmation link to be opened.
    pub pending_email: Option<&'a PendingEmailChange>,
    /// The user's 2FA, when it is on.
    pub two_factor: Option<TwoFactorStatus>,
    /// The user's sessions, for the *Your sessions* card.
    pub sessions: &'a [SessionSummary],
}

pub fn profile_page(chrome: &Chrome<'_>, view: &ProfileView<'_>, details: Markup) -> Markup {
    let user = view.user;
    let profile = card(
        "Profile",
        html! {},
        html! {
            div.profile-head {
                span.initials-circle aria-hidden="true" { (user.initials()) }
                div {
                    p.profile-name { (user.full_name()) }
                    p.muted { (user.email) " · " (user.sign_in_method.label()) " user" }
                }
            }
            (details)
            @if user.is_local() { (two_factor_section(view.two_factor.as_ref())) }
            @if let Some(at) = user.deletion_requested_at {
                p.deletion-requested #deletion-requested {
                    "You asked for this account to be deleted on " (time::display(at))
                    ". The Global Administrators were told; the account stays until one of them deletes it."
                }
            }
            div.profile-actions {
                @if user.is_local() {
                    @if view.two_factor.is_none() {
                        a.button href="/profile/2fa" { "Set up 2FA" }
                    }
                    a.button href=(forgot_password_link(user)) { "Change password" }
                }
                // With JavaScript the question opens as a dialog over
                // this page; without, the link leads to the same question.
                (dialog_link("/profile/delete", "button danger-outline", html! { "Delete user account" }))
                form.inline method="post" action="/signout" {
                    (csrf_field(chrome.csrf))
                    button.button type="submit" { "Log out" }
                }
            }
        },
    );
    page(
        chrome,
        "Profile",
        html! {
            (profile)
            (sessions_card(chrome.csrf, view.sessions, None))
        },
    )
}

/// The *2FA Enabled* switch and what goes with it. Turning the switch (with
/// JavaScript) opens set-up or the turn-off page; without JavaScript it
/// only shows the state and the links beside it do the same.
fn two_factor_section(status: Option<&TwoFactorStatus>) -> Markup {
    let description = match status {
        Some(s) => format!(
            "On since {}. {} recovery {} left.",
            time::display(s.enabled_at),
            s.recovery_codes_left,
            if s.recovery_codes_left == 1 { "code" } else { "codes" }
        ),
        None => "Off. Protect your account with a code from an authenticator app as well as your password.".to_owned(),
    };
    let href = if status.is_some() {
        "/profile/2fa/disable"
    } else {
        "/profile/2fa"
    };
    html! {
        div.two-factor-section {
            (Switch {
                id: "two-factor",
                name: None,
                label: "2FA Enabled",
                on: status.is_some(),
                enabled: false,
                description: &description,
            }.navigates_to(href))
            @if let Some(s) = status {
                @if s.recovery_codes_left <= 3 {
                    (notice(Tone::Info, "You are running out of recovery codes. Generate a new set before you need one."))
                }
                p.two-factor-links {
                    a href="/profile/2fa/recovery-codes" { "New recovery codes" }
                    " · "
                    a href="/profile/2fa/disable" { "Turn off 2FA" }
                }
            }
        }
    }
}

/// The details panel, swapped in place of the Edit form after Save.
pub fn details_fragment(view: &ProfileView<'_>) -> Markup {
    let user = view.user;
    html! {
        section #profile-details .details-panel aria-labelledby="details-title" {
            div.panel-header {
                h2 #details-title { "Your details" }
                @if view.can_edit {
                    a.icon-button.edit href="/profile/edit" data-hx-get="/profile/edit"
                        data-hx-target="#profile-details" data-hx-swap="outerHTML"
                        aria-label="Edit your details" title="Edit" { (icons::pencil()) }
                }
            }
            div aria-live="polite" {
                @if let Some((tone, text)) = &view.notice { (notice(*tone, text)) }
            }
            dl.details {
                div { dt { "First name" } dd { (user.first_name) } }
                div { dt { "Last name" } dd { (user.last_name) } }
                div { dt { "Email" } dd {
                    (user.email)
                    @if let Some(pending) = view.pending_email {
                        p.hint #pending-email {
                            "Changing to " strong { (pending.new_email) } ": open the link we sent there (it works until "
                            (time::display(pending.expires_at)) ")."
                        }
                    }
                } }
                div { dt { "Phone" } dd #phone-value {
                    @if let Some(phone) = &user.phone { (phone) } @else { span.muted { "Not set" } }
                } }
            }
            @if !view.can_edit {
                p.hint { "An administrator can update your details in Account › Users." }
            }
        }
    }
}

/// The Edit form, in place of the details.
pub fn edit_fragment(csrf: &str, form: &ProfileForm, errors: &FieldErrors) -> Markup {
    let email = form.email.as_deref().unwrap_or_default();
    html! {
        form #profile-details .details-panel method="post" action="/profile"
            data-hx-post="/profile" data-hx-target="this" data-hx-swap="outerHTML" novalidate {
            div.panel-header { h2 { "Edit your details" } }
            div aria-live="polite" { (form_errors(errors)) }
            (csrf_field(csrf))
            (Field::new("first_name", "First name", &form.first_name).autocomplete("given-name").render(errors))
            (Field::new("last_name", "Last name", &form.last_name).autocomplete("family-name").render(errors))
            (Field::new("email", "Email", email).kind("email").autocomplete("email")
                .hint("A new address is sent a confirmation link; it becomes yours when you open it.").render(errors))
            (Field::new("phone", "Phone", &form.phone).kind("tel").autocomplete("tel").optional().render(errors))
            div.form-actions {
                button.button.primary type="submit" { "Save" }
                a.button href="/profile" data-hx-get="/profile/details" data-hx-target="#profile-details" data-hx-swap="outerHTML" { "Cancel" }
            }
        }
    }
}

/// *Change password* opens the Forgotten-password page with the email filled in.
fn forgot_password_link(user: &User) -> String {
    let query = serde_urlencoded::to_string([("email", user.email.as_str())]).unwrap_or_default();
    format!("/password/forgot?{query}")
}
