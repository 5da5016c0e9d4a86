//! The Users screen and the User page: thin handlers over
//! `accounts::user_admin`. Each GET answers htmx with the fragment it
//! swaps (results, a dialog, the user's region) and everyone else with the
//! whole page; each POST answers htmx in place and plain forms with a 303.
//! The router checks each route's permission (`web::account_routes`) and
//! the use cases check again, with the rules that need the data.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::context::SignedInCtx;
use super::form::{Form, Query};
use super::reauthentication::{edit_again, returning_to};
use super::render::retarget;
use crate::accounts::profile::ProfileForm;
use crate::accounts::user_admin::{DetailsSaved, InviteForm, UserAdmin};
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::{Permission, Role, RoleId, SearchTerm, User, UserId, UserQuery, UserSort};
use crate::error::AppError;
use crate::mail::in_words;
use crate::store::Cursor;
use crate::views::components::{ListUrl, Tone, close_dialog, dialog_or_page};
use crate::views::user_page::{
    MAIN, UserPageView, UserTab, details_panel, history_panel, roles_panel, user_main, user_page,
};
use crate::views::users::{
    Abilities, EditFrom, UsersView, delete_body, delete_title, edit_form, invite_form, resend_body,
    user_row, users_notice, users_page, users_results,
};

/// Query strings on these screens are read like every other screen's
/// (`web::form::Query`): one that can't be read (a field twice, say) is a
/// styled 400, and so is a value no page of ours links to (an unknown sort,
/// a page number that isn't one), rather than quietly showing something
/// else than was asked for. Empty fields mean the defaults.
fn unreadable(what: &'static str) -> AppError {
    AppError::BadRequest(what)
}

/// `GET /account/users`: `?q=&sort=&dir=&page=`, and `?deleted=` or
/// `?invited=` after a change.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    sort: String,
    dir: String,
    page: String,
    deleted: String,
    invited: String,
}

fn user_id(text: &str) -> Result<UserId, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

fn abilities(s: &SignedInCtx) -> Abilities {
    Abilities::of(s.viewer.user.id, s.viewer.permissions)
}

/// `GET /account/users?q=&sort=&dir=&page=`: the list, or its results for htmx.
pub async fn list(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(q): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let sort = match q.sort.as_str() {
        "" => UserSort::default(),
        other => UserSort::parse(other).ok_or(unreadable("The list can't be sorted that way."))?,
    };
    let descending = match q.dir.as_str() {
        "" | "asc" => false,
        "desc" => true,
        _ => return Err(unreadable("The list can't be sorted that way.")),
    };
    let page = match q.page.as_str() {
        "" => 1,
        other => other
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or(unreadable("That page number is not valid."))?,
    };
    let search = q.q.as_str();
    let query = UserQuery {
        search: SearchTerm::parse(search),
        sort,
        descending,
        page,
        ..Default::default()
    };
    let admin = accounts.user_admin(&s.viewer);
    let list = admin.list(query).await?;
    let shown_page = list.page.page.to_string();
    let url = ListUrl::new("/account/users")
        .param("q", search)
        .param(
            "sort",
            if sort == UserSort::Name {
                ""
            } else {
                sort.as_str()
            },
        )
        .param("dir", if descending { "desc" } else { "" })
        .param(
            "page",
            if list.page.page > 1 {
                shown_page.as_str()
            } else {
                ""
            },
        );
    let view = UsersView {
        list: &list,
        url: &url,
        sort,
        descending,
        can: abilities(&s),
        notice: list_notice(&accounts, &admin, &q)?,
    };
    if s.ctx.htmx {
        return Ok(users_results(&s.ctx.csrf, &view));
    }
    Ok(users_page(&s.ctx.chrome(), &view))
}

