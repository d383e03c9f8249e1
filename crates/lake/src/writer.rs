//! Writes [`Event`] rows into `events/event_date=YYYY-MM-DD/` Parquet files.
//!
//! One [`EventWriter`] per worker thread: rows are buffered per partition
//! into Arrow batches, batches stream into an open Parquet file (zstd) and
//! row groups are flushed as they fill, so memory stays bounded whatever
//! the input size. A file is written under a hidden temporary name and
//! renamed into place when closed: readers never see half a file. Then its
//! dedup sidecar is written (see [`crate::keys`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use chrono::DateTime;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use poolsight_model::{event_schema, Event, EventBatchBuilder, PARTITION_COLUMN};

use crate::keys::write_sidecar;
use crate::{Lake, LakeError, Result};

/// Tuning of the event writer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Rows per Arrow batch handed to the Parquet writer.
    pub batch_rows: usize,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Bytes (in memory, before encoding) a row group holds at most.
    pub max_row_group_bytes: usize,
    /// A file is closed (and a new one started) past this many rows.
    pub max_file_rows: usize,
    /// Partitions a writer keeps open at once; the least recently used is
    /// closed beyond this.
    pub max_open_partitions: usize,
    /// zstd level (1 = fast, 3 = default of most tools).
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            batch_rows: 4096,
            row_group_rows: 64 * 1024,
            max_row_group_bytes: 128 << 20,
            max_file_rows: 1_000_000,
            max_open_partitions: 16,
            zstd_level: 1,
        }
    }
}

/// What a writer produced.
#[derive(Debug, Default, Clone)]
pub struct WriteStats {
    pub rows: u64,
    pub files: Vec<PathBuf>,
}

struct OpenPart {
    date: String,
    builder: EventBatchBuilder,
    writer: ArrowWriter<BufWriter<File>>,
    temporary: PathBuf,
    destination: PathBuf,
    rows: usize,
    keys: Vec<u128>,
    last_used: u64,
}

/// Writes one worker's rows into the lake.
pub struct EventWriter {
    lake: Lake,
    /// The table folder (`events/` or `insights/`).
    table_dir: PathBuf,
    file_prefix: String,
    options: WriterOptions,
    properties: WriterProperties,
    sequence: usize,
    clock: u64,
    open: HashMap<i64, OpenPart>,
    stats: WriteStats,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Columns whose values are (nearly) unique per event.
const UNIQUE_COLUMNS: &[&str] = &[
    "event_id",
    "event_key",
    "request_id",
    "source_position",
    "s3_key",
];

/// Columns holding JSON documents.
const JSON_COLUMNS: &[&str] = &[
    "user_identity",
    "request_parameters",
    "response_elements",
    "additional_event_data",
    "resources",
    "extra",
    "dynamodb_item_key",
];

/// The Parquet properties of every events file (the writer's and the
/// compactor's).
pub(crate) fn writer_properties(lake: &Lake, options: &WriterOptions) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(options.zstd_level)
        .map_err(|e| LakeError::parquet(lake.events_dir(), e))?;
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("poolsight {}", env!("CARGO_PKG_VERSION")));
    // Nearly unique per row: a dictionary only costs time before it is
    // abandoned, and min/max statistics of JSON text prune nothing.
    for column in UNIQUE_COLUMNS {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    for column in JSON_COLUMNS {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(*column), false)
            .set_column_statistics_enabled(ColumnPath::from(*column), EnabledStatistics::None);
    }
    Ok(builder.build())
}

/// Writes `batch`, closing the row group early once it holds
/// `max_row_group_bytes` (wide JSON rows make row counts a poor bound).
pub(crate) fn write_bounded<W: std::io::Write + Send>(
    writer: &mut ArrowWriter<W>,
    batch: &arrow::record_batch::RecordBatch,
    max_row_group_bytes: usize,
) -> std::result::Result<(), parquet::errors::ParquetError> {
    writer.write(batch)?;
    if writer.in_progress_size() >= max_row_group_bytes {
        writer.flush()?;
    }
    Ok(())
}

impl EventWriter {
    /// A writer of the `events` table whose files are named
    /// `part-<run_id>-<writer_id>-<n>.parquet`.
    pub fn new(lake: &Lake, run_id: &str, writer_id: &str, options: WriterOptions) -> Result<Self> {
        Self::for_table(lake, lake.events_dir(), run_id, writer_id, options)
    }

    /// A writer of the table in `table_dir` (`events/`, `insights/`).
    pub fn for_table(
        lake: &Lake,
        table_dir: PathBuf,
        run_id: &str,
        writer_id: &str,
        options: WriterOptions,
    ) -> Result<Self> {
        let properties = writer_properties(lake, &options)?;
        Ok(Self {
            lake: lake.clone(),
            table_dir,
            file_prefix: format!("part-{run_id}-{writer_id}"),
            options,
            properties,
            sequence: 0,
            clock: 0,
            open: HashMap::new(),
            stats: WriteStats::default(),
        })
    }

