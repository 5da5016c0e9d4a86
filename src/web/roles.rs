//! The Roles screen: list and search, and the add, edit, clone and delete
//! dialogs (pages of their own without JavaScript).
//!
//! A dialog's form that succeeds answers htmx with the refreshed list
//! (retargeted to it) and an out-of-band empty dialog slot, which closes the
//! dialog; a plain form is redirected to the list with a `done` notice.
//! Invalid input answers 422 with the form and its messages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::context::SignedInCtx;
use super::form::{Form, Query};
use super::render::retarget;
use crate::accounts::roles::RoleForm;
use crate::accounts::settings::require;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::{Permission, Role, RoleId};
use crate::error::AppError;
use crate::views::components::{close_dialog, dialog_or_page};
use crate::views::roles::{
    CloneFormView, RESULTS, RoleFormView, clone_form, delete_form, role_form, roles_page,
    roles_results,
};

/// `?q=` the search text; `?done=` what a plain form just did.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    done: String,
}

/// Form fields as pairs: the permission switches repeat one name.
type Pairs = Vec<(String, String)>;

pub async fn list(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let roles = accounts.roles().list(&s.viewer, &query.q)?;
    let done = match query.done.as_str() {
        "created" => Some("Role created."),
        "saved" => Some("Role saved."),
        "cloned" => Some("Role cloned."),
        "deleted" => Some("Role deleted."),
        _ => None,
    };
    let results = roles_results(&roles, &query.q, done);
    if s.ctx.htmx {
        return Ok(results);
    }
    Ok(roles_page(&s.ctx.chrome(), &query.q, results))
}

pub async fn new_form(s: SignedInCtx) -> Result<Markup, AppError> {
    require(&s.viewer, Permission::RolesManage)?;
    Ok(role_form_view(
        &s,
        "/account/roles",
        &RoleForm::default(),
        &FieldErrors::default(),
    ))
}

pub async fn create(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(pairs): Form<Pairs>,
) -> Result<Response, AppError> {
    let form = RoleForm::from_pairs(&pairs);
    let result = accounts.roles().create(&s.viewer, &form).await;
    answer(
        &accounts,
        &s,
        &pairs,
        result,
        "created",
        "created",
        |errors| Ok(role_form_view(&s, "/account/roles", &form, errors)),
    )
}

pub async fn edit_form(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let role = accounts.roles().changeable(&s.viewer, role_id(&id)?)?;
    Ok(role_form_view(
        &s,
        &format!("/account/roles/{}", role.id),
        &RoleForm::from_role(&role),
        &FieldErrors::default(),
    ))
}

pub async fn update(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, AppError> {
    let id = role_id(&id)?;
    let form = RoleForm::from_pairs(&pairs);
    let result = accounts.roles().update(&s.viewer, id, &form).await;
    answer(&accounts, &s, &pairs, result, "saved", "saved", |errors| {
        Ok(role_form_view(
            &s,
            &format!("/account/roles/{id}"),
            &form,
            errors,
        ))
    })
}

/// After a role's form: the list saying what was `done` (`created`,
/// `saved`, `cloned`) and that the role was `said`, or the form `again`
/// with its messages.
fn answer(
    accounts: &Accounts,
    s: &SignedInCtx,
    pairs: &[(String, String)],
    result: Result<Role, AccountsError>,
    done_as: &str,
    said: &str,
    again: impl FnOnce(&FieldErrors) -> Result<Markup, AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(role) => {
            let message = format!("Role “{}” {said}.", role.name);
            done(accounts, s, pairs, done_as, &message)
        }
        Err(AccountsError::Invalid(errors)) => Ok(invalid(again(&errors)?)),
        Err(other) => Err(other.into()),
    }
}

pub async fn clone_form_page(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let original = accounts.roles().changeable(&s.viewer, role_id(&id)?)?;
    let suggested = format!("Copy of {}", original.name);
    let name = if suggested.chars().count() <= crate::domain::role::NAME_MAX_LEN {
        suggested
    } else {
        String::new()
    };
    Ok(clone_view(&s, &original, &name, &FieldErrors::default()))
}

pub async fn clone(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, AppError> {
    let id = role_id(&id)?;
    let name = field(&pairs, "name");
    let result = accounts.roles().clone_role(&s.viewer, id, name).await;
    answer(
        &accounts,
        &s,
        &pairs,
        result,
        "cloned",
        "created as a copy",
        |errors| {
            let original = accounts.roles().changeable(&s.viewer, id)?;
            Ok(clone_view(&s, &original, name, errors))
        },
    )
}

pub async fn delete_confirm(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let role = accounts.roles().changeable(&s.viewer, role_id(&id)?)?;
    Ok(dialog_or_page(
        &s.ctx.chrome(),
        s.ctx.htmx,
        "role-dialog",
        "Delete role",
        delete_form(&role, &s.ctx.csrf, s.ctx.htmx),
    ))
}

pub async fn delete(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, AppError> {
    let (role, holders) = accounts.roles().delete(&s.viewer, role_id(&id)?).await?;
    let message = match holders {
        0 => format!("Role “{}” deleted.", role.name),
        1 => format!("Role “{}” deleted; 1 user no longer holds it.", role.name),
        n => format!("Role “{}” deleted; {n} users no longer hold it.", role.name),
    };
    done(&accounts, &s, &pairs, "deleted", &message)
}

/// After a change: the refreshed list for htmx (keeping the search text the
/// dialog sent along), a redirect to the list otherwise.
fn done(
    accounts: &Accounts,
    s: &SignedInCtx,
    pairs: &[(String, String)],
    code: &str,
    message: &str,
) -> Result<Response, AppError> {
    if !s.ctx.htmx {
        return Ok(Redirect::to(&format!("/account/roles?done={code}")).into_response());
    }
    let search = field(pairs, "q");
    let roles: Vec<Role> = accounts.roles().list(&s.viewer, search)?;
    let body = html! {
        (roles_results(&roles, search, Some(message)))
        (close_dialog())
    };
    Ok(retarget(body, RESULTS))
}

fn invalid(markup: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response()
}

/// The add or edit form: alone for htmx (into its open dialog, or a new
/// one), in a page otherwise.
fn role_form_view(s: &SignedInCtx, action: &str, form: &RoleForm, errors: &FieldErrors) -> Markup {
    let editing = action != "/account/roles";
    let view = RoleFormView {
        action,
        submit: if editing { "Save" } else { "Add role" },
        form,
        errors,
        csrf: &s.ctx.csrf,
        htmx: s.ctx.htmx,
    };
    let title = if editing { "Edit role" } else { "Add role" };
    dialog_form(s, title, role_form(&view), errors)
}

fn clone_view(s: &SignedInCtx, original: &Role, name: &str, errors: &FieldErrors) -> Markup {
    let view = CloneFormView {
        original,
        name,
        errors,
        csrf: &s.ctx.csrf,
        htmx: s.ctx.htmx,
    };
    dialog_form(s, "Clone role", clone_form(&view), errors)
}

/// A form with errors goes back into the dialog it came from, alone; a fresh
/// one opens a dialog (or a page, without htmx).
fn dialog_form(s: &SignedInCtx, title: &str, form: Markup, errors: &FieldErrors) -> Markup {
    if s.ctx.htmx && !errors.is_empty() {
        return form;
    }
    dialog_or_page(&s.ctx.chrome(), s.ctx.htmx, "role-dialog", title, form)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A role id from the path; anything else is a page that doesn't exist.
fn role_id(raw: &str) -> Result<RoleId, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
