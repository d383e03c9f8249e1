//! The poolsight lake on local disk: Hive-partitioned Parquet that DuckDB,
//! Athena and Spark read unchanged.
//!
//! ```text
//! <lake>/events/event_date=YYYY-MM-DD/part-<run>-<writer>-<n>.parquet
//! <lake>/insights/event_date=YYYY-MM-DD/…  (CloudTrail Insights events)
//! <lake>/quarantine/ingest_date=YYYY-MM-DD/quarantine-<run>.parquet
//! <lake>/findings/…                      (detections)
//! <lake>/inventory/<table>/snapshot_date=YYYY-MM-DD/<snapshot>.parquet
//! <lake>/_state/event_keys/…             (dedup index, rebuildable from events/)
//! <lake>/_state/lock                     (one writer at a time)
//! ```
//!
//! Writes are atomic: a file is written under a hidden temporary name
//! (`.part-….parquet.tmp`, which no engine reads) and renamed when complete.
//! Dedup is by `event_key` (the CloudTrail `eventID`, or a content hash),
//! across runs and across sources, through [`KeyIndex`].

pub mod arrival;
pub mod compact;
pub mod failpoint;
pub mod fsio;
pub mod keys;
pub mod paths;
pub mod quarantine;
pub mod remote;
pub mod writer;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt;

use fs4::fs_std::FileExt;

pub use fsio::write_atomically;
pub use keys::KeyIndex;
pub use paths::{path_under, UnsafePath};
pub use quarantine::{QuarantineEntry, QuarantineWriter};
pub use writer::{EventWriter, WriterOptions};

/// Errors of the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("lake {path}: Parquet: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("lake: Arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("lake {path} is in use by another poolsight process (lock file {lock}); wait for it to finish")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("{path} is not a poolsight lake: {reason}")]
    NotALake { path: PathBuf, reason: String },
    /// The object store of a lake in S3 (`s3://…`: what failed and why).
    #[error("lake {url}: {message}")]
    Remote { url: String, message: String },
}

impl LakeError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LakeError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        LakeError::Parquet {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// Reads one small Parquet file (findings, their audit trail, the
/// notification outbox) whole; `None` when it does not exist. A file that
/// cannot be read is `Err` with its path, for the caller to say what to do.
pub fn read_parquet_file(path: &Path) -> Result<Option<Vec<arrow::record_batch::RecordBatch>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LakeError::io(path, e)),
    };
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| LakeError::parquet(path, e))?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| LakeError::parquet(path, e.into()))?);
    }
    Ok(Some(batches))
}

/// Writes `batches` as one small Parquet file at `path`, atomically and
/// durably (findings, their audit trail, state tables); returns the rows.
pub fn write_parquet_file(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    batches: &[arrow::record_batch::RecordBatch],
) -> Result<usize> {
    if let Some(parent) = path.parent() {
        fsio::create_dir_durable(parent)?;
    }
    let mut bytes = Vec::new();
    let mut rows = 0;
    {
        let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None)
            .map_err(|e| LakeError::parquet(path, e))?;
        for batch in batches {
            rows += batch.num_rows();
            writer
                .write(batch)
                .map_err(|e| LakeError::parquet(path, e))?;
        }
        writer.close().map_err(|e| LakeError::parquet(path, e))?;
    }
    write_atomically(path, &bytes)?;
    Ok(rows)
}

/// Folder of the `events` table.
pub const EVENTS_DIR: &str = "events";
/// Folder of the `insights` table (CloudTrail Insights events, same schema).
pub const INSIGHTS_DIR: &str = "insights";
/// Folder of quarantined records.
pub const QUARANTINE_DIR: &str = "quarantine";
/// Folder of the inventory snapshots (identity pools, roles, trails).
pub const INVENTORY_DIR: &str = "inventory";
/// Folder of stored findings.
pub const FINDINGS_DIR: &str = "findings";
/// Folder of the notification outbox (`notify/outbox.parquet`).
pub const NOTIFY_DIR: &str = "notify";
/// Folder of poolsight's own state (ignored by engines: it starts with `_`).
pub const STATE_DIR: &str = "_state";

/// A lake rooted at a folder.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
    /// Set when `root` is the working folder of a lake in an object store
    /// ([`remote`]).
    remote: Option<std::sync::Arc<remote::RemoteTables>>,
}

