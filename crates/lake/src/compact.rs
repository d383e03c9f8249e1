//! Compaction: a partition's many small Parquet files merged into few,
//! atomically, with the dedup index kept consistent.
//!
//! A run every 15 minutes writes at least one file per partition per
//! worker; an organisation trail reaches millions of files and every query
//! slows down. [`compact`] merges the small files (below `small_file_bytes`,
//! 64 MiB) of every `event_date=` partition holding at least `min_files` of
//! them (the run's own lock held), so big merged files are not rewritten
//! again and again, by this protocol:
//!
//! 1. the merged rows are written to hidden temporaries, fsynced;
//! 2. an intent (`_state/compaction/<partition>.json`: inputs, outputs) is
//!    written durably: from here the compaction will complete;
//! 3. temporaries are renamed into place (folder fsynced), their dedup
//!    sidecars written;
//! 4. the inputs and their sidecars are removed (folder fsynced);
//! 5. the intent is removed.
//!
//! A crash before 2 leaves the inputs as they were (the temporaries are
//! removed by the next writer); a crash after 2 is finished by [`recover`],
//! which every writer runs when it opens the lake, before anything else. So
//! after any crash and the next run, the partition holds every event exactly
//! once. Readers between 3 and 4 (milliseconds) may see a row twice.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};

use crate::keys::{sidecar_path, write_sidecar};
use crate::writer::{write_bounded, writer_properties, WriterOptions};
use crate::{fsio, Lake, LakeError, LakeLock, Result};

/// When and how to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// A partition is compacted once it holds this many small files.
    pub min_files: usize,
    /// Files at least this large are left as they are (merging them again
    /// every few runs would rewrite a big partition over and over).
    pub small_file_bytes: u64,
    /// Rows per merged file at most.
    pub max_file_rows: usize,
    pub writer: WriterOptions,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            min_files: 16,
            small_file_bytes: 64 << 20,
            max_file_rows: 4_000_000,
            writer: WriterOptions::default(),
        }
    }
}

/// What a compaction did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CompactSummary {
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    pub rows: u64,
    /// Interrupted compactions finished first.
    pub recovered: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    inputs: Vec<PathBuf>,
    /// `(temporary, destination)`.
    outputs: Vec<(PathBuf, PathBuf)>,
}

fn intents_dir(lake: &Lake) -> PathBuf {
    lake.state_dir().join("compaction")
}

/// Finishes compactions a crash interrupted after their intent was durable.
pub fn recover(lake: &Lake, _lock: &LakeLock) -> Result<usize> {
    let dir = intents_dir(lake);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(0);
    };
    let mut recovered = 0;
    for entry in entries {
        let path = entry.map_err(|e| LakeError::io(&dir, e))?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = fs::read(&path).map_err(|e| LakeError::io(&path, e))?;
        let intent: Intent = serde_json::from_slice(&text).map_err(|e| LakeError::NotALake {
            path: path.clone(),
            reason: format!("damaged compaction intent ({e}); move it aside only after checking its partition for duplicates"),
        })?;
        tracing::warn!(intent = %path.display(), "finishing a compaction a crash interrupted");
        finish(lake, &intent)?;
        fs::remove_file(&path).map_err(|e| LakeError::io(&path, e))?;
        fsio::sync_dir(&dir)?;
        recovered += 1;
    }
    Ok(recovered)
}

/// Steps 3 and 4, idempotent.
fn finish(lake: &Lake, intent: &Intent) -> Result<()> {
    for (temporary, destination) in &intent.outputs {
        if temporary.exists() {
            fsio::rename_durable(temporary, destination)?;
        }
        if destination.exists() && !sidecar_path(lake, destination).exists() {
            let mut keys = crate::keys::keys_of_parquet_file(destination)?;
            write_sidecar(lake, destination, &mut keys)?;
        }
    }
    crate::failpoint::step("compact:renamed");
    let mut folders = Vec::new();
    for input in &intent.inputs {
        if input.exists() {
            fs::remove_file(input).map_err(|e| LakeError::io(input, e))?;
            if let Some(parent) = input.parent() {
                folders.push(parent.to_path_buf());
            }
        }
        let sidecar = sidecar_path(lake, input);
        if sidecar.exists() {
            fs::remove_file(&sidecar).map_err(|e| LakeError::io(&sidecar, e))?;
        }
    }
    folders.sort();
    folders.dedup();
    for folder in folders {
        fsio::sync_dir(&folder)?;
    }
    Ok(())
}

