//! Small pages: home, health, 404, and the honest placeholders for flows that
//! later releases complete.

use axum::extract::{Path, State};
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

pub async fn two_factor_setup(s: SignedInCtx) -> Markup {
    unavailable_page(
        &s.ctx.chrome(),
        "Set up 2FA",
        "Two-factor authentication with an authenticator app will be set up here.",
    )
}

pub async fn deletion_request(s: SignedInCtx) -> Markup {
    unavailable_page(
        &s.ctx.chrome(),
        "Delete user account",
        "Requests to delete your account go to the Global Administrators from here.",
    )
}

pub async fn forgotten_password(Ctx(ctx): Ctx) -> Markup {
    unavailable_page(
        &ctx.chrome(),
        "Forgotten your password?",
        "Password resets by email link will be requested here.",
    )
}

/// The administration screens, each behind its permission.
pub async fn account_section(
    s: SignedInCtx,
    Path(section): Path<String>,
) -> Result<Markup, AppError> {
    let (title, permission) = match section.as_str() {
        "roles" => ("Roles", Permission::RolesManage),
        "audit" => ("Audit log", Permission::AuditView),
        _ => return Err(AppError::NotFound),
    };
    require(&s.viewer, permission)?;
    Ok(unavailable_page(
        &s.ctx.chrome(),
        title,
        "This administration screen will be managed here.",
    ))
}
