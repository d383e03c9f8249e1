//! `poolsight detect` (run the detections, print and store findings) and
//! `poolsight lint` (check every detection plans against the schema).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use poolsight_config::{Config, Severity};
use poolsight_detect::catalog::Catalog;
use poolsight_detect::findings::{load_findings, store_findings, Finding};
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::{detect, lint, DetectOptions, LakeSession, SessionOptions};
use poolsight_lake::{LakeError, LakeLock};
use std::sync::Arc;

/// The `[geoip]` databases of the config (none: the detections use their coarse rules).
pub fn geoip(config: &Config) -> Result<Arc<GeoIp>> {
    let geoip = GeoIp::open(
        config.geoip.asn_db.as_deref(),
        config.geoip.country_db.as_deref(),
    )
    .context("[geoip]")?;
    if geoip.is_empty() {
        tracing::debug!("no GeoIP databases configured; credential_reuse compares networks");
    }
    Ok(Arc::new(geoip))
}

use crate::cli::{DetectArgs, FindingsFormat, LintArgs};
use crate::output::terminal_safe;

/// Exit code when findings at or above `--fail-on` were found.
pub const EXIT_FINDINGS: u8 = 1;

/// The catalog: the config's `queries_dir`, else the built-in one.
pub fn catalog(config: &Config) -> Result<Catalog> {
    Ok(match &config.detect.queries_dir {
        Some(dir) => {
            Catalog::from_dir(dir).with_context(|| format!("queries in {}", dir.display()))?
        }
        None => Catalog::embedded()?,
    })
}

/// `--since/--until`: relative spans count back from the newest event.
async fn window(
    lake: &Path,
    since: Option<&str>,
    until: Option<&str>,
    catalog: &Catalog,
    own_pools: &[String],
    geoip: Arc<GeoIp>,
) -> Result<SessionOptions> {
    let mut options = SessionOptions {
        own_pools: own_pools.to_vec(),
        geoip: Some(geoip),
        ..Default::default()
    };
    if since.is_none() && until.is_none() {
        return Ok(options);
    }
    let probe = LakeSession::open_with(lake, &options, catalog).await?;
    let newest = probe.newest_event_time().await?.unwrap_or_else(Utc::now);
    options.since = since
        .map(|t| super::collect::parse_time(t, newest))
        .transpose()
        .context("--since")?;
    options.until = until
        .map(|t| super::collect::parse_time(t, newest))
        .transpose()
        .context("--until")?;
    Ok(options)
}

/// Runs the detections; returns the findings (stored in the lake unless `store` is false).
///
/// Findings are stored under the lake's writer lock: `lock` when the caller
/// holds it already (`run`, for its whole run), else taken here (another
/// writer holding it is [`LakeError::Locked`]).
pub async fn run_detections(
    config: &Config,
    lake: &Path,
    args: &DetectArgs,
    geoip: Arc<GeoIp>,
    lock: Option<&LakeLock>,
) -> Result<Vec<Finding>> {
    if !lake.join("events").is_dir() {
        bail!(
            "{} is not a poolsight lake (no events/ folder): run `poolsight ingest` or `poolsight collect` first, or pass --lake",
            lake.display()
        );
    }
    // The stored findings are read by the session too: a damaged file is
    // reported by name here, before any detection runs.
    load_findings(&poolsight_lake::Lake::open(lake)?)?;
    let catalog = catalog(config)?;
    let options = window(
        lake,
        args.since.as_deref(),
        args.until.as_deref(),
        &catalog,
        &config.detect.own_pools,
        geoip,
    )
    .await?;
    let session = LakeSession::open_with(lake, &options, &catalog).await?;
    let detect_options = DetectOptions {
        only: args
            .only
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        tunables: config.detect.tunables.clone(),
    };
    let started = std::time::Instant::now();
    let (mut findings, runs) = detect(&session, &catalog, &detect_options).await?;
    for run in &runs {
        tracing::debug!(detection = %run.id, findings = run.findings, seconds = run.seconds, error = run.error.as_deref().unwrap_or(""), "detection finished");
    }
    let failed: Vec<_> = runs.iter().filter(|r| r.error.is_some()).collect();
    findings.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.finding_id.cmp(&b.finding_id))
    });
    if !args.no_store {
        let taken;
        let lock = match lock {
            Some(lock) => lock,
            None => {
                taken = session.lake().lock()?;
                &taken
            }
        };
        let stored = store_findings(session.lake(), &findings, lock)?;
        tracing::info!(
            new = stored.new,
            updated = stored.updated,
            unchanged = stored.unchanged,
            total = stored.total,
            seconds = started.elapsed().as_secs_f64(),
            "findings stored"
        );
    }
    if let Some(first) = failed.first() {
        bail!(
            "{} detection(s) failed; first: {}: {}",
            failed.len(),
            first.id,
            first.error.as_deref().unwrap_or_default()
        );
    }
    Ok(findings)
}

