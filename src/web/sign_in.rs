//! Sign in (the password, then for users with 2FA a code) and log out.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use super::context::{AnySessionCtx, Ctx, RequestContext, SecondStepCtx};
use super::cookies;
use super::form::Form;
use super::return_to;
use crate::accounts::sign_in::{SignInOutcome, SignedInUser};
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::Token;
use crate::error::AppError;
use crate::metrics::{Metrics, SignInFailure, SignInStep};
use crate::views::components::Tone;
use crate::views::sign_in::{second_step_page, sign_in_page};

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// A code, and where to go once it is accepted.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub next: String,
}

/// `?next=…`: where to return to once a step is done.
#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub next: String,
    /// `?notice=…` after a reset or an email change elsewhere.
    #[serde(default)]
    notice: String,
}

pub async fn show(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&query.next);
    if ctx.viewer.is_some() {
        return Ok(Redirect::to(next.unwrap_or("/profile")).into_response());
    }
    let message = if !accounts.has_users()? {
        Some((
            Tone::Info,
            "There are no accounts yet. Open the one-time set-up link from the server's log to create the first administrator.",
        ))
    } else {
        match query.notice.as_str() {
            "password_changed" => Some((
                Tone::Success,
                "Your password was changed and every session of your account was ended. Sign in with the new password.",
            )),
            "email_changed" => Some((
                Tone::Success,
                "Your email address was changed. Sign in with the new address.",
            )),
            _ => next.map(|_| (Tone::Info, "Please sign in to continue.")),
        }
    };
    Ok(sign_in_page(&ctx.chrome(), "", next, message).into_response())
}

