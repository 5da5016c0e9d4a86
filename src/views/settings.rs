//! The account Settings screen.

use maud::{Markup, html};

use super::components::{
    Badge, Column, Switch, Table, Tone, badge, breakable_email, csrf_field, moment, notice,
};
use super::layout::card;
use super::{Chrome, page};
use crate::accounts::outgoing_mail::OutboxOverview;
use crate::domain::{AccountSettings, time};
use crate::store::{MailStatus, OutboxMessage};

/// The settings form, then `more` (the *Outgoing mail* card).
pub fn settings_page(
    chrome: &Chrome<'_>,
    settings: &AccountSettings,
    saved: bool,
    more: Markup,
) -> Markup {
    page(
        chrome,
        "Settings",
        html! {
            (card(
                "Settings",
                html! {},
                settings_form(chrome.csrf, settings, saved),
            ))
            (more)
        },
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
                description: "Local users can edit their own name, email and phone on their Profile \
                              (a new email address by confirmation link). \
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

/// The *Outgoing mail* card: where mail goes, the outbox with each
/// message's state, and *Send test email*. Its own function (and its own
/// fragment for htmx) so it stays apart from the settings form.
pub fn outgoing_mail_card(
    csrf: &str,
    overview: &OutboxOverview,
    test: Option<&OutboxMessage>,
) -> Markup {
    let counts = overview.counts;
    html! {
        section #outgoing-mail .card aria-labelledby="outgoing-mail-title" {
            div.card-header {
                h2 #outgoing-mail-title { "Outgoing mail" }
                div.card-actions {
                    form.inline method="post" action="/account/settings/test-email"
                        data-hx-post="/account/settings/test-email" data-hx-target="#outgoing-mail" data-hx-swap="outerHTML" {
                        (csrf_field(csrf))
                        button.button type="submit" { "Send test email" }
                    }
                }
            }
            div.card-body {
                div aria-live="polite" {
                    @if let Some(test) = test { (test_notice(test)) }
                }
                p { "Mail is " (overview.transport) "." }
                p.outbox-counts {
                    (badge(Badge::Pending, &format!("{} queued", counts.queued))) " "
                    (badge(Badge::Good, &format!("{} sent", counts.sent))) " "
                    (badge(Badge::Alert, &format!("{} failed", counts.failed)))
                }
                (Table {
                    caption: "Newest messages",
                    columns: &[
                        Column::new("Queued"),
                        Column::new("To"),
                        Column::new("Subject"),
                        Column::new("Status"),
                        Column::new("Details"),
                    ],
                    sorting: None,
                    empty: "No mail yet.",
                    class: "",
                }.render(overview.recent.iter().map(|m| outbox_row(csrf, m)).collect()))
                @if !overview.recent.is_empty() && counts.queued + counts.sent + counts.failed > overview.recent.len() {
                    p.hint { "The newest " (overview.recent.len()) " are listed; sent and failed messages are kept for 30 days." }
                }
            }
        }
    }
}

fn outbox_row(csrf: &str, message: &OutboxMessage) -> Markup {
    html! {
        tr {
            td { (moment(message.created_at)) }
            td.wrap { (breakable_email(&message.message.to)) }
            td.wrap { (message.message.subject) }
            td {
                @match message.status {
                    MailStatus::Queued => (badge(Badge::Pending, "Queued")),
                    MailStatus::Sent => (badge(Badge::Good, "Sent")),
                    MailStatus::Failed => (badge(Badge::Alert, "Failed")),
                }
            }
            td.wrap {
                @match message.status {
                    MailStatus::Sent => {
                        @if let Some(at) = message.sent_at { "Sent " (time::display(at)) }
                        @if let Some(reply) = &message.reply { br; span.muted { (reply) } }
                    }
                    MailStatus::Queued => {
                        @if message.attempts == 0 { "Waiting for its first attempt." }
                        @else { (message.attempts) " attempt" @if message.attempts != 1 { "s" } " so far." }
                        @if let Some(error) = &message.last_error { br; span.error-text { "Last error: " (error) } }
                        @if let (Some(at), true) = (message.next_attempt_at, message.attempts > 0) { br; "Next attempt " (time::display(at)) }
                    }
                    MailStatus::Failed => {
                        @if let Some(error) = &message.last_error { span.error-text { (error) } }
                        @if message.id > 0 && !message.message.text.is_empty() {
                            form.inline method="post" action=(format!("/account/settings/outbox/{}/retry", message.id))
                                data-hx-post=(format!("/account/settings/outbox/{}/retry", message.id))
                                data-hx-target="#outgoing-mail" data-hx-swap="outerHTML" {
                                (csrf_field(csrf))
                                " "
                                button.link-button type="submit" { "Try again" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn test_notice(test: &OutboxMessage) -> Markup {
    match (test.status, &test.reply, &test.last_error) {
        (MailStatus::Sent, reply, _) => notice(
            Tone::Success,
            &format!(
                "Test message sent to {}. The server answered: {}",
                test.message.to,
                reply.as_deref().unwrap_or("OK")
            ),
        ),
        (_, _, error) => notice(
            Tone::Error,
            &format!(
                "The test message to {} could not be sent: {}",
                test.message.to,
                error.as_deref().unwrap_or("unknown error")
            ),
        ),
    }
}
