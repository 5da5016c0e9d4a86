//! The account Settings screen, with its *Outgoing mail* card.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;

use super::SavedQuery;
use super::context::SignedInCtx;
use super::form::Form;
use crate::accounts::Accounts;
use crate::accounts::settings::SettingsForm;
use crate::error::AppError;
use crate::store::OutboxMessage;
use crate::views::settings::{outgoing_mail_card, settings_form, settings_page};

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(flatten)]
    saved: SavedQuery,
    /// The outbox id of a test message just sent, whose answer to show.
    #[serde(default)]
    test_mail: Option<String>,
}

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<SettingsQuery>,
) -> Result<Markup, AppError> {
    let settings = accounts.account_settings(&s.viewer)?;
    let test = match q.test_mail.and_then(|id| id.parse().ok()) {
        Some(id) => accounts.outgoing_mail().message(&s.viewer, id)?,
        None => None,
    };
    let card = mail_card(&accounts, &s, test.as_ref())?;
    Ok(settings_page(
        &s.ctx.chrome(),
        &settings,
        q.saved.saved(),
        card,
    ))
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

/// *Send test email*: sent at once to the viewer, the server's answer shown.
pub async fn send_test_email(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    let test = accounts.outgoing_mail().send_test(&s.viewer).await?;
    if s.ctx.htmx {
        return Ok(mail_card(&accounts, &s, Some(&test))?.into_response());
    }
    Ok(Redirect::to(&format!(
        "/account/settings?test_mail={}#outgoing-mail",
        test.id
    ))
    .into_response())
}

/// *Try again* on a failed message.
pub async fn retry_mail(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: u64 = id.parse().map_err(|_| AppError::NotFound)?;
    accounts.outgoing_mail().retry(&s.viewer, id).await?;
    if s.ctx.htmx {
        return Ok(mail_card(&accounts, &s, None)?.into_response());
    }
    Ok(Redirect::to("/account/settings#outgoing-mail").into_response())
}

fn mail_card(
    accounts: &Accounts,
    s: &SignedInCtx,
    test: Option<&OutboxMessage>,
) -> Result<Markup, AppError> {
    let overview = accounts.outgoing_mail().overview(&s.viewer)?;
    Ok(outgoing_mail_card(&s.ctx.csrf, &overview, test))
}
