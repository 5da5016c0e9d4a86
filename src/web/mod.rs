//! HTTP: the router, its middleware, and thin handlers grouped by screen.
//!
//! A request passes, outermost first: metrics and security headers (every
//! route) → cookies →
//! `load_context` (session, CSRF token, htmx flag; reads only) →
//! `render_errors` → `require_csrf` (mutations) → the handler. Handlers
//! extract, call `accounts`, and render `views`; they hold no rules.

pub mod assets;
mod audit;
mod context;
mod cookies;
mod csrf;
mod form;
mod headers;
mod invitations;
pub mod metrics;
mod pages;
mod password;
mod profile;
mod reauthentication;
mod render;
pub mod return_to;
mod roles;
mod sessions;
mod settings;
mod setup;
mod sign_in;
mod two_factor;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
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
    /// `?notice=…`: what a plain form's redirect wants the page to say.
    #[serde(default)]
    notice: Option<String>,
}

impl SavedQuery {
    pub fn saved(&self) -> bool {
        self.saved.is_some()
    }

    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
}

use crate::accounts::Accounts;
use crate::accounts::settings::require;
use crate::domain::Permission;
use crate::error::AppError;
use crate::mail::templates::{EMAIL_CONFIRM_PATH, INVITATION_PATH, PASSWORD_RESET_PATH};
use crate::metrics::Metrics;

/// One administration route: a method and path, and the permission it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRoute {
    pub method: Method,
    /// As the router writes it: `/account/roles/{id}/edit`.
    pub path: &'static str,
    pub permission: Permission,
}

/// Every `/account/…` route with its handler. The router is built from this
/// list alone and checks each row's permission before its handler runs (the
/// handler's use case checks again), and the permission-matrix test reads the
/// same list, so no administration route exists without a stated permission.
fn account_routes() -> Vec<(AccountRoute, MethodRouter<Accounts>)> {
    use Permission::{
        AuditView, RolesManage, SettingsManage, UsersAssignRoles, UsersDelete, UsersDisable2fa,
        UsersEdit, UsersInvite, UsersView,
    };
    vec![
        row(Method::GET, "/account/users", UsersView, users::list),
        row(
            Method::GET,
            "/account/users/invite",
            UsersInvite,
            users::invite_dialog,
        ),
        row(
            Method::POST,
            "/account/users/invite",
            UsersInvite,
            users::invite,
        ),
        row(
            Method::POST,
            "/account/users/delete",
            UsersDelete,
            users::delete,
        ),
        row(
            Method::GET,
            "/account/users/{id}",
            UsersView,
            users::details,
        ),
        row(
            Method::GET,
            "/account/users/{id}/edit",
            UsersEdit,
            users::edit,
        ),
        row(
            Method::POST,
            "/account/users/{id}/edit",
            UsersEdit,
            users::save,
        ),
        row(
            Method::GET,
            "/account/users/{id}/delete",
            UsersDelete,
            users::confirm_delete,
        ),
        row(
            Method::GET,
            "/account/users/{id}/roles",
            UsersView,
            users::roles,
        ),
        row(
            Method::POST,
            "/account/users/{id}/roles/add",
            UsersAssignRoles,
            users::add_role,
        ),
        row(
            Method::POST,
            "/account/users/{id}/roles/remove",
            UsersAssignRoles,
            users::remove_role,
        ),
        row(
            Method::GET,
            "/account/users/{id}/history",
            UsersView,
            users::history,
        ),
        row(
            Method::GET,
            "/account/users/{id}/invite/resend",
            UsersInvite,
            users::confirm_resend,
        ),
        row(
            Method::POST,
            "/account/users/{id}/invite/resend",
            UsersInvite,
            users::resend,
        ),
        row(Method::GET, "/account/roles", RolesManage, roles::list),
        row(Method::POST, "/account/roles", RolesManage, roles::create),
        row(
            Method::GET,
            "/account/roles/new",
            RolesManage,
            roles::new_form,
        ),
        row(
            Method::GET,
            "/account/roles/{id}/edit",
            RolesManage,
            roles::edit_form,
        ),
        row(
            Method::POST,
            "/account/roles/{id}",
            RolesManage,
            roles::update,
        ),
        row(
            Method::GET,
            "/account/roles/{id}/clone",
            RolesManage,
            roles::clone_form_page,
        ),
        row(
            Method::POST,
            "/account/roles/{id}/clone",
            RolesManage,
            roles::clone,
        ),
        row(
            Method::GET,
            "/account/roles/{id}/delete",
            RolesManage,
            roles::delete_confirm,
        ),
        row(
            Method::POST,
            "/account/roles/{id}/delete",
            RolesManage,
            roles::delete,
        ),
        row(
            Method::GET,
            "/account/settings",
            SettingsManage,
            settings::show,
        ),
        row(
            Method::POST,
            "/account/settings",
            SettingsManage,
            settings::save,
        ),
        row(
            Method::POST,
            "/account/settings/test-email",
            SettingsManage,
            settings::send_test_email,
        ),
        row(
            Method::POST,
            "/account/settings/outbox/{id}/retry",
            SettingsManage,
            settings::retry_mail,
        ),
        row(
            Method::GET,
            "/account/users/{id}/two-factor/disable",
            UsersDisable2fa,
            two_factor::admin_disable_form,
        ),
        row(
            Method::POST,
            "/account/users/{id}/two-factor/disable",
            UsersDisable2fa,
            two_factor::admin_disable,
        ),
        row(Method::GET, "/account/audit", AuditView, audit::show),
        row(Method::GET, "/account/audit.csv", AuditView, audit::export),
    ]
}

