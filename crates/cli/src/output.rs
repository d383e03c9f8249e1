//! Rendering results for people and for programs: table, CSV, JSON array,
//! JSON Lines; and [`terminal_safe`], which every human-readable output
//! passes attacker-controlled text through.
//!
//! Values come from records attackers partly write (user agents, S3 keys,
//! request parameters): in a table they are shown with control characters,
//! DEL, C1 controls and bidirectional overrides escaped (`\u{1b}`), so an
//! ESC/OSC sequence cannot hide lines, retitle the terminal or write the
//! clipboard. JSON outputs stay exact (JSON escapes control characters
//! itself); CSV stays exact data, with nested values as their text.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::cli::OutputFormat;

/// Whether `c` must not reach a terminal as is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control characters (C0, DEL, C1) and bidirectional controls
/// written as `\u{…}` escapes; borrowed when there are none.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Every column as text: made terminal-safe (`escape`), or only nested
/// types turned into their text (for CSV, which cannot hold them).
fn as_text(batch: &RecordBatch, escape: bool) -> Result<RecordBatch> {
    let options = FormatOptions::default();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let nested = field.data_type().is_nested();
        if !escape && !nested {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(array));
            continue;
        }
        let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
        let mut text = StringBuilder::with_capacity(array.len(), array.len() * 16);
        for row in 0..array.len() {
            if array.is_null(row) {
                text.append_null();
            } else {
                let value = formatter.value(row).to_string();
                text.append_value(if escape {
                    terminal_safe(&value)
                } else {
                    Cow::Borrowed(value.as_str())
                });
            }
        }
        let name = if escape {
            terminal_safe(field.name())
        } else {
            Cow::Borrowed(field.name().as_str())
        };
        fields.push(Field::new(name, DataType::Utf8, true));
        columns.push(Arc::new(text.finish()));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Writes `batches` to `out` in `format`.
pub fn write_batches(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    format: OutputFormat,
) -> Result<()> {
    match format {
        OutputFormat::Table => {
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            if rows == 0 {
                writeln!(out, "(no rows)")?;
            } else {
                let safe = batches
                    .iter()
                    .map(|batch| as_text(batch, true))
                    .collect::<Result<Vec<_>>>()?;
                writeln!(
                    out,
                    "{}",
                    arrow::util::pretty::pretty_format_batches(&safe)?
                )?;
            }
        }
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for batch in batches {
                writer.write(&as_text(batch, false)?)?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
            writeln!(out)?;
        }
        OutputFormat::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
        }
    }
    Ok(())
}

/// Findings as a table (text from records made terminal-safe), JSON or JSON Lines.
/// Writes findings of the lake at `lake` in `format`; OCSF reads each
/// finding's evidence context from the lake.
pub fn write_lake_findings(
    out: &mut dyn Write,
    findings: &[poolsight_detect::findings::Finding],
    format: crate::cli::FindingsFormat,
    config: &poolsight_config::Config,
    lake: &std::path::Path,
) -> Result<()> {
    if format != crate::cli::FindingsFormat::Ocsf {
        return write_findings(out, findings, format);
    }
    let events = crate::commands::runtime()?.block_on(poolsight_notify::ocsf::render_stored(
        config, lake, findings,
    ))?;
    for event in events {
        writeln!(out, "{}", serde_json::to_string(&event)?)?;
    }
    Ok(())
}

pub fn write_findings(
    out: &mut dyn Write,
    findings: &[poolsight_detect::findings::Finding],
    format: crate::cli::FindingsFormat,
) -> Result<()> {
    match format {
        crate::cli::FindingsFormat::Jsonl => {
            for finding in findings {
                writeln!(out, "{}", serde_json::to_string(finding)?)?;
            }
        }
        crate::cli::FindingsFormat::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(findings)?)?;
        }
        crate::cli::FindingsFormat::Ocsf => {
            anyhow::bail!("OCSF needs the lake: write_lake_findings")
        }
        crate::cli::FindingsFormat::Table => {
            if findings.is_empty() {
                writeln!(out, "no findings")?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<8} {:<8} {:<12} {:<16} {:<28} {:<48} {:>6}  {:<20}  summary",
                "id",
                "severity",
                "status",
                "category",
                "detection",
                "identity / pool",
                "events",
                "first seen"
            )?;
            for f in findings {
                let who = f
                    .identity_id
                    .clone()
                    .or_else(|| f.identity_pool_id.clone().map(|p| format!("pool {p}")))
                    .unwrap_or_else(|| "-".into());
                // Identity ids and summaries quote what the records said.
                writeln!(
                    out,
                    "{:<8} {:<8} {:<12} {:<16} {:<28} {:<48} {:>6}  {:<20}  {}",
                    poolsight_detect::lifecycle::short_id(&f.finding_id),
                    f.severity,
                    f.status,
                    terminal_safe(&f.category),
                    terminal_safe(&f.detection),
                    terminal_safe(&who),
                    f.event_count,
                    terminal_safe(&f.first_seen),
                    terminal_safe(&f.summary)
                )?;
            }
            let mut by_category = std::collections::BTreeMap::new();
            for f in findings {
                *by_category.entry(f.category.as_str()).or_insert(0) += 1;
            }
            let counts: Vec<String> = by_category
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect();
            writeln!(out, "\n{} findings ({})", findings.len(), counts.join(", "))?;
        }
    }
    Ok(())
}

