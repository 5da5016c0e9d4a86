//! Backups and restores of the data file.
//!
//! A backup is a fresh redb file holding every table copied inside one read
//! transaction. redb keeps the snapshot a read transaction sees intact while
//! writers go on, so the copy is consistent (every write either wholly in it
//! or wholly not) and the server keeps serving while it is made. Copying the
//! file's bytes instead would race the writer's in-place page updates. The
//! copy is written under a temporary name in the target folder, created mode
//! 0600, committed (redb fsyncs), then moved into place and the folder
//! fsynced: a crash leaves either no backup or a whole one, never half of
//! one under the final name. As a side effect the copy is compact.
//!
//! A restore copies a backup beside the data file, opens that copy with
//! redb's integrity check and runs `check-store`'s checks on it, and only if
//! both pass moves it over the data file. It refuses while a server holds
//! the file, and refuses to replace an existing file unless told to.
//!
//! [`every_table`] is the one list of tables the copy knows; a table in the
//! file that isn't on it stops a backup rather than being left out.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use redb::{
    Database, Key, MultimapTableDefinition, MultimapTableHandle, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable, ReadableTable, TableDefinition, TableError, TableHandle, Value,
    WriteTransaction,
};

use super::check::{self, Report};
use super::{FILE_NAME, Store, StoreError, files, tables};

/// Scheduled backups are named `latchkey-<UTC time>.redb`, so that their
/// names sort by age.
const SCHEDULED_PREFIX: &str = "latchkey-";
const SCHEDULED_SUFFIX: &str = ".redb";
/// Marks a copy still being written: `.<final name>.partial-<pid>`.
const PARTIAL: &str = ".partial-";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose another name, or pass --force to replace it")]
    Exists(PathBuf),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the data file has a table this release can't copy: {0} (written by a newer Latchkey?)"
    )]
    UnknownTable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A backup written.
#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub tables: usize,
    pub entries: u64,
}

impl Store {
    /// Writes a consistent copy of the file to `to` (see the module
    /// comment). Refuses to replace an existing file unless `replace`.
    pub fn backup_to(&self, to: &Path, replace: bool) -> Result<Backup, BackupError> {
        let snapshot = self.db.begin_read().map_err(StoreError::from)?;
        write_copy(&snapshot, to, replace)
    }

    /// A scheduled backup into `dir` (created 0700 if missing), named by
    /// the time; then deletes the oldest scheduled backups there beyond
    /// `keep`, and copies a killed process left half-written.
    pub fn write_scheduled_backup(&self, dir: &Path, keep: usize) -> Result<Backup, BackupError> {
        files::create_private_folder(dir).map_err(|source| BackupError::Io {
            path: dir.to_owned(),
            error: source,
        })?;
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| BackupError::Io {
                path: dir.to_owned(),
                error: std::io::Error::other(e),
            })?;
        let path = dir.join(format!("{SCHEDULED_PREFIX}{stamp}{SCHEDULED_SUFFIX}"));
        let backup = self.backup_to(&path, false)?;
        prune_scheduled(dir, keep)?;
        Ok(backup)
    }
}

/// The scheduled backups in `dir`, oldest first.
pub fn scheduled_backups(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_scheduled_name(name) && entry.file_type()?.is_file() {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// How long until the next scheduled backup is due: an interval after the
/// newest one in `dir` (by the time in its name), so restarts don't shift
/// the schedule; at once if there is none, or it is older than that.
pub fn next_scheduled_in(dir: &Path, interval: std::time::Duration) -> std::time::Duration {
    let newest = scheduled_backups(dir)
        .ok()
        .and_then(|found| found.last().cloned())
        .and_then(|path| path.file_name()?.to_str().and_then(time_of));
    let Some(taken) = newest else {
        return std::time::Duration::ZERO;
    };
    let age = time::OffsetDateTime::now_utc() - taken;
    let age = std::time::Duration::try_from(age).unwrap_or_default();
    interval.saturating_sub(age)
}

/// The time in a scheduled backup's name.
fn time_of(name: &str) -> Option<time::OffsetDateTime> {
    let stamp = name
        .strip_prefix(SCHEDULED_PREFIX)?
        .strip_suffix(SCHEDULED_SUFFIX)?;
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<u16>().ok();
    let month = time::Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::from(number(0..4)?),
        month,
        u8::try_from(number(6..8)?).ok()?,
    )
    .ok()?;
    let at = time::Time::from_hms(
        u8::try_from(number(9..11)?).ok()?,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(13..15)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, at).assume_utc())
}