pub fn write_findings(
    out: &mut dyn Write,
    findings: &[Finding],
    format: FindingsFormat,
) -> Result<()> {
    match format {
        FindingsFormat::Jsonl => {
            for finding in findings {
                writeln!(out, "{}", serde_json::to_string(finding)?)?;
            }
        }
        FindingsFormat::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(findings)?)?;
        }
        FindingsFormat::Table => {
            if findings.is_empty() {
                writeln!(out, "no findings")?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<8} {:<16} {:<28} {:<48} {:>6}  {:<20}  summary",
                "severity", "category", "detection", "identity / pool", "events", "first seen"
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
                    "{:<8} {:<16} {:<28} {:<48} {:>6}  {:<20}  {}",
                    f.severity,
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

pub fn fails(findings: &[Finding], threshold: Option<Severity>) -> bool {
    threshold.is_some_and(|t| findings.iter().any(|f| f.severity() >= t))
}

pub fn run(args: &DetectArgs, config: &Config) -> Result<u8> {
    let lake = config.lake_or(args.lake.as_deref());
    let runtime = super::runtime()?;
    let findings = match runtime.block_on(run_detections(config, &lake, args, geoip(config)?, None))
    {
        Ok(findings) => findings,
        Err(error) => {
            if let Some(LakeError::Locked { path, lock }) = error.downcast_ref::<LakeError>() {
                eprintln!(
                        "poolsight detect: the lake {} is in use by another poolsight run (lock {}); findings were not stored. Run again when it ends, or add --no-store.",
                        path.display(),
                        lock.display()
                    );
                return Ok(crate::EXIT_BUSY);
            }
            return Err(error);
        }
    };
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("create {}", path.display()))?;
            write_findings(&mut file, &findings, args.format)?;
        }
        None => write_findings(&mut std::io::stdout().lock(), &findings, args.format)?,
    }
    Ok(if fails(&findings, args.fail_on.map(Into::into)) {
        EXIT_FINDINGS
    } else {
        0
    })
}

pub fn run_lint(args: &LintArgs, config: &Config) -> Result<u8> {
    let catalog = catalog(config)?;
    // Without --lake, the plans are checked against an empty scratch lake,
    // removed when lint ends, whatever happens; a --lake must exist.
    let scratch = tempfile::Builder::new()
        .prefix("poolsight-lint-")
        .tempdir()?;
    let lake = match &args.lake {
        Some(lake) => {
            poolsight_lake::Lake::open(lake)?;
            lake.clone()
        }
        None => {
            poolsight_lake::Lake::create(scratch.path())?;
            scratch.path().to_path_buf()
        }
    };
    let runtime = super::runtime()?;
    let results = runtime.block_on(async {
        let session = LakeSession::open_with(
            &lake,
            &SessionOptions {
                own_pools: config.detect.own_pools.clone(),
                ..Default::default()
            },
            &catalog,
        )
        .await?;
        let detections = lint(&session, &catalog, &config.detect.tunables).await;
        let layouts = super::dash::layouts(config)?;
        let panels = poolsight_dash::lint::lint_layouts(&layouts, &session).await;
        Ok::<_, anyhow::Error>((detections, panels))
    })?;
    let (results, panels) = results;
    let mut failed = 0;
    for (id, result) in &results {
        match result {
            Ok(()) => println!("ok      {id}"),
            Err(error) => {
                failed += 1;
                println!("FAILED  {id}: {error}");
            }
        }
    }
    for (panel, result) in &panels {
        match result {
            Ok(()) => println!("ok      dashboard {panel}"),
            Err(error) => {
                failed += 1;
                println!("FAILED  dashboard {panel}: {error}");
            }
        }
    }
    println!(
        "{} detections, {} views, {} dashboard panels: {failed} failed",
        results.len(),
        catalog.views.len(),
        panels.len()
    );
    Ok(if failed > 0 { crate::EXIT_ERROR } else { 0 })
}
