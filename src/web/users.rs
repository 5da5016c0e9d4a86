//! The Users screen and the User page: thin handlers over
//! `accounts::user_admin`. Each GET answers htmx with the fragment it
//! swaps (results, a dialog, the user's region) and everyone else with the
//! whole page; each POST answers htmx in place and plain forms with a 303.
//! The router checks each route's permission (`web::account_routes`) and
//! the use cases check again, with the rules that need the data.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::context::SignedInCtx;
use super::form::Form;
use super::render::retarget;
use crate::accounts::profile::ProfileForm;
use crate::accounts::settings::require;
use crate::accounts::user_admin::UserAdmin;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::domain::{Permission, Role, RoleId, SearchTerm, User, UserId, UserQuery, UserSort};
use crate::error::AppError;
use crate::store::Cursor;
use crate::views::components::{ListUrl, Tone, close_dialog, dialog_or_page};
use crate::views::unavailable::unavailable_page;
use crate::views::user_page::{
    MAIN, UserPageView, UserTab, details_panel, history_panel, roles_panel, user_main, user_page,
};
use crate::views::users::{
    Abilities, EditFrom, UsersView, delete_body, delete_title, edit_form, user_row, users_page,
    users_results,
};

/// A query string as pairs; a malformed one reads as empty (these are
/// only view settings, never worth an error page).
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
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
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    let pairs = query_pairs(raw.as_deref());
    let search = first(&pairs, "q").unwrap_or_default();
    let sort = first(&pairs, "sort")
        .and_then(UserSort::parse)
        .unwrap_or_default();
    let descending = first(&pairs, "dir") == Some("desc");
    let page = first(&pairs, "page")
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let query = UserQuery {
        search: SearchTerm::parse(search),
        sort,
        descending,
        page,
        ..Default::default()
    };
    let list = accounts.user_admin(&s.viewer).list(query).await?;
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
    let notice = first(&pairs, "deleted")
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| {
            let what = if n == 1 {
                "1 user".into()
            } else {
                format!("{n} users")
            };
            (Tone::Success, format!("Deleted {what}."))
        });
    let view = UsersView {
        list: &list,
        url: &url,
        sort,
        descending,
        can: abilities(&s),
        notice,
    };
    if s.ctx.htmx {
        return Ok(users_results(&s.ctx.csrf, &view));
    }
    Ok(users_page(&s.ctx.chrome(), &view))
}

/// `GET /account/users/invite`: arrives with mail; the button already leads here.
pub async fn invite(s: SignedInCtx) -> Result<Markup, AppError> {
    require(&s.viewer, Permission::UsersInvite)?;
    Ok(unavailable_page(
        &s.ctx.chrome(),
        "Invite user",
        "Invitations are sent by email, which arrives in the next release.",
    ))
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
    let view = UserPageView {
        user,
        roles,
        can: abilities(s),
        csrf: &s.ctx.csrf,
        tab,
        notice,
        two_factor: admin.two_factor_on(user)?,
        audit: s.viewer.permissions.contains(Permission::AuditView),
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

/// `?saved=…` after a plain form's 303: what to say.
fn saved_notice(pairs: &[(String, String)]) -> Option<(Tone, String)> {
    match first(pairs, "saved")? {
        "details" => Some((Tone::Success, "Details saved.".into())),
        "roles" => Some((Tone::Success, "Role assignments saved.".into())),
        _ => None,
    }
}

/// `?before=` or `?after=`: where a page of history starts.
fn history_cursor(pairs: &[(String, String)]) -> Cursor {
    let id_of = |name| first(pairs, name).and_then(|v| v.parse::<u64>().ok());
    match (id_of("before"), id_of("after")) {
        (Some(before), _) => Cursor::Before(before),
        (None, Some(after)) => Cursor::After(after),
        (None, None) => Cursor::Newest,
    }
}

/// A tab as its address asks for it.
fn requested_tab(
    accounts: &Accounts,
    s: &SignedInCtx,
    id: &str,
    raw: Option<&str>,
    tab: UserTab,
) -> Result<Markup, AppError> {
    let pairs = query_pairs(raw);
    let admin = accounts.user_admin(&s.viewer);
    let (notice, cursor) = (saved_notice(&pairs), history_cursor(&pairs));
    user_tab(s, &admin, user_id(id)?, tab, notice, cursor)
}

/// `GET /account/users/{id}`: the User details tab.
pub async fn details(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, raw.as_deref(), UserTab::Details)
}

/// `GET /account/users/{id}/roles`: the User role assignments tab.
pub async fn roles(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, raw.as_deref(), UserTab::Roles)
}

/// `GET /account/users/{id}/history?before=|after=`: the User history tab.
pub async fn history(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    requested_tab(&accounts, &s, &id, raw.as_deref(), UserTab::History)
}

/// `GET /account/users/{id}/edit?from=list`: the edit dialog, or its page.
pub async fn edit(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    let user = accounts.user_admin(&s.viewer).user_to_edit(user_id(&id)?)?;
    let form = ProfileForm::from_user(&user);
    let pairs = query_pairs(raw.as_deref());
    let from = match s.ctx.htmx {
        true => EditFrom::parse(first(&pairs, "from")),
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

/// `POST /account/users/{id}/edit`.
pub async fn save(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Path(id): Path<String>,
    Form(submitted): Form<EditSubmission>,
) -> Result<Response, AppError> {
    let id = user_id(&id)?;
    let from = EditFrom::parse(submitted.from.as_deref());
    let form = ProfileForm {
        first_name: submitted.first_name,
        last_name: submitted.last_name,
        email: submitted.email,
        phone: submitted.phone,
    };
    let admin = accounts.user_admin(&s.viewer);
    match admin.update_details(id, &form).await {
        Ok(user) if s.ctx.htmx => {
            let roles = admin.roles()?;
            if from == EditFrom::List {
                let row = user_row(&user, &roles, abilities(&s));
                return Ok(retarget(
                    html! { (row) (close_dialog()) },
                    &format!("user-{id}"),
                ));
            }
            let notice = (Tone::Success, "Details saved.".to_owned());
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
        Ok(_) => Ok(Redirect::to(&format!("/account/users/{id}?saved=details")).into_response()),
        Err(AccountsError::Invalid(errors)) => {
            let user = admin.user_to_edit(id)?;
            let body = edit_form(&s.ctx.csrf, &user, &form, &errors, from);
            // htmx puts the form back into its open dialog.
            let markup = if s.ctx.htmx {
                body
            } else {
                let title = format!("Edit {}", user.full_name());
                dialog_or_page(&s.ctx.chrome(), false, "user-edit", &title, body)
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(other) => Err(other.into()),
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
    let confirmed = first(&fields, "confirm") == Some("yes");
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
        Ok(deleted) => {
            let to = format!("/account/users?deleted={}", deleted.len());
            if s.ctx.htmx {
                let mut response = StatusCode::OK.into_response();
                if let Ok(value) = HeaderValue::from_str(&to) {
                    response.headers_mut().insert("HX-Redirect", value);
                }
                return Ok(response);
            }
            Ok(Redirect::to(&to).into_response())
        }
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