pub fn fails(
    findings: &[poolsight_detect::findings::Finding],
    threshold: Option<poolsight_config::Severity>,
) -> bool {
    threshold.is_some_and(|t| findings.iter().any(|f| f.severity() >= t))
}

/// Ingests with a progress line on a terminal (and nothing when not on one).
pub fn ingest_with_progress(
    paths: &[std::path::PathBuf],
    lake: &std::path::Path,
    options: poolsight_ingest::IngestOptions,
) -> Result<poolsight_ingest::IngestSummary> {
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = move |done: u64, total: u64| {
        if show && (done == total || done.is_multiple_of(16)) {
            eprint!("\r  ingesting: {done}/{total} files");
            if done == total {
                eprintln!();
            }
        }
    };
    anyhow::Context::with_context(
        poolsight_ingest::ingest_paths(paths, lake, options, &progress),
        || format!("ingest into {}", lake_name(lake)),
    )
}

/// The one-line summary of an ingest run.
pub fn summary_line(summary: &poolsight_ingest::IngestSummary, seconds: f64) -> String {
    let rate = if seconds > 0.0 {
        summary.records as f64 / seconds
    } else {
        0.0
    };
    format!(
        "files: {} read, {} skipped, {} failed | records: {} | written: {} | duplicates skipped: {} | quarantined: {} | {:.1} MB in {:.2} s ({:.0} records/s)",
        summary.files,
        summary.files_skipped,
        summary.files_failed,
        summary.records,
        summary.written,
        summary.duplicates,
        summary.quarantined,
        summary.bytes as f64 / 1e6,
        seconds,
        rate
    )
}

/// How many findings, by severity worst first: `3 (critical: 1, high: 2)`
/// or `0 (none)`.
pub fn severity_counts(findings: &[poolsight_detect::findings::Finding]) -> String {
    let mut by_severity = std::collections::BTreeMap::new();
    for finding in findings {
        *by_severity
            .entry(std::cmp::Reverse(finding.severity()))
            .or_insert(0) += 1;
    }
    let counts: Vec<String> = by_severity
        .iter()
        .map(|(s, n)| format!("{}: {n}", s.0))
        .collect();
    if counts.is_empty() {
        format!("{} (none)", findings.len())
    } else {
        format!("{} ({})", findings.len(), counts.join(", "))
    }
}

/// Says on stderr that another run holds the lake (`then`: what this run
/// did about it) and returns the exit code for it.
/// How to name a lake to the user: its `s3://` location when the folder is
/// the working folder of a lake in S3, else the folder.
pub fn lake_name(folder: &std::path::Path) -> String {
    match poolsight_lake::remote::attached(folder) {
        Some(remote) => remote.url.clone(),
        None => folder.display().to_string(),
    }
}

pub fn lake_busy(command: &str, path: &std::path::Path, lock: &std::path::Path, then: &str) -> u8 {
    eprintln!(
        "poolsight {command}: the lake {} is in use by another poolsight run (lock {}); {then}",
        path.display(),
        lock.display()
    );
    crate::exit::BUSY
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ListBuilder, StringArray};

    fn hostile_batch() -> RecordBatch {
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("a\u{1b}[2J");
        list.append(true);
        RecordBatch::try_from_iter(vec![
            (
                "user_agent",
                Arc::new(StringArray::from(vec![
                    "curl\u{1b}]52;c;ZXZpbA==\u{7}\u{202e}x",
                ])) as ArrayRef,
            ),
            ("keys", Arc::new(list.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn terminal_escape_injection_in_table_output() {
        let mut out = Vec::new();
        write_batches(&mut out, &[hostile_batch()], OutputFormat::Table).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(
            text.contains("curl\\u{1b}]52;c;ZXZpbA==\\u{7}\\u{202e}x"),
            "{text}"
        );
        assert!(text.contains("a\\u{1b}[2J"), "{text}");
    }

    #[test]
    fn json_stays_exact_and_csv_holds_nested_columns() {
        let mut out = Vec::new();
        write_batches(&mut out, &[hostile_batch()], OutputFormat::Jsonl).unwrap();
        let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["user_agent"], "curl\u{1b}]52;c;ZXZpbA==\u{7}\u{202e}x");
        let mut out = Vec::new();
        write_batches(&mut out, &[hostile_batch()], OutputFormat::Csv).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("user_agent,keys\n"), "{text}");
        assert!(text.contains("[a\u{1b}[2J]"), "{text}");
    }
}
