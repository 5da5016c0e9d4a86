//! `/reauthenticate`: confirm the password or a 2FA code before a sensitive
//! action, then return to it. Any flow can send the browser here with
//! `?next=<its page>` (see `AppError::ReauthenticationRequired`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::context::SignedInCtx;
use super::form::Form;
use super::return_to;
use super::sign_in::{NextQuery, throttled, throttled_message};
use crate::accounts::profile::ProfileForm;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::error::AppError;
use crate::views::components::Tone;
use crate::views::reauthentication::{ReauthenticationView, reauthentication_page};

/// Not `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct ReauthenticationForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&q.next);
    render(
        &accounts,
        &s,
        next,
        None,
        &FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn confirm(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(form): Form<ReauthenticationForm>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&form.next);
    let mut errors = FieldErrors::default();
    let status = match accounts
        .reauthentication()
        .confirm(&s.viewer, form.password, &form.code)
        .await
    {
        Ok(()) => return Ok(Redirect::to(next.unwrap_or("/profile")).into_response()),
        Err(AccountsError::BadCredentials) => {
            errors.add("password", "That password is not right.");
            StatusCode::UNAUTHORIZED
        }
        Err(AccountsError::WrongCode) => {
            errors.add(
                "code",
                "That code is not right. Enter the code your app shows now.",
            );
            StatusCode::UNAUTHORIZED
        }
        Err(AccountsError::CodeUsed) => {
            errors.add(
                "code",
                "That code has been used already. Wait for your app to show the next one.",
            );
            StatusCode::UNAUTHORIZED
        }
        Err(AccountsError::Invalid(invalid)) => {
            errors = invalid;
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(AccountsError::Throttled { retry_after }) => {
            let message = throttled_message("attempts", retry_after);
            let page = page(&accounts, &s, next, Some((Tone::Error, &message)), &errors)?;
            return Ok(throttled(page, retry_after));
        }
        Err(other) => return Err(other.into()),
    };
    render(&accounts, &s, next, None, &errors, status)
}

fn render(
    accounts: &Accounts,
    s: &SignedInCtx,
    next: Option<&str>,
    message: Option<(Tone, &str)>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    Ok((status, page(accounts, s, next, message, errors)?).into_response())
}

fn page(
    accounts: &Accounts,
    s: &SignedInCtx,
    next: Option<&str>,
    message: Option<(Tone, &str)>,
    errors: &FieldErrors,
) -> Result<maud::Markup, AppError> {
    let view = ReauthenticationView {
        code: accounts.two_factor().status(s.viewer.user.id)?.is_some(),
        window_minutes: accounts
            .config
            .two_factor
            .reauthentication_window
            .as_secs()
            .div_ceil(60),
        next,
        message,
    };
    Ok(reauthentication_page(&s.ctx.chrome(), &view, errors))
}

/// For a sensitive page (turning 2FA off, recovery codes, an email change):
/// sends the browser to confirm its password first, then back to `page`,
/// unless it did so recently.
pub(super) fn require_recent(
    accounts: &Accounts,
    s: &SignedInCtx,
    page: &str,
) -> Result<(), AppError> {
    accounts
        .reauthentication()
        .require_recent(&s.viewer)
        .map_err(|e| returning_to(e, page))
}

/// Where a save that needs re-authentication first (a new email address)
/// comes back to: the edit form at `edit_page` holding what was typed, to
/// save again; the plain form when the values are too long to carry in a
/// return address.
pub(super) fn edit_again(edit_page: &str, form: &ProfileForm) -> String {
    let query = serde_urlencoded::to_string([
        ("first_name", form.first_name.as_str()),
        ("last_name", form.last_name.as_str()),
        ("email", form.email.as_deref().unwrap_or_default()),
        ("phone", form.phone.as_str()),
    ])
    .unwrap_or_default();
    let page = format!("{edit_page}?{query}");
    match return_to::safe(&page) {
        Some(_) => page,
        None => edit_page.to_owned(),
    }
}

/// A use case's refusal, where "re-authenticate first" returns to `page`.
pub(super) fn returning_to(e: AccountsError, page: &str) -> AppError {
    match e {
        AccountsError::ReauthenticationRequired => AppError::ReauthenticationRequired {
            next: Some(page.to_owned()),
        },
        other => other.into(),
    }
}
