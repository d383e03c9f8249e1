//! The ingest pipeline: payload bytes → decode → normalize → dedup → lake.
//!
//! A [`Pipeline`] holds what the workers of one run share (the lake lock,
//! the dedup index, the quarantine, the counters); each worker thread owns a
//! [`Worker`] with its own Parquet writer, so decompression, parsing,
//! encoding and compression all run in parallel. Sources (local files now,
//! AWS collectors later) hand payloads to [`Worker::ingest_payload`].

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use poolsight_lake::keys::{day_of, KeyIndexStats};
use poolsight_lake::writer::WriteStats;
use poolsight_lake::{
    new_run_id, EventWriter, KeyIndex, Lake, LakeError, QuarantineEntry, QuarantineWriter,
    WriterOptions,
};
use poolsight_model::normalize::key_hash;
use poolsight_model::{normalize, NormalizeOptions, Origin, Rejection};

use crate::decode::{
    decode_json_lines, starts_json_lines, Decoded, LineCursor, PayloadKind, Position, Problem,
};
use crate::split::split_document;

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Payloads are read in chunks of this size; JSON Lines are processed chunk
/// by chunk, so their memory stays bounded whatever the file size.
const CHUNK_BYTES: usize = 8 << 20;

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

fn memrchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', bytes)
}

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
    /// A gzip payload is read up to this many inflated bytes; the rest is
    /// reported `too_large` (a gzip bomb costs bounded time and no memory).
    pub max_inflated_bytes: u64,
}

/// The default of [`IngestOptions::max_inflated_bytes`]: 1 GiB. A trail
/// file covers about five minutes of one region; the largest seen inflate
/// to a few hundred MB.
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 1 << 30;

/// A reader that fails with [`std::io::ErrorKind::FileTooLarge`] past a
/// number of bytes.
struct InflateCap<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for InflateCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One more byte tells a payload of exactly the cap from a larger one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    "inflated size above ingest.max_inflated_bytes",
                )),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let read = self.inner.read(&mut buf[..want])?;
        self.left -= read as u64;
        Ok(read)
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            writer: WriterOptions::default(),
            max_record_bytes: poolsight_model::normalize::DEFAULT_MAX_RECORD_BYTES,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
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

/// What one payload (or one record) produced; sources use it for their own
/// per-source summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PayloadCounts {
    pub records: u64,
    pub written: u64,
    pub duplicates: u64,
    pub quarantined: u64,
}

impl std::ops::AddAssign for PayloadCounts {
    fn add_assign(&mut self, other: Self) {
        self.records += other.records;
        self.written += other.written;
        self.duplicates += other.duplicates;
        self.quarantined += other.quarantined;
    }
}

