//! The account Settings screen.

use maud::{Markup, html};

use super::components::{Switch, Tone, csrf_field, notice};
use super::layout::card;
use super::{Chrome, page};
use crate::domain::AccountSettings;

pub fn settings_page(chrome: &Chrome<'_>, settings: &AccountSettings, saved: bool) -> Markup {
    page(
        chrome,
        "Settings",
        card(
            "Settings",
            html! {},
            settings_form(chrome.csrf, settings, saved),
        ),
    )
}

/// The form alone, which htmx swaps after Save.
pub fn settings_form(csrf: &str, settings: &AccountSettings, saved: bool) -> Markup {
    html! {
        form #settings-form method="post" action="/account/settings"
            data-hx-post="/account/settings" data-hx-target="this" data-hx-swap="outerHTML" {
            div aria-live="polite" {
                @if saved { (notice(Tone::Success, "Settings saved. They apply at once.")) }
            }
            (csrf_field(csrf))
            (Switch {
                id: "self-service",
                name: Some("self_service_profile_updates"),
                label: "Enable self-service user profile updates",
                on: settings.self_service_profile_updates,
                enabled: true,
                description: "Local users can edit their own name and phone on their Profile. \
                              When off, a user with the right permissions updates them in Account › Users.",
            }.render())
            (Switch {
                id: "require-2fa",
                name: Some("require_2fa_for_local_users"),
                label: "Require 2FA for local users",
                on: settings.require_2fa_for_local_users,
                enabled: true,
                description: "A local user without two-factor authentication is taken to set it up when they next sign in, \
                              and can reach nothing else until it is done.",
            }.render())
            div.form-actions {
                button.button.primary type="submit" { "Save" }
            }
        }
    }
}
