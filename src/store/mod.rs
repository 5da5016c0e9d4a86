//! Everything redb: one file, `latchkey.redb`, in the data folder.
//!
//! The rest of the program sees typed methods on [`Store`] and never a redb
//! type. Methods are synchronous; async callers run writes through
//! [`Store::blocking`] so a commit's fsync never stalls the runtime. Every
//! write commits with redb's default `Durability::Immediate`: once a method
//! returns, the change survives a crash.

mod audit;
pub mod backup;
pub mod check;
mod codec;
mod files;
mod migrations;
mod one_time_tokens;
mod outbox;
mod roles;
mod sessions;
mod settings;
mod sizes;
pub mod tables;
mod throttle;
mod two_factor;
mod txn;
mod user_index;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

pub use audit::{Cursor, EventPage, EventQuery};
pub use backup::{Backup, BackupError, RestoreError, Restored};
pub use check::Report;
pub use migrations::SCHEMA_VERSION;
pub use one_time_tokens::{OneTimeToken, TokenPurpose};
pub use outbox::{AttemptOutcome, MailCounts, MailStatus, OutboxMessage};
pub use roles::NewRole;
pub use sizes::StoreSizes;
pub use throttle::{
    Admission, AttemptFinished, EVICTED_AT_ONCE, Limit, MAX_COUNTERS, Quota, REQUEST_WINDOW,
    SignInAttempt, ThrottleKey, ThrottleRecord,
};
pub use txn::Txn;
pub use users::NewUser;

use crate::domain::AccountSettings;

/// The database file's name inside the data folder.
pub const FILE_NAME: &str = "latchkey.redb";

/// redb's page cache (reads and the write buffer together). redb's own
/// default is 1 GiB, which a server with 100 000 users fills through
/// searches and start-up scans and never gives back; pages beyond this are
/// read again from the operating system's file cache, which costs a
/// system call, not a disk read, on a file this size. Measured at 100 000
/// users: 4 MiB rather than 8 lowers peak memory in a sign-in flood from 67
/// to 60 MiB, and moves the Users search p50 from 1.97 to 2.02 ms.
const CACHE_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("can't create the data folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the data file {0} is in use by another Latchkey process; stop it first")]
    InUse(PathBuf),
    #[error("there is no data file at {0}")]
    NoDataFile(PathBuf),
    #[error(
        "the data file was written by a newer Latchkey (schema {found}, this one knows {supported})"
    )]
    NewerSchema { found: u64, supported: u64 },
    #[error("a record in table {table} can't be read: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("that link is not valid any more")]
    LinkInvalid,
    #[error("that email address is already in use")]
    EmailTaken,
    #[error("another role has that name")]
    RoleNameTaken,
    /// Requests have sent an address as much mail as an hour allows.
    #[error("too much mail to one address; retry in {retry_after} s")]
    MailQuota { retry_after: i64 },
    #[error("storage failure: {0}")]
    Database(#[from] redb::Error),
    #[error("storage task failed: {0}")]
    Task(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A handle to the open data file; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Committed write transactions since open: lets tests prove that a page
    /// load wrote nothing.
    writes: Arc<AtomicU64>,
    /// Sign-in attempts being checked now: in memory, as only this process
    /// can have any (see `throttle`).
    in_flight: Arc<throttle::InFlight>,
    /// Signalled after a commit that queued mail, to wake the outbox worker.
    mail_queued: Arc<tokio::sync::Notify>,
}

impl Store {
    /// Opens (or creates) the data file in `data_dir` and brings its schema up
    /// to date. `initial_settings` seeds the account settings of a new file.
    pub fn open(data_dir: &Path, initial_settings: AccountSettings) -> Result<Self, StoreError> {
        let path = data_dir.join(FILE_NAME);
        files::prepare(data_dir, &path)?;
        let store = Self::opened(
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path),
            &path,
        )?;
        migrations::run(&store, initial_settings)?;
        Ok(store)
    }

    /// Opens an existing data file as it is: not created if missing, its
    /// schema left as found, and every page checked by redb's integrity
    /// check first. What `check-store` and `backup` use with no server
    /// running, so that they report the file rather than change it.
    pub fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(FILE_NAME);
        if !std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::NoDataFile(path));
        }
        Self::opened(
            redb::Builder::new()
                .set_check_integrity_on_open(true)
                .open(&path),
            &path,
        )
    }

    /// A store around a database just opened from `path`; a file another
    /// process holds is [`StoreError::InUse`].
    fn opened(db: Result<Database, redb::DatabaseError>, path: &Path) -> Result<Self, StoreError> {
        let db = db.map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
            other => StoreError::Database(other.into()),
        })?;
        Ok(Self {
            db: Arc::new(db),
            writes: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::default(),
            mail_queued: Arc::default(),
        })
    }

    /// Runs `f` on the blocking pool: the way async code performs writes.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking_or(f).await
    }

    /// [`Store::blocking`] for work that may refuse with its caller's own
    /// error (a rule checked inside a [`Store::transact`]).
    pub async fn blocking_or<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Notified after every commit that queued mail (see [`Store::transact`]).
    pub fn mail_queued(&self) -> Arc<tokio::sync::Notify> {
        self.mail_queued.clone()
    }

    /// Number of write transactions committed since open.
    pub fn write_count(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// True when the file can be read: what `/healthz` reports.
    pub fn is_readable(&self) -> bool {
        self.read(|tx| {
            let meta = tx.open_table(tables::META)?;
            Ok(redb::ReadableTable::get(&meta, "schema_version")?.is_some())
        })
        .unwrap_or(false)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.db.begin_read()?;
        f(&tx)
    }

    /// One write transaction; dropped uncommitted (so changing nothing) when `f` fails.
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_or::<T, StoreError>(f)
    }

    /// [`Store::write`] for a closure that may refuse with its caller's own
    /// error (a rule checked against the record as it stands inside the
    /// transaction); the refusal rolls everything back.
    fn write_or<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.db.begin_write().map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }
}

/// Reads a counter from META, stores the next value, returns the current one.
fn next_id(tx: &WriteTransaction, key: &str) -> Result<u64, StoreError> {
    let mut meta = tx.open_table(tables::META)?;
    let id = redb::ReadableTable::get(&meta, key)?.map_or(1, |v| v.value());
    meta.insert(key, id + 1)?;
    Ok(id)
}