    /// Appends one row whose dedup hash is `key`. The row must have an
    /// `event_time` (the normalizer guarantees it).
    pub fn push(&mut self, event: &Event<'_>, key: u128) -> Result<()> {
        let micros = event.event_time.ok_or_else(|| LakeError::NotALake {
            path: self.lake.root().to_path_buf(),
            reason: "an event without event_time reached the writer".into(),
        })?;
        let day = micros.div_euclid(MICROS_PER_DAY);
        self.clock += 1;
        if !self.open.contains_key(&day) {
            if self.open.len() >= self.options.max_open_partitions {
                self.close_least_recently_used()?;
            }
            let part = self.open_part(day)?;
            self.open.insert(day, part);
        }
        let part = self.open.get_mut(&day).expect("inserted above");
        part.last_used = self.clock;
        part.builder.push(event);
        part.keys.push(key);
        part.rows += 1;
        self.stats.rows += 1;
        if part.builder.len() >= self.options.batch_rows {
            let batch = part.builder.finish()?;
            write_bounded(&mut part.writer, &batch, self.options.max_row_group_bytes)
                .map_err(|e| LakeError::parquet(&part.temporary, e))?;
        }
        if part.rows >= self.options.max_file_rows {
            let part = self.open.remove(&day).expect("present");
            self.close_part(part)?;
        }
        Ok(())
    }

    /// Closes every open file (each is then durable and visible) and keeps
    /// the writer usable: the next row opens new files.
    pub fn flush(&mut self) -> Result<()> {
        let days: Vec<i64> = self.open.keys().copied().collect();
        for day in days {
            if let Some(part) = self.open.remove(&day) {
                self.close_part(part)?;
            }
        }
        Ok(())
    }

    /// Closes every open file and returns what was written.
    pub fn finish(mut self) -> Result<WriteStats> {
        self.flush()?;
        Ok(std::mem::take(&mut self.stats))
    }

    fn open_part(&mut self, day: i64) -> Result<OpenPart> {
        let date = DateTime::from_timestamp(day * 86_400, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "invalid".into());
        let dir = self.table_dir.join(format!("{PARTITION_COLUMN}={date}"));
        crate::fsio::create_dir_durable(&dir)?;
        self.sequence += 1;
        let name = format!("{}-{:04}.parquet", self.file_prefix, self.sequence);
        let destination = dir.join(&name);
        let temporary = crate::fsio::temporary_path(&destination);
        let file = crate::fsio::create_private(&temporary)?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            event_schema(),
            Some(self.properties.clone()),
        )
        .map_err(|e| LakeError::parquet(&temporary, e))?;
        Ok(OpenPart {
            date,
            builder: EventBatchBuilder::with_capacity(self.options.batch_rows),
            writer,
            temporary,
            destination,
            rows: 0,
            keys: Vec::new(),
            last_used: self.clock,
        })
    }

    fn close_least_recently_used(&mut self) -> Result<()> {
        if let Some(day) = self
            .open
            .iter()
            .min_by_key(|(_, part)| part.last_used)
            .map(|(day, _)| *day)
        {
            let part = self.open.remove(&day).expect("present");
            self.close_part(part)?;
        }
        Ok(())
    }

    fn close_part(&mut self, mut part: OpenPart) -> Result<()> {
        if !part.builder.is_empty() {
            let batch = part.builder.finish()?;
            part.writer
                .write(&batch)
                .map_err(|e| LakeError::parquet(&part.temporary, e))?;
        }
        let buffered = part
            .writer
            .into_inner()
            .map_err(|e| LakeError::parquet(&part.temporary, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| LakeError::io(&part.temporary, e.into_error()))?;
        file.sync_all()
            .map_err(|e| LakeError::io(&part.temporary, e))?;
        drop(file);
        crate::fsio::journal::record("fsync", &part.temporary);
        crate::fsio::rename_durable(&part.temporary, &part.destination)?;
        write_sidecar(&self.lake, &part.destination, &mut part.keys)?;
        tracing::debug!(file = %part.destination.display(), rows = part.rows, date = %part.date, "wrote events file");
        self.stats.files.push(part.destination);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuned_columns_exist_in_the_schema() {
        let schema = event_schema();
        for column in UNIQUE_COLUMNS.iter().chain(JSON_COLUMNS) {
            assert!(schema.field_with_name(column).is_ok(), "{column}");
        }
    }

    #[test]
    fn rows_land_in_their_day_and_files_appear_only_when_closed() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let mut writer = EventWriter::new(
            &lake,
            "run",
            "w0",
            WriterOptions {
                batch_rows: 2,
                ..Default::default()
            },
        )
        .unwrap();
        for (index, time) in [
            "2024-01-01T00:00:00Z",
            "2024-01-01T23:59:59Z",
            "2024-01-02T00:00:00Z",
        ]
        .iter()
        .enumerate()
        {
            let event = Event {
                event_key: Some(format!("k{index}").into()),
                event_time: poolsight_model::time::parse_event_time(time),
                ..Default::default()
            };
            writer.push(&event, index as u128).unwrap();
        }
        assert!(
            lake.event_files().unwrap().is_empty(),
            "nothing visible before close"
        );
        let stats = writer.finish().unwrap();
        assert_eq!(stats.rows, 3);
        let files = lake.event_files().unwrap();
        let partitions: Vec<String> = files
            .iter()
            .map(|f| {
                f.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            partitions,
            vec!["event_date=2024-01-01", "event_date=2024-01-02"]
        );
        let index = crate::KeyIndex::open(&lake);
        let day =
            |time| crate::keys::day_of(poolsight_model::time::parse_event_time(time).unwrap());
        let (first, second) = (day("2024-01-01T12:00:00Z"), day("2024-01-02T12:00:00Z"));
        assert!(index.contains(first, 0).unwrap() && index.contains(first, 1).unwrap());
        assert!(index.contains(second, 2).unwrap());
        // Sharded by day: a key is looked for in its own day only.
        assert!(!index.contains(first, 2).unwrap() && !index.contains(first, 7).unwrap());
        assert_eq!(index.stats().days, 2);
    }
}
