//! Every cookie Latchkey sets, built from one template: HttpOnly,
//! SameSite=Lax, path `/`, and Secure when the public URL is https.
//!
//! Over https each name carries the `__Host-` prefix, which browsers accept
//! only from a secure origin, with path `/` and no domain: a neighbouring
//! subdomain or a plain-http page can then neither set nor shadow our cookies.

use tower_cookies::cookie::{Cookie, SameSite};
use tower_cookies::{Cookies, cookie::time::Duration};

/// A cookie's name, plain over http and `__Host-`-prefixed over https.
#[derive(Clone, Copy, Debug)]
pub struct CookieName {
    plain: &'static str,
    host: &'static str,
}

impl CookieName {
    pub fn get(self, secure: bool) -> &'static str {
        if secure { self.host } else { self.plain }
    }
}

pub const SESSION: CookieName = CookieName {
    plain: "latchkey_session",
    host: "__Host-latchkey_session",
};
/// Anti-forgery token for forms shown before sign-in (double-submit).
pub const ANONYMOUS_CSRF: CookieName = CookieName {
    plain: "latchkey_csrf",
    host: "__Host-latchkey_csrf",
};
/// Marks a browser that has signed in before (`domain::device`); outlives
/// sessions and sign-outs on purpose.
pub const DEVICE: CookieName = CookieName {
    plain: "latchkey_device",
    host: "__Host-latchkey_device",
};

fn template(name: CookieName, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name.get(secure), value))
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

pub fn remove(cookies: &Cookies, name: CookieName, secure: bool) {
    let mut cookie = template(name, String::new(), secure);
    cookie.set_max_age(Duration::ZERO);
    cookies.remove(cookie);
}

pub fn get(cookies: &Cookies, name: CookieName, secure: bool) -> Option<String> {
    cookies.get(name.get(secure)).map(|c| c.value().to_owned())
}
