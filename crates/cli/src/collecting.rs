//! The collect step that `poolsight collect` and `poolsight run` share:
//! parse the window, lock the lake, pull every configured source into it
//! with a progress display on a terminal, then print a summary per source
//! and decide the exit code. (Not a command module: both commands call it.)

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use poolsight_collect::{CollectOptions, Collector, SourceProgress, SourceReport, Window};
use poolsight_config::Config;
use poolsight_ingest::{IngestError, IngestSummary, Pipeline};
use poolsight_lake::LakeError;

use crate::cli::CollectArgs;
use crate::output::terminal_safe;

/// Parses `--from/--to`: the one time expression syntax of
/// `poolsight_model::time` (`detect --since/--until` use it too, in the detect crate).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    poolsight_model::time::parse_time_expression(text, now).map_err(anyhow::Error::msg)
}

/// What a collect step did; the lake stays locked while this lives.
pub struct Collected {
    pub lake: PathBuf,
    pub pipeline: Arc<Pipeline>,
    pub window: Window,
    pub reports: Vec<SourceReport>,
    pub summary: IngestSummary,
    pub seconds: f64,
}

/// Collects every configured source (or `--source`) into the lake.
/// `Ok(None)`: another run holds the lake; nothing was done (said on
/// stderr; exit [`crate::exit::BUSY`]).
pub fn collect(
    args: &CollectArgs,
    config: &Config,
    quiet: bool,
    command: &str,
) -> Result<Option<Collected>> {
    let now = Utc::now();
    let window = Window {
        from: args
            .from
            .as_deref()
            .map(|t| parse_time(t, now))
            .transpose()
            .context("--from")?,
        to: args
            .to
            .as_deref()
            .map(|t| parse_time(t, now))
            .transpose()
            .context("--to")?,
    };
    if let (Some(from), Some(to)) = (window.from, window.to) {
        if from > to {
            bail!("--from {from} is after --to {to}");
        }
    }
    let mut options = CollectOptions::from_config(config);
    options.window = window;
    options.only = args.source.clone();
    let collector = Collector::new(config, options)?;
    let lake = config.lake_or(args.lake.as_deref());
    let pipeline = match Pipeline::open(&lake, crate::commands::ingest_options(config)) {
        Ok(pipeline) => pipeline,
        Err(IngestError::Lake(LakeError::Locked { path, lock })) => {
            crate::output::lake_busy(
                command,
                &path,
                &lock,
                &format!(
                    "this run did nothing. It exits {}; the next scheduled run picks up where the other one stops.",
                    crate::exit::BUSY
                ),
            );
            tracing::warn!(lake = %path.display(), "lake busy; another run holds the lock");
            return Ok(None);
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("open the lake {}", crate::output::lake_name(&lake)))
        }
    };
    tracing::info!(lake = %crate::output::lake_name(&lake), run_id = pipeline.run_id(), backfill = window.is_backfill(), "collect started");
    let started = Instant::now();
    let progress = collector.progress();
    let display = (!quiet && !args.json && std::io::stderr().is_terminal())
        .then(|| spawn_progress(progress.clone()));
    let runtime = crate::commands::runtime()?;
    let reports = runtime.block_on(collector.run(Arc::clone(&pipeline)));
    if let Some((stop, handle)) = display {
        stop.store(true, Ordering::Relaxed);
        let _ = handle.join();
    }
    let summary = pipeline.finish(&[]).context("write the quarantine")?;
    let seconds = started.elapsed().as_secs_f64();
    for report in &reports {
        tracing::info!(
            source = %report.name,
            kind = report.kind,
            status = report.status,
            objects = report.objects,
            records = report.records,
            written = report.written,
            duplicates = report.duplicates,
            quarantined = report.quarantined,
            already_collected = report.already_collected,
            objects_failed = report.objects_failed,
            requests = report.requests,
            seconds = report.seconds,
            error = report.error.as_deref().unwrap_or(""),
            "source finished"
        );
    }
    Ok(Some(Collected {
        lake,
        pipeline,
        window,
        reports,
        summary,
        seconds,
    }))
}

/// Prints what was collected: one JSON object, or a table per source.
pub fn print(collected: &Collected, json: bool) {
    if json {
        let value = serde_json::json!({
            "lake": crate::output::lake_name(&collected.lake),
            "backfill": collected.window.is_backfill(),
            "seconds": (collected.seconds * 1000.0).round() / 1000.0,
            "sources": collected.reports,
            "total": collected.summary,
        });
        println!("{value}");
    } else {
        print_summary(&collected.reports, collected.seconds);
        if collected.summary.quarantined > 0 {
            println!(
                "{} records quarantined: poolsight sql --lake {} \"SELECT source_uri, position, reason FROM quarantine\"",
                collected.summary.quarantined,
                crate::output::lake_name(&collected.lake)
            );
        }
    }
}

