//! `/invitation?token=…`: the page an invitation link opens, public. The
//! invited person gives their name, phone and password and is signed in.
//! A link that doesn't work gets the same page whatever the reason.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_cookies::Cookies;

use super::context::{Ctx, RequestContext};
use super::form::{Form, Query};
use super::setup::TokenQuery;
use super::sign_in::finish;
use crate::accounts::invitations::AcceptForm;
use crate::accounts::sign_in::SignInOutcome;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::error::AppError;
use crate::views::invitations::{accept_page, invitation_invalid_page};

/// The form, if the link works. Opening it changes nothing.
pub async fn show(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let Some(invited) = accounts.invitations().pending(&q.token)? else {
        return Ok(invalid(&ctx));
    };
    let form = AcceptForm {
        token: q.token,
        ..AcceptForm::default()
    };
    let page = accept_page(
        &ctx.chrome(),
        invited.email.as_str(),
        &form,
        &FieldErrors::default(),
    );
    Ok(page.into_response())
}

/// Accepts: signed in, on the Profile, or first in 2FA set-up when 2FA is
/// required, as a sign-in would go.
pub async fn accept(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    cookie_jar: Cookies,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    match accounts.invitations().accept(&form, &ctx.origin()).await {
        Ok(SignInOutcome::SignedIn(signed_in)) => {
            finish(&accounts, &ctx, &cookie_jar, signed_in).await?;
            Ok(Redirect::to("/profile").into_response())
        }
        Ok(SignInOutcome::SetUpRequired(signed_in)) => {
            finish(&accounts, &ctx, &cookie_jar, signed_in).await?;
            Ok(Redirect::to("/profile/2fa").into_response())
        }
        // A new user has no 2FA to ask for.
        Ok(SignInOutcome::SecondFactorRequired { .. }) => Err(AppError::Internal(
            "a new user's sign-in asked for a second factor".into(),
        )),
        Err(AccountsError::Invalid(errors)) => {
            let Some(invited) = accounts.invitations().pending(&form.token)? else {
                return Ok(invalid(&ctx));
            };
            let form = AcceptForm {
                password: String::new(),
                password_confirm: String::new(),
                ..form
            };
            let page = accept_page(&ctx.chrome(), invited.email.as_str(), &form, &errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AccountsError::LinkInvalid) => Ok(invalid(&ctx)),
        Err(other) => Err(other.into()),
    }
}

fn invalid(ctx: &RequestContext) -> Response {
    (
        StatusCode::NOT_FOUND,
        invitation_invalid_page(&ctx.chrome()),
    )
        .into_response()
}