/// What the list says after a plain form's change.
fn list_notice(
    accounts: &Accounts,
    admin: &UserAdmin<'_>,
    q: &ListQuery,
) -> Result<Option<(Tone, String)>, AppError> {
    if let Ok(n) = q.deleted.parse::<u64>() {
        let what = if n == 1 {
            "1 user".into()
        } else {
            format!("{n} users")
        };
        return Ok(Some((Tone::Success, format!("Deleted {what}."))));
    }
    if let Ok(id) = q.invited.parse::<UserId>() {
        return match admin.user(id) {
            Ok((user, _)) => Ok(Some((Tone::Success, invited_message(accounts, &user)))),
            Err(AccountsError::NotFound(_)) => Ok(None),
            Err(other) => Err(other.into()),
        };
    }
    Ok(None)
}

fn invited_message(accounts: &Accounts, user: &User) -> String {
    format!(
        "Invitation sent to {}. Its link works for {}; until it's accepted the user is listed as Invited.",
        user.email,
        in_words(accounts.config.invitation_link_lifetime)
    )
}

fn lifetime(accounts: &Accounts) -> String {
    in_words(accounts.config.invitation_link_lifetime)
}

/// `GET /account/users/invite`: the *Invite user* dialog, or its page.
pub async fn invite_dialog(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
) -> Result<Markup, AppError> {
    let body = invite_form_view(
        &accounts,
        &s,
        &InviteForm::default(),
        &FieldErrors::default(),
        None,
    );
    Ok(dialog_or_page(
        &s.ctx.chrome(),
        s.ctx.htmx,
        "user-invite",
        "Invite user",
        body,
    ))
}

fn invite_form_view(
    accounts: &Accounts,
    s: &SignedInCtx,
    form: &InviteForm,
    errors: &FieldErrors,
    sent: Option<&str>,
) -> Markup {
    invite_form(&s.ctx.csrf, form, errors, sent, &lifetime(accounts))
}