pub async fn submit(
    State(accounts): State<Accounts>,
    Extension(metrics): Extension<Arc<Metrics>>,
    Ctx(ctx): Ctx,
    cookie_jar: Cookies,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&form.next);
    let device = cookies::get(
        &cookie_jar,
        cookies::DEVICE,
        accounts.config.server.is_https(),
    );
    let outcome = accounts
        .sign_in(&form.email, form.password, &ctx.origin(), device.as_deref())
        .await;
    // A right password with 2FA on is neither: the second step counts it.
    match &outcome {
        Ok(SignInOutcome::SignedIn(_) | SignInOutcome::SetUpRequired(_)) => {
            metrics.sign_in_succeeded(SignInStep::Password);
        }
        Err(AccountsError::BadCredentials) => metrics.sign_in_failed(SignInFailure::BadCredentials),
        Err(AccountsError::Throttled { .. }) => metrics.sign_in_failed(SignInFailure::Throttled),
        Ok(SignInOutcome::SecondFactorRequired { .. }) | Err(_) => {}
    }
    match outcome {
        Ok(SignInOutcome::SignedIn(signed_in)) => {
            finish(&accounts, &ctx, &cookie_jar, signed_in).await?;
            Ok(Redirect::to(next.unwrap_or("/profile")).into_response())
        }
        Ok(SignInOutcome::SecondFactorRequired { token }) => {
            begin_session(&accounts, &ctx, &cookie_jar, &token).await?;
            Ok(Redirect::to(&return_to::with_next("/signin/2fa", next)).into_response())
        }
        Ok(SignInOutcome::SetUpRequired(signed_in)) => {
            finish(&accounts, &ctx, &cookie_jar, signed_in).await?;
            Ok(Redirect::to(&return_to::with_next("/profile/2fa", next)).into_response())
        }
        Err(AccountsError::BadCredentials) => Ok((
            StatusCode::UNAUTHORIZED,
            sign_in_page(
                &ctx.chrome(),
                &form.email,
                next,
                Some((Tone::Error, "Incorrect email or password.")),
            ),
        )
            .into_response()),
        Err(AccountsError::Throttled { retry_after }) => {
            let message = throttled_message("sign-in attempts", retry_after);
            Ok(throttled(
                sign_in_page(
                    &ctx.chrome(),
                    &form.email,
                    next,
                    Some((Tone::Error, &message)),
                ),
                retry_after,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The second step: the code page of a half-signed-in session.
pub async fn second_step(s: SecondStepCtx, Query(query): Query<NextQuery>) -> Response {
    let next = return_to::safe(&query.next);
    second_step_page(
        &s.ctx.chrome(),
        s.pending.user.email.as_str(),
        next,
        None,
        &FieldErrors::default(),
    )
    .into_response()
}

pub async fn submit_second_step(
    State(accounts): State<Accounts>,
    Extension(metrics): Extension<Arc<Metrics>>,
    s: SecondStepCtx,
    cookie_jar: Cookies,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let next = return_to::safe(&form.next);
    let email = s.pending.user.email.as_str();
    let refused = |status: StatusCode, message: &str| {
        let mut errors = FieldErrors::default();
        errors.add("code", message);
        let page = second_step_page(&s.ctx.chrome(), email, next, None, &errors);
        (status, page).into_response()
    };
    let outcome = accounts.complete_sign_in(&s.pending, &form.code).await;
    match &outcome {
        Ok(_) => metrics.sign_in_succeeded(SignInStep::SecondFactor),
        Err(AccountsError::WrongCode) => metrics.sign_in_failed(SignInFailure::WrongCode),
        Err(AccountsError::CodeUsed) => metrics.sign_in_failed(SignInFailure::CodeUsed),
        Err(AccountsError::Throttled { .. }) => {
            metrics.sign_in_failed(SignInFailure::CodeThrottled)
        }
        Err(_) => {}
    }
    match outcome {
        Ok((signed_in, _)) => {
            finish(&accounts, &s.ctx, &cookie_jar, signed_in).await?;
            Ok(Redirect::to(next.unwrap_or("/profile")).into_response())
        }
        Err(AccountsError::WrongCode) => Ok(refused(
            StatusCode::UNAUTHORIZED,
            "That code is not right. Enter the code your app shows now, or a recovery code.",
        )),
        Err(AccountsError::CodeUsed) => Ok(refused(
            StatusCode::UNAUTHORIZED,
            "That code has been used already. Wait for your app to show the next one.",
        )),
        Err(AccountsError::Throttled { retry_after }) => {
            let message = throttled_message("attempts at a code", retry_after);
            Ok(throttled(
                second_step_page(
                    &s.ctx.chrome(),
                    email,
                    next,
                    Some((Tone::Error, &message)),
                    &FieldErrors::default(),
                ),
                retry_after,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// "Too many failed sign-in attempts. Try again in 15 minutes."
pub(super) fn throttled_message(what: &str, retry_after: i64) -> String {
    let minutes = (retry_after + 59) / 60;
    format!(
        "Too many failed {what}. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// A 429 with `Retry-After`.
pub(super) fn throttled(page: maud::Markup, retry_after: i64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    if let Ok(value) = retry_after.to_string().parse() {
        response.headers_mut().insert("Retry-After", value);
    }
    response
}

/// A completed sign-in: the new session and device cookies.
pub(super) async fn finish(
    accounts: &Accounts,
    ctx: &RequestContext,
    cookie_jar: &Cookies,
    signed_in: SignedInUser,
) -> Result<(), AppError> {
    begin_session(accounts, ctx, cookie_jar, &signed_in.token).await?;
    cookies::set_device(
        cookie_jar,
        signed_in.device_cookie,
        accounts.config.server.is_https(),
    );
    Ok(())
}

/// Hands the browser a new session, ending the one it had (complete or
/// not): a new token at every sign-in makes a session id planted beforehand
/// worthless.
pub(super) async fn begin_session(
    accounts: &Accounts,
    ctx: &RequestContext,
    cookie_jar: &Cookies,
    token: &Token,
) -> Result<(), AppError> {
    if let Some(old) = ctx.any_session() {
        accounts.sessions.end(old.hash).await?;
    }
    set_renewed_session(accounts, cookie_jar, token);
    Ok(())
}

/// Gives the browser the token of a session a use case has already renewed
/// (and so ended the old one): 2FA completed, turned on or off, a password
/// changed.
pub(super) fn set_renewed_session(accounts: &Accounts, cookie_jar: &Cookies, token: &Token) {
    cookies::set_session(
        cookie_jar,
        token.as_text(),
        accounts.config.server.is_https(),
    );
}

/// Log out, also from a sign-in that has not finished (the second step's
/// Cancel, or leaving a required set-up).
pub async fn sign_out(
    State(accounts): State<Accounts>,
    s: AnySessionCtx,
    cookie_jar: Cookies,
) -> Result<Redirect, AppError> {
    accounts.sessions.sign_out(&s.who).await?;
    cookies::remove(
        &cookie_jar,
        cookies::SESSION,
        accounts.config.server.is_https(),
    );
    tracing::info!(user = s.who.user.id, "signed out");
    Ok(Redirect::to("/signin"))
}
