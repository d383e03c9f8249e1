//! How the lake touches the disk: every file and folder poolsight creates
//! is private, every rename is durable, every temporary name is unique.
//!
//! - Folders are created `0700` and files `0600`: the lake holds identity
//!   ids, addresses and request parameters. An existing lake is not
//!   changed (its modes stay what they are) and keeps working.
//! - [`rename_durable`] and [`create_dir_durable`] fsync the parent folder
//!   after a rename or a new folder and report its error: a checkpoint
//!   written after them can never be durable before the data it covers.
//! - [`temporary_path`] names a temporary beside its destination with the
//!   process id, a counter and a random part: no two writers (two runs in
//!   two containers, both PID 1) share one.
//!
//! Every durable step is also appended to a journal when a test turned it
//! on ([`journal::start`]), so the order of operations can be checked.

use std::collections::hash_map::RandomState;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{LakeError, Result};

/// Mode of folders poolsight creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of files poolsight creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents (mode `0700`), fsyncing the
/// folder each new one was created in.
pub fn create_dir_durable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = path;
    while !current.exists() {
        missing.push(current.to_path_buf());
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for dir in missing.iter().rev() {
        match DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => {
                journal::record("mkdir", dir);
                sync_parent(dir)?;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(LakeError::io(dir, e)),
        }
    }
    Ok(())
}

/// fsyncs the folder `dir` (its entries: new names, renames).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|e| LakeError::io(dir, e))?;
    journal::record("fsync_dir", dir);
    Ok(())
}

fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

/// Renames `from` over `to` and fsyncs `to`'s folder.
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| LakeError::io(to, e))?;
    journal::record("rename", to);
    sync_parent(to)
}

/// Creates a new private (`0600`) file; fails if it exists.
pub fn create_private(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| LakeError::io(path, e))
}

/// A hidden, unique temporary name beside `destination`:
/// `.<name>.<pid>-<n>-<random>.tmp` (engines skip hidden files; a killed
/// run's temporaries are removed by the next writer).
pub fn temporary_path(destination: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let random = hasher.finish() as u32;
    destination.with_file_name(format!(
        ".{name}.{}-{}-{random:08x}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `bytes` to `path` atomically and durably: a private temporary
/// beside it, fsynced, renamed over it, the folder fsynced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    create_dir_durable(parent)?;
    let temporary = temporary_path(path);
    let written = (|| {
        let mut file = create_private(&temporary)?;
        std::io::Write::write_all(&mut file, bytes).map_err(|e| LakeError::io(&temporary, e))?;
        file.sync_all().map_err(|e| LakeError::io(&temporary, e))?;
        journal::record("fsync", &temporary);
        rename_durable(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// The order of durable operations, for tests.
pub mod journal {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static JOURNAL: Mutex<Option<Vec<(&'static str, PathBuf)>>> = Mutex::new(None);

    /// Starts recording (for every lake of the process).
    pub fn start() {
        let mut journal = JOURNAL.lock().unwrap_or_else(|p| p.into_inner());
        journal.get_or_insert_with(Vec::new);
    }

    /// What was recorded under `root`, in order.
    pub fn under(root: &Path) -> Vec<(&'static str, PathBuf)> {
        let journal = JOURNAL.lock().unwrap_or_else(|p| p.into_inner());
        journal
            .iter()
            .flatten()
            .filter(|(_, path)| path.starts_with(root))
            .cloned()
            .collect()
    }

    pub(crate) fn record(operation: &'static str, path: &Path) {
        let mut journal = JOURNAL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entries) = journal.as_mut() {
            entries.push((operation, path.to_path_buf()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folders_and_files_are_private_and_temporaries_unique() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        create_dir_durable(&nested).unwrap();
        for path in [dir.path().join("a"), dir.path().join("a/b"), nested.clone()] {
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                DIR_MODE
            );
        }
        let file = nested.join("x.json");
        write_atomically(&file, b"{}").unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            FILE_MODE
        );
        assert_ne!(temporary_path(&file), temporary_path(&file));
        assert_eq!(
            fs::read_dir(&nested).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
