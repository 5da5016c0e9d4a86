//! Operations with the real binary: `check-store` on a stopped file and
//! through a running server, `backup` while serving, scheduled backups,
//! and `restore` bringing back exactly the backed-up state.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::StatusCode;

use crate::cli::{Scratch, Server, add_user, latchkey, stderr};
use crate::support::{Client, PASSWORD, csrf_of, free_port, location};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Saves the Profile with this first name and phone.
async fn save_profile(browser: &Client, first: &str, phone: &str) {
    let csrf = csrf_of(&browser.get_text("/profile").await);
    let saved = browser
        .post_raw(
            "/profile",
            &[
                ("csrf", &csrf),
                ("first_name", first),
                ("last_name", "Lovelace"),
                ("phone", phone),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/profile?saved=1");
}

#[tokio::test]
async fn backup_while_serving_then_restore_brings_back_exactly_that_state() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    let base = format!("http://127.0.0.1:{port}");
    add_user(&config, "ada@example.com", "Ada", true, PASSWORD);
    let server = Server::start(&config);
    server.wait_for("listening on");
    let ada = Client::new(&base);
    assert_eq!(
        ada.sign_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    save_profile(&ada, "Augusta", "+44 20 7946 0001").await;

    // A relative path is the command line's, not the server's (which runs
    // in another folder).
    let backup = scratch.dir.path().join("before.redb");
    let taken = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .current_dir(scratch.dir.path())
        .arg("--config")
        .arg(&config)
        .args(["backup", "--to", "before.redb"])
        .output()
        .unwrap();
    assert!(taken.status.success(), "{}", stderr(&taken));
    assert!(
        stdout(&taken).contains("wrote a backup to"),
        "{}",
        stdout(&taken)
    );
    assert_eq!(mode(&backup), 0o600);
    let listed_at_backup = stdout(&latchkey(&config, &["user", "list"], ""));
    // The name is taken: no overwriting without --force.
    let again = latchkey(&config, &["backup", "--to", backup.to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // More writes after the backup.
    save_profile(&ada, "Ada", "+44 20 7946 0002").await;
    add_user(&config, "carol@example.com", "Carol", false, PASSWORD);
    let checked = latchkey(&config, &["check-store"], "");
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(stdout(&checked).contains("no problems found"));
    assert!(stdout(&checked).contains("2 users, 1 of them Active Global Administrators"));

    // Not while the server runs.
    let refused = latchkey(
        &config,
        &["restore", "--from", backup.to_str().unwrap(), "--force"],
        "",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("stop it before restoring"),
        "{}",
        stderr(&refused)
    );
    server.stop().await;
    // Not over the data file without --force.
    let refused = latchkey(
        &config,
        &["restore", "--from", backup.to_str().unwrap()],
        "",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("pass --force"),
        "{}",
        stderr(&refused)
    );
    let restored = latchkey(
        &config,
        &["restore", "--from", backup.to_str().unwrap(), "--force"],
        "",
    );
    assert!(restored.status.success(), "{}", stderr(&restored));
    let report = stdout(&restored);
    assert!(
        report.contains("no problems found") && report.contains("replaced"),
        "{report}"
    );
    assert_eq!(mode(&scratch.data().join("latchkey.redb")), 0o600);

    // The backed-up state, exactly: the same users, Ada's name and phone of
    // then, her browser's session of then, and no Carol.
    let server = Server::start(&config);
    server.wait_for("listening on");
    assert_eq!(
        stdout(&latchkey(&config, &["user", "list"], "")),
        listed_at_backup
    );
    let profile = ada.get_text("/profile").await;
    assert!(
        profile.contains("Augusta") && profile.contains("+44 20 7946 0001"),
        "{profile}"
    );
    let carol = Client::new(&base);
    assert_ne!(
        carol.sign_in("carol@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "Carol was added after the backup: her sign-in fails"
    );
    server.stop().await;
}

#[tokio::test]
async fn check_store_reports_a_damaged_index_on_a_stopped_file_and_through_the_server() {
    let scratch = Scratch::new();
    let port = free_port();
    let config = scratch.config("", port);
    add_user(&config, "ada@example.com", "Ada", true, PASSWORD);
    add_user(&config, "bob@example.com", "Bob", false, PASSWORD);
    let clean = latchkey(&config, &["check-store"], "");
    assert!(clean.status.success(), "{}", stderr(&clean));
    assert!(
        stdout(&clean).contains("users_v1              2"),
        "{}",
        stdout(&clean)
    );

    // Bob's entry in the email index is lost, as a bug or a bad disk would.
    {
        let db = redb::Database::create(scratch.data().join(latchkey::store::FILE_NAME)).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(latchkey::store::tables::USERS_BY_EMAIL)
            .unwrap()
            .remove("bob@example.com")
            .unwrap();
        tx.commit().unwrap();
    }
    let damaged = latchkey(&config, &["check-store"], "");
    assert_eq!(damaged.status.code(), Some(1));
    let report = stdout(&damaged);
    assert!(
        report.contains("1 problem found")
            && report.contains("users_by_email: bob@example.com (user 2) is missing"),
        "{report}"
    );
    assert!(
        stderr(&damaged).contains("the data file has problems"),
        "{}",
        stderr(&damaged)
    );

    // The same report through a server running on that file.
    let server = Server::start(&config);
    server.wait_for("listening on");
    let through_server = latchkey(&config, &["check-store"], "");
    assert_eq!(through_server.status.code(), Some(1));
    assert_eq!(stdout(&through_server), report);
    server.stop().await;

    let nowhere = Scratch::new();
    let missing = latchkey(&nowhere.config("", 1), &["check-store"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("there is no data file at"),
        "{}",
        stderr(&missing)
    );
    assert!(
        !nowhere.data().join("latchkey.redb").exists(),
        "check-store creates nothing"
    );
}

#[tokio::test]
async fn scheduled_backups_are_written_while_serving_and_restore_cleanly() {
    let scratch = Scratch::new();
    let port = free_port();
    let folder = scratch.dir.path().join("backups");
    let config = scratch.config(
        &format!(
            "[backup]\ndirectory = \"{}\"\ninterval = \"1h\"\nkeep = 2\n",
            folder.display()
        ),
        port,
    );
    add_user(&config, "ada@example.com", "Ada", true, PASSWORD);
    let server = Server::start(&config);
    server.wait_for("scheduled backups are on");
    let written = server.wait_for("backup written");
    // The server kept serving.
    let ada = Client::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(
        ada.sign_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    server.stop().await;
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("latchkey-") && name.ends_with("Z.redb") && written.contains(&name),
        "{name}: {written}"
    );
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&files[0]), 0o600);

    // It restores into a new data folder and holds Ada.
    let elsewhere = Scratch::new();
    let other = elsewhere.config("", 1);
    let restored = latchkey(
        &other,
        &["restore", "--from", files[0].to_str().unwrap()],
        "",
    );
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert!(
        stdout(&restored).contains("created"),
        "{}",
        stdout(&restored)
    );
    let listed = stdout(&latchkey(&other, &["user", "list"], ""));
    assert!(listed.contains("ada@example.com"), "{listed}");
}

#[test]
fn a_bad_backup_setting_stops_start_up_naming_file_key_and_reason() {
    let scratch = Scratch::new();
    let config = scratch.config("[backup]\ninterval = \"5s\"\n", 1);
    let output = latchkey(&config, &["serve"], "");
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(&config.display().to_string())
            && err.contains("backup.interval")
            && err.contains("shorter than a minute"),
        "{err}"
    );
}
