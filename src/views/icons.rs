//! Inline SVG icons. Decorative: the control that holds one carries the label.

use maud::{Markup, PreEscaped};

fn svg(class: &str, body: &str) -> Markup {
    PreEscaped(format!(
        r#"<svg class="icon {class}" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">{body}</svg>"#
    ))
}

/// Edit: an orange pencil in a square.
pub fn pencil() -> Markup {
    svg(
        "icon-edit",
        r#"<rect x="2.5" y="2.5" width="19" height="19" rx="3" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M8 16l.6-2.6 6.2-6.2a1.4 1.4 0 0 1 2 2l-6.2 6.2z" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/>"#,
    )
}

/// Three bars: the menu button on narrow screens.
pub fn menu() -> Markup {
    svg(
        "icon-menu",
        r#"<path d="M4 6h16M4 12h16M4 18h16" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>"#,
    )
}

/// A cross: dismisses a notice.
pub fn close() -> Markup {
    svg(
        "icon-close",
        r#"<path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>"#,
    )
}

/// The product mark: a key through a ring.
pub fn logo() -> Markup {
    svg(
        "icon-logo",
        r#"<circle cx="8" cy="12" r="4.5" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12.5 12H21M18 12v3M21 12v2" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>"#,
    )
}

/// Delete: a red trash can.
pub fn trash() -> Markup {
    svg(
        "icon-delete",
        r#"<path d="M4 7h16M10 7V4.5h4V7M6.5 7l1 12.5h9l1-12.5M10 11v5M14 11v5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>"#,
    )
}

/// Resend invite: a blue envelope.
pub fn envelope() -> Markup {
    svg(
        "icon-resend",
        r#"<rect x="3" y="5.5" width="18" height="13" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M3.8 6.5l8.2 6.3 8.2-6.3" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>"#,
    )
}

/// Clone: two overlapping sheets.
pub fn copy() -> Markup {
    svg(
        "icon-clone",
        r#"<rect x="8.5" y="8.5" width="11" height="11" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M15.5 8.5V6a1.5 1.5 0 0 0-1.5-1.5H6A1.5 1.5 0 0 0 4.5 6v8A1.5 1.5 0 0 0 6 15.5h2.5" fill="none" stroke="currentColor" stroke-width="1.6"/>"#,
    )
}

/// Locked: a padlock, for what can't be changed.
pub fn lock() -> Markup {
    svg(
        "icon-lock",
        r#"<rect x="5" y="10.5" width="14" height="9.5" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M8.5 10.5V8a3.5 3.5 0 0 1 7 0v2.5" fill="none" stroke="currentColor" stroke-width="1.6"/>"#,
    )
}

/// Add: a plus sign.
pub fn plus() -> Markup {
    svg(
        "icon-plus",
        r#"<path d="M12 5v14M5 12h14" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>"#,
    )
}

/// Export: an arrow into a tray.
pub fn download() -> Markup {
    svg(
        "icon-download",
        r#"<path d="M12 4v11M7.5 10.5 12 15l4.5-4.5M5 19.5h14" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round"/>"#,
    )
}