/// The administration routes and their permissions (for tests and docs).
pub fn account_route_table() -> Vec<AccountRoute> {
    account_routes()
        .into_iter()
        .map(|(route, _)| route)
        .collect()
}

fn row<H, T>(
    method: Method,
    path: &'static str,
    permission: Permission,
    handler: H,
) -> (AccountRoute, MethodRouter<Accounts>)
where
    H: Handler<T, Accounts>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| panic!("{method} can't route {path}"));
    let handler =
        on(filter, handler).route_layer(from_fn_with_state(permission, require_permission));
    let route = AccountRoute {
        method,
        path,
        permission,
    };
    (route, handler)
}

/// Refuses, before the handler runs, anyone without the route's permission
/// (and sends anyone signed out to sign in).
async fn require_permission(
    State(permission): State<Permission>,
    s: context::SignedInCtx,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    require(&s.viewer, permission)?;
    Ok(next.run(request).await)
}

/// The span every request is traced in: method and path only. The query is
/// left out because links carry secrets there (`?token=…`), and logs are read
/// by more people than the data file is.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
}

/// The application's router. `metrics` counts every request; `/metrics`
/// itself is routed here only when metrics are on and have no listener of
/// their own (and then the bearer token is required).
pub fn router(accounts: Accounts, metrics: Arc<Metrics>) -> Router {
    let middleware = ServiceBuilder::new()
        .layer(CookieManagerLayer::new())
        .layer(from_fn_with_state(accounts.clone(), context::load_context))
        .layer(from_fn(render::render_errors))
        .layer(from_fn(csrf::require_csrf));
    let mut routes = Router::new();
    for (route, handler) in account_routes() {
        routes = routes.route(route.path, handler);
    }
    let routes = routes
        .route("/", get(pages::home))
        .route("/signin", get(sign_in::show).post(sign_in::submit))
        .route(
            "/signin/2fa",
            get(sign_in::second_step).post(sign_in::submit_second_step),
        )
        .route("/signout", post(sign_in::sign_out))
        .route(
            "/reauthenticate",
            get(reauthentication::show).post(reauthentication::confirm),
        )
        .route("/setup", get(setup::show).post(setup::submit))
        .route("/profile", get(profile::show).post(profile::save))
        .route("/profile/edit", get(profile::edit))
        .route("/profile/details", get(profile::details))
        .route(
            "/profile/2fa",
            get(two_factor::set_up).post(two_factor::confirm_set_up),
        )
        .route(
            "/profile/2fa/disable",
            get(two_factor::disable_form).post(two_factor::disable),
        )
        .route(
            "/profile/2fa/recovery-codes",
            get(two_factor::renew_recovery_codes_form).post(two_factor::renew_recovery_codes),
        )
        .route(
            "/profile/sessions/{reference}/signout",
            post(sessions::sign_out_one),
        )
        .route(
            "/profile/sessions/signout-others",
            post(sessions::sign_out_others),
        )
        .route(
            "/profile/delete",
            get(profile::deletion_dialog).post(profile::request_deletion),
        )
        .route(
            EMAIL_CONFIRM_PATH,
            get(profile::email_confirmation).post(profile::confirm_email),
        )
        .route(
            "/password/forgot",
            get(password::forgot).post(password::request),
        )
        .route(
            PASSWORD_RESET_PATH,
            get(password::reset_form).post(password::reset),
        )
        .route(
            INVITATION_PATH,
            get(invitations::show).post(invitations::accept),
        )
        .fallback(pages::not_found)
        .layer(middleware)
        // Outside the middleware: probes and cached files need no session.
        .route("/healthz", get(pages::healthz))
        .route("/assets/{*path}", get(assets::serve));
    let routes = match &accounts.config.metrics {
        Some(on) if on.listen.is_none() => routes.route("/metrics", get(metrics::scrape)),
        _ => routes,
    };
    routes
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
        // Outermost: sees every answer, the 500 of a panic and the 408 of a timeout too.
        .layer(from_fn_with_state(metrics, metrics::track))
        .with_state(accounts)
}
