//! The Profile's *Your sessions* card: signing other browsers out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::context::SignedInCtx;
use crate::accounts::Accounts;
use crate::error::AppError;
use crate::views::sessions::sessions_card;

/// A reference that names no other live session of the viewer's (another
/// user's, or one already ended) is a 404 that changes nothing; htmx still
/// gets the card, which says there was nothing to sign out.
pub async fn sign_out_one(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    if accounts.sessions.end_one(&s.viewer, &reference).await? {
        return answer(&accounts, &s, 1);
    }
    if !s.ctx.htmx {
        return Err(AppError::NotFound);
    }
    let mut card = answer(&accounts, &s, 0)?;
    *card.status_mut() = StatusCode::NOT_FOUND;
    Ok(card)
}

pub async fn sign_out_others(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    let ended = accounts.sessions.end_others(&s.viewer).await?;
    answer(&accounts, &s, ended)
}

/// The card again for htmx; back to the Profile's card without JavaScript.
fn answer(accounts: &Accounts, s: &SignedInCtx, ended: usize) -> Result<Response, AppError> {
    if s.ctx.htmx {
        let sessions = accounts.sessions.of_viewer(&s.viewer)?;
        return Ok(sessions_card(&s.ctx.csrf, &sessions, Some(ended)).into_response());
    }
    Ok(Redirect::to("/profile#sessions").into_response())
}
