//! The dedup index: which `event_key`s the lake already holds (in `events`
//! and `insights`).
//!
//! Each Parquet file of `events/` has a sidecar in `_state/event_keys/`
//! (of `insights/`: in `_state/insight_keys/`)
//! holding the sorted 128-bit hashes of its keys (16 bytes each). The
//! sidecar is written after the Parquet file is in place; when one is
//! missing or older than its file (a crash between the two, or a lake
//! copied without `_state/`), it is rebuilt from the file's `event_key`
//! column. So the Parquet files stay the only source of truth.
//!
//! Memory: 16 bytes per event already in the lake (a sorted array) plus a
//! hash set of the keys added by the current run.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use poolsight_model::normalize::key_hash;

use crate::{write_atomically, Lake, LakeError, Result};

/// Keys of the lake plus those claimed by the running ingest.
#[derive(Debug, Default)]
pub struct KeyIndex {
    existing: Vec<u128>,
    claimed: Mutex<HashSet<u128>>,
}

/// What loading the index did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyIndexStats {
    pub files: usize,
    pub keys: usize,
    pub rebuilt_sidecars: usize,
    /// Files of `events/` that could not be read as events: `(was, now, why)`.
    pub moved_aside: Vec<(PathBuf, PathBuf, String)>,
}

impl KeyIndex {
    /// Loads the keys of every event file in the lake, rebuilding missing
    /// or stale sidecars.
    pub fn load(lake: &Lake) -> Result<(Self, KeyIndexStats)> {
        let mut stats = KeyIndexStats::default();
        let mut existing = Vec::new();
        let mut files = lake.event_files()?;
        files.extend(lake.insight_files()?);
        for file in files {
            stats.files += 1;
            let sidecar = sidecar_path(lake, &file);
            let keys = match read_sidecar(&sidecar, &file) {
                Some(keys) => keys,
                None => match keys_of_parquet_file(&file) {
                    Ok(mut keys) => {
                        keys.sort_unstable();
                        write_sidecar_at(&sidecar, &keys)?;
                        stats.rebuilt_sidecars += 1;
                        keys
                    }
                    Err(LakeError::Io { path, source }) => {
                        return Err(LakeError::Io { path, source });
                    }
                    Err(damage) => {
                        // Not ours, or damaged: it would fail every reader
                        // and every later run. Set it aside, say so, go on.
                        let moved = lake.move_aside(&file)?;
                        tracing::warn!(
                            file = %file.display(),
                            moved_to = %moved.display(),
                            error = %damage,
                            "a Parquet file in events/ cannot be read as poolsight events; moved aside"
                        );
                        stats
                            .moved_aside
                            .push((file.clone(), moved, damage.to_string()));
                        stats.files -= 1;
                        continue;
                    }
                },
            };
            existing.extend_from_slice(&keys);
        }
        existing.sort_unstable();
        existing.dedup();
        stats.keys = existing.len();
        Ok((
            KeyIndex {
                existing,
                claimed: Mutex::new(HashSet::new()),
            },
            stats,
        ))
    }

    /// Claims `key` for this run: `true` when the lake has not seen it (the
    /// caller writes the event), `false` for a duplicate.
    pub fn claim(&self, key: u128) -> bool {
        if self.existing.binary_search(&key).is_ok() {
            return false;
        }
        self.claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key)
    }

    /// Whether the lake (or this run) holds `key`.
    pub fn contains(&self, key: u128) -> bool {
        self.existing.binary_search(&key).is_ok()
            || self
                .claimed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .contains(&key)
    }

    /// Number of keys known (lake + this run).
    pub fn len(&self) -> usize {
        self.existing.len()
            + self
                .claimed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `_state/event_keys/<path under events/>.keys`, or
/// `_state/insight_keys/<path under insights/>.keys`.
pub fn sidecar_path(lake: &Lake, parquet_file: &Path) -> PathBuf {
    let (folder, relative) = match parquet_file.strip_prefix(lake.insights_dir()) {
        Ok(relative) => ("insight_keys", relative),
        Err(_) => (
            "event_keys",
            parquet_file
                .strip_prefix(lake.events_dir())
                .unwrap_or_else(|_| Path::new(parquet_file.file_name().unwrap_or_default())),
        ),
    };
    let mut path = lake.state_dir().join(folder).join(relative);
    let name = format!(
        "{}.keys",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    path.set_file_name(name);
    path
}

/// Writes the sidecar of a freshly written Parquet file.
pub fn write_sidecar(lake: &Lake, parquet_file: &Path, keys: &mut [u128]) -> Result<()> {
    keys.sort_unstable();
    write_sidecar_at(&sidecar_path(lake, parquet_file), keys)
}

fn write_sidecar_at(path: &Path, keys: &[u128]) -> Result<()> {
    let mut bytes = Vec::with_capacity(keys.len() * 16);
    for key in keys {
        bytes.extend_from_slice(&key.to_le_bytes());
    }
    write_atomically(path, &bytes)
}

fn read_sidecar(sidecar: &Path, parquet_file: &Path) -> Option<Vec<u128>> {
    let sidecar_time = fs::metadata(sidecar).and_then(|m| m.modified()).ok()?;
    let file_time = fs::metadata(parquet_file).and_then(|m| m.modified()).ok()?;
    if sidecar_time < file_time {
        return None;
    }
    let bytes = fs::read(sidecar).ok()?;
    if bytes.len() % 16 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(16)
            .map(|chunk| u128::from_le_bytes(chunk.try_into().expect("16 bytes")))
            .collect(),
    )
}

/// Hashes of the `event_key` column of one Parquet file.
pub fn keys_of_parquet_file(path: &Path) -> Result<Vec<u128>> {
    let file = File::open(path).map_err(|e| LakeError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| LakeError::parquet(path, e))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["event_key"]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| LakeError::parquet(path, e))?;
    let mut keys = Vec::new();
    for batch in reader {
        let batch = batch?;
        let Some(column) = batch.column_by_name("event_key") else {
            return Err(LakeError::NotALake {
                path: path.to_path_buf(),
                reason: "this Parquet file has no `event_key` column".into(),
            });
        };
        let values = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)?;
        let strings = values.as_string::<i32>();
        for index in 0..strings.len() {
            if strings.is_valid(index) {
                keys.push(key_hash(strings.value(index)));
            }
        }
    }
    Ok(keys)
}
