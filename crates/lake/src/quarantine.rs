//! Records (and file-level problems) that could not become events, kept
//! with where they came from and why, in
//! `quarantine/ingest_date=YYYY-MM-DD/quarantine-<run>-<n>.parquet`.
//!
//! Nothing is dropped silently: every rejected record is here with its raw
//! text (up to [`MAX_RAW_BYTES`]), its file, its position (line, byte
//! offset, array index) and a reason a person can act on.
//!
//! Secrets never reach it: [`QuarantineWriter::add`] redacts the raw text
//! (JSON-aware when it parses, by pattern when it does not, see
//! [`poolsight_model::redact`]) and cuts it to [`MAX_RAW_BYTES`] before the
//! entry is buffered; the buffer is written out past [`FLUSH_EVERY`]
//! entries or [`FLUSH_BYTES`] bytes, whichever comes first.

use std::sync::{Arc, Mutex};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{Lake, LakeError, Result};

/// Raw text kept per quarantined record; longer records keep their head.
pub const MAX_RAW_BYTES: usize = 1024 * 1024;

/// Entries buffered before a quarantine file is written.
pub const FLUSH_EVERY: usize = 10_000;

/// Bytes of buffered entries (raw text, reasons, URIs) before a quarantine
/// file is written.
pub const FLUSH_BYTES: usize = 32 << 20;

/// One quarantined record or file-level problem.
#[derive(Debug, Clone, Default)]
pub struct QuarantineEntry {
    /// Short machine-readable reason: `invalid_json`, `not_an_object`,
    /// `too_large`, `missing_event_time`, `bad_event_time`,
    /// `unknown_shape`, `truncated_gzip`, `invalid_utf8`, `unreadable_file`,
    /// `unknown_file_shape`.
    pub reason_kind: String,
    /// The human sentence.
    pub reason: String,
    pub source_uri: String,
    /// `line 12`, `Records[3]`, `byte 1048576`, …
    pub position: String,
    /// 1-based line number, when known.
    pub line: Option<i64>,
    /// Byte offset in the (decompressed) source, when known.
    pub byte_offset: Option<i64>,
    /// Size of the rejected record, when it is one.
    pub record_bytes: Option<i64>,
    /// The raw text (invalid UTF-8 replaced), or `None` for file problems.
    /// Redacted and cut to [`MAX_RAW_BYTES`] when added.
    pub raw: Option<String>,
    /// Whether `raw` was cut (set when added).
    pub raw_truncated: bool,
}

impl QuarantineEntry {
    fn bytes(&self) -> usize {
        self.raw.as_ref().map_or(0, String::len)
            + self.reason.len()
            + self.source_uri.len()
            + self.position.len()
            + 64
    }
}

