//! Brings a data file's layout up to [`SCHEMA_VERSION`] when it is opened.
//!
//! Each step runs in its own write transaction and records the version it
//! reached, so a crash mid-way resumes where it stopped and running the steps
//! again changes nothing.
//!
//! | version | change |
//! | --- | --- |
//! | 1 | first layout: users, email index, roles, sessions, settings, tokens, throttle |
//! | 2 | user records gain `sign_in_method` (user record version 1 → 2) |
//! | 3 | sign-in counters keyed by SHA-256 (`sign_in_throttle_v1` dropped, `_v2` added); `secrets` table with the device cookie key |
//! | 4 | the Users list index (`user_index_rows`, `user_search_grams`, `user_sort_keys`, `user_sort_blocks`), built from the users |
//!
//! Purely additive changes need no version: a new table (`two_factor_v1`,
//! `request_throttle_v1`) is created at every open by `create_tables`, and a
//! new record field with a `#[serde(default)]` (a session's stage,
//! User-Agent and address; a user's `deletion_requested_at`; a link's
//! `new_email`; an outbox message's `message_id`) still decodes from older
//! records.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::Deserialize;

use super::codec::Record;
use super::{Store, StoreError, codec, roles, settings, tables, throttle, user_index};
use crate::domain::time::Timestamp;
use crate::domain::{
    AccountSettings, Email, PersonName, Phone, Role, RoleId, SignInMethod, User, UserStatus,
};

pub const SCHEMA_VERSION: u64 = 4;

pub(super) fn run(store: &Store, initial_settings: AccountSettings) -> Result<(), StoreError> {
    let found = store.write(|tx| {
        create_tables(tx)?;
        let version = tx
            .open_table(tables::META)?
            .get("schema_version")?
            .map(|v| v.value());
        if version.is_none() {
            initialise(tx, initial_settings)?;
        }
        Ok(version.unwrap_or(SCHEMA_VERSION))
    })?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < 2 {
        store.write(migrate_1_to_2)?;
        tracing::info!(from = found, to = 2, "migrated the data file");
    }
    if found < 3 {
        store.write(migrate_2_to_3)?;
        tracing::info!(from = found.max(2), to = 3, "migrated the data file");
    }
    if found < 4 {
        let users = store.write(migrate_3_to_4)?;
        tracing::info!(
            from = found.max(3),
            to = 4,
            users,
            "migrated the data file: indexed the users for search"
        );
    }
    Ok(())
}

/// Opening a table in a write transaction creates it: every table exists after open.
fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(tables::META)?;
    tx.open_table(tables::USERS)?;
    tx.open_table(tables::USERS_BY_EMAIL)?;
    tx.open_table(tables::ROLES)?;
    tx.open_table(tables::SESSIONS)?;
    tx.open_multimap_table(tables::SESSIONS_BY_USER)?;
    tx.open_table(tables::SETTINGS)?;
    tx.open_table(tables::ONE_TIME_TOKENS)?;
    tx.open_table(tables::AUDIT)?;
    tx.open_multimap_table(tables::AUDIT_BY_USER)?;
    tx.open_table(tables::OUTBOX)?;
    tx.open_table(tables::OUTBOX_DUE)?;
    tx.open_table(tables::SIGN_IN_THROTTLE)?;
    tx.open_table(tables::REQUEST_THROTTLE)?;
    tx.open_table(tables::SECRETS)?;
    tx.open_table(tables::TWO_FACTOR)?;
    tx.open_table(tables::USER_INDEX_ROWS)?;
    tx.open_multimap_table(tables::USER_SEARCH_GRAMS)?;
    tx.open_table(tables::USER_SORT_KEYS)?;
    tx.open_table(tables::USER_SORT_BLOCKS)?;
    Ok(())
}

/// A new file: the two built-in roles and the settings from `config.toml`.
fn initialise(tx: &WriteTransaction, initial_settings: AccountSettings) -> Result<(), StoreError> {
    roles::put_role(tx, &Role::global_administrator())?;
    roles::put_role(tx, &Role::operator())?;
    settings::put_account_settings(tx, &initial_settings)?;
    throttle::ensure_device_key(tx)?;
    let mut meta = tx.open_table(tables::META)?;
    meta.insert("next_role_id", crate::domain::role::OPERATOR + 1)?;
    meta.insert("schema_version", SCHEMA_VERSION)?;
    Ok(())
}

/// A user record as schema 1 wrote it (record version 1).
#[derive(Deserialize)]
struct UserV1 {
    id: u64,
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    phone: Option<Phone>,
    status: UserStatus,
    password_hash: Option<String>,
    roles: Vec<RoleId>,
    created_at: Timestamp,
    last_sign_in_at: Option<Timestamp>,
}