/// The exit code of the collect step: [`crate::exit::PARTIAL`] (said on
/// stderr) when a source failed or objects were passed over, else 0.
pub fn exit_code(collected: &Collected) -> u8 {
    let reports = &collected.reports;
    let failed = reports.iter().filter(|r| r.status != "ok").count();
    let objects_failed: u64 = reports.iter().map(|r| r.objects_failed).sum();
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} sources failed (see above); the others were collected",
            reports.len()
        );
        return crate::exit::PARTIAL;
    }
    if objects_failed > 0 {
        eprintln!(
            "error: {objects_failed} objects could not be read and were passed over (their keys and reasons are in the quarantine: reason_kind 'unreadable_object'); fix the cause, then collect them with --from/--to"
        );
        return crate::exit::PARTIAL;
    }
    0
}

fn print_summary(reports: &[SourceReport], seconds: f64) {
    println!(
        "{:<44} {:>6} {:>9} {:>7} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8}",
        "source",
        "status",
        "objects",
        "failed",
        "records",
        "written",
        "dups",
        "already",
        "requests",
        "seconds"
    );
    for r in reports {
        println!(
            "{:<44} {:>6} {:>9} {:>7} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8.2}",
            terminal_safe(&truncate(&r.name, 44)),
            r.status,
            r.objects,
            r.objects_failed,
            r.records,
            r.written,
            r.duplicates,
            r.already_collected,
            r.requests,
            r.seconds
        );
        if let Some(error) = &r.error {
            println!("  error: {}", terminal_safe(error));
        }
    }
    let records: u64 = reports.iter().map(|r| r.records).sum();
    let written: u64 = reports.iter().map(|r| r.written).sum();
    println!(
        "total: {records} records, {written} new events in {seconds:.2} s ({:.0} records/s)",
        if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        }
    );
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let head: String = text.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

type Display = (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
);

/// One progress line per source, redrawn on stderr until the run ends.
fn spawn_progress(sources: Vec<Arc<SourceProgress>>) -> Display {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let bars = indicatif::MultiProgress::new();
            let style = indicatif::ProgressStyle::with_template("{spinner} {prefix:<36} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            let lines: Vec<indicatif::ProgressBar> = sources
                .iter()
                .map(|s| {
                    let bar = bars.add(indicatif::ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(truncate(&s.name, 36));
                    bar
                })
                .collect();
            let started = Instant::now();
            loop {
                let elapsed = started.elapsed().as_secs_f64().max(0.001);
                for (source, bar) in sources.iter().zip(&lines) {
                    let records = SourceProgress::get(&source.records);
                    bar.set_message(format!(
                        "{} objects/pages, {} records ({:.0}/s), {} new, {:.1} MB",
                        SourceProgress::get(&source.objects),
                        records,
                        records as f64 / elapsed,
                        SourceProgress::get(&source.written),
                        SourceProgress::get(&source.bytes) as f64 / 1e6
                    ));
                    if source.done.load(Ordering::Relaxed) && !bar.is_finished() {
                        bar.finish();
                    } else {
                        bar.tick();
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            for bar in lines {
                bar.finish_and_clear();
            }
        })
    };
    (stop, handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_absolute_dates_and_spans() {
        let now = parse_time("2026-11-27T12:00:00Z", Utc::now()).unwrap();
        assert_eq!(
            parse_time("24h", now).unwrap().to_rfc3339(),
            "2026-11-26T12:00:00+00:00"
        );
        assert_eq!(
            parse_time("7d", now).unwrap().to_rfc3339(),
            "2026-11-20T12:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-11-01", now).unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday", now)
            .unwrap_err()
            .to_string()
            .contains("RFC 3339"));
        assert!(parse_time("3y", now)
            .unwrap_err()
            .to_string()
            .contains("not a time"));
        assert!(parse_time("99999999999d", now)
            .unwrap_err()
            .to_string()
            .contains("before any date"));
        assert!(parse_time("9999999999999999d", now)
            .unwrap_err()
            .to_string()
            .contains("not a time"));
        assert!(parse_time("99999999w", now)
            .unwrap_err()
            .to_string()
            .contains("before any date"));
    }
}
