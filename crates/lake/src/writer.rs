//! Writes [`Event`] rows into `events/event_date=YYYY-MM-DD/` Parquet files.
//!
//! One [`EventWriter`] per worker thread: rows are buffered per partition
//! into Arrow batches, batches stream into an open Parquet file (zstd) and
//! row groups are flushed as they fill, so memory stays bounded whatever
//! the input size. A file is written under a hidden temporary name and
//! renamed into place when closed: readers never see half a file. Then its
//! dedup sidecar is written (see [`crate::keys`]).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;

use chrono::DateTime;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
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
    file_prefix: String,
    options: WriterOptions,
    properties: WriterProperties,
    sequence: usize,
    clock: u64,
    open: HashMap<i64, OpenPart>,
    stats: WriteStats,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl EventWriter {
    /// A writer whose files are named `part-<run_id>-<writer_id>-<n>.parquet`.
    pub fn new(lake: &Lake, run_id: &str, writer_id: &str, options: WriterOptions) -> Result<Self> {
        let level = ZstdLevel::try_new(options.zstd_level)
            .map_err(|e| LakeError::parquet(lake.events_dir(), e))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(options.row_group_rows))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(format!("poolsight {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            lake: lake.clone(),
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
            part.writer
                .write(&batch)
                .map_err(|e| LakeError::parquet(&part.temporary, e))?;
        }
        if part.rows >= self.options.max_file_rows {
            let part = self.open.remove(&day).expect("present");
            self.close_part(part)?;
        }
        Ok(())
    }

    /// Closes every open file and returns what was written.
    pub fn finish(mut self) -> Result<WriteStats> {
        let days: Vec<i64> = self.open.keys().copied().collect();
        for day in days {
            if let Some(part) = self.open.remove(&day) {
                self.close_part(part)?;
            }
        }
        Ok(std::mem::take(&mut self.stats))
    }

    fn open_part(&mut self, day: i64) -> Result<OpenPart> {
        let date = DateTime::from_timestamp(day * 86_400, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "invalid".into());
        let dir = self
            .lake
            .events_dir()
            .join(format!("{PARTITION_COLUMN}={date}"));
        fs::create_dir_all(&dir).map_err(|e| LakeError::io(&dir, e))?;
        self.sequence += 1;
        let name = format!("{}-{:04}.parquet", self.file_prefix, self.sequence);
        let destination = dir.join(&name);
        let temporary = dir.join(format!(".{name}.tmp"));
        let file = File::create(&temporary).map_err(|e| LakeError::io(&temporary, e))?;
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
        fs::rename(&part.temporary, &part.destination)
            .map_err(|e| LakeError::io(&part.destination, e))?;
        if let Some(dir) = part.destination.parent() {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        write_sidecar(&self.lake, &part.destination, &mut part.keys)?;
        tracing::debug!(file = %part.destination.display(), rows = part.rows, date = %part.date, "wrote events file");
        self.stats.files.push(part.destination);
        Ok(())
    }
}
