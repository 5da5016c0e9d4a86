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

/// Reads CSV as RFC 4180 writes it: quoted fields may hold commas, doubled
/// quotes and line breaks; records end with CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "ends with CRLF");
    records
}

/// The rows of an export, as maps from the header's names.
fn export_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut records = parse_csv(text).into_iter();
    let header = records.next().expect("a header");
    records
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

#[tokio::test]
async fn role_changes_are_listed_filtered_and_exported_with_safe_escaping() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("ada@example.com", true).await;
    let csrf = csrf_of(&admin.get_text("/profile").await);
    let names = [
        r#"Night shift, "B" team"#,
        r#"=HYPERLINK("http://evil.example","open")"#,
        "@SUM(A1)",
        "+1 support",
        "-dash",
    ];
    for name in names {
        let response = admin
            .post_raw("/account/roles", &[("csrf", &csrf), ("name", name)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name}");
    }
    // A detail with a line break, as later flows may write one.
    app.accounts
        .store
        .transact::<_, latchkey::store::StoreError>(|t| {
            t.record(
                latchkey::domain::NewEvent::new(AuditAction::SettingsChanged)
                    .detail("line one\nline two, \"quoted\""),
            )
        })
        .unwrap();

    // The page, filtered by action: only role creations, with their names.
    let page = admin.get_text("/account/audit?action=role.created").await;
    assert!(page.contains("Role created"));
    assert!(page.contains("Night shift, &quot;B&quot; team"));
    assert!(!page.contains("line one"));
    assert!(page.contains(r#"<option value="role.created" selected>"#));
    assert!(page.contains("/account/audit.csv?action=role.created"));

    let export = admin.get("/account/audit.csv?action=role.created").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"latchkey-audit-")
    );
    let rows = export_rows(&export.text().await.unwrap());
    assert_eq!(rows.len(), names.len());
    // Newest first; formulas neutralised with a leading quote, the rest intact.
    let details: Vec<&str> = rows.iter().rev().map(|r| r["detail"].as_str()).collect();
    assert_eq!(
        details,
        [
            r#"Night shift, "B" team"#,
            r#"'=HYPERLINK("http://evil.example","open")"#,
            "'@SUM(A1)",
            "'+1 support",
            "'-dash",
        ]
    );
    for row in &rows {
        assert_eq!(row["action"], "role.created");
        assert_eq!(row["action_label"], "Role created");
        assert_eq!(row["actor"], "ada@example.com");
        assert_eq!(row["client_address"], "127.0.0.1");
        assert!(row["time"].ends_with('Z'), "{}", row["time"]);
    }

    // The whole log round-trips the line break, quotes and comma.
    let all = export_rows(&admin.get_text("/account/audit.csv").await);
    assert_eq!(all[0]["detail"], "line one\nline two, \"quoted\"");
    assert_eq!(all[0]["actor"], "");
    assert_eq!(
        all.len(),
        names.len() + 3,
        "user created, signed in, settings"
    );
}

