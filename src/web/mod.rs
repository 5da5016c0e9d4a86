//! HTTP: the router, its middleware, and thin handlers grouped by screen.
//!
//! A request passes, outermost first: security headers (every route) → cookies →
//! `load_context` (session, CSRF token, htmx flag; reads only) →
//! `render_errors` → `require_csrf` (mutations) → the handler. Handlers
//! extract, call `accounts`, and render `views`; they hold no rules.

pub mod assets;
mod context;
mod cookies;
mod csrf;
mod form;
mod headers;
mod pages;
mod profile;
mod render;
pub mod return_to;
mod settings;
mod setup;
mod sign_in;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_cookies::CookieManagerLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use headers::CONTENT_SECURITY_POLICY;

/// `?saved=1`: where a plain form lands after a successful save, so the page
/// can say so (htmx gets the notice in the swapped fragment instead).
#[derive(serde::Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

impl SavedQuery {
    pub fn saved(&self) -> bool {
        self.saved.is_some()
    }
}

use crate::accounts::Accounts;

/// The span every request is traced in: method and path only. The query is
/// left out because links carry secrets there (`?token=…`), and logs are read
/// by more people than the data file is.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
}

pub fn router(accounts: Accounts) -> Router {
    let middleware = ServiceBuilder::new()
        .layer(CookieManagerLayer::new())
        .layer(from_fn_with_state(accounts.clone(), context::load_context))
        .layer(from_fn(render::render_errors))
        .layer(from_fn(csrf::require_csrf));
    Router::new()
        .route("/", get(pages::home))
        .route("/signin", get(sign_in::show).post(sign_in::submit))
        .route("/signout", post(sign_in::sign_out))
        .route("/setup", get(setup::show).post(setup::submit))
        .route("/profile", get(profile::show).post(profile::save))
        .route("/profile/edit", get(profile::edit))
        .route("/profile/details", get(profile::details))
        .route("/profile/2fa", get(pages::two_factor_setup))
        .route("/profile/delete", get(pages::deletion_request))
        .route("/password/forgot", get(pages::forgotten_password))
        .route(
            "/account/settings",
            get(settings::show).post(settings::save),
        )
        .route("/account/users", get(users::list))
        .route("/account/users/invite", get(users::invite))
        .route("/account/users/delete", post(users::delete))
        .route("/account/users/{id}", get(users::details))
        .route("/account/users/{id}/roles", get(users::roles))
        .route("/account/users/{id}/roles/add", post(users::add_role))
        .route("/account/users/{id}/roles/remove", post(users::remove_role))
        .route("/account/users/{id}/history", get(users::history))
        .route(
            "/account/users/{id}/edit",
            get(users::edit).post(users::save),
        )
        .route("/account/users/{id}/delete", get(users::confirm_delete))
        .route("/account/{section}", get(pages::account_section))
        .fallback(pages::not_found)
        .layer(middleware)
        // Outside the middleware: probes and cached files need no session.
        .route("/healthz", get(pages::healthz))
        .route("/assets/{*path}", get(assets::serve))
        .layer(from_fn_with_state(
            accounts.clone(),
            headers::security_headers,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            accounts.config.server.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(csrf::MAX_FORM_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // A bug must not take the connection down with it: answer 500, log it.
        .layer(CatchPanicLayer::new())
        .with_state(accounts)
}
