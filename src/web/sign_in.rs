//! Sign in and log out.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use super::context::{Ctx, RequestContext, SignedInCtx};
use super::cookies;
use super::form::Form;
use super::return_to;
use crate::accounts::{Accounts, AccountsError};
use crate::domain::Token;
use crate::error::AppError;
use crate::views::components::Tone;
use crate::views::sign_in::sign_in_page;

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
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
    match accounts
        .sign_in(&form.email, form.password, ctx.client, device.as_deref())
        .await
    {
        Ok(signed_in) => {
            begin_session(&accounts, &ctx, &cookie_jar, &signed_in.token).await?;
            cookies::set_device(
                &cookie_jar,
                signed_in.device_cookie,
                accounts.config.server.is_https(),
            );
            Ok(Redirect::to(next.unwrap_or("/profile")).into_response())
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
            let minutes = (retry_after + 59) / 60;
            let message = format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                sign_in_page(
                    &ctx.chrome(),
                    &form.email,
                    next,
                    Some((Tone::Error, &message)),
                ),
            )
                .into_response();
            if let Ok(value) = retry_after.to_string().parse() {
                response.headers_mut().insert("Retry-After", value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// Hands the browser a new session, ending the one it had: a new token at
/// every sign-in makes a session id planted beforehand worthless.
pub(super) async fn begin_session(
    accounts: &Accounts,
    ctx: &RequestContext,
    cookie_jar: &Cookies,
    token: &Token,
) -> Result<(), AppError> {
    if let Some(old) = &ctx.viewer {
        accounts.sessions.end(old.hash).await?;
    }
    cookies::set_session(
        cookie_jar,
        token.as_text(),
        accounts.config.server.is_https(),
    );
    Ok(())
}

pub async fn sign_out(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    cookie_jar: Cookies,
) -> Result<Redirect, AppError> {
    accounts.sessions.sign_out(&s.viewer).await?;
    cookies::remove(
        &cookie_jar,
        cookies::SESSION,
        accounts.config.server.is_https(),
    );
    tracing::info!(user = s.viewer.user.id, "signed out");
    Ok(Redirect::to("/signin"))
}
