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
        r#"<path d="M4 7h16M9 7V4.5h6V7M6.5 7l1 13h9l1-13M10 11v5M14 11v5" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round"/>"#,
    )
}

/// Add: a plus.
pub fn plus() -> Markup {
    svg(
        "icon-plus",
        r#"<path d="M12 5v14M5 12h14" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>"#,
    )
}