/// `latchkey-YYYYMMDDTHHMMSSZ.redb`, and nothing else: an operator's own
/// files in the folder are never deleted.
fn is_scheduled_name(name: &str) -> bool {
    name.strip_prefix(SCHEDULED_PREFIX)
        .and_then(|rest| rest.strip_suffix(SCHEDULED_SUFFIX))
        .is_some_and(|stamp| {
            stamp.len() == 16
                && stamp.char_indices().all(|(i, c)| match i {
                    8 => c == 'T',
                    15 => c == 'Z',
                    _ => c.is_ascii_digit(),
                })
        })
}

fn prune_scheduled(dir: &Path, keep: usize) -> Result<(), BackupError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io {
            path,
            error: source,
        }
    };
    let backups = scheduled_backups(dir).map_err(io(dir))?;
    let surplus = backups.len().saturating_sub(keep);
    for old in &backups[..surplus] {
        std::fs::remove_file(old).map_err(io(old))?;
        tracing::info!(path = %old.display(), "deleted an old backup");
    }
    // Copies left half-written by a process that was killed mid-backup.
    let ours = format!("{PARTIAL}{}", std::process::id());
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = name
            .strip_prefix('.')
            .and_then(|rest| rest.split_once(PARTIAL))
            .is_some_and(|(final_name, _)| is_scheduled_name(final_name))
            && !name.ends_with(&ours);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Removes a temporary file unless it was moved into place.
struct Partial {
    path: PathBuf,
    keep: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A new empty file, mode 0600, in the same folder as `beside` (so a
/// rename moves it into place).
fn partial_beside(beside: &Path) -> Result<Partial, BackupError> {
    let folder = folder_of(beside);
    let name = beside
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BackupError::Io {
            path: beside.to_owned(),
            error: std::io::Error::other("not a file name"),
        })?;
    let path = folder.join(format!(".{name}{PARTIAL}{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    create_private_file(&path).map_err(|source| BackupError::Io {
        path: path.clone(),
        error: source,
    })?;
    Ok(Partial { path, keep: false })
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only take bits away; this makes sure of the rest.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `folder` durable.
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    File::open(folder)?.sync_all()
}

fn write_copy(snapshot: &ReadTransaction, to: &Path, replace: bool) -> Result<Backup, BackupError> {
    let folder = folder_of(to);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io {
            path,
            error: source,
        }
    };
    if !folder.is_dir() {
        return Err(BackupError::Io {
            path: folder.to_owned(),
            error: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such folder (create it first)",
            ),
        });
    }
    if !replace && std::fs::symlink_metadata(to).is_ok() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let mut partial = partial_beside(to)?;
    let (tables, entries) = {
        let db = Database::create(&partial.path).map_err(StoreError::from)?;
        let target = db.begin_write().map_err(StoreError::from)?;
        let mut copier = Copier {
            from: snapshot,
            to: &target,
            tables: 0,
            entries: 0,
        };
        copier.ensure_every_table_known()?;
        every_table(&mut copier)?;
        let copied = (copier.tables, copier.entries);
        target.commit().map_err(StoreError::from)?;
        copied
    };
    File::open(&partial.path)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial.path))?;
    if replace {
        std::fs::rename(&partial.path, to).map_err(io(to))?;
    } else {
        // A link fails if something took the name meanwhile: never clobbers.
        std::fs::hard_link(&partial.path, to).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Exists(to.to_owned())
            } else {
                BackupError::Io {
                    path: to.to_owned(),
                    error: source,
                }
            }
        })?;
        std::fs::remove_file(&partial.path).map_err(io(&partial.path))?;
    }
    partial.keep = true;
    sync_folder(folder).map_err(io(folder))?;
    let bytes = std::fs::metadata(to).map_err(io(to))?.len();
    Ok(Backup {
        path: to.to_owned(),
        bytes,
        tables,
        entries,
    })
}

/// Something done to every table the file may hold.
trait TableVisitor {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), BackupError>;

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<K, V>,
    ) -> Result<(), BackupError>;
}