impl Lake {
    /// A lake at `root`, created if missing (for writers).
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let lake = Lake {
            remote: remote::attached(&root),
            root,
        };
        for dir in [EVENTS_DIR, QUARANTINE_DIR, STATE_DIR] {
            fsio::create_dir_durable(&lake.root.join(dir))?;
        }
        Ok(lake)
    }

    /// An existing lake at `root` (for readers): errors clearly when the
    /// folder is missing or holds no `events/` table.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(LakeError::NotALake {
                reason: "the folder does not exist; create one with `poolsight ingest PATH --lake DIR` or `poolsight demo`".into(),
                path: root,
            });
        }
        if !root.join(EVENTS_DIR).is_dir() {
            return Err(LakeError::NotALake {
                reason: format!("it has no `{EVENTS_DIR}/` folder; ingest something into it first"),
                path: root,
            });
        }
        Ok(Lake {
            remote: remote::attached(&root),
            root,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The object-store tables of a lake in S3 (`None`: a local lake).
    pub fn remote(&self) -> Option<&std::sync::Arc<remote::RemoteTables>> {
        self.remote.as_ref()
    }

    pub fn events_dir(&self) -> PathBuf {
        self.root.join(EVENTS_DIR)
    }

    pub fn insights_dir(&self) -> PathBuf {
        self.root.join(INSIGHTS_DIR)
    }

    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join(QUARANTINE_DIR)
    }

    pub fn findings_dir(&self) -> PathBuf {
        self.root.join(FINDINGS_DIR)
    }

    pub fn inventory_dir(&self) -> PathBuf {
        self.root.join(INVENTORY_DIR)
    }

    pub fn notify_dir(&self) -> PathBuf {
        self.root.join(NOTIFY_DIR)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// Takes the lake's writer lock; fails at once with
    /// [`LakeError::Locked`] when another process holds it. Released on drop.
    pub fn lock(&self) -> Result<LakeLock> {
        let path = self.state_dir().join("lock");
        fsio::create_dir_durable(&self.state_dir())?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(fsio::FILE_MODE)
            .open(&path)
            .map_err(|e| LakeError::io(&path, e))?;
        match file.try_lock_exclusive() {
            Ok(true) => {}
            Ok(false) => {
                return Err(LakeError::Locked {
                    path: self.root.clone(),
                    lock: path,
                })
            }
            Err(e) => return Err(LakeError::io(&path, e)),
        }
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(
            &mut &file,
            format!("pid {}\n", std::process::id()).as_bytes(),
        );
        Ok(LakeLock { _file: file })
    }

    /// Removes temporary files left by a run that was killed mid-write.
    /// Call with the lock held.
    pub fn remove_stale_temporaries(&self) -> Result<usize> {
        let mut removed = 0;
        for dir in [
            self.events_dir(),
            self.insights_dir(),
            self.quarantine_dir(),
            self.inventory_dir(),
            self.state_dir(),
        ] {
            removed += remove_temporaries_under(&dir)?;
        }
        Ok(removed)
    }

    /// Moves a file out of the tables into `_state/damaged/` (same relative
    /// path, plus a unique suffix); returns where it went.
    pub fn move_aside(&self, file: &Path) -> Result<PathBuf> {
        let relative = file.strip_prefix(&self.root).unwrap_or(file);
        let mut target = self.state_dir().join("damaged").join(relative);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        target.set_file_name(format!("{name}.{}", new_run_id()));
        if let Some(parent) = target.parent() {
            fsio::create_dir_durable(parent)?;
        }
        fsio::rename_durable(file, &target)?;
        Ok(target)
    }

    /// Every data file of the `events` table, sorted.
    pub fn event_files(&self) -> Result<Vec<PathBuf>> {
        parquet_files_under(&self.events_dir())
    }

    /// Every data file of the `insights` table, sorted.
    pub fn insight_files(&self) -> Result<Vec<PathBuf>> {
        parquet_files_under(&self.insights_dir())
    }
}

/// Held while a process writes to the lake.
#[derive(Debug)]
pub struct LakeLock {
    _file: File,
}

fn remove_temporaries_under(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry.map_err(|e| LakeError::io(dir, e))?;
        let path = entry.path();
        // The entry's own type: a symlink (to a folder or not) is never
        // followed nor removed.
        let kind = entry.file_type().map_err(|e| LakeError::io(&path, e))?;
        if kind.is_dir() {
            removed += remove_temporaries_under(&path)?;
        } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "tmp") {
            fs::remove_file(&path).map_err(|e| LakeError::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Visible `.parquet` files under `dir`, recursively, sorted.
pub fn parquet_files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LakeError::io(&current, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| LakeError::io(&current, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let kind = entry.file_type().map_err(|e| LakeError::io(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if name.ends_with(".parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A run id: UTC time and process id, sortable and unique per process.
pub fn new_run_id() -> String {
    format!(
        "{}-{:05}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id() % 100_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_reports_a_missing_lake_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let error = Lake::open(dir.path().join("nope")).unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
        let error = Lake::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("no `events/` folder"), "{error}");
    }

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let first = lake.lock().unwrap();
        let error = lake.lock().unwrap_err();
        assert!(matches!(error, LakeError::Locked { .. }), "{error}");
        drop(first);
        lake.lock().unwrap();
    }

    #[test]
    fn stale_temporaries_are_removed_and_hidden_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let partition = lake.events_dir().join("event_date=2024-01-01");
        fs::create_dir_all(&partition).unwrap();
        fs::write(partition.join(".part-x.parquet.tmp"), b"half").unwrap();
        fs::write(partition.join("part-y.parquet"), b"whole").unwrap();
        assert_eq!(
            lake.event_files().unwrap(),
            vec![partition.join("part-y.parquet")]
        );
        assert_eq!(lake.remove_stale_temporaries().unwrap(), 1);
    }

    #[test]
    fn temporary_cleanup_does_not_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("precious.tmp"), b"not ours").unwrap();
        let lake = Lake::create(dir.path().join("lake")).unwrap();
        std::os::unix::fs::symlink(&outside, lake.events_dir().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.join("precious.tmp"), lake.state_dir().join("x.tmp"))
            .unwrap();
        assert_eq!(lake.remove_stale_temporaries().unwrap(), 0);
        assert!(outside.join("precious.tmp").is_file());
    }
}