/// One record handed over by a source that reads records one by one
/// (CloudWatch Logs events, LookupEvents results).
#[derive(Debug, Clone)]
pub struct RecordInput<'a> {
    /// The record's JSON text.
    pub text: &'a str,
    /// The carrier's shape: `cloudwatch_logs`, `lookup_events`, …
    pub format: &'static str,
    /// Where it was in its source (`stream s, event e`, `Events[3]`).
    pub position: String,
    /// The carrier's own time for the record, microseconds (used only when
    /// the record has no time of its own).
    pub fallback_time: Option<i64>,
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
    lock: poolsight_lake::LakeLock,
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
    pub fn open(lake_dir: &Path, options: IngestOptions) -> Result<Arc<Self>, IngestError> {
        let lake = Lake::create(lake_dir)?;
        let lock = lake.lock()?;
        // An interrupted compaction is finished before temporaries go: its
        // intent names temporaries it still needs.
        let recovered = poolsight_lake::compact::recover(&lake, &lock)?;
        if recovered > 0 {
            tracing::info!(recovered, "finished compactions an earlier run left");
        }
        let removed = lake.remove_stale_temporaries()?;
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of an interrupted run");
        }
        let index = KeyIndex::open(&lake);
        let run_id = new_run_id();
        // Every row of this run carries one arrival time, later than any
        // earlier run's: incremental detection judges rows by it.
        let ingested_at = poolsight_lake::arrival::next_arrival(
            &lake,
            &lock,
            chrono::Utc::now().timestamp_micros(),
        )?;
        let normalize_options = NormalizeOptions {
            max_record_bytes: options.max_record_bytes,
            ingested_at,
        };
        let quarantine = QuarantineWriter::new(&lake, &run_id);
        Ok(Arc::new(Self {
            quarantine,
            lake,
            run_id,
            options,
            normalize_options,
            index,
            counters: Counters::default(),
            lock,
        }))
    }

    /// Claims an event's key in the dedup index (`true`: new, write it).
    /// The first claim of a day loads that day's keys; a damaged file found
    /// then is moved aside and quarantined here.
    fn claim(&self, event: &poolsight_model::Event<'_>, key: u128) -> Result<bool, IngestError> {
        let day = day_of(event.event_time.unwrap_or_default());
        let fresh = self.index.claim(day, key)?;
        for (was, now, why) in self.index.take_moved_aside() {
            self.quarantine.add(QuarantineEntry {
                reason_kind: "damaged_parquet".into(),
                reason: format!(
                    "this file in events/ cannot be read as poolsight events ({why}); it was moved to {now} so that readers and later runs work"
                ),
                source_uri: was,
                position: "file".into(),
                ..Default::default()
            })?;
        }
        Ok(fresh)
    }

    /// What the dedup index loaded so far (days, files, keys).
    pub fn index_stats(&self) -> KeyIndexStats {
        self.index.stats()
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The lake's writer lock, held for as long as the pipeline lives.
    pub fn lock(&self) -> &poolsight_lake::LakeLock {
        &self.lock
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
            id,
            insights: None,
            counts: PayloadCounts::default(),
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

    /// Writes the quarantine entries gathered so far (workers call it when
    /// they flush, so a checkpoint never passes a quarantined record that is
    /// not on disk yet).
    pub fn flush_quarantine(&self) -> Result<(), IngestError> {
        self.quarantine.finish()?;
        Ok(())
    }

    /// Writes the quarantine and returns the summary. Call after every
    /// worker has finished.
    pub fn finish(&self, writes: &[WriteStats]) -> Result<IngestSummary, IngestError> {
        let quarantined = self.quarantine.finish()?;
        // A lake in S3: this run's files become visible there now.
        if let Some(remote) = self.lake.remote() {
            remote.publisher.publish()?;
        }
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
    id: usize,
    writer: EventWriter,
    /// CloudTrail Insights events go to the `insights` table (opened when
    /// the first one comes).
    insights: Option<EventWriter>,
    counts: PayloadCounts,
}

/// `eventType` of CloudTrail Insights events.
const INSIGHT_EVENT_TYPE: &str = "AwsCloudTrailInsight";

impl Worker {
    /// What this worker's payloads and records produced so far.
    pub fn counts(&self) -> PayloadCounts {
        self.counts
    }

    /// Ingests one record (a CloudWatch Logs message, a LookupEvents
    /// `CloudTrailEvent`): normalize, dedup, write — or quarantine.
    pub fn ingest_one_record(
        &mut self,
        record: &RecordInput<'_>,
        source: &PayloadSource<'_>,
    ) -> Result<(), IngestError> {
        let position = Position {
            label: record.position.clone(),
            line: None,
            byte_offset: None,
        };
        self.ingest_record_at(
            record.text,
            position,
            record.format,
            source,
            record.fallback_time,
        )
    }

    /// Makes everything written so far durable: closes the open Parquet
    /// files (fsync, rename, dedup sidecars) and writes pending quarantine
    /// entries. A source moves its checkpoint only after this returns.
    pub fn flush(&mut self) -> Result<(), IngestError> {
        self.writer.flush()?;
        if let Some(insights) = &mut self.insights {
            insights.flush()?;
        }
        self.pipeline.flush_quarantine()
    }

    /// Ingests one payload held in memory (a whole file or object, gzip or not).
    pub fn ingest_payload(
        &mut self,
        bytes: &[u8],
        source: &PayloadSource<'_>,
    ) -> Result<PayloadKind, IngestError> {
        self.pipeline.counters.files.fetch_add(1, Ordering::Relaxed);
        self.pipeline
            .counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.starts_with(&GZIP_MAGIC) {
            self.ingest_stream(MultiGzDecoder::new(bytes), true, source)
        } else {
            self.ingest_stream(bytes, false, source)
        }
    }

    /// Ingests one file from disk, streaming it: JSON Lines are processed in
    /// chunks, so a file of any size is read in bounded memory.
    pub fn ingest_file(
        &mut self,
        path: &Path,
        source: &PayloadSource<'_>,
    ) -> Result<PayloadKind, IngestError> {
        let io_error = |source: std::io::Error| IngestError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io_error)?;
        let size = file.metadata().map_err(io_error)?.len();
        let mut magic = [0u8; 2];
        let peeked = file.read(&mut magic).map_err(io_error)?;
        file.seek(std::io::SeekFrom::Start(0)).map_err(io_error)?;
        self.pipeline.counters.files.fetch_add(1, Ordering::Relaxed);
        self.pipeline
            .counters
            .bytes
            .fetch_add(size, Ordering::Relaxed);
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        if peeked == 2 && magic == GZIP_MAGIC {
            self.ingest_stream(MultiGzDecoder::new(reader), true, source)
        } else {
            self.ingest_stream(reader, false, source)
        }
    }

    fn ingest_stream(
        &mut self,
        reader: impl Read,
        compressed: bool,
        source: &PayloadSource<'_>,
    ) -> Result<PayloadKind, IngestError> {
        let mut reader = InflateCap {
            inner: reader,
            left: if compressed {
                self.pipeline.options.max_inflated_bytes
            } else {
                u64::MAX
            },
        };
        let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + (CHUNK_BYTES >> 2));
        let mut eof = self.fill(&mut reader, &mut buffer, CHUNK_BYTES, 0, compressed, source)?;
        let probe = String::from_utf8_lossy(&buffer[..buffer.len().min(1 << 20)]);
        if probe
            .trim()
            .trim_start_matches('\u{feff}')
            .trim()
            .is_empty()
            && eof
        {
            tracing::debug!(file = source.uri, "empty file");
            return Ok(PayloadKind::Empty);
        }
        if !starts_json_lines(&probe) {
            return self.split_document(buffer, reader, eof, compressed, source);
        }
        let mut cursor = LineCursor::default();
        loop {
            let cut = if eof {
                buffer.len()
            } else {
                memrchr_newline(&buffer).map(|i| i + 1).unwrap_or(0)
            };
            if cut > 0 {
                self.decode_lines(&buffer[..cut], cursor, source)?;
                cursor.lines_before += buffer[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
                cursor.bytes_before += cut as u64;
                buffer.drain(..cut);
            }
            if eof {
                return Ok(PayloadKind::JsonLines);
            }
            // A line longer than a chunk grows the buffer up to the record limit.
            let limit = self.pipeline.options.max_record_bytes + CHUNK_BYTES;
            if buffer.len() >= limit {
                let skipped = self.skip_line(&mut reader, &mut buffer)?;
                self.quarantine(
                    source,
                    Position {
                        label: format!("line {}", cursor.lines_before + 1),
                        line: Some(cursor.lines_before as i64 + 1),
                        byte_offset: Some(cursor.bytes_before as i64),
                    },
                    "too_large",
                    format!("line is at least {skipped} bytes long, above the limit of {} bytes (ingest.max_record_bytes)", self.pipeline.options.max_record_bytes),
                    None,
                )?;
                self.pipeline
                    .counters
                    .records
                    .fetch_add(1, Ordering::Relaxed);
                cursor.lines_before += 1;
                cursor.bytes_before += skipped;
            }
            let target = buffer.len() + CHUNK_BYTES;
            eof = self.fill(
                &mut reader,
                &mut buffer,
                target,
                cursor.bytes_before,
                compressed,
                source,
            )?;
        }
    }

    /// A document (`{"Records":[…]}`, CLI output, an array, one record),
    /// split as a stream: `first` is what was read already, `reader` the rest.
    fn split_document(
        &mut self,
        first: Vec<u8>,
        reader: impl Read,
        eof: bool,
        compressed: bool,
        source: &PayloadSource<'_>,
    ) -> Result<PayloadKind, IngestError> {
        let pipeline = Arc::clone(&self.pipeline);
        let mut failure: Option<IngestError> = None;
        let mut handle = |item: Decoded<'_>| {
            if failure.is_none() {
                failure = self.ingest_decoded(item, source, false).err();
            }
        };
        let rest: Box<dyn Read + '_> = if eof {
            Box::new(std::io::empty())
        } else {
            Box::new(reader)
        };
        let end = split_document(first, rest, pipeline.options.max_record_bytes, &mut handle);
        if let Some(error) = failure {
            return Err(error);
        }
        if let Some(error) = end.error {
            // Where the stream stopped is not known to the byte here; the
            // quarantine says how many records came before it.
            self.stream_failed(&error, None, end.elements, compressed, source)?;
        }
        match end.kind {
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
            _ => {}
        }
        Ok(end.kind)
    }

    /// Reads until `buffer` holds `target` bytes or the stream ends. A damaged
    /// gzip stream is quarantined and treated as the end. Returns `true` at the end.
    fn fill(
        &self,
        reader: &mut impl Read,
        buffer: &mut Vec<u8>,
        target: usize,
        offset_of_buffer: u64,
        compressed: bool,
        source: &PayloadSource<'_>,
    ) -> Result<bool, IngestError> {
        // Reads straight into the buffer's spare capacity (no bounce copy).
        let want = target.saturating_sub(buffer.len());
        match reader.by_ref().take(want as u64).read_to_end(buffer) {
            Ok(read) => Ok(read < want),
            Err(error) => {
                let at = offset_of_buffer + buffer.len() as u64;
                self.stream_failed(&error, Some(at), 0, compressed, source)?;
                Ok(true)
            }
        }
    }

    /// Quarantines why a payload's stream stopped: the inflate cap, or a
    /// damaged gzip stream / unreadable file.
    fn stream_failed(
        &self,
        error: &std::io::Error,
        at: Option<u64>,
        records_before: usize,
        compressed: bool,
        source: &PayloadSource<'_>,
    ) -> Result<(), IngestError> {
        let position = at.map_or_else(|| "file".to_string(), |at| format!("byte {at} (inflated)"));
        let entry = if error.kind() == std::io::ErrorKind::FileTooLarge {
            self.pipeline
                .counters
                .files_failed
                .fetch_add(1, Ordering::Relaxed);
            QuarantineEntry {
                reason_kind: "too_large".into(),
                reason: format!(
                    "the object inflates to more than {} bytes (ingest.max_inflated_bytes): only its first {} bytes were read{}; raise the limit and ingest it again to read the rest",
                    self.pipeline.options.max_inflated_bytes,
                    self.pipeline.options.max_inflated_bytes,
                    if records_before > 0 { format!(" ({records_before} records in them)") } else { String::new() }
                ),
                source_uri: source.uri.into(),
                position,
                byte_offset: at.map(|at| at as i64),
                ..Default::default()
            }
        } else {
            QuarantineEntry {
                reason_kind: if compressed { "truncated_gzip" } else { "unreadable_file" }.into(),
                reason: format!(
                    "the {} is damaged or cut short ({error}); what came before it was read, records cut by it are quarantined separately",
                    if compressed { "gzip stream" } else { "file" }
                ),
                source_uri: source.uri.into(),
                position,
                byte_offset: at.map(|at| at as i64),
                ..Default::default()
            }
        };
        self.pipeline.quarantine.add(entry)?;
        Ok(())
    }

    /// Drops the rest of an over-long line (the buffer and the stream up to
    /// the next newline); returns the bytes dropped.
    fn skip_line(&self, reader: &mut impl Read, buffer: &mut Vec<u8>) -> Result<u64, IngestError> {
        let mut skipped = buffer.len() as u64;
        buffer.clear();
        let mut block = [0u8; 64 * 1024];
        loop {
            match reader.read(&mut block) {
                Ok(0) | Err(_) => return Ok(skipped),
                Ok(n) => match memchr_newline(&block[..n]) {
                    Some(index) => {
                        skipped += index as u64 + 1;
                        buffer.extend_from_slice(&block[index + 1..n]);
                        return Ok(skipped);
                    }
                    None => skipped += n as u64,
                },
            }
        }
    }

    /// Decodes one chunk of JSON Lines (whole lines).
    fn decode_lines(
        &mut self,
        content: &[u8],
        cursor: LineCursor,
        source: &PayloadSource<'_>,
    ) -> Result<(), IngestError> {
        let (text, invalid_utf8) = match std::str::from_utf8(content) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), false),
            Err(_) => (String::from_utf8_lossy(content), true),
        };
        let mut failure: Option<IngestError> = None;
        let mut handle = |item: Decoded<'_>| {
            if failure.is_none() {
                failure = self.ingest_decoded(item, source, invalid_utf8).err();
            }
        };
        decode_json_lines(&text, cursor, &mut handle);
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// One record or problem from a decoder. `lossy`: the text had invalid
    /// UTF-8 replaced, so a record holding a replacement character is
    /// quarantined rather than stored altered.
    fn ingest_decoded(
        &mut self,
        item: Decoded<'_>,
        source: &PayloadSource<'_>,
        lossy: bool,
    ) -> Result<(), IngestError> {
        match item {
            Decoded::Record {
                text: record,
                position,
                ..
            } if lossy && record.contains('\u{fffd}') => {
                self.pipeline
                    .counters
                    .records
                    .fetch_add(1, Ordering::Relaxed);
                self.counts.records += 1;
                self.quarantine(
                    source,
                    position,
                    "invalid_utf8",
                    "the record contains bytes that are not valid UTF-8".into(),
                    Some(record),
                )
            }
            Decoded::Record {
                text: record,
                position,
                format,
            } => self.ingest_record(record, position, format, source),
            Decoded::Problem(problem) => self.quarantine_problem(source, problem),
        }
    }

    fn ingest_record(
        &mut self,
        record: &str,
        position: Position,
        format: &'static str,
        source: &PayloadSource<'_>,
    ) -> Result<(), IngestError> {
        self.ingest_record_at(record, position, format, source, None)
    }

    fn ingest_record_at(
        &mut self,
        record: &str,
        position: Position,
        format: &'static str,
        source: &PayloadSource<'_>,
        fallback_time: Option<i64>,
    ) -> Result<(), IngestError> {
        let pipeline = &self.pipeline;
        pipeline.counters.records.fetch_add(1, Ordering::Relaxed);
        self.counts.records += 1;
        let origin = Origin {
            source_kind: source.kind,
            source_format: format,
            source_uri: source.uri,
            position: &position.label,
            fallback_time,
        };
        match normalize(record, &origin, &pipeline.normalize_options) {
            Ok(event) => {
                let key = key_hash(event.event_key.as_deref().unwrap_or_default());
                if pipeline.claim(&event, key)? {
                    if event.event_type.as_deref() == Some(INSIGHT_EVENT_TYPE) {
                        if self.insights.is_none() {
                            self.insights = Some(EventWriter::for_table(
                                &pipeline.lake,
                                pipeline.lake.insights_dir(),
                                &pipeline.run_id,
                                &format!("w{}", self.id),
                                pipeline.options.writer.clone(),
                            )?);
                        }
                        self.insights
                            .as_mut()
                            .expect("opened above")
                            .push(&event, key)?;
                    } else {
                        self.writer.push(&event, key)?;
                    }
                    pipeline.counters.written.fetch_add(1, Ordering::Relaxed);
                    self.counts.written += 1;
                } else {
                    pipeline.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    self.counts.duplicates += 1;
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
        &mut self,
        source: &PayloadSource<'_>,
        position: Position,
        kind: &'static str,
        reason: String,
        raw: Option<&str>,
    ) -> Result<(), IngestError> {
        self.counts.quarantined += 1;
        self.pipeline.quarantine.add(QuarantineEntry {
            reason_kind: kind.into(),
            reason,
            source_uri: source.uri.into(),
            position: position.label,
            line: position.line,
            byte_offset: position.byte_offset,
            record_bytes: raw.map(|r| r.len() as i64),
            raw: raw.map(str::to_string),
            raw_truncated: false,
        })?;
        Ok(())
    }

    fn quarantine_problem(
        &mut self,
        source: &PayloadSource<'_>,
        problem: Problem,
    ) -> Result<(), IngestError> {
        self.counts.quarantined += 1;
        self.pipeline.quarantine.add(QuarantineEntry {
            reason_kind: problem.kind.into(),
            reason: problem.reason,
            source_uri: source.uri.into(),
            position: problem.position.label,
            line: problem.position.line,
            byte_offset: problem.position.byte_offset,
            record_bytes: None,
            raw: problem.raw,
            raw_truncated: false,
        })?;
        Ok(())
    }

    /// Closes this worker's files.
    pub fn finish(self) -> Result<WriteStats, IngestError> {
        let mut stats = self.writer.finish()?;
        if let Some(insights) = self.insights {
            let more = insights.finish()?;
            stats.rows += more.rows;
            stats.files.extend(more.files);
        }
        Ok(stats)
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
        Rejection::NestedEnvelope => "nested_envelope",
        Rejection::ImplausibleTime(_) => "implausible_time",
    }
}