/// `text` without secrets, cut to [`MAX_RAW_BYTES`] on a character
/// boundary. Whole JSON is redacted whole (field names decide); anything
/// else is cut first and its head redacted by pattern.
fn redacted_excerpt(text: &str) -> (String, bool) {
    use poolsight_model::redact::redact_text;
    let trimmed = text.trim();
    let whole_json = (trimmed.starts_with('{') || trimmed.starts_with('['))
        && serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok();
    let redacted = if whole_json {
        redact_text(text)
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    if redacted.len() <= MAX_RAW_BYTES {
        let out = if whole_json {
            redacted.into_owned()
        } else {
            redact_text(&redacted).into_owned()
        };
        return (out, false);
    }
    let mut end = MAX_RAW_BYTES;
    while !redacted.is_char_boundary(end) {
        end -= 1;
    }
    // Redacted again after the cut: it may split a secret from its name.
    (redact_text(&redacted[..end]).into_owned(), true)
}

/// Collects quarantine entries from many threads and writes them.
pub struct QuarantineWriter {
    lake: Lake,
    run_id: String,
    state: Mutex<QuarantineState>,
}

#[derive(Default)]
struct QuarantineState {
    pending: Vec<QuarantineEntry>,
    pending_bytes: usize,
    files: usize,
    total: u64,
}

impl QuarantineWriter {
    pub fn new(lake: &Lake, run_id: &str) -> Self {
        Self {
            lake: lake.clone(),
            run_id: run_id.to_string(),
            state: Mutex::new(QuarantineState::default()),
        }
    }

    /// Adds one entry (and logs it): its raw text is redacted and cut
    /// before it is buffered.
    pub fn add(&self, mut entry: QuarantineEntry) -> Result<()> {
        if let Some(raw) = entry.raw.take() {
            let (excerpt, truncated) = redacted_excerpt(&raw);
            entry.raw = Some(excerpt);
            entry.raw_truncated |= truncated;
        }
        entry.reason = poolsight_model::redact::redact_text(&entry.reason).into_owned();
        tracing::debug!(
            source = %entry.source_uri,
            position = %entry.position,
            reason = %entry.reason,
            "quarantined"
        );
        let to_write = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.total += 1;
            state.pending_bytes += entry.bytes();
            state.pending.push(entry);
            if state.pending.len() >= FLUSH_EVERY || state.pending_bytes >= FLUSH_BYTES {
                state.files += 1;
                state.pending_bytes = 0;
                Some((std::mem::take(&mut state.pending), state.files))
            } else {
                None
            }
        };
        if let Some((entries, number)) = to_write {
            self.write_file(&entries, number)?;
        }
        Ok(())
    }

    /// Bytes buffered and not written yet.
    pub fn pending_bytes(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pending_bytes
    }

    /// Entries added so far.
    pub fn total(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// Writes what is pending.
    pub fn finish(&self) -> Result<u64> {
        let (entries, number, total) = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.files += 1;
            state.pending_bytes = 0;
            (std::mem::take(&mut state.pending), state.files, state.total)
        };
        if !entries.is_empty() {
            self.write_file(&entries, number)?;
        }
        Ok(total)
    }

    fn write_file(&self, entries: &[QuarantineEntry], number: usize) -> Result<()> {
        let now = chrono::Utc::now();
        let dir = self
            .lake
            .quarantine_dir()
            .join(format!("ingest_date={}", now.format("%Y-%m-%d")));
        crate::fsio::create_dir_durable(&dir)?;
        let name = format!("quarantine-{}-{number:04}.parquet", self.run_id);
        let destination = dir.join(&name);
        let temporary = crate::fsio::temporary_path(&destination);
        let batch = entries_to_batch(entries, &self.run_id, now.timestamp_micros())?;
        let file = crate::fsio::create_private(&temporary)?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))
            .map_err(|e| LakeError::parquet(&temporary, e))?;
        writer
            .write(&batch)
            .map_err(|e| LakeError::parquet(&temporary, e))?;
        let file = writer
            .into_inner()
            .map_err(|e| LakeError::parquet(&temporary, e))?;
        file.sync_all().map_err(|e| LakeError::io(&temporary, e))?;
        crate::fsio::journal::record("fsync", &temporary);
        crate::fsio::rename_durable(&temporary, &destination)
    }
}

/// The schema of quarantine files.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(
            "quarantined_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("run_id", DataType::Utf8, false),
        Field::new("reason_kind", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("source_uri", DataType::Utf8, false),
        Field::new("position", DataType::Utf8, false),
        Field::new("line", DataType::Int64, true),
        Field::new("byte_offset", DataType::Int64, true),
        Field::new("record_bytes", DataType::Int64, true),
        Field::new("raw", DataType::Utf8, true),
        Field::new("raw_truncated", DataType::Boolean, false),
    ]))
}

