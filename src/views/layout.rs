//! The page frame: top bar, the admin side menu, and the `<head>` that sets
//! htmx up to work under a strict Content-Security-Policy.

use maud::{DOCTYPE, Markup, html};

use super::components::dialog_slot;
use super::icons;
use crate::accounts::SignedIn;
use crate::domain::Permission;
use crate::web::assets;

/// What every page needs to know about the request.
pub struct Chrome<'a> {
    pub viewer: Option<&'a SignedIn>,
    pub csrf: &'a str,
    /// The current path, to mark the menu entry of this page.
    pub path: &'a str,
}

/// htmx settings: no inline styles or eval (the CSP forbids both), and 4xx
/// answers are swapped in, because they carry a form with its errors.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"4..","swap":true,"error":false},{"code":"...","swap":false,"error":true}]}"#;

const ACCOUNT_MENU: [(&str, &str, Permission); 4] = [
    ("Users", "/account/users", Permission::UsersView),
    ("Roles", "/account/roles", Permission::RolesManage),
    ("Settings", "/account/settings", Permission::SettingsManage),
    ("Audit log", "/account/audit", Permission::AuditView),
];

pub fn page(chrome: &Chrome<'_>, title: &str, content: Markup) -> Markup {
    let csrf_header = format!(r#"{{"X-CSRF-Token":"{}"}}"#, chrome.csrf);
    let menu: Vec<_> = chrome
        .viewer
        .map(|v| {
            ACCOUNT_MENU
                .iter()
                .filter(|(_, _, p)| v.permissions.contains(*p))
                .collect()
        })
        .unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="htmx-config" content=(HTMX_CONFIG);
                title { (title) " · Latchkey" }
                link rel="stylesheet" href=(assets::url("app.css"));
                link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
                script src=(assets::url("vendor/htmx.min.js")) defer {}
                script src=(assets::url("app.js")) defer {}
            }
            body data-hx-headers=(csrf_header) data-hx-indicator="#progress" {
                a.skip-link href="#main" { "Skip to content" }
                header.top-bar {
                    @if !menu.is_empty() {
                        button.menu-button type="button" aria-controls="side-menu" aria-expanded="false"
                            aria-label="Menu" title="Menu" data-menu-toggle { (icons::menu()) }
                    }
                    a.brand href="/" { (icons::logo()) span { "Latchkey" } }
                    @if let Some(viewer) = chrome.viewer {
                        // The accessible name starts with the initials people
                        // see, so voice control ("click EW") finds the link.
                        a.profile-icon href="/profile" title="Profile"
                            aria-label=(format!("{}: profile of {}", viewer.user.initials(), viewer.user.full_name())) {
                            span.initials aria-hidden="true" { (viewer.user.initials()) }
                        }
                    }
                }
                div.frame.has-menu[!menu.is_empty()] {
                    @if !menu.is_empty() {
                        nav #side-menu .side-menu aria-label="Account" {
                            h2.side-menu-title { "Account" }
                            ul {
                                @for (label, href, _) in &menu {
                                    li { a href=(href) aria-current=[in_section(chrome.path, href).then_some("page")] { (label) } }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        (content)
                    }
                }
                // Where dialogs open (see `components::dialog`).
                (dialog_slot())
                div #progress .progress aria-hidden="true" {}
            }
        }
    }
}

/// Whether `path` is the menu entry `href` or a page under it (a role's edit page is in Roles).
fn in_section(path: &str, href: &str) -> bool {
    path.strip_prefix(href)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A card: a titled panel with optional actions in its header.
pub fn card(title: &str, actions: Markup, body: Markup) -> Markup {
    html! {
        section.card aria-labelledby=(heading_id(title)) {
            div.card-header {
                h1 #(heading_id(title)) { (title) }
                div.card-actions { (actions) }
            }
            div.card-body { (body) }
        }
    }
}

fn heading_id(title: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("card-{slug}")
}
