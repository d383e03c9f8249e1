//! `poolsight ingest PATH... --lake DIR`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use poolsight_config::Config;
use poolsight_ingest::{ingest_paths, IngestOptions, IngestSummary};

use crate::cli::IngestArgs;

pub fn run(args: &IngestArgs, config: &Config) -> Result<u8> {
    // A path that does not exist is a usage error: said before anything
    // (a lake included) is created.
    for path in &args.paths {
        if std::fs::symlink_metadata(path).is_err() {
            bail!(
                "{}: no such file or folder (nothing was ingested; check the path)",
                path.display()
            );
        }
    }
    let lake = config.lake_or(args.lake.as_deref());
    let mut options = super::ingest_options(config);
    if let Some(bytes) = args.max_record_bytes {
        options.max_record_bytes = bytes;
    }
    if let Some(workers) = args.workers {
        options.workers = workers.max(1);
    }
    let started = Instant::now();
    let summary = match ingest_with_progress(&args.paths, &lake, options) {
        Ok(summary) => summary,
        Err(error) => {
            if let Some(poolsight_ingest::IngestError::Lake(poolsight_lake::LakeError::Locked {
                path,
                lock,
            })) = error.downcast_ref::<poolsight_ingest::IngestError>()
            {
                eprintln!(
                    "poolsight ingest: the lake {} is in use by another poolsight run (lock {}); nothing was ingested",
                    path.display(),
                    lock.display()
                );
                return Ok(crate::EXIT_BUSY);
            }
            return Err(error);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        value["seconds"] = serde_json::json!((seconds * 1000.0).round() / 1000.0);
        println!("{value}");
    } else {
        println!("{}", summary_line(&summary, seconds));
        if summary.quarantined > 0 {
            println!(
                "quarantined records are in {}/quarantine/ (query them: poolsight sql --lake {} \"SELECT source_uri, position, reason FROM quarantine\")",
                lake.display(),
                lake.display()
            );
        }
    }
    exit_code(&summary)
}

/// Ingests with a progress line on a terminal (and nothing when not on one).
pub fn ingest_with_progress(
    paths: &[PathBuf],
    lake: &Path,
    options: IngestOptions,
) -> Result<IngestSummary> {
    let show = std::io::stderr().is_terminal();
    let progress = move |done: u64, total: u64| {
        if show && (done == total || done.is_multiple_of(16)) {
            eprint!("\r  ingesting: {done}/{total} files");
            if done == total {
                eprintln!();
            }
        }
    };
    ingest_paths(paths, lake, options, &progress)
        .with_context(|| format!("ingest into {}", lake.display()))
}

pub fn summary_line(summary: &IngestSummary, seconds: f64) -> String {
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

/// 0 unless nothing could be read.
pub fn exit_code(summary: &IngestSummary) -> Result<u8> {
    if summary.files == 0 && summary.files_failed == 0 {
        bail!("no input files found (looked for .json, .json.gz, .jsonl, .ndjson, .log, .txt)");
    }
    if summary.records == 0 && summary.files_failed > 0 && summary.files_failed >= summary.files {
        eprintln!("error: nothing could be read; see the quarantine for the reasons");
        return Ok(crate::EXIT_ERROR);
    }
    Ok(0)
}
