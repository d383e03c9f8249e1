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
//! The index is **sharded by day**: a record delivered twice (by two
//! sources, or a replayed file) keeps its `eventTime`, so its copy can
//! only be in the partition of its own `event_date`; two records that
//! share an `eventID` on different days (the AWS documentation's examples
//! do) are both kept. So a day's sidecars are loaded the
//! first time a run writes a record of that day. Memory is 16 bytes per
//! event of the days the run touches (plus a hash set of the keys it adds),
//! not of the whole lake: a daily `run` over a 100 M-event lake loads one
//! or two days. The loading goes through a [`KeyShardSource`]: the local
//! folder ([`LocalKeys`]), or the object store of a lake in S3.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use poolsight_model::normalize::key_hash;

use crate::remote::{DayKeys, KeyShardSource};
use crate::{write_atomically, Lake, LakeError, Result, EVENTS_DIR, INSIGHTS_DIR};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The day (days since 1970-01-01, UTC) of an event time in microseconds:
/// the partition its row goes to.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// `YYYY-MM-DD` of a day number.
pub fn date_of_day(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid".into())
}

/// Keys of the lake, loaded day by day, plus those claimed by the running ingest.
#[derive(Debug)]
pub struct KeyIndex {
    source: Arc<dyn KeyShardSource>,
    days: Mutex<HashMap<i64, Arc<DaySlot>>>,
    stats: Mutex<KeyIndexStats>,
    unreported: Mutex<Vec<(String, String, String)>>,
}

/// A day's keys, loaded by the first worker that needs them (the others
/// wait on the mutex).
type DaySlot = Mutex<Option<Arc<Day>>>;

#[derive(Debug)]
struct Day {
    existing: Vec<u128>,
    claimed: Mutex<HashSet<u128>>,
}

/// What loading the index did so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyIndexStats {
    /// Days loaded.
    pub days: usize,
    pub files: usize,
    /// Keys loaded (of the days loaded).
    pub keys: usize,
    pub rebuilt_sidecars: usize,
    /// Files of `events/` that could not be read as events: `(was, now, why)`.
    pub moved_aside: Vec<(String, String, String)>,
}

impl KeyIndex {
    /// The index of `lake` (nothing is read until a day is claimed).
    pub fn open(lake: &Lake) -> Self {
        let source: Arc<dyn KeyShardSource> = match lake.remote() {
            Some(remote) => Arc::clone(&remote.keys),
            None => Arc::new(LocalKeys { lake: lake.clone() }),
        };
        Self::with_source(source)
    }

    /// The index over the days `source` gives.
    pub fn with_source(source: Arc<dyn KeyShardSource>) -> Self {
        KeyIndex {
            source,
            days: Mutex::new(HashMap::new()),
            stats: Mutex::new(KeyIndexStats::default()),
            unreported: Mutex::new(Vec::new()),
        }
    }

    fn day(&self, day: i64) -> Result<Arc<Day>> {
        let cell = {
            let mut days = self
                .days
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(days.entry(day).or_default())
        };
        // Workers writing other days go on while this one loads.
        let mut slot = cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(loaded) = slot.as_ref() {
            return Ok(Arc::clone(loaded));
        }
        let date = date_of_day(day);
        let loaded = self.source.day_keys(&date)?;
        let mut existing = loaded.keys;
        existing.sort_unstable();
        existing.dedup();
        {
            let mut stats = self
                .stats
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            stats.days += 1;
            stats.files += loaded.files;
            stats.keys += existing.len();
            stats.rebuilt_sidecars += loaded.rebuilt_sidecars;
            stats.moved_aside.extend(loaded.moved_aside.iter().cloned());
        }
        if loaded.rebuilt_sidecars > 0 {
            tracing::info!(
                date = %date,
                rebuilt = loaded.rebuilt_sidecars,
                "rebuilt dedup sidecars from Parquet"
            );
        }
        if !loaded.moved_aside.is_empty() {
            self.unreported
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend(loaded.moved_aside);
        }
        let day_keys = Arc::new(Day {
            existing,
            claimed: Mutex::new(HashSet::new()),
        });
        *slot = Some(Arc::clone(&day_keys));
        Ok(day_keys)
    }