fn migrate_1_to_2(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut table = tx.open_table(tables::USERS)?;
    let old: Vec<(u64, Vec<u8>)> = table
        .iter()?
        .map(|e| e.map(|(k, v)| (k.value(), v.value().to_vec())))
        .collect::<Result<_, _>>()?;
    for (id, bytes) in old {
        if bytes.first() == Some(&User::VERSION) {
            continue;
        }
        let v1: UserV1 = codec::decode("users", 1, &bytes)?;
        let user = User {
            id: v1.id,
            first_name: v1.first_name,
            last_name: v1.last_name,
            email: v1.email,
            phone: v1.phone,
            status: v1.status,
            sign_in_method: SignInMethod::Local,
            password_hash: v1.password_hash,
            roles: v1.roles,
            created_at: v1.created_at,
            last_sign_in_at: v1.last_sign_in_at,
            deletion_requested_at: None,
        };
        table.insert(id, user.to_bytes().as_slice())?;
    }
    tx.open_table(tables::META)?.insert("schema_version", 2)?;
    Ok(())
}

/// Schema 2's sign-in counters, keyed by the counted text itself.
const SIGN_IN_THROTTLE_V1: TableDefinition<&str, &[u8]> =
    TableDefinition::new("sign_in_throttle_v1");

/// Counters only matter for one lockout window, so the old ones are dropped
/// rather than copied: at worst an attacker mid-window gets a fresh count once.
fn migrate_2_to_3(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.delete_table(SIGN_IN_THROTTLE_V1)?;
    throttle::ensure_device_key(tx)?;
    tx.open_table(tables::META)?.insert("schema_version", 3)?;
    Ok(())
}

