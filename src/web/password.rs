//! Forgotten password and Reset password.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::context::{Ctx, RequestContext};
use super::form::Form;
use super::setup::TokenQuery;
use crate::accounts::password_reset::ResetForm;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::error::AppError;
use crate::mail::templates::PASSWORD_RESET_PATH;
use crate::views::password::{
    ForgotState, forgot_fragment, forgot_page, link_invalid_page, reset_fragment, reset_page,
};

/// Where a successful reset lands.
const AFTER_RESET: &str = "/signin?notice=password_changed";

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// The form; *Change password* on the Profile fills in `?email=`.
pub async fn forgot(Ctx(ctx): Ctx, Query(q): Query<EmailForm>) -> Response {
    let state = ForgotState::Asking {
        email: &q.email,
        errors: &FieldErrors::default(),
        problem: None,
    };
    forgot_view(&ctx, StatusCode::OK, &state)
}

pub async fn request(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    match accounts
        .password_reset()
        .request(&form.email, ctx.client)
        .await
    {
        Ok(()) => {
            let lifetime = crate::mail::in_words(accounts.config.password_reset.link_lifetime);
            let state = ForgotState::Sent {
                email: form.email.trim(),
                lifetime: &lifetime,
            };
            Ok(forgot_view(&ctx, StatusCode::OK, &state))
        }
        Err(AccountsError::Invalid(errors)) => {
            let state = ForgotState::Asking {
                email: &form.email,
                errors: &errors,
                problem: None,
            };
            Ok(forgot_view(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &state))
        }
        Err(AccountsError::Throttled { retry_after }) => {
            let minutes = (retry_after + 59) / 60;
            let problem = format!(
                "Too many reset requests for this address or from your network. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            let state = ForgotState::Asking {
                email: &form.email,
                errors: &FieldErrors::default(),
                problem: Some(&problem),
            };
            let mut response = forgot_view(&ctx, StatusCode::TOO_MANY_REQUESTS, &state);
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert("Retry-After", value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

fn forgot_view(ctx: &RequestContext, status: StatusCode, state: &ForgotState<'_>) -> Response {
    let markup = if ctx.htmx {
        forgot_fragment(&ctx.csrf, state)
    } else {
        forgot_page(&ctx.chrome(), state)
    };
    (status, markup).into_response()
}

/// The page a reset link opens. Opening it changes nothing.
pub async fn reset_form(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let Some(user) = accounts.password_reset().link_user(&q.token)? else {
        return Ok(link_invalid(&ctx));
    };
    Ok(reset_page(
        &ctx.chrome(),
        &q.token,
        user.email.as_str(),
        &FieldErrors::default(),
    )
    .into_response())
}

pub async fn reset(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    match accounts.password_reset().complete(&form, ctx.client).await {
        Ok(_) if ctx.htmx => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert("HX-Redirect", HeaderValue::from_static(AFTER_RESET));
            Ok(response)
        }
        Ok(_) => Ok(Redirect::to(AFTER_RESET).into_response()),
        Err(AccountsError::Invalid(errors)) => {
            let Some(user) = accounts.password_reset().link_user(&form.token)? else {
                return Ok(link_invalid(&ctx));
            };
            let email = user.email.as_str();
            let markup = if ctx.htmx {
                reset_fragment(&ctx.csrf, &form.token, email, &errors)
            } else {
                reset_page(&ctx.chrome(), &form.token, email, &errors)
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(AccountsError::LinkInvalid) => Ok(link_invalid(&ctx)),
        Err(other) => Err(other.into()),
    }
}

/// A used, replaced or expired link, with the way to a new one. For htmx the
/// whole page is asked for instead of a fragment.
fn link_invalid(ctx: &RequestContext) -> Response {
    if ctx.htmx {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let target = format!("{PASSWORD_RESET_PATH}?token=");
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("HX-Redirect", value);
        }
        return response;
    }
    let page = link_invalid_page(
        &ctx.chrome(),
        "Reset password",
        "Reset links work once and for a limited time, and asking again replaces the older one. Ask for a new link; it goes to the same address.",
        ("Ask for a new link", "/password/forgot"),
    );
    (StatusCode::NOT_FOUND, page).into_response()
}
