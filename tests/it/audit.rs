//! Audit events recorded by the flows that exist, each in the transaction of
//! the change it records.

use latchkey::domain::AuditAction;
use reqwest::StatusCode;

use crate::support::{PASSWORD, TestApp, csrf_of};

#[tokio::test]
async fn sign_ins_profile_edits_settings_and_sign_outs_leave_events() {
    let app = TestApp::spawn().await;
    app.user("ada@example.com", true).await;
    let failed = app
        .client()
        .sign_in("ada@example.com", "wrong password guess")
        .await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let unknown = app
        .client()
        .sign_in("nobody@example.com", "wrong password guess")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let browser = app.client();
    browser.sign_in("ada@example.com", PASSWORD).await;
    let csrf = csrf_of(&browser.get_text("/profile").await);
    browser
        .htmx_post(
            "/profile",
            &csrf,
            &[
                ("first_name", "Augusta"),
                ("last_name", "Wright"),
                ("phone", ""),
            ],
        )
        .await;
    browser.htmx_post("/account/settings", &csrf, &[]).await;
    browser.post_raw("/signout", &[("csrf", &csrf)]).await;

    let events = app.accounts.store.recent_events(50).unwrap();
    let actions: Vec<AuditAction> = events.iter().rev().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::UserCreated,
            AuditAction::SignInFailed,
            AuditAction::SignInFailed,
            AuditAction::SignInSucceeded,
            AuditAction::ProfileUpdated,
            AuditAction::SettingsChanged,
            AuditAction::SignedOut,
        ]
    );
    let ada = app.stored_user("ada@example.com");
    for event in events
        .iter()
        .filter(|e| e.action != AuditAction::UserCreated)
    {
        assert_eq!(event.client.as_deref(), Some("127.0.0.1"), "{event:?}");
    }
    let unknown = events
        .iter()
        .find(|e| e.subject.as_ref().is_some_and(|s| s.id.is_none()));
    assert_eq!(
        unknown.unwrap().subject.as_ref().unwrap().label,
        "nobody@example.com"
    );
    let edit = events
        .iter()
        .find(|e| e.action == AuditAction::ProfileUpdated)
        .unwrap();
    assert_eq!(edit.detail, "first name");
    assert_eq!(edit.actor.as_ref().unwrap().id, Some(ada.id));
    // Ada's history: everything above but the unknown address's failure.
    let history = app.accounts.store.events_of_user(ada.id, None, 50).unwrap();
    assert_eq!(history.len(), 6);
    assert!(
        history.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    let older = app
        .accounts
        .store
        .events_of_user(ada.id, Some(history[1].id), 50)
        .unwrap();
    assert_eq!(older.len(), 4);
    assert_eq!(history[5].action, AuditAction::UserCreated);
}
