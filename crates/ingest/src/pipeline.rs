//! The ingest pipeline: payload bytes → decode → normalize → dedup → lake.
//!
//! A [`Pipeline`] holds what the workers of one run share (the lake lock,
//! the dedup index, the quarantine, the counters); each worker thread owns a
//! [`Worker`] with its own Parquet writer, so decompression, parsing,
//! encoding and compression all run in parallel. Sources (local files now,
//! AWS collectors later) hand payloads to [`Worker::ingest_payload`].

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use poolsight_lake::keys::KeyIndexStats;
use poolsight_lake::writer::WriteStats;
use poolsight_lake::{
    new_run_id, EventWriter, KeyIndex, Lake, LakeError, QuarantineEntry, QuarantineWriter,
    WriterOptions,
};
use poolsight_model::normalize::key_hash;
use poolsight_model::{normalize, NormalizeOptions, Origin, Rejection};

use crate::decode::{decode, Decoded, PayloadKind, Position, Problem};

/// Errors that stop a run (per-record and per-file problems never do:
/// they are quarantined).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ingest worker panicked")]
    WorkerPanicked,
}

/// Options of one ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Worker threads (default: the number of cores).
    pub workers: usize,
    pub writer: WriterOptions,
    pub max_record_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            writer: WriterOptions::default(),
            max_record_bytes: poolsight_model::normalize::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// Counts of one run; printed as the ingest summary.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    /// Files (or objects) read.
    pub files: u64,
    /// Files skipped on purpose (digest files, insight files, not JSON by name).
    pub files_skipped: u64,
    /// Files that could not be read at all, or held nothing readable.
    pub files_failed: u64,
    /// Bytes read (compressed, as stored).
    pub bytes: u64,
    /// Records found.
    pub records: u64,
    /// Events written to the lake.
    pub written: u64,
    /// Records already in the lake, or seen earlier in this run.
    pub duplicates: u64,
    /// Records and file problems sent to quarantine.
    pub quarantined: u64,
    /// Parquet files written.
    pub parquet_files: u64,
}

#[derive(Debug, Default)]
struct Counters {
    files: AtomicU64,
    files_skipped: AtomicU64,
    files_failed: AtomicU64,
    bytes: AtomicU64,
    records: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
}

/// What the workers of one run share.
pub struct Pipeline {
    lake: Lake,
    run_id: String,
    options: IngestOptions,
    normalize_options: NormalizeOptions,
    index: KeyIndex,
    quarantine: QuarantineWriter,
    counters: Counters,
    _lock: poolsight_lake::LakeLock,
}

/// Where a payload came from.
#[derive(Debug, Clone)]
pub struct PayloadSource<'a> {
    /// `file`, `s3`, `cloudwatch_logs`, `cloudtrail_lookup`.
    pub kind: &'a str,
    /// Path or URI.
    pub uri: &'a str,
}

impl Pipeline {
    /// Opens (creating if needed) and locks the lake, clears temporaries of
    /// a killed run, and loads the dedup index.
    pub fn open(
        lake_dir: &Path,
        options: IngestOptions,
    ) -> Result<(Arc<Self>, KeyIndexStats), IngestError> {
        let lake = Lake::create(lake_dir)?;
        let lock = lake.lock()?;
        let removed = lake.remove_stale_temporaries()?;
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of an interrupted run");
        }
        let (index, stats) = KeyIndex::load(&lake)?;
        if stats.rebuilt_sidecars > 0 {
            tracing::info!(
                rebuilt = stats.rebuilt_sidecars,
                "rebuilt dedup sidecars from Parquet"
            );
        }
        let run_id = new_run_id();
        let normalize_options = NormalizeOptions {
            max_record_bytes: options.max_record_bytes,
            ingested_at: chrono::Utc::now().timestamp_micros(),
        };
        Ok((
            Arc::new(Self {
                quarantine: QuarantineWriter::new(&lake, &run_id),
                lake,
                run_id,
                options,
                normalize_options,
                index,
                counters: Counters::default(),
                _lock: lock,
            }),
            stats,
        ))
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn options(&self) -> &IngestOptions {
        &self.options
    }