/// Every table of the current layout, from `tables`.
fn every_table(v: &mut impl TableVisitor) -> Result<(), BackupError> {
    v.table(tables::META)?;
    v.table(tables::USERS)?;
    v.table(tables::USERS_BY_EMAIL)?;
    v.table(tables::USER_INDEX_ROWS)?;
    v.multimap(tables::USER_SEARCH_GRAMS)?;
    v.table(tables::USER_SORT_KEYS)?;
    v.table(tables::USER_SORT_BLOCKS)?;
    v.table(tables::ROLES)?;
    v.table(tables::SESSIONS)?;
    v.multimap(tables::SESSIONS_BY_USER)?;
    v.table(tables::SETTINGS)?;
    v.table(tables::ONE_TIME_TOKENS)?;
    v.table(tables::SIGN_IN_THROTTLE)?;
    v.table(tables::REQUEST_THROTTLE)?;
    v.table(tables::SECRETS)?;
    v.table(tables::AUDIT)?;
    v.multimap(tables::AUDIT_BY_USER)?;
    v.table(tables::OUTBOX)?;
    v.table(tables::OUTBOX_DUE)?;
    v.table(tables::TWO_FACTOR)?;
    Ok(())
}

/// The names of [`every_table`].
pub(super) fn known_tables() -> Vec<String> {
    struct Names(Vec<String>);
    impl TableVisitor for Names {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            def: TableDefinition<K, V>,
        ) -> Result<(), BackupError> {
            self.0.push(def.name().to_owned());
            Ok(())
        }

        fn multimap<K: Key + 'static, V: Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<K, V>,
        ) -> Result<(), BackupError> {
            self.0.push(def.name().to_owned());
            Ok(())
        }
    }
    let mut names = Names(Vec::new());
    // Listing names fails nowhere.
    let _ = every_table(&mut names);
    names.0
}

/// Copies each table from a read snapshot into a new file's write transaction.
struct Copier<'a> {
    from: &'a ReadTransaction,
    to: &'a WriteTransaction,
    tables: usize,
    entries: u64,
}

impl Copier<'_> {
    fn ensure_every_table_known(&self) -> Result<(), BackupError> {
        let known = known_tables();
        let names = self
            .from
            .list_tables()
            .map_err(StoreError::from)?
            .map(|h| h.name().to_owned())
            .chain(
                self.from
                    .list_multimap_tables()
                    .map_err(StoreError::from)?
                    .map(|h| h.name().to_owned()),
            );
        for name in names {
            if !known.contains(&name) {
                return Err(BackupError::UnknownTable(name));
            }
        }
        Ok(())
    }
}

