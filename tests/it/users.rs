//! The Users page and the User page: search, sorting and paging through
//! the index; editing, deleting and role assignments with their rules
//! (never the last Active Global Administrator, never yourself), also when
//! two administrators act at the same moment; and events. Who may reach
//! each route is the permission matrix's business (`permissions.rs`).

use latchkey::domain::role::{GLOBAL_ADMINISTRATOR, OPERATOR};
use latchkey::domain::{
    AuditAction, Email, NewEvent, Permission, PersonName, User, UserId, UserStatus,
};
use latchkey::store::{NewUser, StoreError, TokenPurpose};
use reqwest::StatusCode;

use crate::roles::{make_role, signed_in_with};
use crate::support::{Client, TestApp, csrf_of, location};

/// A user who can't sign in (no password), named as given.
pub fn person(app: &TestApp, first: &str, last: &str, email: &str) -> User {
    app.accounts
        .store
        .transact::<_, StoreError>(|t| {
            t.insert_user(NewUser {
                first_name: PersonName::parse(first).unwrap(),
                last_name: PersonName::parse(last).unwrap(),
                email: Email::parse(email).unwrap(),
                phone: None,
                status: UserStatus::Active,
                password_hash: None,
                roles: Vec::new(),
                created_at: 1_700_000_000,
            })
        })
        .unwrap()
}

