//! Error pages (404, 403, 500…): calm, with a way back.

use maud::{Markup, html};

use super::layout::card;
use super::{Chrome, page};

pub fn error_body(title: &str, message: &str, signed_in: bool) -> Markup {
    card(
        title,
        html! {},
        html! {
            div.error-box role="alert" {
                p { (message) }
            }
            p.actions {
                @if signed_in { a.button href="/profile" { "Go to your profile" } }
                @else { a.button href="/signin" { "Go to sign in" } }
            }
        },
    )
}

pub fn error_page(chrome: &Chrome<'_>, title: &str, message: &str) -> Markup {
    page(
        chrome,
        title,
        error_body(title, message, chrome.viewer.is_some()),
    )
}