/// `POST /account/users/invite`: creates the Invited user and mails the
/// link; then the list, where they now appear (or, for an administrator
/// who can't see the list, the form again, saying who was invited).
pub async fn invite(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    match accounts.user_admin(&s.viewer).invite(&form).await {
        Ok(user) if s.viewer.permissions.contains(Permission::UsersView) => {
            Ok(go_to(&s, &format!("/account/users?invited={}", user.id)))
        }
        Ok(user) => {
            let body = invite_form_view(
                &accounts,
                &s,
                &InviteForm::default(),
                &FieldErrors::default(),
                Some(user.email.as_str()),
            );
            Ok(in_dialog_or_page(&s, StatusCode::OK, "Invite user", body))
        }
        Err(AccountsError::Invalid(errors)) => {
            let body = invite_form_view(&accounts, &s, &form, &errors, None);
            Ok(in_dialog_or_page(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invite user",
                body,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// A dialog form's answer: htmx puts the body back into its open dialog;
/// a plain form gets the page.
fn in_dialog_or_page(s: &SignedInCtx, status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = if s.ctx.htmx {
        body
    } else {
        dialog_or_page(&s.ctx.chrome(), false, "user-dialog", title, body)
    };
    (status, markup).into_response()
}

/// After a change that leaves the current view: a 303, or for htmx an
/// `HX-Redirect` (a redirect it followed would land inside the dialog).
fn go_to(s: &SignedInCtx, to: &str) -> Response {
    if s.ctx.htmx {
        let mut response = StatusCode::OK.into_response();
        if let Ok(value) = HeaderValue::from_str(to) {
            response.headers_mut().insert("HX-Redirect", value);
        }
        return response;
    }
    Redirect::to(to).into_response()
}

/// `?from=list|page`: where a dialog was opened, and so where *No* leads.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct FromQuery {
    from: String,
}

fn back_to(from: &str, id: UserId) -> String {
    if from == "list" {
        "/account/users".to_owned()
    } else {
        format!("/account/users/{id}")
    }
}

/// `GET /account/users/{id}/invite/resend`: the question (dialog or page).
pub async fn confirm_resend(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(q): Query<FromQuery>,
) -> Result<Markup, AppError> {
    let id = user_id(&id)?;
    let user = accounts.user_admin(&s.viewer).invitation_to_resend(id)?;
    let body = resend_body(&s.ctx.csrf, &user, &back_to(&q.from, id), None);
    Ok(dialog_or_page(
        &s.ctx.chrome(),
        s.ctx.htmx,
        "user-resend",
        "Resend invite",
        body,
    ))
}

/// `POST /account/users/{id}/invite/resend`: a new link and mail; the old
/// link stops working.
pub async fn resend(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let user = accounts.user_admin(&s.viewer).resend_invitation(id).await?;
    if !s.ctx.htmx {
        return Ok(Redirect::to(&format!("/account/users/{id}?saved=invitation")).into_response());
    }
    let lifetime = lifetime(&accounts);
    let body = resend_body(&s.ctx.csrf, &user, &back_to("", id), Some(&lifetime));
    Ok(dialog_or_page(&s.ctx.chrome(), true, "user-resend", "Resend invite", body).into_response())
}

/// One of the User page's tabs, as a page or (htmx) as the swapped region.
fn user_tab(
    s: &SignedInCtx,
    admin: &UserAdmin<'_>,
    id: UserId,
    tab: UserTab,
    notice: Option<(Tone, String)>,
    cursor: Cursor,
) -> Result<Markup, AppError> {
    let (user, roles) = admin.user(id)?;
    render_tab(s, admin, &user, &roles, tab, notice, cursor)
}

/// [`user_tab`] for a user already in hand (just changed by an action
/// whose permission stands in for `users.view`).
fn render_tab(
    s: &SignedInCtx,
    admin: &UserAdmin<'_>,
    user: &User,
    roles: &[Role],
    tab: UserTab,
    notice: Option<(Tone, String)>,
    cursor: Cursor,
) -> Result<Markup, AppError> {
    let id = user.id;
    let pending_email = admin.pending_email(user)?;
    let view = UserPageView {
        user,
        roles,
        can: abilities(s),
        csrf: &s.ctx.csrf,
        tab,
        notice,
        two_factor: admin.two_factor_on(user)?,
        audit: s.viewer.permissions.contains(Permission::AuditView),
        pending_email: pending_email.as_ref(),
        invitation_expires: admin.invitation_expires(user)?,
    };
    let panel = match tab {
        UserTab::Details => details_panel(&view),
        UserTab::Roles => roles_panel(&view),
        UserTab::History => history_panel(&view, &admin.history(id, cursor)?),
    };
    Ok(if s.ctx.htmx {
        user_main(&view, panel)
    } else {
        user_page(&s.ctx.chrome(), &view, panel)
    })
}

/// `GET /account/users/{id}/…`: `?saved=` after a plain form's 303, and
/// `?before=` or `?after=` for a page of history.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct TabQuery {
    saved: String,
    before: String,
    after: String,
}

impl TabQuery {
    /// What to say after a plain form's change.
    fn notice(&self) -> Option<(Tone, String)> {
        let message = match self.saved.as_str() {
            "details" => "Details saved.",
            "email_link" => EMAIL_LINK_SENT,
            "roles" => "Role assignments saved.",
            "invitation" => {
                "A new invitation was sent; the link in the earlier one no longer works."
            }
            _ => return None,
        };
        Some((Tone::Success, message.to_owned()))
    }

    /// Where a page of history starts.
    fn cursor(&self) -> Result<Cursor, AppError> {
        let id_of = |text: &str| match text {
            "" => Ok(None),
            text => text
                .parse::<u64>()
                .map(Some)
                .map_err(|_| unreadable("That page of the history doesn't exist.")),
        };
        Ok(match (id_of(&self.before)?, id_of(&self.after)?) {
            (Some(before), _) => Cursor::Before(before),
            (None, Some(after)) => Cursor::After(after),
            (None, None) => Cursor::Newest,
        })
    }
}

const EMAIL_LINK_SENT: &str = "Details saved. A confirmation link went to the new address; the address changes when it's opened.";

/// A tab as its address asks for it.
fn requested_tab(
    accounts: &Accounts,
    s: &SignedInCtx,
    id: &str,
    q: &TabQuery,
    tab: UserTab,
) -> Result<Markup, AppError> {
    let admin = accounts.user_admin(&s.viewer);
    user_tab(s, &admin, user_id(id)?, tab, q.notice(), q.cursor()?)
}

/// `GET /account/users/{id}`: the User details tab.
pub async fn details(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, &q, UserTab::Details)
}

/// `GET /account/users/{id}/roles`: the User role assignments tab.
pub async fn roles(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, &q, UserTab::Roles)
}

/// `GET /account/users/{id}/history?before=|after=`: the User history tab.
pub async fn history(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, &q, UserTab::History)
}