#[tokio::test]
async fn the_log_filters_by_user_and_dates_and_says_what_to_fix() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("ada@example.com", true).await;
    let _bob = app.signed_in("bob@example.com", false).await;
    let _ = app
        .client()
        .sign_in("bob@example.com", "wrong password guess")
        .await;

    // By user, any case: Bob's creation, sign-in and failure; not Ada's.
    let bob = export_rows(
        &admin
            .get_text("/account/audit.csv?user=BOB%40example.com")
            .await,
    );
    let actions: Vec<&str> = bob.iter().map(|r| r["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["sign_in.failed", "sign_in.succeeded", "user.created"]
    );
    let page = admin
        .get_text("/account/audit?user=bob%40example.com")
        .await;
    assert!(page.contains("Sign-in failed") && !page.contains("ada@example.com</a></td><td"));

    // By date (UTC days): today holds everything, yesterday and tomorrow nothing.
    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let yesterday = day(today.previous_day().unwrap());
    let tomorrow = day(today.next_day().unwrap());
    let today = day(today);
    let count = |query: String| {
        let admin = &admin;
        async move { export_rows(&admin.get_text(&format!("/account/audit.csv?{query}")).await).len() }
    };
    let everything = count(String::new()).await;
    assert_eq!(everything, 5);
    assert_eq!(count(format!("from={today}&to={today}")).await, everything);
    assert_eq!(count(format!("to={yesterday}")).await, 0);
    assert_eq!(count(format!("from={tomorrow}")).await, 0);
    assert_eq!(
        count(format!(
            "from={today}&user=bob%40example.com&action=sign_in.failed"
        ))
        .await,
        1
    );

    // Bad filters: 422, the message beside the field, no events listed.
    for (query, field, message) in [
        (
            "user=nobody%40example.com",
            "user",
            "No user has this email address.",
        ),
        (
            "action=launch.missiles",
            "action",
            "Choose an action from the list.",
        ),
        (
            "from=31%2F12%2F2026",
            "from",
            "Enter a date like 2026-03-31.",
        ),
        ("from=2026-02-30", "from", "Enter a date like 2026-03-31."),
        ("from=2026-03-02&to=2026-03-01", "to", "The last day can"),
        ("before=abc", "page", "That page of the log"),
    ] {
        let response = admin.get(&format!("/account/audit?{query}")).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{query}: {page}");
        if field != "page" {
            assert!(
                page.contains(&format!(r#"id="field-{field}-error""#)),
                "{query}"
            );
            assert!(
                page.contains(&format!(r#"aria-describedby="field-{field}-error""#)),
                "{query}"
            );
        }
        assert!(!page.contains("<table"), "{query}");
        // The fragment for htmx carries the same message.
        let fragment = admin.htmx_get(&format!("/account/audit?{query}")).await;
        assert_eq!(fragment.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            fragment
                .text()
                .await
                .unwrap()
                .starts_with(r#"<div id="audit-panel""#)
        );
    }
    let bad_export = admin.get("/account/audit.csv?from=soon").await;
    assert_eq!(bad_export.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_are_stable_while_events_arrive() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("ada@example.com", true).await;
    let record = |n: usize| {
        app.accounts
            .store
            .transact::<_, latchkey::store::StoreError>(|t| {
                for i in 0..n {
                    t.record(
                        latchkey::domain::NewEvent::new(AuditAction::SettingsChanged)
                            .detail(format!("change {i}")),
                    )?;
                }
                Ok(())
            })
            .unwrap()
    };
    record(118); // 120 events with Ada's creation and sign-in.
    let details = |html: &str| -> Vec<String> {
        html.split(r#"<td class="detail-cell">"#)
            .skip(1)
            .map(|s| s.split("</td>").next().unwrap().to_owned())
            .collect()
    };
    let link = |html: &str, rel: &str| -> Option<String> {
        let marker = format!(r#"rel="{rel}""#);
        let tag_end = html.find(&marker)?;
        let start = html[..tag_end].rfind("href=\"")? + 6;
        Some(html[start..].split('"').next()?.replace("&amp;", "&"))
    };
    let first = admin.get_text("/account/audit").await;
    assert_eq!(details(&first).len(), 50);
    assert_eq!(details(&first)[0], "change 117");
    assert_eq!(link(&first, "prev"), None, "the newest page");
    let older = link(&first, "next").expect("an older page");
    record(3); // Arriving events don't move the next page.
    let second = admin.get_text(&older).await;
    assert_eq!(details(&second)[0], "change 67");
    assert_eq!(details(&second)[49], "change 18");
    let third = admin.get_text(&link(&second, "next").unwrap()).await;
    assert_eq!(details(&third).len(), 20);
    assert_eq!(link(&third, "next"), None, "the oldest page");
    // And back: the page before the third is the second again.
    let back = admin.get_text(&link(&third, "prev").unwrap()).await;
    assert_eq!(details(&back), details(&second));
    // The pager works in place for htmx too.
    let fragment = admin.htmx_get(&older).await.text().await.unwrap();
    assert!(fragment.starts_with(r#"<div id="audit-panel""#));
    assert!(fragment.contains(r#"data-hx-get="/account/audit?before="#));
}