/// Compacts every partition of `events/` holding at least
/// `options.min_files` files. The caller holds the lake's lock.
pub fn compact(lake: &Lake, lock: &LakeLock, options: &CompactOptions) -> Result<CompactSummary> {
    if let Some(remote) = lake.remote() {
        return Err(LakeError::Remote {
            url: remote.url.clone(),
            message: "compaction of a lake in S3 is not supported yet: without rename, readers would briefly see both the small files and the merged one (docs/s3-lake.md)".into(),
        });
    }
    let mut summary = CompactSummary {
        recovered: recover(lake, lock)?,
        ..Default::default()
    };
    let mut partitions: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for file in lake.event_files()? {
        let size = fs::metadata(&file)
            .map_err(|e| LakeError::io(&file, e))?
            .len();
        if size >= options.small_file_bytes {
            continue;
        }
        if let Some(parent) = file.parent() {
            partitions
                .entry(parent.to_path_buf())
                .or_default()
                .push(file);
        }
    }
    let run_id = crate::new_run_id();
    for (partition, files) in partitions {
        if files.len() < options.min_files.max(2) {
            continue;
        }
        let (outputs, rows) = merge(lake, &partition, &files, &run_id, options)?;
        let intent = Intent {
            inputs: files.clone(),
            outputs,
        };
        let name = partition
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let intent_path = intents_dir(lake).join(format!("{name}.json"));
        let bytes = serde_json::to_vec_pretty(&intent).map_err(|e| LakeError::NotALake {
            path: intent_path.clone(),
            reason: e.to_string(),
        })?;
        fsio::write_atomically(&intent_path, &bytes)?;
        crate::failpoint::step("compact:intent_written");
        finish(lake, &intent)?;
        crate::failpoint::step("compact:inputs_removed");
        fs::remove_file(&intent_path).map_err(|e| LakeError::io(&intent_path, e))?;
        fsio::sync_dir(&intents_dir(lake))?;
        tracing::info!(partition = %partition.display(), files_before = files.len(), files_after = intent.outputs.len(), rows, "compacted");
        summary.partitions += 1;
        summary.files_before += files.len();
        summary.files_after += intent.outputs.len();
        summary.rows += rows;
    }
    Ok(summary)
}