    /// Claims `key` (of an event of `day`, see [`day_of`]) for this run:
    /// `true` when the lake has not seen it (the caller writes the event),
    /// `false` for a duplicate. The first claim of a day loads its keys.
    pub fn claim(&self, day: i64, key: u128) -> Result<bool> {
        let day = self.day(day)?;
        if day.existing.binary_search(&key).is_ok() {
            return Ok(false);
        }
        let fresh = day
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key);
        Ok(fresh)
    }

    /// Whether the lake (or this run) holds `key` in `day`.
    pub fn contains(&self, day: i64, key: u128) -> Result<bool> {
        let day = self.day(day)?;
        let claimed = day
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&key);
        Ok(claimed || day.existing.binary_search(&key).is_ok())
    }

    /// What loading did so far.
    pub fn stats(&self) -> KeyIndexStats {
        self.stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Files moved aside since the last call (for the quarantine).
    pub fn take_moved_aside(&self) -> Vec<(String, String, String)> {
        std::mem::take(
            &mut *self
                .unreported
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// The keys of a local lake's days, from its sidecars (rebuilt from the
/// Parquet file when missing or stale; a damaged file is moved aside).
#[derive(Debug)]
pub struct LocalKeys {
    lake: Lake,
}

impl LocalKeys {
    pub fn new(lake: Lake) -> Self {
        Self { lake }
    }
}

impl KeyShardSource for LocalKeys {
    fn day_keys(&self, date: &str) -> Result<DayKeys> {
        let partition = format!("{}={date}", poolsight_model::PARTITION_COLUMN);
        let mut files =
            crate::parquet_files_under(&self.lake.root().join(EVENTS_DIR).join(&partition))?;
        files.extend(crate::parquet_files_under(
            &self.lake.root().join(INSIGHTS_DIR).join(&partition),
        )?);
        let mut out = DayKeys::default();
        for file in files {
            let sidecar = sidecar_path(&self.lake, &file);
            let keys = match read_sidecar(&sidecar, &file) {
                Some(keys) => keys,
                None => match keys_of_parquet_file(&file) {
                    Ok(mut keys) => {
                        keys.sort_unstable();
                        write_sidecar_at(&sidecar, &keys)?;
                        out.rebuilt_sidecars += 1;
                        keys
                    }
                    Err(LakeError::Io { path, source }) => {
                        return Err(LakeError::Io { path, source });
                    }
                    Err(damage) => {
                        // Not ours, or damaged: it would fail every reader
                        // and every later run. Set it aside, say so, go on.
                        let moved = self.lake.move_aside(&file)?;
                        tracing::warn!(
                            file = %file.display(),
                            moved_to = %moved.display(),
                            error = %damage,
                            "a Parquet file in events/ cannot be read as poolsight events; moved aside"
                        );
                        out.moved_aside.push((
                            file.display().to_string(),
                            moved.display().to_string(),
                            damage.to_string(),
                        ));
                        continue;
                    }
                },
            };
            out.files += 1;
            out.keys.extend_from_slice(&keys);
        }
        Ok(out)
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

pub fn write_sidecar_at(path: &Path, keys: &[u128]) -> Result<()> {
    write_atomically(path, &sidecar_bytes(keys))
}

/// A sidecar's bytes: each key, 16 bytes little-endian.
pub fn sidecar_bytes(keys: &[u128]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(keys.len() * 16);
    for key in keys {
        bytes.extend_from_slice(&key.to_le_bytes());
    }
    bytes
}

fn read_sidecar(sidecar: &Path, parquet_file: &Path) -> Option<Vec<u128>> {
    let sidecar_time = fs::metadata(sidecar).and_then(|m| m.modified()).ok()?;
    let file_time = fs::metadata(parquet_file).and_then(|m| m.modified()).ok()?;
    if sidecar_time < file_time {
        return None;
    }
    keys_of_sidecar(&fs::read(sidecar).ok()?)
}

/// The keys of a sidecar's bytes; `None` when they cannot be one.
pub fn keys_of_sidecar(bytes: &[u8]) -> Option<Vec<u128>> {
    if !bytes.len().is_multiple_of(16) {
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
    keys_of_parquet(file, path)
}

/// Hashes of the `event_key` column of a Parquet file's bytes (`path`
/// names it in errors).
pub fn keys_of_parquet_bytes(bytes: bytes::Bytes, path: &Path) -> Result<Vec<u128>> {
    keys_of_parquet(bytes, path)
}

fn keys_of_parquet<R: parquet::file::reader::ChunkReader + 'static>(
    reader: R,
    path: &Path,
) -> Result<Vec<u128>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader)
        .map_err(|e| LakeError::parquet(path, e))?;
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
