//! The Roles screen: add, edit, clone, delete (plain forms and htmx dialogs),
//! Global Administrator's lock, name rules, and the events each change leaves.

use latchkey::domain::role::{GLOBAL_ADMINISTRATOR, OPERATOR};
use latchkey::domain::{AuditAction, AuditEvent, Permission, Role, RoleName};
use latchkey::store::{NewRole, StoreError};
use reqwest::StatusCode;

use crate::support::{Client, PASSWORD, TestApp, csrf_of, location};

/// Creates a role straight in the store.
pub fn make_role(app: &TestApp, name: &str, permissions: &[Permission]) -> Role {
    let new = NewRole {
        name: RoleName::parse(name).expect("valid name"),
        description: String::new(),
        permissions: permissions.to_vec(),
    };
    app.accounts
        .store
        .transact::<_, StoreError>(|t| t.insert_role(new))
        .expect("role created")
}

/// A client signed in as a new user holding exactly `roles`.
pub async fn signed_in_with(app: &TestApp, email: &str, roles: Vec<u64>) -> Client {
    let user = app.user(email, false).await;
    app.accounts
        .store
        .modify_user::<StoreError>(user.id, |u| {
            u.roles = roles;
            Ok(())
        })
        .expect("roles given");
    let client = app.client();
    let response = client.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    client
}

fn role_named(app: &TestApp, name: &str) -> Option<Role> {
    app.accounts
        .store
        .roles()
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == name)
}