    /// A worker with its own writer; `id` names its files.
    pub fn worker(self: &Arc<Self>, id: usize) -> Result<Worker, IngestError> {
        Ok(Worker {
            writer: EventWriter::new(
                &self.lake,
                &self.run_id,
                &format!("w{id}"),
                self.options.writer.clone(),
            )?,
            pipeline: Arc::clone(self),
        })
    }

    /// Counts a file skipped on purpose.
    pub fn skip_file(&self, uri: &str, why: &str) {
        tracing::debug!(file = uri, why, "skipped");
        self.counters.files_skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a file that could not be read.
    pub fn fail_file(
        &self,
        uri: &str,
        kind: &'static str,
        reason: String,
    ) -> Result<(), IngestError> {
        self.counters.files_failed.fetch_add(1, Ordering::Relaxed);
        self.quarantine.add(QuarantineEntry {
            reason_kind: kind.into(),
            reason,
            source_uri: uri.into(),
            position: "file".into(),
            ..Default::default()
        })?;
        Ok(())
    }

    /// Writes the quarantine and returns the summary. Call after every
    /// worker has finished.
    pub fn finish(&self, writes: &[WriteStats]) -> Result<IngestSummary, IngestError> {
        let quarantined = self.quarantine.finish()?;
        let c = &self.counters;
        Ok(IngestSummary {
            files: c.files.load(Ordering::Relaxed),
            files_skipped: c.files_skipped.load(Ordering::Relaxed),
            files_failed: c.files_failed.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            records: c.records.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            quarantined,
            parquet_files: writes.iter().map(|w| w.files.len() as u64).sum(),
        })
    }
}

/// One worker thread's end of the pipeline.
pub struct Worker {
    pipeline: Arc<Pipeline>,
    writer: EventWriter,
}

impl Worker {
    /// Ingests one payload (a whole file or object, gzip or not).
    pub fn ingest_payload(
        &mut self,
        bytes: &[u8],
        source: &PayloadSource<'_>,
    ) -> Result<PayloadKind, IngestError> {
        let pipeline = Arc::clone(&self.pipeline);
        pipeline.counters.files.fetch_add(1, Ordering::Relaxed);
        pipeline
            .counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);

        let inflated;
        let content: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(bytes.len() * 8);
            let result = MultiGzDecoder::new(bytes).read_to_end(&mut out);
            if let Err(error) = result {
                pipeline.quarantine.add(QuarantineEntry {
                    reason_kind: "truncated_gzip".into(),
                    reason: format!(
                        "gzip stream is damaged or cut short ({error}); the {} bytes inflated before it were read, records cut by it are quarantined separately",
                        out.len()
                    ),
                    source_uri: source.uri.into(),
                    position: format!("byte {} (inflated)", out.len()),
                    byte_offset: Some(out.len() as i64),
                    ..Default::default()
                })?;
            }
            inflated = out;
            &inflated
        } else {
            bytes
        };