/// `GET /account/users/{id}/edit?from=list`: the edit dialog, or its page.
/// `?first_name=…&email=…` fills it with what was typed before a detour
/// through re-authentication (see [`edit_again`]).
pub async fn edit(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Query(typed): Query<EditSubmission>,
) -> Result<Markup, AppError> {
    let user = accounts.user_admin(&s.viewer).user_to_edit(user_id(&id)?)?;
    let form = if typed.email.is_some() {
        typed.form()
    } else {
        ProfileForm::from_user(&user)
    };
    let from = match s.ctx.htmx {
        true => EditFrom::parse(typed.from.as_deref()),
        false => EditFrom::Page,
    };
    let body = edit_form(&s.ctx.csrf, &user, &form, &FieldErrors::default(), from);
    let title = format!("Edit {}", user.full_name());
    Ok(dialog_or_page(
        &s.ctx.chrome(),
        s.ctx.htmx,
        "user-edit",
        &title,
        body,
    ))
}

/// The edit form as submitted: the details, and where it was opened.
#[derive(serde::Deserialize)]
pub struct EditSubmission {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    from: Option<String>,
}

impl EditSubmission {
    fn form(&self) -> ProfileForm {
        ProfileForm {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
        }
    }
}

/// `POST /account/users/{id}/edit`.
pub async fn save(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(submitted): Form<EditSubmission>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let from = EditFrom::parse(submitted.from.as_deref());
    let form = submitted.form();
    let admin = accounts.user_admin(&s.viewer);
    match admin.update_details(id, &form).await {
        Ok(DetailsSaved {
            user,
            confirmation_sent_to,
        }) if s.ctx.htmx => {
            let roles = admin.roles()?;
            let message = match &confirmation_sent_to {
                Some(to) => format!(
                    "Details saved. A confirmation link went to {to}; the address changes when it's opened."
                ),
                None => format!("Saved {}'s details.", user.full_name()),
            };
            let notice = (Tone::Success, message);
            if from == EditFrom::List {
                let row = user_row(&user, &roles, abilities(&s));
                let body = html! { (row) (close_dialog()) (users_notice(Some(&notice), true)) };
                return Ok(retarget(body, &format!("user-{id}")));
            }
            let main = render_tab(
                &s,
                &admin,
                &user,
                &roles,
                UserTab::Details,
                Some(notice),
                Cursor::Newest,
            )?;
            Ok(retarget(html! { (main) (close_dialog()) }, MAIN))
        }
        Ok(saved) => {
            let what = match saved.confirmation_sent_to {
                Some(_) => "email_link",
                None => "details",
            };
            Ok(Redirect::to(&format!("/account/users/{id}?saved={what}")).into_response())
        }
        Err(AccountsError::Invalid(errors)) => {
            let user = admin.user_to_edit(id)?;
            let body = edit_form(&s.ctx.csrf, &user, &form, &errors, from);
            let title = format!("Edit {}", user.full_name());
            Ok(in_dialog_or_page(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &title,
                body,
            ))
        }
        Err(other) => {
            let edit_page = format!("/account/users/{id}/edit");
            Err(returning_to(other, &edit_again(&edit_page, &form)))
        }
    }
}

/// `GET /account/users/{id}/delete`: the question (dialog or page).
pub async fn confirm_delete(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let id = user_id(&id)?;
    let (users, refusal) = accounts.user_admin(&s.viewer).deletion_preview(&[id])?;
    Ok(deletion_question(
        &s,
        &users,
        refusal,
        &format!("/account/users/{id}"),
    ))
}