fn events(app: &TestApp, action: AuditAction) -> Vec<AuditEvent> {
    let mut found: Vec<AuditEvent> = app
        .accounts
        .store
        .recent_events(1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect();
    found.reverse();
    found
}

#[tokio::test]
async fn an_administrator_adds_edits_clones_and_deletes_a_role_with_plain_forms() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let ada = app.stored_user("admin@example.com");
    let list = admin.get_text("/account/roles").await;
    assert!(list.contains("Global Administrator") && list.contains("Operator"));
    let csrf = csrf_of(&admin.get_text("/account/roles/new").await);

    // Add: two permissions toggled on.
    let added = admin
        .post_raw(
            "/account/roles",
            &[
                ("csrf", &csrf),
                ("name", "  Help desk "),
                ("description", "Answers the phone"),
                ("permission", "users.view"),
                ("permission", "audit.view"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&added), "/account/roles?done=created");
    let role = role_named(&app, "Help desk").expect("stored trimmed");
    assert_eq!(role.description, "Answers the phone");
    assert_eq!(
        role.permissions,
        [Permission::UsersView, Permission::AuditView]
    );
    let list = admin.get_text("/account/roles?done=created").await;
    assert!(list.contains("Role created.") && list.contains("Help desk"));

    // Edit: renamed, one permission off.
    let edit = admin
        .get_text(&format!("/account/roles/{}/edit", role.id))
        .await;
    assert!(edit.contains(r#"value="audit.view" checked"#), "switch on");
    let saved = admin
        .post_raw(
            &format!("/account/roles/{}", role.id),
            &[
                ("csrf", &csrf),
                ("name", "Support desk"),
                ("description", "Answers the phone"),
                ("permission", "users.view"),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/account/roles?done=saved");
    let role = app.accounts.store.role(role.id).unwrap().unwrap();
    assert_eq!(role.name.as_str(), "Support desk");
    assert_eq!(role.permissions, [Permission::UsersView]);

    // Clone: asks for the new name, copies the rest.
    let clone_page = admin
        .get_text(&format!("/account/roles/{}/clone", role.id))
        .await;
    assert!(clone_page.contains(r#"value="Copy of Support desk""#));
    let cloned = admin
        .post_raw(
            &format!("/account/roles/{}/clone", role.id),
            &[("csrf", &csrf), ("name", "Night support")],
        )
        .await;
    assert_eq!(location(&cloned), "/account/roles?done=cloned");
    let copy = role_named(&app, "Night support").unwrap();
    assert_eq!(copy.permissions, role.permissions);
    assert_eq!(copy.description, role.description);
    assert_ne!(copy.id, role.id);

    // Delete: the role held by a user is taken from them.
    let holder = app.user("holder@example.com", false).await;
    app.accounts
        .store
        .modify_user::<StoreError>(holder.id, |u| {
            u.roles = vec![OPERATOR, role.id];
            Ok(())
        })
        .unwrap();
    let confirm = admin
        .get_text(&format!("/account/roles/{}/delete", role.id))
        .await;
    assert!(confirm.contains("Delete the role") && confirm.contains("Yes, delete"));
    let deleted = admin
        .post_raw(
            &format!("/account/roles/{}/delete", role.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&deleted), "/account/roles?done=deleted");
    assert!(app.accounts.store.role(role.id).unwrap().is_none());
    assert_eq!(app.stored_user("holder@example.com").roles, [OPERATOR]);
    assert!(
        !admin
            .get_text("/account/roles")
            .await
            .contains("Support desk")
    );

    // Each change left its event, by the administrator, with the role's name.
    let created = events(&app, AuditAction::RoleCreated);
    assert_eq!(created.len(), 2);
    assert_eq!(created[0].detail, "Help desk");
    assert_eq!(
        created[1].detail,
        "Night support (cloned from Support desk)"
    );
    let updated = events(&app, AuditAction::RoleUpdated);
    assert_eq!(updated.len(), 1);
    assert_eq!(
        updated[0].detail,
        "Support desk: renamed from Help desk; removed audit.view"
    );
    let gone = events(&app, AuditAction::RoleDeleted);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].detail, "Support desk (taken from 1 user)");
    let unassigned = events(&app, AuditAction::RoleUnassigned);
    assert_eq!(unassigned.len(), 1);
    assert_eq!(unassigned[0].subject.as_ref().unwrap().id, Some(holder.id));
    assert_eq!(unassigned[0].detail, "Support desk (role deleted)");
    for event in created
        .iter()
        .chain(&updated)
        .chain(&gone)
        .chain(&unassigned)
    {
        assert_eq!(event.actor.as_ref().unwrap().id, Some(ada.id));
        assert_eq!(event.client.as_deref(), Some("127.0.0.1"));
    }
    // The holder's history shows the loss.
    let history = app
        .accounts
        .store
        .events_of_user(holder.id, None, 10)
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.action == AuditAction::RoleUnassigned)
    );
}

#[tokio::test]
async fn a_deleted_role_stops_granting_at_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let auditors = make_role(&app, "Auditors", &[Permission::AuditView]);
    let auditor = signed_in_with(&app, "auditor@example.com", vec![auditors.id]).await;
    assert_eq!(auditor.get("/account/audit").await.status(), StatusCode::OK);
    let csrf = csrf_of(&admin.get_text("/profile").await);
    admin
        .post_raw(
            &format!("/account/roles/{}/delete", auditors.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        auditor.get("/account/audit").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn dialogs_swap_the_list_through_htmx_and_keep_errors_in_the_dialog() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let csrf = csrf_of(&admin.get_text("/profile").await);

    let dialog = admin.htmx_get("/account/roles/new").await;
    assert_eq!(dialog.status(), StatusCode::OK);
    let dialog = dialog.text().await.unwrap();
    assert!(dialog.starts_with("<dialog"), "{dialog}");
    assert!(dialog.contains(r#"data-hx-post="/account/roles""#));
    assert!(dialog.contains(r#"role="switch""#));

    // Invalid: the form alone, with the message beside the field; nothing changed.
    let writes = app.accounts.store.write_count();
    let invalid = admin
        .htmx_post(
            "/account/roles",
            &csrf,
            &[("name", "  "), ("permission", "users.view")],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = invalid.text().await.unwrap();
    assert!(
        invalid.starts_with(r#"<form class="dialog-form" id="role-form""#),
        "{invalid}"
    );
    assert!(invalid.contains(r#"aria-describedby="field-name-hint field-name-error""#));
    assert!(invalid.contains("Enter a name for the role."));
    assert!(
        invalid.contains(r#"value="users.view" checked"#),
        "keeps the switches"
    );
    assert_eq!(app.accounts.store.write_count(), writes);
    assert_eq!(app.accounts.store.roles().unwrap().len(), 2);

    // Valid: the list (filtered by the search the dialog sent) replaces the
    // results, and the dialog slot is emptied out of band.
    let saved = admin
        .htmx_post(
            "/account/roles",
            &csrf,
            &[("name", "Help desk"), ("q", "help")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.headers()["HX-Retarget"], "#roles-results");
    assert_eq!(saved.headers()["HX-Reswap"], "outerHTML");
    let saved = saved.text().await.unwrap();
    assert!(saved.starts_with(r#"<div id="roles-results""#), "{saved}");
    assert!(saved.contains("Role “Help desk” created."));
    assert!(!saved.contains("Operator"), "still filtered by the search");
    assert!(saved.contains(r#"<div id="dialog-slot" data-hx-swap-oob="true"></div>"#));

    // Search as you type: the results alone, any case, name or description.
    let found = admin.htmx_get("/account/roles?q=OPER").await;
    let found = found.text().await.unwrap();
    assert!(found.starts_with(r#"<div id="roles-results""#));
    assert!(found.contains("Operator") && !found.contains("Global Administrator"));
    let by_description = admin.get_text("/account/roles?q=every%20permission").await;
    assert!(by_description.contains("Global Administrator"));
    assert!(
        by_description.contains("<html"),
        "a whole page without htmx"
    );
    // htmx restoring a page it did not keep (search pushed to the address) gets the page.
    let restored = admin
        .http
        .get(app.url("/account/roles?q=oper"))
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(restored.contains("<html"), "a whole page");
    let none = admin.get_text("/account/roles?q=zebra").await;
    assert!(none.contains("No role matches “zebra”."));

    // The clone dialog, invalid then valid.
    let clone = admin
        .htmx_post(
            &format!("/account/roles/{OPERATOR}/clone"),
            &csrf,
            &[("name", "operator")],
        )
        .await;
    assert_eq!(clone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        clone
            .text()
            .await
            .unwrap()
            .contains("Another role already has this name.")
    );
    let deleted = admin
        .htmx_post(&format!("/account/roles/{OPERATOR}/delete"), &csrf, &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(
        deleted
            .text()
            .await
            .unwrap()
            .contains("Role “Operator” deleted.")
    );
}

#[tokio::test]
async fn global_administrator_is_listed_but_refuses_every_change() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let list = admin.get_text("/account/roles").await;
    assert!(list.contains("Built in"));
    assert!(!list.contains(&format!("/account/roles/{GLOBAL_ADMINISTRATOR}/edit")));
    assert!(list.contains(&format!("/account/roles/{OPERATOR}/edit")));
    let csrf = csrf_of(&admin.get_text("/profile").await);
    let before = app.accounts.store.role(GLOBAL_ADMINISTRATOR).unwrap();
    let events_before = app.accounts.store.recent_events(100).unwrap().len();
    for page in ["edit", "clone", "delete"] {
        let response = admin
            .get(&format!("/account/roles/{GLOBAL_ADMINISTRATOR}/{page}"))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{page}");
        let text = response.text().await.unwrap();
        assert!(text.contains("t be edited, cloned or deleted"), "{text}");
    }
    let g = GLOBAL_ADMINISTRATOR;
    for (action, fields) in [
        (format!("/account/roles/{g}"), vec![("name", "Root")]),
        (format!("/account/roles/{g}/clone"), vec![("name", "Root")]),
        (format!("/account/roles/{g}/delete"), vec![]),
    ] {
        let mut fields = fields;
        fields.push(("csrf", &csrf));
        let response = admin.post_raw(&action, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("Global Administrator can")
                && text.contains("t be edited, cloned or deleted"),
            "{text}"
        );
    }
    assert_eq!(
        app.accounts.store.role(GLOBAL_ADMINISTRATOR).unwrap(),
        before
    );
    assert!(role_named(&app, "Root").is_none());
    assert_eq!(
        app.accounts.store.recent_events(100).unwrap().len(),
        events_before
    );
}

#[tokio::test]
async fn role_names_must_be_valid_and_unique_and_ids_real() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", true).await;
    let csrf = csrf_of(&admin.get_text("/profile").await);
    let help = make_role(&app, "Help desk", &[]);
    let writes = app.accounts.store.write_count();
    let long = "x".repeat(65);
    for (action, name, message) in [
        (
            "/account/roles".to_owned(),
            "OPERATOR",
            "Another role already has this name.",
        ),
        (
            "/account/roles".to_owned(),
            "Help\u{200b}desk",
            "invisible characters",
        ),
        (
            "/account/roles".to_owned(),
            "Admin\u{202e}",
            "invisible characters",
        ),
        (
            "/account/roles".to_owned(),
            long.as_str(),
            "at most 64 characters",
        ),
        (
            "/account/roles".to_owned(),
            "",
            "Enter a name for the role.",
        ),
        (
            format!("/account/roles/{}", help.id),
            "operator",
            "Another role already has this name.",
        ),
        (
            format!("/account/roles/{}/clone", help.id),
            "Help DESK",
            "Another role already has this name.",
        ),
    ] {
        let response = admin
            .post_raw(&action, &[("csrf", &csrf), ("name", name)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action} {name:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{action} {name:?}: {page}");
        assert!(page.contains("field-name-error"), "beside the field");
    }
    let unknown_permission = admin
        .post_raw(
            "/account/roles",
            &[
                ("csrf", &csrf),
                ("name", "Root"),
                ("permission", "root.all"),
            ],
        )
        .await;
    assert_eq!(
        unknown_permission.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.accounts.store.write_count(), writes, "nothing changed");
    assert_eq!(app.accounts.store.roles().unwrap().len(), 3);

    for path in [
        "/account/roles/abc/edit",
        "/account/roles/999/edit",
        "/account/roles/-1/clone",
    ] {
        assert_eq!(
            admin.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let missing = admin
        .post_raw("/account/roles/999/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
