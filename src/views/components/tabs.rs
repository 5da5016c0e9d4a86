//! Tabs as links: each tab is an address of its own (so it can be
//! bookmarked and works without JavaScript); htmx swaps the tab region in
//! place and records the address.

use maud::{Markup, html};

pub struct Tab<'a> {
    pub label: &'a str,
    pub href: String,
    pub current: bool,
}

/// The row of tabs, labelled `label` for screen readers; `target` is the id
/// of the region holding tabs and panel, which each tab reloads.
pub fn tabs(label: &str, tabs: &[Tab<'_>], target: &str) -> Markup {
    let target = format!("#{target}");
    html! {
        nav.tabs aria-label=(label) {
            ul {
                @for tab in tabs {
                    li {
                        a href=(tab.href) data-hx-get=(tab.href) data-hx-target=(target)
                            data-hx-swap="outerHTML" data-hx-push-url="true"
                            aria-current=[tab.current.then_some("page")] { (tab.label) }
                    }
                }
            }
        }
    }
}
