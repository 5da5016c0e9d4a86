//! Small pages: home, health and 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::context::Ctx;
use crate::accounts::Accounts;
use crate::error::AppError;

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
