//! Two-factor screens: set-up (also the one sign-in requires), the recovery
//! codes, turning 2FA off, and an administrator turning it off for someone.
//!
//! Turning 2FA off, renewing recovery codes and an administrator's turning
//! off all need a recent re-authentication: without one, the page sends
//! the browser to `/reauthenticate`, which returns here.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use super::context::{SetUpCtx, SignedInCtx};
use super::form::Form;
use super::reauthentication::{require_recent, returning_to};
use super::return_to;
use super::sign_in::{CodeForm, NextQuery, set_renewed_session};
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::UserId;
use crate::error::AppError;
use crate::views::two_factor::{
    admin_disable_page, disable_page, recovery_codes_page, renew_recovery_codes_page, set_up_page,
};

const DISABLE: &str = "/profile/2fa/disable";
const RECOVERY_CODES: &str = "/profile/2fa/recovery-codes";

pub async fn set_up(
    State(accounts): State<Accounts>,
    s: SetUpCtx,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    set_up_view(
        &accounts,
        &s,
        return_to::safe(&q.next),
        &FieldErrors::default(),
    )
    .await
}

/// Checks the first code: on success 2FA is on and the recovery codes are
/// shown, once, in this answer (never stored to be shown later).
pub async fn confirm_set_up(
    State(accounts): State<Accounts>,
    s: SetUpCtx,
    cookie_jar: Cookies,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&form.next);
    let refused = |message: &str| {
        let mut errors = FieldErrors::default();
        errors.add("code", message);
        errors
    };
    let errors = match accounts
        .two_factor()
        .confirm_set_up(&s.who, &form.code)
        .await
    {
        Ok(enabled) => {
            set_renewed_session(&accounts, &cookie_jar, &enabled.token);
            return Ok(recovery_codes_page(
                &s.ctx.chrome(),
                &enabled.recovery_codes,
                true,
                next.unwrap_or("/profile"),
            )
            .into_response());
        }
        Err(AccountsError::WrongCode) => refused(
            "That code is not right. Enter the 6-digit code your app shows now (check that your phone's clock is right).",
        ),
        Err(AccountsError::SetUpExpired) => refused(
            "This set-up had ended, so it started again: scan the new QR code (or enter the new key), then enter a code.",
        ),
        Err(AccountsError::Conflict(_)) => return Ok(Redirect::to("/profile").into_response()),
        Err(other) => return Err(other.into()),
    };
    let mut response = set_up_view(&accounts, &s, next, &errors).await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

async fn set_up_view(
    accounts: &Accounts,
    s: &SetUpCtx,
    next: Option<&str>,
    errors: &FieldErrors,
) -> Result<Response, AppError> {
    match accounts.two_factor().begin_set_up(&s.who).await? {
        Some(view) => {
            Ok(set_up_page(&s.ctx.chrome(), &view, s.required(), next, errors).into_response())
        }
        // Already on.
        None => Ok(Redirect::to("/profile").into_response()),
    }
}

pub async fn disable_form(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    if accounts.two_factor().status(s.viewer.user.id)?.is_none() {
        return Ok(Redirect::to("/profile").into_response());
    }
    require_recent(&accounts, &s, DISABLE)?;
    let required = accounts.two_factor_set_up_required(&s.viewer.user)?;
    Ok(disable_page(&s.ctx.chrome(), required).into_response())
}

pub async fn disable(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    cookie_jar: Cookies,
) -> Result<Response, AppError> {
    match accounts.two_factor().disable(&s.viewer).await {
        Ok(token) => {
            set_renewed_session(&accounts, &cookie_jar, &token);
            Ok(Redirect::to("/profile").into_response())
        }
        Err(AccountsError::Conflict(_)) => Ok(Redirect::to("/profile").into_response()),
        Err(e) => Err(returning_to(e, DISABLE)),
    }
}

pub async fn renew_recovery_codes_form(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    let Some(status) = accounts.two_factor().status(s.viewer.user.id)? else {
        return Ok(Redirect::to("/profile").into_response());
    };
    require_recent(&accounts, &s, RECOVERY_CODES)?;
    Ok(renew_recovery_codes_page(&s.ctx.chrome(), &status).into_response())
}

pub async fn renew_recovery_codes(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    match accounts.two_factor().renew_recovery_codes(&s.viewer).await {
        Ok(codes) => {
            Ok(recovery_codes_page(&s.ctx.chrome(), &codes, false, "/profile").into_response())
        }
        Err(AccountsError::Conflict(_)) => Ok(Redirect::to("/profile").into_response()),
        Err(e) => Err(returning_to(e, RECOVERY_CODES)),
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// An administrator's confirmation page, naming the user (and, after the
/// POST, saying it is done).
pub async fn admin_disable_form(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let (user, status) = accounts.two_factor().user_for_disabling(&s.viewer, id)?;
    require_recent(&accounts, &s, &admin_disable_path(id))?;
    Ok(
        admin_disable_page(&s.ctx.chrome(), &user, status.as_ref(), q.done.is_some())
            .into_response(),
    )
}

pub async fn admin_disable(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let path = admin_disable_path(id);
    match accounts.two_factor().disable_for(&s.viewer, id).await {
        Ok((_, true)) => Ok(Redirect::to(&format!("{path}?done=1")).into_response()),
        // Already off (another administrator, the command line): the page says so.
        Ok((_, false)) => Ok(Redirect::to(&path).into_response()),
        Err(e) => Err(returning_to(e, &path)),
    }
}

fn admin_disable_path(id: UserId) -> String {
    format!("/account/users/{id}/two-factor/disable")
}

/// A user id from the path; anything else names no user.
fn user_id(text: &str) -> Result<UserId, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}
