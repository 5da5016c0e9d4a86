//! Small pages: home, health, 404, and the honest placeholders for flows that
//! later releases complete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;

use super::context::{Ctx, SignedInCtx};
use crate::accounts::Accounts;
use crate::accounts::settings::require;
use crate::domain::Permission;
use crate::error::AppError;
use crate::views::unavailable::unavailable_page;

pub async fn home(Ctx(ctx): Ctx) -> Redirect {
    Redirect::to(if ctx.viewer.is_some() {
        "/profile"
    } else {
        "/signin"
    })
}

pub async fn healthz(State(accounts): State<Accounts>) -> Response {
    if accounts.store.is_readable() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store not readable").into_response()
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The Users screen, until it is built; behind `users.view` (see `web::account_routes`).
pub async fn users(s: SignedInCtx) -> Result<Markup, AppError> {
    require(&s.viewer, Permission::UsersView)?;
    Ok(unavailable_page(
        &s.ctx.chrome(),
        "Users",
        "This administration screen will be managed here.",
    ))
}