/// The ids of the user rows on a page, in order.
fn row_ids(html: &str) -> Vec<UserId> {
    html.match_indices(r#"<tr id="user-"#)
        .map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

async fn search(client: &Client, query: &str) -> Vec<UserId> {
    let response = client.htmx_get(&format!("/account/users?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let html = response.text().await.unwrap();
    let opening = &html[..html.find('>').unwrap()];
    assert!(
        opening.starts_with("<div") && opening.contains(r#"id="users-results""#),
        "a fragment: {opening}"
    );
    row_ids(&html)
}

#[tokio::test]
async fn search_finds_prefixes_and_substrings_of_names_and_emails_ignoring_case() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let ada = person(&app, "Ada", "Lovelace", "ada@analytical.example").id;
    let grace = person(&app, "Grace", "Hopper", "g.hopper@navy.example").id;
    let alan = person(&app, "Alan", "Turing", "alan@bletchley.example").id;
    let emile = person(&app, "Émile", "Zola", "EZOLA@Paris.example").id;

    for (term, expected) in [
        // Three letters or more: anywhere in the name or the email.
        ("q=LOVE", vec![ada]),
        ("q=ovel", vec![ada]),
        ("q=ace+hop", vec![grace]),
        ("q=navy", vec![grace]),
        ("q=PPER%40NA", vec![grace]),
        ("q=bletchley.example", vec![alan]),
        ("q=%C3%A9mile", vec![emile]),
        ("q=zola%40paris", vec![emile]),
        ("q=nobody", vec![]),
        // One or two letters: the start of a word of the name or email.
        ("q=TU", vec![alan]),
        ("q=ho", vec![grace]),
        ("q=g", vec![grace]),
        ("q=ur", vec![]),
        ("q=z", vec![emile]),
    ] {
        assert_eq!(search(&admin, term).await, expected, "{term}");
    }
    // Spaces around the term don't matter; a blank term lists everyone.
    assert_eq!(search(&admin, "q=+++ada++").await, vec![ada]);
    assert_eq!(search(&admin, "q=").await.len(), 5);

    // Without JavaScript the same search is a plain GET form and a full page.
    let page = admin.get_text("/account/users?q=love").await;
    assert!(page.contains("<!DOCTYPE html>") && page.contains(r#"role="search""#));
    assert!(
        page.contains(r#"name="q" value="love""#),
        "the term stays in the box"
    );
    assert_eq!(row_ids(&page), vec![ada]);
    assert!(page.contains("Showing 1–1 of 1 user"));
    // The field asks htmx to search as the person types, after a pause.
    assert!(page.contains(r#"data-hx-trigger="input changed delay:300ms, search""#));
}

#[tokio::test]
async fn pages_of_fifty_are_stable_and_sort_by_each_column() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    // Same names, different emails: ties are broken by id, so order is total.
    let mut ids = vec![app.stored_user("admin@example.com").id];
    for i in 0..119 {
        let first = ["Zed", "Amy", "Bo"][i % 3];
        ids.push(
            person(
                &app,
                first,
                "Same",
                &format!("p{:03}@example.com", (i * 37) % 119),
            )
            .id,
        );
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let found = search(&admin, &format!("sort=email&page={page}")).await;
        assert_eq!(found.len(), if page < 3 { 50 } else { 20 }, "page {page}");
        seen.extend(found);
    }
    let mut by_email: Vec<User> = app.accounts.store.users().unwrap();
    by_email.sort_by_key(|u| u.email.key());
    assert_eq!(seen, by_email.iter().map(|u| u.id).collect::<Vec<_>>());

    // Descending reverses the whole order, not each page.
    let mut seen_desc = Vec::new();
    for page in 1..=3 {
        seen_desc.extend(search(&admin, &format!("sort=email&dir=desc&page={page}")).await);
    }
    seen.reverse();
    assert_eq!(seen_desc, seen);

    // By name: equal names in id order, and the same again on a second read.
    let first = search(&admin, "sort=name").await;
    assert_eq!(first, search(&admin, "sort=name").await);
    let names: Vec<String> = first
        .iter()
        .map(|id| app.accounts.store.user(*id).unwrap().unwrap().full_name())
        .collect();
    assert!(
        names
            .windows(2)
            .all(|w| w[0].to_lowercase() <= w[1].to_lowercase())
    );
    let amys: Vec<UserId> = first
        .iter()
        .zip(&names)
        .filter(|(_, name)| *name == "Amy Same")
        .map(|(id, _)| *id)
        .collect();
    assert!(
        amys.len() > 1 && amys.windows(2).all(|w| w[0] < w[1]),
        "ties by id"
    );

    // Each column sorts, and the header says which and how.
    for sort in ["name", "email", "roles", "last_sign_in", "status"] {
        let html = admin
            .get_text(&format!("/account/users?sort={sort}&dir=desc"))
            .await;
        assert!(html.contains(r#"aria-sort="descending""#), "{sort}");
        assert_eq!(row_ids(&html).len(), 50, "{sort}");
    }
    // Roles: the Global Administrator first.
    assert_eq!(search(&admin, "sort=roles").await[0], ids[0]);
    // A page past the end shows the last one.
    assert_eq!(search(&admin, "page=99").await.len(), 20);
    // An address no page of ours makes is refused as the Roles and Audit
    // screens refuse theirs: a styled 400, page or fragment.
    for nonsense in [
        "page=-3",
        "page=two",
        "sort=%3Cx%3E",
        "dir=up",
        "q=a&q=b",
        "page=1&page=2",
    ] {
        let page = admin.get(&format!("/account/users?{nonsense}")).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{nonsense}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<!DOCTYPE html>") && html.contains("Bad request"),
            "{html}"
        );
        let fragment = admin.htmx_get(&format!("/account/users?{nonsense}")).await;
        assert_eq!(fragment.status(), StatusCode::BAD_REQUEST, "{nonsense}");
        assert!(!fragment.text().await.unwrap().contains("<!DOCTYPE html>"));
    }
    let history = admin
        .get(&format!("/account/users/{}/history?before=soon", ids[0]))
        .await;
    assert_eq!(history.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invited_users_and_deletion_requests_are_marked() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let invited = person(&app, "Ivy", "Invited", "ivy@example.com");
    app.accounts
        .store
        .modify_user::<StoreError>(invited.id, |u| {
            u.status = UserStatus::Invited;
            u.deletion_requested_at = Some(1_700_000_000);
            Ok(())
        })
        .unwrap();
    let html = admin.get_text("/account/users?q=ivy").await;
    assert!(
        html.contains(r#"<span class="badge badge-pending">Invited</span>"#),
        "{html}"
    );
    assert!(html.contains("Deletion requested"));
    assert!(html.contains(r#"<span class="muted">Never</span>"#));
    let active = admin.get_text("/account/users?q=admin").await;
    assert!(active.contains(r#"<span class="badge badge-good">Active</span>"#));
    // Invite user leads to its page, for those who may invite.
    assert!(html.contains(r#"href="/account/users/invite""#));
    assert_eq!(
        admin.get("/account/users/invite").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn editing_a_user_saves_their_details_records_an_event_and_updates_search() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let ada = person(&app, "Ada", "Lovelace", "ada@example.com");

    // The dialog for htmx, a page without.
    let dialog = admin
        .htmx_get(&format!("/account/users/{}/edit?from=list", ada.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dialog.starts_with("<dialog") && dialog.contains("data-modal"),
        "{dialog}"
    );
    assert!(
        dialog.contains(r#"name="email" value="ada@example.com""#) && !dialog.contains("readonly")
    );
    let page = admin
        .get_text(&format!("/account/users/{}/edit", ada.id))
        .await;
    assert!(page.contains("<!DOCTYPE html>") && page.contains("Edit Ada Lovelace"));

    let csrf = csrf_of(&page);
    let action = format!("/account/users/{}/edit", ada.id);
    // Bad input: the form again, the message beside the field, nothing saved.
    let refused = admin
        .htmx_post(
            &action,
            &csrf,
            &[
                ("first_name", "Ada"),
                ("last_name", ""),
                ("phone", "x"),
                ("from", "list"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = refused.text().await.unwrap();
    assert!(
        form.contains("field-last_name-error") && form.contains("field-phone-error"),
        "{form}"
    );
    // Another email is a sensitive change: the administrator confirms
    // their password first, and nothing is saved or sent until then (the
    // whole flow is in `mail::an_administrator_changes_an_email_from_the_user_page`).
    let email = admin
        .htmx_post(
            &action,
            &csrf,
            &[
                ("first_name", "Ada"),
                ("last_name", "King"),
                ("email", "ada@elsewhere.example"),
                ("phone", ""),
            ],
        )
        .await;
    let detour = email.headers()["hx-redirect"].to_str().unwrap().to_owned();
    assert!(
        detour.starts_with("/reauthenticate?next=") && detour.contains("ada%2540elsewhere.example"),
        "{detour}"
    );
    assert_eq!(
        app.stored_user("ada@example.com").last_name.as_str(),
        "Lovelace"
    );
    assert!(app.accounts.store.outbox(10).unwrap().is_empty());

    // Saved from the list: the row comes back in place and the dialog closes.
    let saved = admin
        .htmx_post(
            &action,
            &csrf,
            &[
                ("first_name", "Ada"),
                ("last_name", "King"),
                ("email", "ADA@example.com"),
                ("phone", "+44 20 7946 0958"),
                ("from", "list"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(
        saved.headers()["hx-retarget"],
        format!("#user-{}", ada.id).as_str()
    );
    let row = saved.text().await.unwrap();
    assert!(row.starts_with(&format!(r#"<tr id="user-{}""#, ada.id)) && row.contains("Ada King"));
    assert!(row.contains(r#"<div id="dialog-slot" data-hx-swap-oob="true"></div>"#));
    let stored = app.stored_user("ada@example.com");
    assert_eq!(stored.last_name.as_str(), "King");
    assert_eq!(stored.phone.unwrap().to_string(), "+44 20 7946 0958");
    let updated = app.events(AuditAction::UserUpdated);
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].detail, "last name, phone");
    assert_eq!(
        updated[0].actor.as_ref().unwrap().label,
        "admin@example.com"
    );
    assert_eq!(updated[0].subject.as_ref().unwrap().id, Some(ada.id));

    // The index followed the rename.
    assert_eq!(search(&admin, "q=king").await, vec![ada.id]);
    assert!(search(&admin, "q=lovelace").await.is_empty());

    // Without JavaScript: a 303 to the User page, which says so.
    let plain = admin
        .post_raw(
            &action,
            &[
                ("csrf", &csrf),
                ("first_name", "Augusta"),
                ("last_name", "King"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&plain),
        format!("/account/users/{}?saved=details", ada.id)
    );
    let page = admin.get_text(location(&plain)).await;
    assert!(page.contains("Details saved.") && page.contains("Augusta King"));
}

#[tokio::test]
async fn deleting_users_ends_their_sessions_and_records_events() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let victim = app.signed_in("victim@example.com", false).await;
    assert_eq!(victim.get("/profile").await.status(), StatusCode::OK);
    let victim_id = app.stored_user("victim@example.com").id;
    let b = person(&app, "Bea", "Bulk", "bea@example.com").id;
    let c = person(&app, "Cy", "Bulk", "cy@example.com").id;
    let keep = person(&app, "Kay", "Kept", "kay@example.com").id;

    // The bulk Delete button asks first, naming everyone selected.
    let html = admin.get_text("/account/users").await;
    let csrf = csrf_of(&html);
    let (vs, bs, cs) = (victim_id.to_string(), b.to_string(), c.to_string());
    let ask = admin
        .htmx_post(
            "/account/users/delete",
            &csrf,
            &[("id", &vs), ("id", &bs), ("id", &cs)],
        )
        .await;
    assert_eq!(ask.status(), StatusCode::OK);
    let question = ask.text().await.unwrap();
    assert!(
        question.starts_with("<dialog") && question.contains("Delete these 3 users?"),
        "{question}"
    );
    assert!(question.contains("Bea Bulk") && question.contains(r#"name="confirm" value="yes""#));
    assert_eq!(
        app.accounts.store.user_count().unwrap(),
        5,
        "nothing deleted by asking"
    );

    // Yes: all three go, their sessions end, and the list says how many.
    let done = admin
        .post_raw(
            "/account/users/delete",
            &[
                ("csrf", &csrf),
                ("confirm", "yes"),
                ("id", &vs),
                ("id", &bs),
                ("id", &cs),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/account/users?deleted=3");
    assert!(
        admin
            .get_text("/account/users?deleted=3")
            .await
            .contains("Deleted 3 users.")
    );
    for id in [victim_id, b, c] {
        assert!(app.accounts.store.user(id).unwrap().is_none());
    }
    assert!(app.accounts.store.user(keep).unwrap().is_some());
    assert_eq!(
        location(&victim.get("/profile").await),
        "/signin?next=%2Fprofile",
        "the deleted user's session ended"
    );
    assert!(
        app.accounts
            .store
            .user_by_email("victim@example.com")
            .unwrap()
            .is_none()
    );
    let deleted = app.events(AuditAction::UserDeleted);
    assert_eq!(deleted.len(), 3);
    assert!(
        deleted
            .iter()
            .all(|e| e.actor.as_ref().unwrap().label == "admin@example.com")
    );
    // Gone from search too.
    assert!(search(&admin, "q=bulk").await.is_empty());

    // With htmx the answer sends the browser to the list.
    let ks = keep.to_string();
    let one = admin
        .htmx_post(
            "/account/users/delete",
            &csrf,
            &[("confirm", "yes"), ("id", &ks)],
        )
        .await;
    assert_eq!(one.headers()["hx-redirect"], "/account/users?deleted=1");
    // Nothing selected: a clear message.
    let none = admin.htmx_post("/account/users/delete", &csrf, &[]).await;
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.text()
            .await
            .unwrap()
            .contains("Select at least one user to delete.")
    );
}

#[tokio::test]
async fn deleting_a_user_turns_their_2fa_off_and_voids_their_links() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let victim = app.signed_in("victim@example.com", false).await;
    crate::two_factor::set_up(&victim).await;
    let id = app.stored_user("victim@example.com").id;
    app.client()
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "victim@example.com")],
        )
        .await;
    let store = &app.accounts.store;
    assert!(store.two_factor(id).unwrap().is_some());
    assert_eq!(
        store
            .tokens_of(id, TokenPurpose::PasswordReset)
            .unwrap()
            .len(),
        1
    );

    let csrf = csrf_of(&admin.get_text("/account/users").await);
    let done = admin
        .post_raw(
            "/account/users/delete",
            &[("csrf", &csrf), ("confirm", "yes"), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(store.user(id).unwrap().is_none());
    assert!(
        store.two_factor(id).unwrap().is_none(),
        "the 2FA record (and its secret) went with the user"
    );
    assert!(
        store
            .tokens_of(id, TokenPurpose::PasswordReset)
            .unwrap()
            .is_empty(),
        "the reset link no longer works"
    );
    assert_eq!(store.two_factor_secret_counts().unwrap(), (0, 0));
}

#[tokio::test]
async fn the_details_tab_shows_2fa_and_offers_turning_it_off_to_its_holders() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let with = app.signed_in("with@example.com", false).await;
    crate::two_factor::set_up(&with).await;
    let with_id = app.stored_user("with@example.com").id;
    let without_id = person(&app, "Nora", "None", "nora@example.com").id;
    let viewing = make_role(&app, "Viewer", &[Permission::UsersView]);
    let viewer = signed_in_with(&app, "viewer@example.com", vec![viewing.id]).await;

    // The switch's own tag: whether it shows 2FA on.
    let on = |page: &str| {
        let switch = &page[page.find(r#"id="user-two-factor""#).unwrap()..];
        switch[..switch.find('>').unwrap()].contains("checked")
    };
    let turn_off = format!(r#"href="/account/users/{with_id}/two-factor/disable""#);
    let page = admin.get_text(&format!("/account/users/{with_id}")).await;
    assert!(on(&page));
    assert!(page.contains(&turn_off), "offered to users.disable_2fa");
    let seen = viewer.get_text(&format!("/account/users/{with_id}")).await;
    assert!(on(&seen));
    assert!(
        !seen.contains(&turn_off),
        "not offered without users.disable_2fa"
    );

    let page = admin
        .get_text(&format!("/account/users/{without_id}"))
        .await;
    assert!(!on(&page));
    assert!(page.contains("2FA is off"));
    assert!(!page.contains("two-factor/disable"));

    // The link leads to the existing page, which turns it off.
    crate::two_factor::reauthenticate(&admin).await;
    let form = admin
        .get(&format!("/account/users/{with_id}/two-factor/disable"))
        .await;
    assert_eq!(form.status(), StatusCode::OK);
}

#[tokio::test]
async fn nobody_deletes_themself_nor_the_last_active_global_administrator() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let me = app.stored_user("admin@example.com").id;
    let other = person(&app, "Otto", "Other", "otto@example.com").id;
    let csrf = csrf_of(&admin.get_text("/account/users").await);
    let (me_s, other_s) = (me.to_string(), other.to_string());

    // Asking already says no, with no Yes button.
    let ask = admin.get_text(&format!("/account/users/{me}/delete")).await;
    assert!(
        ask.contains("You can&#39;t delete your own account")
            || ask.contains("You can't delete your own account"),
        "{ask}"
    );
    assert!(!ask.contains(r#"name="confirm""#));
    // And a forged Yes is refused, with nothing deleted (the other user neither).
    let forged = admin
        .post_raw(
            "/account/users/delete",
            &[
                ("csrf", &csrf),
                ("confirm", "yes"),
                ("id", &other_s),
                ("id", &me_s),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::CONFLICT);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("delete your own account")
    );
    assert_eq!(app.accounts.store.user_count().unwrap(), 2);

    // An operator-of-users who is not an administrator can't delete the last one.
    let deleting = make_role(
        &app,
        "Deleter",
        &[Permission::UsersView, Permission::UsersDelete],
    );
    let deleter = signed_in_with(&app, "deleter@example.com", vec![deleting.id]).await;
    let csrf = csrf_of(&deleter.get_text("/account/users").await);
    let refused = deleter
        .post_raw(
            "/account/users/delete",
            &[("csrf", &csrf), ("confirm", "yes"), ("id", &me_s)],
        )
        .await;
    // They lack the administrator's permissions: refused before the rule.
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(app.accounts.store.user(me).unwrap().is_some());

    // A second administrator who is only Invited doesn't count.
    let second = person(&app, "Ivo", "Invited", "ivo@example.com").id;
    app.accounts
        .store
        .modify_user::<StoreError>(second, |u| {
            u.roles = vec![GLOBAL_ADMINISTRATOR];
            u.status = UserStatus::Invited;
            Ok(())
        })
        .unwrap();
    let remove = format!("/account/users/{me}/roles/remove");
    let csrf = csrf_of(&admin.get_text("/account/users").await);
    let refused = admin.htmx_post(&remove, &csrf, &[("role", "1")]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("This is the last active Global Administrator"),
        "{html}"
    );
    assert!(
        app.stored_user("admin@example.com")
            .is_global_administrator()
    );
    assert!(app.events(AuditAction::RoleUnassigned).is_empty());

    // Once the second is Active, either may go.
    app.accounts
        .store
        .modify_user::<StoreError>(second, |u| {
            u.status = UserStatus::Active;
            Ok(())
        })
        .unwrap();
    let removed = admin.htmx_post(&remove, &csrf, &[("role", "1")]).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(
        !app.stored_user("admin@example.com")
            .is_global_administrator()
    );
}

#[tokio::test]
async fn two_administrators_removing_each_others_role_at_once_leave_one() {
    let app = TestApp::spawn().await;
    for round in 0..4 {
        let a_email = format!("a{round}@example.com");
        let b_email = format!("b{round}@example.com");
        let a = app.signed_in(&a_email, true).await;
        let b = app.signed_in(&b_email, true).await;
        let (a_id, b_id) = (app.stored_user(&a_email).id, app.stored_user(&b_email).id);
        // Earlier rounds' administrators step down first, so these two are the only ones.
        for user in app.accounts.store.users().unwrap() {
            if user.id != a_id && user.id != b_id && user.is_global_administrator() {
                app.accounts
                    .store
                    .modify_user::<StoreError>(user.id, |u| {
                        u.roles.clear();
                        Ok(())
                    })
                    .unwrap();
            }
        }
        let a_csrf = csrf_of(&a.get_text("/account/users").await);
        let b_csrf = csrf_of(&b.get_text("/account/users").await);
        let a_path = format!("/account/users/{b_id}/roles/remove");
        let b_path = format!("/account/users/{a_id}/roles/remove");
        let (ra, rb) = tokio::join!(
            a.htmx_post(&a_path, &a_csrf, &[("role", "1")]),
            b.htmx_post(&b_path, &b_csrf, &[("role", "1")]),
        );
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(statuses[0], StatusCode::OK, "one of them succeeds");
        assert_ne!(statuses[1], StatusCode::OK, "the other is refused");
        let holders: Vec<User> = app.accounts.store.global_administrators().unwrap();
        assert_eq!(holders.len(), 1, "round {round}: {holders:?}");
        assert_eq!(app.events(AuditAction::RoleUnassigned).len(), round + 1);
    }
}

#[tokio::test]
async fn two_administrators_deleting_each_other_at_once_leave_one() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("a@example.com", true).await;
    let b = app.signed_in("b@example.com", true).await;
    let (a_id, b_id) = (
        app.stored_user("a@example.com").id,
        app.stored_user("b@example.com").id,
    );
    let a_csrf = csrf_of(&a.get_text("/account/users").await);
    let b_csrf = csrf_of(&b.get_text("/account/users").await);
    let (a_target, b_target) = (b_id.to_string(), a_id.to_string());
    let a_form = [("confirm", "yes"), ("id", a_target.as_str())];
    let b_form = [("confirm", "yes"), ("id", b_target.as_str())];
    let (ra, rb) = tokio::join!(
        a.htmx_post("/account/users/delete", &a_csrf, &a_form),
        b.htmx_post("/account/users/delete", &b_csrf, &b_form),
    );
    let redirected = [&ra, &rb]
        .iter()
        .filter(|r| r.headers().contains_key("hx-redirect"))
        .count();
    assert_eq!(redirected, 1, "{:?} {:?}", ra.status(), rb.status());
    assert_eq!(app.accounts.store.global_administrators().unwrap().len(), 1);
    assert_eq!(app.accounts.store.user_count().unwrap(), 1);
    assert_eq!(app.events(AuditAction::UserDeleted).len(), 1);
}

#[tokio::test]
async fn roles_are_assigned_and_removed_within_the_assigners_own_permissions() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let emma = app.signed_in("emma@example.com", false).await;
    let emma_id = app.stored_user("emma@example.com").id;
    assert_eq!(
        emma.get("/account/users").await.status(),
        StatusCode::FORBIDDEN
    );

    let tab = admin
        .get_text(&format!("/account/users/{emma_id}/roles"))
        .await;
    assert!(
        tab.contains(r#"aria-current="page">User role assignments"#),
        "{tab}"
    );
    assert!(tab.contains(r#"<option value="2">Operator</option>"#));
    let csrf = csrf_of(&tab);
    let add = format!("/account/users/{emma_id}/roles/add");
    let assigned = admin.htmx_post(&add, &csrf, &[("role", "2")]).await;
    assert_eq!(assigned.status(), StatusCode::OK);
    let region = assigned.text().await.unwrap();
    assert!(
        region.starts_with(r#"<div id="user-main""#)
            && region.contains("Operator assigned to Emma Wright."),
        "{region}"
    );
    assert_eq!(app.stored_user("emma@example.com").roles, vec![OPERATOR]);
    let event = &app.events(AuditAction::RoleAssigned)[0];
    assert_eq!(event.detail, "Operator");
    assert_eq!(event.subject.as_ref().unwrap().id, Some(emma_id));
    // Applies at once: Emma now sees the Users page.
    assert_eq!(emma.get("/account/users").await.status(), StatusCode::OK);
    // Assigning again changes nothing and records nothing.
    admin.htmx_post(&add, &csrf, &[("role", "2")]).await;
    assert_eq!(app.events(AuditAction::RoleAssigned).len(), 1);
    // Unknown roles and nonsense are refused.
    assert_eq!(
        admin
            .htmx_post(&add, &csrf, &[("role", "999")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .htmx_post(&add, &csrf, &[("role", "x")])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // Without JavaScript: a 303 back to the tab.
    let removed = admin
        .post_raw(
            &format!("/account/users/{emma_id}/roles/remove"),
            &[("csrf", &csrf), ("role", "2")],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&removed),
        format!("/account/users/{emma_id}/roles?saved=roles")
    );
    assert!(app.stored_user("emma@example.com").roles.is_empty());
    assert_eq!(
        app.events(AuditAction::RoleUnassigned)[0].detail,
        "Operator"
    );

    // Someone who may assign roles, but holds little else, can't hand out
    // more than they hold: not Global Administrator, not even to themself.
    let assigning = make_role(
        &app,
        "Assigner",
        &[Permission::UsersView, Permission::UsersAssignRoles],
    );
    let viewing = make_role(&app, "Viewer", &[Permission::UsersView])
        .id
        .to_string();
    let assigner = signed_in_with(&app, "assigner@example.com", vec![assigning.id]).await;
    let me = app.stored_user("assigner@example.com");
    let csrf = csrf_of(&assigner.get_text("/account/users").await);
    for (target, role) in [(me.id, "1"), (emma_id, "1"), (emma_id, "2")] {
        let refused = assigner
            .htmx_post(
                &format!("/account/users/{target}/roles/add"),
                &csrf,
                &[("role", role)],
            )
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "role {role} to {target}"
        );
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("roles whose permissions you hold yourself")
        );
    }
    assert!(
        !app.stored_user("assigner@example.com")
            .is_global_administrator()
    );
    let within = assigner
        .htmx_post(
            &format!("/account/users/{emma_id}/roles/add"),
            &csrf,
            &[("role", &viewing)],
        )
        .await;
    assert_eq!(within.status(), StatusCode::OK);
    // Nor may they touch an administrator's roles.
    let admin_id = app.stored_user("admin@example.com").id;
    let touched = assigner
        .htmx_post(
            &format!("/account/users/{admin_id}/roles/add"),
            &csrf,
            &[("role", &viewing)],
        )
        .await;
    assert_eq!(touched.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_user_page_has_three_tabs_and_a_paged_history() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let ada = person(&app, "Ada", "Lovelace", "ada@example.com");
    app.accounts
        .store
        .transact::<_, StoreError>(|t| {
            for i in 0..60 {
                t.record(
                    NewEvent::new(AuditAction::ProfileUpdated)
                        .by_self(&ada, None)
                        .detail(format!("change {i}")),
                )?;
            }
            Ok(())
        })
        .unwrap();
    let details = admin.get_text(&format!("/account/users/{}", ada.id)).await;
    for tab in ["User details", "User role assignments", "User history"] {
        assert!(details.contains(tab), "{tab}");
    }
    assert!(details.contains(r#"aria-current="page">User details"#));
    assert!(details.contains("2FA Enabled") && details.contains("Delete user"));
    // htmx gets the region alone.
    let region = admin
        .htmx_get(&format!("/account/users/{}/history", ada.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(region.starts_with(r#"<div id="user-main""#));
    assert!(
        region.contains("change 59")
            && region.contains("change 10")
            && !region.contains("change 9<"),
        "newest 50 first"
    );
    assert!(region.find("change 59").unwrap() < region.find("change 58").unwrap());
    let older = region
        .split("?before=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let next = admin
        .get_text(&format!("/account/users/{}/history?before={older}", ada.id))
        .await;
    assert!(next.contains("change 9") && next.contains("change 0") && !next.contains("change 10"));
    assert!(next.contains("‹ Newer"));
    // Unknown users and malformed ids are 404s.
    assert_eq!(
        admin.get("/account/users/999").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/account/users/abc/roles").await.status(),
        StatusCode::NOT_FOUND
    );
}