fn deletion_question(s: &SignedInCtx, users: &[User], refusal: Option<&str>, back: &str) -> Markup {
    dialog_or_page(
        &s.ctx.chrome(),
        s.ctx.htmx,
        "user-delete",
        &delete_title(users),
        delete_body(&s.ctx.csrf, users, refusal, back),
    )
}

/// `POST /account/users/delete` with `id`s: without `confirm=yes` it asks
/// (the bulk *Delete* button); with it, deletes and returns to the list.
pub async fn delete(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut ids = Vec::new();
    for (name, value) in &fields {
        if name == "id" {
            ids.push(value.parse::<UserId>().map_err(|_| {
                AppError::BadRequest("The form could not be read. Reload the page and try again.")
            })?);
        }
    }
    let confirmed = fields.iter().any(|(n, v)| n == "confirm" && v == "yes");
    let admin = accounts.user_admin(&s.viewer);
    let back = "/account/users";
    if !confirmed {
        return match admin.deletion_preview(&ids) {
            Ok((users, refusal)) => {
                Ok(deletion_question(&s, &users, refusal, back).into_response())
            }
            Err(AccountsError::Conflict(why)) => Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                deletion_question(&s, &[], Some(why), back),
            )
                .into_response()),
            Err(other) => Err(other.into()),
        };
    }
    match admin.delete(&ids).await {
        Ok(deleted) => Ok(go_to(
            &s,
            &format!("/account/users?deleted={}", deleted.len()),
        )),
        Err(AccountsError::Conflict(why)) => {
            let users = admin
                .deletion_preview(&ids)
                .map(|(u, _)| u)
                .unwrap_or_default();
            Ok((
                StatusCode::CONFLICT,
                deletion_question(&s, &users, Some(why), back),
            )
                .into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct RoleField {
    #[serde(default)]
    role: String,
}

/// `POST /account/users/{id}/roles/add`.
pub async fn add_role(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(field): Form<RoleField>,
) -> Result<Response, AppError> {
    change_role(accounts, s, id, field, true).await
}

/// `POST /account/users/{id}/roles/remove`.
pub async fn remove_role(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(field): Form<RoleField>,
) -> Result<Response, AppError> {
    change_role(accounts, s, id, field, false).await
}

async fn change_role(
    accounts: Accounts,
    s: SignedInCtx,
    id: String,
    field: RoleField,
    give: bool,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let role: RoleId = field
        .role
        .parse()
        .map_err(|_| AppError::BadRequest("Choose a role."))?;
    let admin = accounts.user_admin(&s.viewer);
    let result = if give {
        admin.assign_role(id, role).await
    } else {
        admin.unassign_role(id, role).await
    };
    let (status, notice) = match result {
        Ok(_) if !s.ctx.htmx => {
            return Ok(
                Redirect::to(&format!("/account/users/{id}/roles?saved=roles")).into_response(),
            );
        }
        Ok(user) => {
            let roles = admin.roles()?;
            let name = roles
                .iter()
                .find(|r| r.id == role)
                .map_or("The role", |r| r.name.as_str());
            let what = if give { "assigned to" } else { "removed from" };
            let notice = (
                Tone::Success,
                format!("{name} {what} {}.", user.full_name()),
            );
            let markup = render_tab(
                &s,
                &admin,
                &user,
                &roles,
                UserTab::Roles,
                Some(notice),
                Cursor::Newest,
            )?;
            return Ok(markup.into_response());
        }
        // Shown on the tab, where the person acted, rather than as an error page.
        Err(AccountsError::Conflict(why)) => (StatusCode::CONFLICT, (Tone::Error, why.to_owned())),
        Err(AccountsError::Forbidden(why)) => (
            StatusCode::FORBIDDEN,
            (
                Tone::Error,
                format!("You don't have permission to do that: {why}."),
            ),
        ),
        Err(other) => return Err(other.into()),
    };
    let markup = user_tab(&s, &admin, id, UserTab::Roles, Some(notice), Cursor::Newest)?;
    Ok((status, markup).into_response())
}
