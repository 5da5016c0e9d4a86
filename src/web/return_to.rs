//! Where to go after signing in: the page that asked for it, if that page
//! is ours. Anything that could leave the site (`//host`, `https://…`,
//! backslash tricks) is refused, so the parameter can't be an open redirect.

const MAX_LEN: usize = 512;

/// `raw` if it is a safe local path to return to, else `None`.
pub fn safe(raw: &str) -> Option<&str> {
    let local = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= MAX_LEN
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    let pointless = raw == "/signin"
        || raw.starts_with("/signin?")
        || raw.starts_with("/signin/")
        || raw.starts_with("/signout");
    (local && !pointless).then_some(raw)
}

/// `page` with `?next=…` when `next` is a safe place to return to.
pub fn with_next(page: &str, next: Option<&str>) -> String {
    match next.and_then(safe) {
        Some(next) => format!(
            "{page}?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        ),
        None => page.to_owned(),
    }
}

/// The sign-in URL that returns to `next`.
pub fn sign_in_url(next: Option<&str>) -> String {
    with_next("/signin", next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            safe("/account/settings?saved=1"),
            Some("/account/settings?saved=1")
        );
        for bad in [
            "",
            "profile",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a\\b",
            "/\u{0}",
            "/signin",
            "/signout",
            "/signin/2fa",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe(bad), None, "{bad:?}");
        }
        assert_eq!(safe(&format!("/{}", "a".repeat(600))), None);
    }

    #[test]
    fn sign_in_urls_encode_the_path() {
        assert_eq!(
            sign_in_url(Some("/account/users?q=a b")),
            "/signin?next=%2Faccount%2Fusers%3Fq%3Da+b"
        );
        assert_eq!(sign_in_url(Some("//evil.example")), "/signin");
        assert_eq!(sign_in_url(None), "/signin");
    }
}
