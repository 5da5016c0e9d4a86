//! The Profile screen and its in-place Edit.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;

use super::SavedQuery;
use super::context::SignedInCtx;
use super::form::Form;
use crate::accounts::profile::ProfileForm;
use crate::accounts::sessions::SessionSummary;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::TwoFactorStatus;
use crate::error::AppError;
use crate::views::profile::{ProfileView, details_fragment, edit_fragment, profile_page};

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<SavedQuery>,
) -> Result<Markup, AppError> {
    let extras = Extras::of(&accounts, &s)?;
    let view = ProfileView {
        user: &s.viewer.user,
        can_edit: accounts.may_edit_own_profile(&s.viewer)?,
        saved: q.saved(),
        two_factor: extras.two_factor,
        sessions: &extras.sessions,
    };
    Ok(profile_page(
        &s.ctx.chrome(),
        &view,
        details_fragment(&view),
    ))
}

/// The details panel alone (Cancel in the htmx form).
pub async fn details(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    if !s.ctx.htmx {
        return Ok(Redirect::to("/profile").into_response());
    }
    let view = ProfileView {
        user: &s.viewer.user,
        can_edit: accounts.may_edit_own_profile(&s.viewer)?,
        saved: false,
        two_factor: None,
        sessions: &[],
    };
    Ok(details_fragment(&view).into_response())
}

/// The Edit form: a fragment for htmx, the whole page without JavaScript.
pub async fn edit(State(accounts): State<Accounts>, s: SignedInCtx) -> Result<Markup, AppError> {
    accounts.require_own_profile_editing(&s.viewer)?;
    edit_view(
        &accounts,
        &s,
        &ProfileForm::from_user(&s.viewer.user),
        &FieldErrors::default(),
    )
}

pub async fn save(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    match accounts.update_own_profile(&s.viewer, &form).await {
        Ok(user) if s.ctx.htmx => {
            let view = ProfileView {
                user: &user,
                can_edit: true,
                saved: true,
                two_factor: None,
                sessions: &[],
            };
            Ok(details_fragment(&view).into_response())
        }
        Ok(_) => Ok(Redirect::to("/profile?saved=1").into_response()),
        Err(AccountsError::Invalid(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_view(&accounts, &s, &form, &errors)?,
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

fn edit_view(
    accounts: &Accounts,
    s: &SignedInCtx,
    form: &ProfileForm,
    errors: &FieldErrors,
) -> Result<Markup, AppError> {
    let fragment = edit_fragment(&s.ctx.csrf, form, errors);
    if s.ctx.htmx {
        return Ok(fragment);
    }
    let extras = Extras::of(accounts, s)?;
    let view = ProfileView {
        user: &s.viewer.user,
        can_edit: true,
        saved: false,
        two_factor: extras.two_factor,
        sessions: &extras.sessions,
    };
    Ok(profile_page(&s.ctx.chrome(), &view, fragment))
}

/// What the whole page shows beyond the details: 2FA and sessions.
struct Extras {
    two_factor: Option<TwoFactorStatus>,
    sessions: Vec<SessionSummary>,
}

impl Extras {
    fn of(accounts: &Accounts, s: &SignedInCtx) -> Result<Self, AppError> {
        Ok(Self {
            two_factor: accounts.two_factor().status(s.viewer.user.id)?,
            sessions: accounts.sessions.of_viewer(&s.viewer)?,
        })
    }
}
