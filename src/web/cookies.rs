//! Every cookie Latchkey sets, built from one template: HttpOnly,
//! SameSite=Lax, path `/`, and Secure when the public URL is https.

use tower_cookies::cookie::{Cookie, SameSite};
use tower_cookies::{Cookies, cookie::time::Duration};

pub const SESSION: &str = "latchkey_session";
/// Anti-forgery token for forms shown before sign-in (double-submit).
pub const ANONYMOUS_CSRF: &str = "latchkey_csrf";
/// Marks a browser that has signed in before (`domain::device`); outlives
/// sessions and sign-outs on purpose.
pub const DEVICE: &str = "latchkey_device";

fn template(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

/// The session cookie lives as long as the browser; the server enforces the timeouts.
pub fn set_session(cookies: &Cookies, token: String, secure: bool) {
    cookies.add(template(SESSION, token, secure));
}

/// Kept a year from the last sign-in, as long as the server honours it.
pub fn set_device(cookies: &Cookies, sealed: String, secure: bool) {
    let mut cookie = template(DEVICE, sealed, secure);
    cookie.set_max_age(Duration::seconds(crate::domain::device::LIFETIME_SECS));
    cookies.add(cookie);
}

pub fn set_anonymous_csrf(cookies: &Cookies, token: String, secure: bool) {
    cookies.add(template(ANONYMOUS_CSRF, token, secure));
}

pub fn remove(cookies: &Cookies, name: &'static str, secure: bool) {
    let mut cookie = template(name, String::new(), secure);
    cookie.set_max_age(Duration::ZERO);
    cookies.remove(cookie);
}

pub fn get(cookies: &Cookies, name: &str) -> Option<String> {
    cookies.get(name).map(|c| c.value().to_owned())
}
