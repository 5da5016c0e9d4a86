//! The data folder and file on disk: private to the account that runs Latchkey.
//!
//! The file holds password hashes and token hashes, so the folder is created
//! 0700 and the file 0600. An existing folder or file that others can read is
//! left as the operator made it, with a warning at start.

use std::path::Path;

use super::StoreError;

/// Creates the folder (0700) and an empty file (0600) if they are missing,
/// so redb never creates the file with the process umask.
pub(super) fn prepare(folder: &Path, file: &Path) -> Result<(), StoreError> {
    let failed = |source| StoreError::Folder {
        path: folder.to_owned(),
        source,
    };
    create_private_folder(folder).map_err(failed)?;
    create_private_file(file).map_err(|source| StoreError::Folder {
        path: file.to_owned(),
        source,
    })?;
    warn_if_shared(folder);
    warn_if_shared(file);
    Ok(())
}

#[cfg(unix)]
pub(super) fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
pub(super) fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

#[cfg(unix)]
fn create_private_file(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_file(_file: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Logs a warning when group or others may read or enter `path`.
#[cfg(unix)]
pub fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "other local users can read this; it holds password hashes: chmod go-rwx it"
            );
        }
    }
}

#[cfg(not(unix))]
pub fn warn_if_shared(_path: &Path) {}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_a_private_folder_and_file() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = scratch.path().join("a/data");
        let file = folder.join("latchkey.redb");
        prepare(&folder, &file).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&file), 0o600);
        // An existing file keeps its contents and mode.
        std::fs::write(&file, b"x").unwrap();
        prepare(&folder, &file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
