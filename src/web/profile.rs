//! The Profile screen: its in-place Edit, the email confirmation link, and
//! the account deletion request.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;

use super::SavedQuery;
use super::context::{Ctx, SignedInCtx};
use super::form::Form;
use super::reauthentication::{edit_again, returning_to};
use super::setup::TokenQuery;
use crate::accounts::deletion::DeletionRequest;
use crate::accounts::email_change::PendingEmailChange;
use crate::accounts::profile::{ProfileForm, ProfileSaved};
use crate::accounts::sessions::SessionSummary;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::{TwoFactorStatus, User};
use crate::error::AppError;
use crate::views::components::Tone;
use crate::views::deletion::deletion_question;
use crate::views::email_change::confirm_page;
use crate::views::password::link_invalid_page;
use crate::views::profile::{ProfileView, details_fragment, edit_fragment, profile_page};

const SAVED: &str = "Your details were saved.";

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<SavedQuery>,
) -> Result<Markup, AppError> {
    let notice = match (q.saved(), q.notice()) {
        (true, _) => Some((Tone::Success, SAVED.to_owned())),
        (false, Some(notice)) => notice_text(notice, &s.viewer.user),
        (false, None) => None,
    };
    let pending = accounts.email_changes().pending_for(&s.viewer.user)?;
    let extras = Extras::of(&accounts, &s)?;
    let view = ProfileView {
        user: &s.viewer.user,
        can_edit: accounts.may_edit_own_profile(&s.viewer)?,
        notice,
        pending_email: pending.as_ref(),
        two_factor: extras.two_factor,
        sessions: &extras.sessions,
    };
    Ok(profile_page(
        &s.ctx.chrome(),
        &view,
        details_fragment(&view),
    ))
}

/// What `?notice=` (after a plain form's redirect) says on the Profile.
fn notice_text(notice: &str, user: &User) -> Option<(Tone, String)> {
    Some(match notice {
        "email_link_sent" => (
            Tone::Success,
            "Your details were saved. We sent a confirmation link to your new address: it becomes yours when you open the link.".to_owned(),
        ),
        "email_changed" => (
            Tone::Success,
            format!("Your email address is now {}.", user.email),
        ),
        "deletion_requested" => (
            Tone::Success,
            "Your request was sent to the Global Administrators.".to_owned(),
        ),
        "deletion_already_requested" => (
            Tone::Info,
            "You already asked within the last day, so nothing new was sent.".to_owned(),
        ),
        _ => return None,
    })
}

/// The details panel alone (Cancel in the htmx form).
pub async fn details(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Response, AppError> {
    if !s.ctx.htmx {
        return Ok(Redirect::to("/profile").into_response());
    }
    let pending = accounts.email_changes().pending_for(&s.viewer.user)?;
    let view = ProfileView {
        user: &s.viewer.user,
        can_edit: accounts.may_edit_own_profile(&s.viewer)?,
        notice: None,
        pending_email: pending.as_ref(),
        two_factor: None,
        sessions: &[],
    };
    Ok(details_fragment(&view).into_response())
}

/// The Edit form: a fragment for htmx, the whole page without JavaScript.
/// `?first_name=…&email=…` fills it with what was typed before a detour
/// through re-authentication (see [`edit_again`]).
pub async fn edit(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(typed): Query<ProfileForm>,
) -> Result<Markup, AppError> {
    accounts.require_own_profile_editing(&s.viewer)?;
    let form = if typed.email.is_some() {
        typed
    } else {
        ProfileForm::from_user(&s.viewer.user)
    };
    edit_view(&accounts, &s, &form, &FieldErrors::default())
}

pub async fn save(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    match accounts.update_own_profile(&s.viewer, &form).await {
        Ok(ProfileSaved {
            user,
            confirmation_sent_to,
        }) if s.ctx.htmx => {
            let notice = match &confirmation_sent_to {
                Some(to) => format!(
                    "{SAVED} We sent a confirmation link to {to}: the address becomes yours when you open it."
                ),
                None => SAVED.to_owned(),
            };
            let pending = accounts.email_changes().pending_for(&user)?;
            let view = ProfileView {
                user: &user,
                can_edit: true,
                notice: Some((Tone::Success, notice)),
                pending_email: pending.as_ref(),
                two_factor: None,
                sessions: &[],
            };
            Ok(details_fragment(&view).into_response())
        }
        Ok(ProfileSaved {
            confirmation_sent_to: Some(_),
            ..
        }) => Ok(Redirect::to("/profile?notice=email_link_sent").into_response()),
        Ok(_) => Ok(Redirect::to("/profile?saved=1").into_response()),
        Err(AccountsError::Invalid(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_view(&accounts, &s, &form, &errors)?,
        )
            .into_response()),
        Err(other) => Err(returning_to(other, &edit_again("/profile/edit", &form))),
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
        notice: None,
        pending_email: None,
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

/// *Delete user account*: the Yes/No question, a dialog for htmx.
pub async fn deletion_dialog(s: SignedInCtx) -> Markup {
    deletion_question(
        &s.ctx.chrome(),
        s.ctx.htmx,
        s.viewer.user.deletion_requested_at,
    )
}

/// *Yes*: tells the Global Administrators, then back to the Profile.
pub async fn request_deletion(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Redirect, AppError> {
    let notice = match accounts.request_deletion(&s.viewer).await? {
        DeletionRequest::Sent { .. } => "deletion_requested",
        DeletionRequest::AlreadyRequested { .. } => "deletion_already_requested",
    };
    Ok(Redirect::to(&format!("/profile?notice={notice}")))
}

/// The page a confirmation link opens. Opening it changes nothing.
pub async fn email_confirmation(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let pending: Option<PendingEmailChange> = accounts.email_changes().pending(&q.token)?;
    let Some(pending) = pending else {
        let page = link_invalid_page(
            &ctx.chrome(),
            "Confirm your new email address",
            "Confirmation links work once and for a limited time, and asking for another change replaces the older one. Your email address has not changed; ask for the change again on your Profile.",
            ("Go to your Profile", "/profile"),
        );
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    Ok(confirm_page(&ctx.chrome(), &q.token, &pending).into_response())
}

/// *Confirm new address*: the address changes now.
pub async fn confirm_email(
    State(accounts): State<Accounts>,
    Ctx(ctx): Ctx,
    Form(form): Form<TokenQuery>,
) -> Result<Redirect, AppError> {
    let user = accounts
        .email_changes()
        .confirm(&form.token, ctx.client)
        .await?;
    let signed_in_as_them = ctx.viewer.as_ref().is_some_and(|v| v.user.id == user.id);
    Ok(Redirect::to(if signed_in_as_them {
        "/profile?notice=email_changed"
    } else {
        "/signin?notice=email_changed"
    }))
}
