//! QR codes as inline SVG, drawn here from the `qrcode` crate's modules:
//! one `<path>` of unit squares on a white square, with presentation
//! attributes only (no `style`), so the strict Content-Security-Policy
//! allows it, and a `<title>` for screen readers. Nothing leaves the server.

use std::fmt::Write as _;

use maud::{Markup, html};
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// `data` as an SVG QR code labelled `label`; `None` if it is too long for one.
pub fn qr_svg(data: &str, label: &str) -> Option<Markup> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(width * width * 4);
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            // Writing to a String cannot fail.
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Some(html! {
        svg.qr-code xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}"))
            width="200" height="200" role="img" aria-labelledby="qr-title" shape-rendering="crispEdges" {
            title #qr-title { (label) }
            rect width=(size) height=(size) fill="#ffffff" {}
            path fill="#000000" d=(path) {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_is_csp_clean_and_labelled() {
        let svg = qr_svg("otpauth://totp/Latchkey:a%40b.c?secret=ABC", "QR code")
            .unwrap()
            .into_string();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("style"), "no style attributes: {svg}");
        assert!(
            svg.contains(r#"role="img""#) && svg.contains("<title id=\"qr-title\">QR code</title>")
        );
        assert!(
            svg.contains("M4 4h1v1h-1z"),
            "the finder pattern starts at the quiet zone"
        );
        assert!(qr_svg(&"x".repeat(5000), "too long").is_none());
    }
}