fn entries_to_batch(entries: &[QuarantineEntry], run_id: &str, now: i64) -> Result<RecordBatch> {
    let mut at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut run = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut reason = StringBuilder::new();
    let mut uri = StringBuilder::new();
    let mut position = StringBuilder::new();
    let mut line = Int64Builder::new();
    let mut offset = Int64Builder::new();
    let mut bytes = Int64Builder::new();
    let mut raw = StringBuilder::new();
    let mut truncated = BooleanBuilder::new();
    for entry in entries {
        at.append_value(now);
        run.append_value(run_id);
        kind.append_value(&entry.reason_kind);
        reason.append_value(&entry.reason);
        uri.append_value(&entry.source_uri);
        position.append_value(&entry.position);
        line.append_option(entry.line);
        offset.append_option(entry.byte_offset);
        bytes.append_option(entry.record_bytes);
        raw.append_option(entry.raw.as_deref());
        truncated.append_value(entry.raw_truncated);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(at.finish()),
        Arc::new(run.finish()),
        Arc::new(kind.finish()),
        Arc::new(reason.finish()),
        Arc::new(uri.finish()),
        Arc::new(position.finish()),
        Arc::new(line.finish()),
        Arc::new(offset.finish()),
        Arc::new(bytes.finish()),
        Arc::new(raw.finish()),
        Arc::new(truncated.finish()),
    ];
    Ok(RecordBatch::try_new(quarantine_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::fs::File;

    fn written_raw(lake: &Lake) -> Vec<(String, bool)> {
        let mut rows = Vec::new();
        for file in crate::parquet_files_under(&lake.quarantine_dir()).unwrap() {
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(file).unwrap())
                .unwrap()
                .build()
                .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let raw = batch
                    .column_by_name("raw")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                let cut = batch
                    .column_by_name("raw_truncated")
                    .unwrap()
                    .as_boolean()
                    .clone();
                for i in 0..batch.num_rows() {
                    rows.push((raw.value(i).to_string(), cut.value(i)));
                }
            }
        }
        rows
    }

    #[test]
    fn secrets_in_the_quarantine_are_redacted_before_buffering() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let writer = QuarantineWriter::new(&lake, "run");
        let token = "IQoJb3JpZ2luX2VjEXAMPLE/SeSsIoNtOkEn+value";
        // A credentials response cut short: not JSON, redacted by pattern.
        let cut =
            format!(r#"{{"credentials":{{"accessKeyId":"ASIAX","sessionToken":"{token}","exp"#);
        // A whole record that failed for another reason: JSON-aware.
        let whole = format!(r#"{{"eventID":"x","logins":{{"graph.facebook.com":"{token}"}}}}"#);
        for raw in [cut, whole] {
            writer
                .add(QuarantineEntry {
                    reason_kind: "invalid_json".into(),
                    reason: "test".into(),
                    raw: Some(raw),
                    ..Default::default()
                })
                .unwrap();
        }
        writer.finish().unwrap();
        let rows = written_raw(&lake);
        assert_eq!(rows.len(), 2);
        for (raw, _) in &rows {
            assert!(!raw.contains(token), "{raw}");
            assert!(raw.contains(poolsight_model::redact::REDACTED), "{raw}");
        }
        assert!(rows[1].0.contains("graph.facebook.com"));
    }

    #[test]
    fn raw_entries_are_cut_when_added_and_the_buffer_has_a_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let writer = QuarantineWriter::new(&lake, "run");
        let huge = "x".repeat(12 << 20);
        for _ in 0..40 {
            writer
                .add(QuarantineEntry {
                    reason_kind: "too_large".into(),
                    raw: Some(huge.clone()),
                    ..Default::default()
                })
                .unwrap();
            assert!(
                writer.pending_bytes() < FLUSH_BYTES,
                "{} bytes buffered",
                writer.pending_bytes()
            );
        }
        assert_eq!(writer.finish().unwrap(), 40);
        let rows = written_raw(&lake);
        assert_eq!(rows.len(), 40);
        assert!(rows
            .iter()
            .all(|(raw, cut)| raw.len() == MAX_RAW_BYTES && *cut));
        assert!(
            crate::parquet_files_under(&lake.quarantine_dir())
                .unwrap()
                .len()
                > 1
        );
    }
}