/// Step 1: the rows of `files` into fsynced temporaries beside them.
fn merge(
    lake: &Lake,
    partition: &Path,
    files: &[PathBuf],
    run_id: &str,
    options: &CompactOptions,
) -> Result<(Vec<(PathBuf, PathBuf)>, u64)> {
    let properties = writer_properties(lake, &options.writer)?;
    let mut outputs = Vec::new();
    let mut current: Option<(ArrowWriter<File>, PathBuf, usize)> = None;
    let mut total = 0u64;
    let close = |writer: ArrowWriter<File>, temporary: &Path| -> Result<()> {
        let file = writer
            .into_inner()
            .map_err(|e| LakeError::parquet(temporary, e))?;
        file.sync_all().map_err(|e| LakeError::io(temporary, e))?;
        fsio::journal::record("fsync", temporary);
        Ok(())
    };
    for input in files {
        let reader = File::open(input)
            .map_err(|e| LakeError::io(input, e))
            .and_then(|f| {
                ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| b.with_batch_size(8192).build())
                    .map_err(|e| LakeError::parquet(input, e))
            })?;
        for batch in reader {
            let batch = batch?;
            // The events schema, whatever the file's own field order.
            let batch = align(&batch)?;
            if current
                .as_ref()
                .is_some_and(|(_, _, rows)| *rows >= options.max_file_rows)
            {
                let (writer, temporary, _) = current.take().expect("checked");
                close(writer, &temporary)?;
            }
            if current.is_none() {
                let destination = partition.join(format!(
                    "part-{run_id}-compact-{:04}.parquet",
                    outputs.len() + 1
                ));
                let temporary = fsio::temporary_path(&destination);
                let file = fsio::create_private(&temporary)?;
                let writer = ArrowWriter::try_new(
                    file,
                    poolsight_model::event_schema(),
                    Some(properties.clone()),
                )
                .map_err(|e| LakeError::parquet(&temporary, e))?;
                outputs.push((temporary.clone(), destination));
                current = Some((writer, temporary, 0));
            }
            let (writer, temporary, rows) = current.as_mut().expect("opened above");
            write_bounded(writer, &batch, options.writer.max_row_group_bytes)
                .map_err(|e| LakeError::parquet(temporary.as_path(), e))?;
            *rows += batch.num_rows();
            total += batch.num_rows() as u64;
        }
    }
    if let Some((writer, temporary, _)) = current {
        close(writer, &temporary)?;
    }
    Ok((outputs, total))
}

/// `batch` with the events schema's columns in its order (a file written
/// by an older version may lack a newer column: nulls).
fn align(batch: &arrow::record_batch::RecordBatch) -> Result<arrow::record_batch::RecordBatch> {
    let schema = poolsight_model::event_schema();
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) if column.data_type() == field.data_type() => Ok(column.clone()),
            Some(column) => Ok(arrow::compute::cast(column, field.data_type())?),
            None => Ok(arrow::array::new_null_array(
                field.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(arrow::record_batch::RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::EventWriter;
    use poolsight_model::Event;

    fn write_runs(lake: &Lake, runs: std::ops::Range<usize>) {
        for run in runs {
            let mut writer = EventWriter::new(
                lake,
                &format!("run{run:03}"),
                "w0",
                WriterOptions::default(),
            )
            .unwrap();
            for i in 0..5 {
                let key = format!("run{run}-{i}");
                let event = Event {
                    event_key: Some(key.clone().into()),
                    event_time: poolsight_model::time::parse_event_time("2026-11-20T10:00:00Z"),
                    ..Default::default()
                };
                writer
                    .push(&event, poolsight_model::normalize::key_hash(&key))
                    .unwrap();
            }
            writer.finish().unwrap();
        }
    }

    #[test]
    fn small_files_are_merged_and_big_ones_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let lock = lake.lock().unwrap();
        write_runs(&lake, 0..20);
        let options = CompactOptions::default();
        let summary = compact(&lake, &lock, &options).unwrap();
        assert_eq!(
            (summary.files_before, summary.files_after, summary.rows),
            (20, 1, 100)
        );
        let merged = lake.event_files().unwrap();
        // The merged file now counts as big: the next compaction leaves it.
        let big = fs::metadata(&merged[0]).unwrap().len();
        write_runs(&lake, 20..40);
        let summary = compact(
            &lake,
            &lock,
            &CompactOptions {
                small_file_bytes: big,
                ..options
            },
        )
        .unwrap();
        assert_eq!((summary.files_before, summary.files_after), (20, 1));
        let files = lake.event_files().unwrap();
        assert_eq!(files.len(), 2);
        assert!(files.contains(&merged[0]), "the big file was not rewritten");
        let index = crate::KeyIndex::open(&lake);
        let day = crate::keys::day_of(
            poolsight_model::time::parse_event_time("2026-11-20T10:00:00Z").unwrap(),
        );
        assert!(index
            .contains(day, poolsight_model::normalize::key_hash("run39-4"))
            .unwrap());
        assert_eq!(index.stats().keys, 200);
    }
}
