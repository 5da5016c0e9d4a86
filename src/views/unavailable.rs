//! Honest placeholders for screens whose flows are not built yet.

use maud::{Markup, html};

use super::layout::card;
use super::{Chrome, page};

pub fn unavailable_page(chrome: &Chrome<'_>, title: &str, explanation: &str) -> Markup {
    page(
        chrome,
        title,
        card(
            title,
            html! {},
            html! {
                div.notice.notice-info role="status" { p { "Not available yet." } }
                p { (explanation) }
                p.actions { a.button href="/profile" { "Back to your profile" } }
            },
        ),
    )
}