/// Indexes every user for the Users list; returns how many.
fn migrate_3_to_4(tx: &WriteTransaction) -> Result<u64, StoreError> {
    let users = user_index::rebuild(tx)?;
    tx.open_table(tables::META)?.insert("schema_version", 4)?;
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FILE_NAME;

    /// Writes a file exactly as schema 1 laid it out, with one user.
    fn write_schema_1_file(dir: &std::path::Path) {
        let db = redb::Database::create(dir.join(FILE_NAME)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx.open_table(tables::META).unwrap();
            meta.insert("schema_version", 1).unwrap();
            meta.insert("next_user_id", 2).unwrap();
            meta.insert("next_role_id", 3).unwrap();
            let v1 = br#"{"id":1,"first_name":"Emma","last_name":"Wright","email":"Emma@Example.com","phone":null,"status":"Active","password_hash":null,"roles":[1],"created_at":1700000000,"last_sign_in_at":null}"#;
            let mut record = vec![1u8];
            record.extend_from_slice(v1);
            tx.open_table(tables::USERS)
                .unwrap()
                .insert(1, record.as_slice())
                .unwrap();
            tx.open_table(tables::USERS_BY_EMAIL)
                .unwrap()
                .insert("emma@example.com", 1)
                .unwrap();
            let role = codec::encode(1, &Role::global_administrator());
            tx.open_table(tables::ROLES)
                .unwrap()
                .insert(1, role.as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn opens_a_schema_1_file_and_upgrades_its_users() {
        let dir = tempfile::tempdir().unwrap();
        write_schema_1_file(dir.path());
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let user = store.user_by_email("emma@EXAMPLE.com").unwrap().unwrap();
        assert_eq!(user.sign_in_method, SignInMethod::Local);
        assert_eq!(user.email.as_str(), "Emma@Example.com");
        // Schema 4 indexed the user for the Users list.
        let query = crate::domain::UserQuery {
            search: crate::domain::SearchTerm::parse("mma wri"),
            ..Default::default()
        };
        let found = store.user_page(&query).unwrap();
        assert_eq!(found.users.len(), 1);
        assert_eq!(found.total, Some(1));
        assert!(store.is_readable());
        assert!(store.device_key().is_ok());
        drop(store);
        // Opening again is a no-op, and the version stays at the newest.
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        assert_eq!(store.users().unwrap().len(), 1);
        assert_eq!(schema_version(&store), Some(SCHEMA_VERSION));
    }

    /// Writes a file as schema 2 left it: one sign-in counter under its text key.
    fn write_schema_2_file(dir: &std::path::Path) {
        let db = redb::Database::create(dir.join(FILE_NAME)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx.open_table(tables::META).unwrap();
            meta.insert("schema_version", 2).unwrap();
            meta.insert("next_user_id", 1).unwrap();
            meta.insert("next_role_id", 3).unwrap();
            let record = codec::encode(1, &serde_json::json!({"failures": 5, "window_start": 1}));
            tx.open_table(SIGN_IN_THROTTLE_V1)
                .unwrap()
                .insert("account:emma@example.com", record.as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }

    fn schema_version(store: &Store) -> Option<u64> {
        store
            .read(|tx| {
                Ok(tx
                    .open_table(tables::META)?
                    .get("schema_version")?
                    .map(|v| v.value()))
            })
            .unwrap()
    }

    fn table_names(store: &Store) -> Vec<String> {
        use redb::TableHandle;
        store
            .read(|tx| Ok(tx.list_tables()?.map(|t| t.name().to_owned()).collect()))
            .unwrap()
    }

    #[test]
    fn opens_a_schema_2_file_and_drops_the_text_keyed_counters() {
        let dir = tempfile::tempdir().unwrap();
        write_schema_2_file(dir.path());
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let names = table_names(&store);
        assert!(
            !names.iter().any(|n| n == "sign_in_throttle_v1"),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n == "sign_in_throttle_v2"),
            "{names:?}"
        );
        let key = store.device_key().unwrap();
        drop(store);
        // Opening again changes nothing: the same key, the newest version.
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        assert_eq!(store.device_key().unwrap().bytes(), key.bytes());
        assert_eq!(schema_version(&store), Some(SCHEMA_VERSION));
    }

    #[test]
    fn opens_a_schema_3_file_and_indexes_its_users_keeping_2fa_and_mail() {
        use crate::domain::sealed::SealedSecret;
        use crate::domain::{MailMessage, TwoFactor, UserId, role::GLOBAL_ADMINISTRATOR};
        use crate::store::{NewUser, Txn};

        let dir = tempfile::tempdir().unwrap();
        // A file as the release before the Users list left it: users, a 2FA
        // record, queued mail, a deletion request, and no list index.
        let (admin, other) = {
            let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
            let new = |first: &str, email: &str, roles: Vec<RoleId>| NewUser {
                first_name: PersonName::parse(first).unwrap(),
                last_name: PersonName::parse("Wright").unwrap(),
                email: Email::parse(email).unwrap(),
                phone: None,
                status: UserStatus::Active,
                password_hash: None,
                roles,
                created_at: 1,
            };
            let made = store
                .transact::<_, StoreError>(|t: &Txn<'_>| {
                    let admin =
                        t.insert_user(new("Emma", "emma@example.com", vec![GLOBAL_ADMINISTRATOR]))?;
                    let other = t.insert_user(new("Olly", "olly@example.com", Vec::new()))?;
                    t.modify_user::<StoreError>(other.id, |u| {
                        u.deletion_requested_at = Some(5);
                        Ok(())
                    })?;
                    t.put_two_factor(
                        admin.id,
                        &TwoFactor {
                            secret: SealedSecret::seal(b"secret", None, "totp:1"),
                            enabled_at: 1,
                            last_step: 0,
                            recovery_codes: Vec::new(),
                            recovery_codes_issued_at: 1,
                        },
                    )?;
                    t.enqueue_mail(MailMessage {
                        to: "emma@example.com".into(),
                        subject: "Hello".into(),
                        text: "Hello".into(),
                        html: "<p>Hello</p>".into(),
                    })?;
                    Ok((admin.id, other.id))
                })
                .unwrap();
            store
                .write(|tx| {
                    tx.delete_table(tables::USER_INDEX_ROWS)?;
                    tx.delete_multimap_table(tables::USER_SEARCH_GRAMS)?;
                    tx.delete_table(tables::USER_SORT_KEYS)?;
                    tx.delete_table(tables::USER_SORT_BLOCKS)?;
                    tx.open_table(tables::META)?.insert("schema_version", 3)?;
                    Ok(())
                })
                .unwrap();
            made
        };
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let query = crate::domain::UserQuery {
            search: crate::domain::SearchTerm::parse("olly"),
            ..Default::default()
        };
        let found = store.user_page(&query).unwrap();
        assert_eq!(found.users.len(), 1);
        assert_eq!(found.users[0].id, other);
        assert_eq!(found.users[0].deletion_requested_at, Some(5));
        let admins: Vec<UserId> = store
            .global_administrators()
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(admins, [admin]);
        assert!(store.two_factor(admin).unwrap().is_some());
        assert_eq!(store.outbox_counts().unwrap().queued, 1);
        assert_eq!(schema_version(&store), Some(4));
    }

    #[test]
    fn a_new_file_has_the_built_in_roles_and_initial_settings() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AccountSettings {
            self_service_profile_updates: false,
            require_2fa_for_local_users: true,
        };
        let store = Store::open(dir.path(), settings).unwrap();
        let names: Vec<String> = store
            .roles()
            .unwrap()
            .into_iter()
            .map(|r| r.name.into())
            .collect();
        assert_eq!(names, ["Global Administrator", "Operator"]);
        assert!(store.device_key().is_ok());
        assert_eq!(store.account_settings().unwrap(), settings);
        drop(store);
        // Stored settings win over config on later starts.
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        assert_eq!(store.account_settings().unwrap(), settings);
    }

    #[test]
    fn refuses_a_file_from_the_future() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(tables::META)
                .unwrap()
                .insert("schema_version", 99)
                .unwrap();
            tx.commit().unwrap();
        }
        let err = Store::open(dir.path(), AccountSettings::default())
            .err()
            .unwrap();
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_second_process_is_told_the_file_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let err = Store::open(dir.path(), AccountSettings::default())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::InUse(_)), "{err}");
    }
}
