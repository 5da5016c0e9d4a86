//! The Profile's *Your sessions* card: where the user is signed in, with a
//! way to sign any other browser out.

use maud::{Markup, html};

use super::components::{Badge, Column, Table, Tone, badge, csrf_field, notice};
use crate::accounts::sessions::SessionSummary;
use crate::domain::time;

/// The card alone, which htmx swaps after a sign-out. `ended`: how many
/// sessions the last action signed out, to say so.
pub fn sessions_card(csrf: &str, sessions: &[SessionSummary], ended: Option<usize>) -> Markup {
    let others = sessions.iter().filter(|s| !s.current).count();
    html! {
        section #sessions .card aria-labelledby="sessions-title" {
            div.card-header {
                h2 #sessions-title { "Your sessions" }
            }
            div.card-body {
                div aria-live="polite" {
                    @match ended {
                        Some(0) => (notice(Tone::Info, "There was no other session to sign out.")),
                        Some(1) => (notice(Tone::Success, "Signed out one session.")),
                        Some(n) => (notice(Tone::Success, &format!("Signed out {n} sessions."))),
                        None => {}
                    }
                }
                p.hint { "Browsers signed in to your account. Sign out any you don't recognise, then change your password." }
                (Table {
                    caption: "Browsers signed in",
                    columns: &[
                        Column::new("Device"),
                        Column::new("Address"),
                        Column::new("Signed in"),
                        Column::new("Last active"),
                        Column::actions(),
                    ],
                    sorting: None,
                    empty: "",
                    class: "stacked",
                }.render(sessions.iter().map(|session| html! {
                    tr.current-session[session.current] {
                        td data-label="Device" {
                            (session.device)
                            @if session.current { " " (badge(Badge::Neutral, "This session")) }
                        }
                        td data-label="Address" {
                            @if let Some(client) = session.client { (client) } @else { span.muted { "Unknown" } }
                        }
                        td data-label="Signed in" { (time::display(session.signed_in_at)) }
                        td data-label="Last active" { (time::display(session.last_active_at)) }
                        td.actions-cell {
                            @if !session.current {
                                @let action = format!("/profile/sessions/{}/signout", session.reference);
                                form.inline method="post" action=(action)
                                    data-hx-post=(action) data-hx-target="#sessions" data-hx-swap="outerHTML" {
                                    (csrf_field(csrf))
                                    button.button.small type="submit"
                                        aria-label=(format!("Sign out {}", session.device)) { "Sign out" }
                                }
                            }
                        }
                    }
                }).collect()))
                @if others > 0 {
                    form method="post" action="/profile/sessions/signout-others"
                        data-hx-post="/profile/sessions/signout-others" data-hx-target="#sessions" data-hx-swap="outerHTML" {
                        (csrf_field(csrf))
                        div.form-actions {
                            button.button.danger-outline type="submit" { "Sign out everywhere else" }
                        }
                    }
                }
            }
        }
    }
}