        let (text, invalid_utf8_at) = match std::str::from_utf8(content) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), None),
            Err(error) => (String::from_utf8_lossy(content), Some(error.valid_up_to())),
        };
        if let Some(offset) = invalid_utf8_at {
            pipeline.quarantine.add(QuarantineEntry {
                reason_kind: "invalid_utf8".into(),
                reason: format!(
                    "the content is not valid UTF-8 (first bad byte at offset {offset}); records containing invalid bytes are quarantined, the others are kept"
                ),
                source_uri: source.uri.into(),
                position: format!("byte {offset}"),
                byte_offset: Some(offset as i64),
                ..Default::default()
            })?;
        }

        let mut failure: Option<IngestError> = None;
        let before = pipeline.counters.records.load(Ordering::Relaxed);
        let kind = decode(&text, |item| {
            if failure.is_some() {
                return;
            }
            let result = match item {
                Decoded::Record {
                    text: record,
                    position,
                    format,
                } => {
                    if invalid_utf8_at.is_some() && record.contains('\u{fffd}') {
                        pipeline.counters.records.fetch_add(1, Ordering::Relaxed);
                        self.quarantine(
                            source,
                            position,
                            "invalid_utf8",
                            "the record contains bytes that are not valid UTF-8".into(),
                            Some(record),
                        )
                    } else {
                        self.ingest_record(record, position, format, source)
                    }
                }
                Decoded::Problem(problem) => self.quarantine_problem(source, problem),
            };
            if let Err(error) = result {
                failure = Some(error);
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        match kind {
            PayloadKind::Digest => {
                pipeline.counters.files.fetch_sub(1, Ordering::Relaxed);
                pipeline.skip_file(source.uri, "CloudTrail digest file");
            }
            PayloadKind::Unknown => {
                pipeline
                    .counters
                    .files_failed
                    .fetch_add(1, Ordering::Relaxed);
            }
            PayloadKind::Empty => tracing::debug!(file = source.uri, "empty file"),
            _ => {
                if pipeline.counters.records.load(Ordering::Relaxed) == before {
                    tracing::debug!(file = source.uri, "no records in file");
                }
            }
        }
        Ok(kind)
    }

    fn ingest_record(
        &mut self,
        record: &str,
        position: Position,
        format: &'static str,
        source: &PayloadSource<'_>,
    ) -> Result<(), IngestError> {
        let pipeline = &self.pipeline;
        pipeline.counters.records.fetch_add(1, Ordering::Relaxed);
        let origin = Origin {
            source_kind: source.kind,
            source_format: format,
            source_uri: source.uri,
            position: position.label.clone(),
        };
        match normalize(record, &origin, &pipeline.normalize_options) {
            Ok(event) => {
                let key = key_hash(event.event_key.as_deref().unwrap_or_default());
                if pipeline.index.claim(key) {
                    self.writer.push(&event, key)?;
                    pipeline.counters.written.fetch_add(1, Ordering::Relaxed);
                } else {
                    pipeline.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(rejection) => {
                let kind = rejection_kind(&rejection);
                self.quarantine(source, position, kind, rejection.to_string(), Some(record))
            }
        }
    }

    fn quarantine(
        &self,
        source: &PayloadSource<'_>,
        position: Position,
        kind: &'static str,
        reason: String,
        raw: Option<&str>,
    ) -> Result<(), IngestError> {
        self.pipeline.quarantine.add(QuarantineEntry {
            reason_kind: kind.into(),
            reason,
            source_uri: source.uri.into(),
            position: position.label,
            line: position.line,
            byte_offset: position.byte_offset,
            record_bytes: raw.map(|r| r.len() as i64),
            raw: raw.map(str::to_string),
        })?;
        Ok(())
    }

    fn quarantine_problem(
        &self,
        source: &PayloadSource<'_>,
        problem: Problem,
    ) -> Result<(), IngestError> {
        self.pipeline.quarantine.add(QuarantineEntry {
            reason_kind: problem.kind.into(),
            reason: problem.reason,
            source_uri: source.uri.into(),
            position: problem.position.label,
            line: problem.position.line,
            byte_offset: problem.position.byte_offset,
            record_bytes: None,
            raw: problem.raw,
        })?;
        Ok(())
    }

    /// Closes this worker's files.
    pub fn finish(self) -> Result<WriteStats, IngestError> {
        Ok(self.writer.finish()?)
    }
}

fn rejection_kind(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::InvalidJson(_) => "invalid_json",
        Rejection::NotAnObject { .. } => "not_an_object",
        Rejection::TooLarge { .. } => "too_large",
        Rejection::MissingEventTime => "missing_event_time",
        Rejection::BadEventTime(_) => "bad_event_time",
        Rejection::UnknownShape(_) => "unknown_shape",
    }
}