impl TableVisitor for Copier<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), BackupError> {
        let mut target = self.to.open_table(def).map_err(StoreError::from)?;
        self.tables += 1;
        let source = match self.from.open_table(def) {
            Ok(source) => source,
            Err(TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(StoreError::from(e).into()),
        };
        for entry in source.iter().map_err(StoreError::from)? {
            let (key, value) = entry.map_err(StoreError::from)?;
            target
                .insert(key.value(), value.value())
                .map_err(StoreError::from)?;
            self.entries += 1;
        }
        Ok(())
    }

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<K, V>,
    ) -> Result<(), BackupError> {
        let mut target = self.to.open_multimap_table(def).map_err(StoreError::from)?;
        self.tables += 1;
        let source = match self.from.open_multimap_table(def) {
            Ok(source) => source,
            Err(TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(StoreError::from(e).into()),
        };
        for entry in source.iter().map_err(StoreError::from)? {
            let (key, values) = entry.map_err(StoreError::from)?;
            for value in values {
                let value = value.map_err(StoreError::from)?;
                target
                    .insert(key.value(), value.value())
                    .map_err(StoreError::from)?;
                self.entries += 1;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the backup {path} can't be read: {error}")]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the data file {0} exists; restoring replaces it with the backup: pass --force to do that \
         (a `latchkey backup --to FILE` first keeps what is there now)"
    )]
    Exists(PathBuf),
    #[error("the data file {0} is in use by a running Latchkey server; stop it before restoring")]
    InUse(PathBuf),
    #[error("{path} is not a usable Latchkey data file: {reason}; nothing was restored")]
    NotADataFile { path: PathBuf, reason: String },
    #[error("the backup {path} fails its check; nothing was restored")]
    FailsCheck { path: PathBuf, report: Box<Report> },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// A restore done: the backup's check report, and whether a data file
/// was replaced.
#[derive(Debug)]
pub struct Restored {
    pub data_file: PathBuf,
    pub report: Report,
    pub replaced: bool,
}

/// Replaces the data file in `data_dir` with the backup `from`, after
/// checking a copy of it (see the module comment).
pub fn restore(data_dir: &Path, from: &Path, replace: bool) -> Result<Restored, RestoreError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RestoreError::Io {
            path,
            error: source,
        }
    };
    let mut source = File::open(from).map_err(|source| RestoreError::Unreadable {
        path: from.to_owned(),
        error: source,
    })?;
    files::create_private_folder(data_dir).map_err(io(data_dir))?;
    let data_file = data_dir.join(FILE_NAME);
    // An empty file is what a start that never got further leaves.
    let exists = std::fs::metadata(&data_file).is_ok_and(|m| m.len() > 0);
    // Held (read-only, so the file is not touched) until the backup is in
    // place, so no server starts on the old file meanwhile. A file redb
    // can't open (damaged, often why one restores; or left by a crash,
    // which a read-only open won't repair) is held by no server either:
    // one would have it open.
    let _held = if exists {
        if !replace {
            return Err(RestoreError::Exists(data_file));
        }
        match redb::ReadOnlyDatabase::open(&data_file) {
            Ok(db) => Some(db),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(RestoreError::InUse(data_file));
            }
            Err(e) => {
                tracing::warn!(error = %e, "the data file being replaced can't be opened");
                None
            }
        }
    } else {
        None
    };

    let mut partial = partial_beside(&data_file).map_err(|e| match e {
        BackupError::Io { path, error } => RestoreError::Io { path, error },
        other => RestoreError::Io {
            path: data_file.clone(),
            error: std::io::Error::other(other.to_string()),
        },
    })?;
    {
        let mut copy = OpenOptions::new()
            .write(true)
            .open(&partial.path)
            .map_err(io(&partial.path))?;
        std::io::copy(&mut source, &mut copy).map_err(|source| RestoreError::Unreadable {
            path: from.to_owned(),
            error: source,
        })?;
        copy.sync_all().map_err(io(&partial.path))?;
    }
    let report = {
        let db = redb::Builder::new()
            .set_check_integrity_on_open(true)
            .open(&partial.path)
            .map_err(|e| RestoreError::NotADataFile {
                path: from.to_owned(),
                reason: e.to_string(),
            })?;
        let tx = db.begin_read().map_err(|e| RestoreError::NotADataFile {
            path: from.to_owned(),
            reason: e.to_string(),
        })?;
        check::run(&tx)
    };
    if !report.is_clean() {
        return Err(RestoreError::FailsCheck {
            path: from.to_owned(),
            report: Box::new(report),
        });
    }
    std::fs::rename(&partial.path, &data_file).map_err(io(&data_file))?;
    partial.keep = true;
    sync_folder(data_dir).map_err(io(data_dir))?;
    Ok(Restored {
        data_file,
        report,
        replaced: exists,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::domain::AccountSettings;
    use crate::store::check::fixture::fixture;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn tables_of(tx: &ReadTransaction) -> BTreeSet<String> {
        tx.list_tables()
            .unwrap()
            .map(|h| h.name().to_owned())
            .chain(
                tx.list_multimap_tables()
                    .unwrap()
                    .map(|h| h.name().to_owned()),
            )
            .collect()
    }

    #[test]
    fn the_copy_knows_every_table_a_new_file_has() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let created = tables_of(&store.db.begin_read().unwrap());
        let known: BTreeSet<String> = known_tables().into_iter().collect();
        assert_eq!(created, known);
    }

    #[test]
    fn a_backup_holds_every_entry_of_every_table_and_is_private() {
        let f = fixture();
        let to = f.dir.path().join("copy.redb");
        let backup = f.store.backup_to(&to, false).unwrap();
        assert_eq!(backup.tables, 20);
        assert_eq!(mode(&to), 0o600);
        let original = f.store.check().unwrap();
        let db = Database::open(&to).unwrap();
        let copied = check::run(&db.begin_read().unwrap());
        assert!(copied.is_clean(), "{}", copied.render());
        assert_eq!(copied.tables, original.tables);
        assert_eq!(
            backup.entries,
            original.tables.iter().map(|(_, n)| n).sum::<u64>()
        );
        // No temporary file is left beside it.
        let names: Vec<String> = std::fs::read_dir(f.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains(PARTIAL)), "{names:?}");
    }

    #[test]
    fn a_backup_replaces_a_file_only_when_told_and_names_a_missing_folder() {
        let f = fixture();
        let to = f.dir.path().join("copy.redb");
        std::fs::write(&to, b"precious").unwrap();
        let refused = f.store.backup_to(&to, false).unwrap_err();
        assert!(matches!(refused, BackupError::Exists(_)), "{refused}");
        assert_eq!(std::fs::read(&to).unwrap(), b"precious");
        f.store.backup_to(&to, true).unwrap();
        assert_ne!(std::fs::read(&to).unwrap(), b"precious");

        let nowhere = f.dir.path().join("no/such/folder/copy.redb");
        let err = f.store.backup_to(&nowhere, false).unwrap_err().to_string();
        assert!(
            err.contains("no/such/folder") && err.contains("no such folder"),
            "{err}"
        );
    }

    #[test]
    fn scheduled_backups_keep_the_newest_and_nothing_of_the_operator_is_touched() {
        let f = fixture();
        let dir = f.dir.path().join("backups");
        std::fs::create_dir(&dir).unwrap();
        for old in [
            "latchkey-20200101T000000Z.redb",
            "latchkey-20200102T000000Z.redb",
            "latchkey-20200103T000000Z.redb",
            "notes.txt",
            "latchkey-manual.redb",
            ".latchkey-20200104T000000Z.redb.partial-1",
        ] {
            std::fs::write(dir.join(old), b"x").unwrap();
        }
        assert_eq!(
            next_scheduled_in(&dir, std::time::Duration::from_secs(3600)),
            std::time::Duration::ZERO,
            "the newest is years old: due at once"
        );
        let backup = f.store.write_scheduled_backup(&dir, 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let new = backup
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(is_scheduled_name(&new), "{new}");
        let mut expected = vec![
            "latchkey-20200103T000000Z.redb".to_owned(),
            "latchkey-manual.redb".to_owned(),
            new,
            "notes.txt".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
        assert_eq!(mode(&backup.path), 0o600);
        // The next one is an interval after this one, whatever restarts come.
        let hour = std::time::Duration::from_secs(3600);
        assert!(next_scheduled_in(&dir, hour) > hour / 2);
        // A folder that doesn't exist yet is made, private.
        let fresh = f.dir.path().join("new-folder");
        f.store.write_scheduled_backup(&fresh, 2).unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }

    #[test]
    fn restore_refuses_to_replace_without_force_and_while_in_use() {
        let f = fixture();
        let backup = f.dir.path().join("b.redb");
        f.store.backup_to(&backup, false).unwrap();
        // The fixture's store holds its data file, as a server would.
        let in_use = restore(f.dir.path(), &backup, true).unwrap_err();
        assert!(matches!(in_use, RestoreError::InUse(_)), "{in_use}");
        drop(f.store);
        let exists = restore(f.dir.path(), &backup, false).unwrap_err();
        assert!(matches!(exists, RestoreError::Exists(_)), "{exists}");
        let restored = restore(f.dir.path(), &backup, true).unwrap();
        assert!(restored.replaced && restored.report.is_clean());
        // Into an empty folder, no force is needed.
        let elsewhere = tempfile::tempdir().unwrap();
        let data = elsewhere.path().join("data");
        let restored = restore(&data, &backup, false).unwrap();
        assert!(!restored.replaced);
        assert_eq!(mode(&data.join(FILE_NAME)), 0o600);
        let store = Store::open(&data, AccountSettings::default()).unwrap();
        assert_eq!(store.users().unwrap().len(), 2);
    }

    #[test]
    fn restore_refuses_a_backup_that_fails_its_check_and_leaves_the_file() {
        let f = fixture();
        let backup = f.dir.path().join("b.redb");
        f.store.backup_to(&backup, false).unwrap();
        drop(f.store);
        {
            let db = Database::open(&backup).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(tables::USERS_BY_EMAIL)
                .unwrap()
                .remove("emma@example.com")
                .unwrap();
            tx.commit().unwrap();
        }
        let data_file = f.dir.path().join(FILE_NAME);
        let before = std::fs::read(&data_file).unwrap();
        let unchanged = || std::fs::read(&data_file).unwrap() == before;
        let err = restore(f.dir.path(), &backup, true).unwrap_err();
        let RestoreError::FailsCheck { report, .. } = err else {
            panic!("{err}");
        };
        assert!(report.problems.mention("users_by_email", "missing"));
        assert!(unchanged(), "the data file was changed");

        let junk = f.dir.path().join("junk.redb");
        std::fs::write(&junk, b"not a database at all").unwrap();
        let err = restore(f.dir.path(), &junk, true).unwrap_err();
        assert!(matches!(err, RestoreError::NotADataFile { .. }), "{err}");
        let missing = restore(f.dir.path(), &f.dir.path().join("none.redb"), true).unwrap_err();
        assert!(
            matches!(missing, RestoreError::Unreadable { .. }),
            "{missing}"
        );
        assert!(unchanged(), "the data file was changed");
        let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(PARTIAL))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
