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
use axum::routing::{MethodFilter, MethodRouter, get, on};
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

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: signing in, set-up, links from mail.
    Anyone,
    /// A session; the handler sends a browser without one to sign in.
    SignedIn,
    /// A signed-in user with this permission (`/account/…`).
    Permission(Permission),
}

/// One route the router serves behind the middleware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// As the router writes it: `/profile/sessions/{reference}/signout`.
    pub path: &'static str,
    pub access: Access,
}

/// Every route outside `/account/…`, with its handler. Like
/// [`account_routes`], the router is built from this list alone, so
/// [`route_table`] names every form a request can post to: the hostile-input
/// and IDOR tests walk it, and a route missing from their own tables fails
/// them.
fn site_routes() -> Vec<(Route, MethodRouter<Accounts>)> {
    use Access::{Anyone, SignedIn};
    vec![
        site(Method::GET, "/", Anyone, pages::home),
        site(Method::GET, "/signin", Anyone, sign_in::show),
        site(Method::POST, "/signin", Anyone, sign_in::submit),
        site(Method::GET, "/signin/2fa", SignedIn, sign_in::second_step),
        site(
            Method::POST,
            "/signin/2fa",
            SignedIn,
            sign_in::submit_second_step,
        ),
        site(Method::POST, "/signout", SignedIn, sign_in::sign_out),
        site(
            Method::GET,
            "/reauthenticate",
            SignedIn,
            reauthentication::show,
        ),
        site(
            Method::POST,
            "/reauthenticate",
            SignedIn,
            reauthentication::confirm,
        ),
        site(Method::GET, "/setup", Anyone, setup::show),
        site(Method::POST, "/setup", Anyone, setup::submit),
        site(Method::GET, "/profile", SignedIn, profile::show),
        site(Method::POST, "/profile", SignedIn, profile::save),
        site(Method::GET, "/profile/edit", SignedIn, profile::edit),
        site(Method::GET, "/profile/details", SignedIn, profile::details),
        site(Method::GET, "/profile/2fa", SignedIn, two_factor::set_up),
        site(
            Method::POST,
            "/profile/2fa",
            SignedIn,
            two_factor::confirm_set_up,
        ),
        site(
            Method::GET,
            "/profile/2fa/disable",
            SignedIn,
            two_factor::disable_form,
        ),
        site(
            Method::POST,
            "/profile/2fa/disable",
            SignedIn,
            two_factor::disable,
        ),
        site(
            Method::GET,
            "/profile/2fa/recovery-codes",
            SignedIn,
            two_factor::renew_recovery_codes_form,
        ),
        site(
            Method::POST,
            "/profile/2fa/recovery-codes",
            SignedIn,
            two_factor::renew_recovery_codes,
        ),
        site(
            Method::POST,
            "/profile/sessions/{reference}/signout",
            SignedIn,
            sessions::sign_out_one,
        ),
        site(
            Method::POST,
            "/profile/sessions/signout-others",
            SignedIn,
            sessions::sign_out_others,
        ),
        site(
            Method::GET,
            "/profile/delete",
            SignedIn,
            profile::deletion_dialog,
        ),
        site(
            Method::POST,
            "/profile/delete",
            SignedIn,
            profile::request_deletion,
        ),
        site(
            Method::GET,
            EMAIL_CONFIRM_PATH,
            Anyone,
            profile::email_confirmation,
        ),
        site(
            Method::POST,
            EMAIL_CONFIRM_PATH,
            Anyone,
            profile::confirm_email,
        ),
        site(Method::GET, "/password/forgot", Anyone, password::forgot),
        site(Method::POST, "/password/forgot", Anyone, password::request),
        site(
            Method::GET,
            PASSWORD_RESET_PATH,
            Anyone,
            password::reset_form,
        ),
        site(Method::POST, PASSWORD_RESET_PATH, Anyone, password::reset),
        site(Method::GET, INVITATION_PATH, Anyone, invitations::show),
        site(Method::POST, INVITATION_PATH, Anyone, invitations::accept),
    ]
}

fn site<H, T>(
    method: Method,
    path: &'static str,
    access: Access,
    handler: H,
) -> (Route, MethodRouter<Accounts>)
where
    H: Handler<T, Accounts>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| panic!("{method} can't route {path}"));
    let route = Route {
        method,
        path,
        access,
    };
    (route, on(filter, handler))
}

/// Every route behind the middleware, `/account/…` and the rest (for tests
/// and docs). `/healthz` and the hashed assets are served outside it.
pub fn route_table() -> Vec<Route> {
    let account = account_route_table().into_iter().map(|r| Route {
        method: r.method,
        path: r.path,
        access: Access::Permission(r.permission),
    });
    account
        .chain(site_routes().into_iter().map(|(route, _)| route))
        .collect()
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
    for (route, handler) in site_routes() {
        routes = routes.route(route.path, handler);
    }
    let routes = routes
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
