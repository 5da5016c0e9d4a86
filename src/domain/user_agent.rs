//! "Firefox 128 on Linux": a User-Agent header in words, for the list of a
//! user's sessions. It only helps people recognise their own devices (the
//! header is whatever the client sends), so it knows the major browsers and
//! systems and otherwise says so.

/// Longest User-Agent kept with a session.
pub const MAX_LEN: usize = 512;

/// Browsers by a token in the header, most specific first: Edge and Opera
/// also say "Chrome", Chrome also says "Safari".
const BROWSERS: [(&str, &str); 13] = [
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Vivaldi/", "Vivaldi"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("curl/", "curl"),
];

/// Systems, most specific first: iPhones say "like Mac OS X", Android says "Linux".
const SYSTEMS: [(&str, &str); 8] = [
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// The browser (with its major version) and system in a User-Agent header.
pub fn describe(header: &str) -> String {
    let browser = BROWSERS
        .iter()
        .find_map(|(token, name)| Some((*name, major_after(header, token)?)))
        .or_else(|| {
            // Safari names its version after "Version/".
            header
                .contains("Safari/")
                .then(|| major_after(header, "Version/"))
                .flatten()
                .map(|v| ("Safari", v))
        });
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| header.contains(token))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some((name, version)), Some(system)) => format!("{name} {version} on {system}"),
        (Some((name, version)), None) => format!("{name} {version}"),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "An unknown browser".to_owned(),
    }
}

/// The digits right after `token`, if the header has it.
fn major_after(header: &str, token: &str) -> Option<String> {
    let start = header.find(token)? + token.len();
    let major: String = header[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(6)
        .collect();
    (!major.is_empty()).then_some(major)
}

/// Cuts a header to [`MAX_LEN`] bytes on a character boundary.
pub fn bounded(header: &str) -> String {
    let mut end = header.len().min(MAX_LEN);
    while !header.is_char_boundary(end) {
        end -= 1;
    }
    header[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_browsers_and_systems() {
        for (header, expected) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
                "Edge 126 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                "Chrome 126 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
                "Chrome 126 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 25 on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
                "Opera 111 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126 on ChromeOS",
            ),
            ("curl/8.5.0", "curl 8"),
            ("", "An unknown browser"),
            ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
        ] {
            assert_eq!(describe(header), expected, "{header}");
        }
    }

    #[test]
    fn long_headers_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(bounded("short"), "short");
    }
}
