//! The first-start set-up link.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_cookies::Cookies;

use super::context::Ctx;
use super::form::Form;
use super::sign_in::begin_session;
use crate::accounts::users::NewUserForm;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::SessionStage;
use crate::error::AppError;
use crate::views::setup::setup_page;

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub(super) token: String,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(flatten)]
    user: NewUserForm,
}

pub async fn show(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    if !accounts.setup_link_is_valid(&q.token)? {
        return Err(AppError::LinkInvalid);
    }
    Ok(setup_page(
        &ctx.chrome(),
        &q.token,
        &NewUserForm::default(),
        &FieldErrors::default(),
    )
    .into_response())
}

pub async fn submit(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    cookie_jar: Cookies,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    match accounts
        .complete_setup(&form.token, &form.user, ctx.client)
        .await
    {
        Ok(user) => {
            // The first administrator is a local user like any other.
            let (stage, to) = if accounts.two_factor_set_up_required(&user)? {
                (SessionStage::TwoFactorSetUpRequired, "/profile/2fa")
            } else {
                (SessionStage::SignedIn, "/profile")
            };
            let token = accounts
                .sessions
                .create(user.id, stage, &ctx.origin())
                .await?;
            begin_session(&accounts, &ctx, &cookie_jar, &token).await?;
            Ok(Redirect::to(to).into_response())
        }
        Err(AccountsError::Invalid(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            setup_page(&ctx.chrome(), &form.token, &form.user, &errors),
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}
