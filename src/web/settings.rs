//! The account Settings screen.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;

use super::SavedQuery;
use super::context::SignedInCtx;
use super::form::Form;
use crate::accounts::Accounts;
use crate::accounts::settings::SettingsForm;
use crate::error::AppError;
use crate::views::settings::{settings_form, settings_page};

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<SavedQuery>,
) -> Result<Markup, AppError> {
    let settings = accounts.account_settings(&s.viewer)?;
    Ok(settings_page(&s.ctx.chrome(), &settings, q.saved()))
}

pub async fn save(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let settings = accounts.update_account_settings(&s.viewer, &form).await?;
    if s.ctx.htmx {
        return Ok(settings_form(&s.ctx.csrf, &settings, true).into_response());
    }
    Ok(Redirect::to("/account/settings?saved=1").into_response())
}
