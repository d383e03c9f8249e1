//! `poolsight run`: the scheduled job. Collect, then (with `[inventory]`)
//! take an inventory, then detect what arrived (incremental) and judge the
//! newest inventory, then compact grown partitions, then (with `[notify]`
//! targets) deliver new and changed findings — all under one lake lock, so
//! no other writer stores events or findings in between.
//!
//! Exit: [`crate::exit::FINDINGS`] when new or updated findings reach
//! `[detect] fail_on`, else the collect step's code (0, or
//! [`crate::exit::PARTIAL`] when a source failed); [`crate::exit::BUSY`]
//! when another run holds the lake.

use anyhow::{Context, Result};
use poolsight_config::Config;

use crate::cli::{CollectArgs, DetectArgs};
use crate::collecting;

pub fn run(args: &CollectArgs, config: &Config, quiet: bool) -> Result<u8> {
    let Some(collected) = collecting::collect(args, config, quiet, "run")? else {
        return Ok(crate::exit::BUSY);
    };
    collecting::print(&collected, args.json);
    let lake = &collected.lake;
    let pipeline = &collected.pipeline;
    // With `[inventory]`, a fresh snapshot before detect: the posture
    // detections judge it. Failed calls make the run partial, never stop it.
    let mut inventory_partial = false;
    if config.inventory.is_some() {
        match poolsight_collect::inventory::run_inventory(
            config,
            pipeline.lake(),
            pipeline.lock(),
            None,
        ) {
            Ok(report) => {
                tracing::info!(snapshot = %report.snapshot_id, pools = report.pools, roles = report.roles, trails = report.trails, failed_calls = report.errors.len(), api_calls = report.api_calls, "inventory taken");
                inventory_partial = !report.errors.is_empty();
            }
            Err(error) => {
                tracing::warn!(error = %error, "inventory failed; posture detections judge the previous snapshot");
                inventory_partial = true;
            }
        }
    }
    poolsight_lake::failpoint::step("run:detect");
    let detector = poolsight_detect::detector::Detector::from_config(config, lake)?;
    let outcome = crate::commands::runtime()?.block_on(async {
        let detector = match crate::commands::engine(config, None).await? {
            Some(engine) => detector.with_engine(engine),
            None => detector,
        };
        Ok::<_, anyhow::Error>(
            detector
                .run(
                    &DetectArgs::all(lake.clone()).request(),
                    Some(pipeline.lock()),
                )
                .await?,
        )
    })?;
    outcome.check()?;
    let threshold = config.detect.fail_on;
    let at_or_above = outcome
        .findings
        .iter()
        .filter(|f| f.severity() >= threshold)
        .count();
    tracing::info!(findings = outcome.findings.len(), at_or_above_fail_on = at_or_above, fail_on = %threshold, "detections finished");
    if !args.json {
        println!(
            "new or updated findings: {}; {at_or_above} at or above {threshold}; see every open one: poolsight detect --lake {} --all --no-store",
            crate::output::severity_counts(&outcome.findings),
            crate::output::lake_name(lake)
        );
    }
    // Partitions grown past the threshold by scheduled runs are merged,
    // still under the run's lock (a lake in S3 is not compacted yet).
    if pipeline.lake().remote().is_none() {
        let compacted = poolsight_lake::compact::compact(
            pipeline.lake(),
            pipeline.lock(),
            &poolsight_lake::compact::CompactOptions::default(),
        )
        .context("compact the lake")?;
        if compacted.partitions > 0 {
            tracing::info!(
                partitions = compacted.partitions,
                files_before = compacted.files_before,
                files_after = compacted.files_after,
                "compacted"
            );
        }
    }
    // Last, new and changed findings go out. A target that is down is a
    // warning (and pending deliveries for the next run), never the run's
    // exit code.
    if config.notify.has_targets() {
        let delivered = crate::commands::runtime()?.block_on(poolsight_notify::notify(
            config,
            pipeline.lake(),
            Some(pipeline.lock()),
            &poolsight_notify::NotifyOptions::default(),
        ));
        match delivered {
            Ok(report) => {
                if args.json {
                    println!("{}", serde_json::json!({ "notify": report }));
                } else {
                    let sent: usize = report.targets.iter().map(|t| t.sent).sum();
                    let pending: usize = report.targets.iter().map(|t| t.pending).sum();
                    println!("notifications: {sent} delivered, {pending} pending");
                }
                for warning in report.warnings() {
                    tracing::warn!(target_report = %warning, "notify: not everything was delivered");
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "notify failed; findings are stored and go out with the next run");
            }
        }
    }
    let collect_code = collecting::exit_code(&collected);
    if at_or_above > 0 {
        return Ok(crate::exit::FINDINGS);
    }
    if inventory_partial && collect_code == 0 {
        return Ok(crate::exit::PARTIAL);
    }
    Ok(collect_code)
}
