//! Every table in the data file, with its key and value layout.
//!
//! Values are bytes in the [`super::codec`] format (a record-version byte, then
//! JSON), so a new field is a migration rather than a decoding panic. Table
//! names carry their layout version: a table whose key layout changes gets a
//! new name and a migration that copies it (or drops it, when the data is
//! transient).

use redb::{MultimapTableDefinition, TableDefinition};

/// `schema_version` → the layout of the whole file (see `migrations`);
/// `next_user_id`, `next_role_id` → the next id to hand out.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// user id → `domain::User` record.
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users_v1");

/// lower-cased email → user id. Makes emails unique without regard to case.
pub const USERS_BY_EMAIL: TableDefinition<&str, u64> = TableDefinition::new("users_by_email_v1");

/// user id → the Users list index's row for that user: lower-cased name and
/// email and the user's key in each sort order (see `user_index`). Every
/// write to `USERS` goes through `users::insert_user`, `put_user`,
/// `record_sign_in` or `remove_user`, which keep these four tables in step.
pub const USER_INDEX_ROWS: TableDefinition<u64, &[u8]> = TableDefinition::new("user_index_rows_v1");

/// search gram (a trigram of the lower-cased "first last" or email, or
/// U+0001 and a word's first one or two characters) → ids of the users who
/// have it.
pub const USER_SEARCH_GRAMS: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("user_search_grams_v1");

/// column byte ++ the user's key in that order ++ 0 ++ user id (8 bytes, big
/// endian) → the user's lower-cased name, NUL, email: each sort order of the
/// Users list, readable without reading users.
pub const USER_SORT_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("user_sort_keys_v1");

/// column byte ++ the first sort key of a block (the bare column byte for
/// the column's first block) → how many sort keys lie between it and the
/// next block's start: finds page N by adding counts instead of walking.
pub const USER_SORT_BLOCKS: TableDefinition<&[u8], u64> =
    TableDefinition::new("user_sort_blocks_v1");

/// role id → `domain::Role` record.
pub const ROLES: TableDefinition<u64, &[u8]> = TableDefinition::new("roles_v1");

/// SHA-256 of the session token (32 bytes) → `domain::Session` record.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions_v1");

/// user id → SHA-256 of each of that user's session tokens, to end them all at once.
pub const SESSIONS_BY_USER: MultimapTableDefinition<u64, &[u8]> =
    MultimapTableDefinition::new("sessions_by_user_v1");

/// setting group name (`account`) → its record (`domain::AccountSettings`).
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings_v1");

/// SHA-256 of a one-time link token → `OneTimeToken` record.
pub const ONE_TIME_TOKENS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("one_time_tokens_v1");

/// `ThrottleKey` (32 bytes: SHA-256 of `account:<normalised email>`,
/// `address:<address group>` or `device:<device cookie nonce>`) →
/// `ThrottleRecord` of failed sign-ins. Replaced `sign_in_throttle_v1`, keyed
/// by the text itself, in schema 3.
pub const SIGN_IN_THROTTLE: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("sign_in_throttle_v2");

/// `ThrottleKey` (32 bytes: SHA-256 of `reset-email:<normalised email>` or
/// `reset-address:<address group>`) → `ThrottleRecord` counting requests
/// that cost a mail (password resets) in the current window.
pub const REQUEST_THROTTLE: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("request_throttle_v1");

/// secret name (`device_cookie_key`) → its bytes, made once per data file.
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets_v1");

/// event id (ascending, handed out from `next_event_id` in META) →
/// `domain::AuditEvent` record. Append-only.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_v1");

/// user id → ids of the events where that user is the actor or the subject:
/// the User history tab, newest first by reading the ids backwards.
pub const AUDIT_BY_USER: MultimapTableDefinition<u64, u64> =
    MultimapTableDefinition::new("audit_by_user_v1");

/// message id (ascending, from `next_mail_id` in META) → `OutboxMessage`
/// record, queued, sent or given up on.
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox_v1");

/// message id → when it is next due, for every message not sent yet: the
/// outbox worker reads only this small table to find its work.
pub const OUTBOX_DUE: TableDefinition<u64, i64> = TableDefinition::new("outbox_due_v1");

/// user id → `domain::TwoFactor` record (sealed TOTP secret, last accepted
/// step, recovery code hashes), for users with 2FA on; deleted when it is
/// turned off.
pub const TWO_FACTOR: TableDefinition<u64, &[u8]> = TableDefinition::new("two_factor_v1");
