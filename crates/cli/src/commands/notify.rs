//! `poolsight notify`: deliver new and changed findings to the `[notify]`
//! targets through the outbox (`poolsight_notify::notify`).
//!
//! Exit: 0 when everything due was delivered (or `--dry-run`),
//! [`crate::exit::PARTIAL`] when some deliveries failed and wait for a later
//! run, [`crate::exit::BUSY`] when another run holds the lake.

use anyhow::Result;
use poolsight_config::Config;
use poolsight_lake::{Lake, LakeError};
use poolsight_notify::{NotifyOptions, NotifyReport};

use crate::cli::NotifyArgs;
use crate::output::terminal_safe;

pub fn run(args: &NotifyArgs, config: &Config) -> Result<u8> {
    let root = config.lake_or(args.lake.as_deref());
    let lake = Lake::open(&root)?;
    if !config.notify.has_targets() {
        eprintln!("poolsight notify: no targets: add [[notify.sns]], [[notify.webhook]] or [[notify.securityhub]] to the config (docs/integrations.md)");
        return Ok(crate::exit::ERROR);
    }
    let options = NotifyOptions {
        dry_run: args.dry_run,
        now: None,
    };
    let lock = if args.dry_run {
        None
    } else {
        match lake.lock() {
            Ok(lock) => Some(lock),
            Err(LakeError::Locked { path, lock }) => {
                return Ok(crate::output::lake_busy(
                    "notify",
                    &path,
                    &lock,
                    "nothing sent",
                ))
            }
            Err(error) => return Err(error.into()),
        }
    };
    let report = super::runtime()?.block_on(poolsight_notify::notify(
        config,
        &lake,
        lock.as_ref(),
        &options,
    ))?;
    print(&report, args.json)?;
    Ok(if report.warnings().is_empty() {
        0
    } else {
        crate::exit::PARTIAL
    })
}

/// The report: one line per target (and, for a dry run, per delivery with
/// its body), or one JSON object. Warnings go to stderr.
pub fn print(report: &NotifyReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        for target in &report.targets {
            if report.dry_run {
                println!(
                    "{} ({}): would send {} ({} newly enqueued)",
                    terminal_safe(&target.target),
                    target.kind,
                    target.preview.len(),
                    target.enqueued
                );
                for preview in &target.preview {
                    println!(
                        "  {} {:<8} {:<8} {} {}",
                        &preview.delivery_id[..12.min(preview.delivery_id.len())],
                        preview.change,
                        preview.severity,
                        terminal_safe(&preview.finding_id),
                        terminal_safe(&preview.title)
                    );
                    println!(
                        "    {}",
                        terminal_safe(&serde_json::to_string(&preview.body)?)
                    );
                }
            } else {
                println!(
                    "{} ({}): {} enqueued, {} due, {} delivered, {} failed, {} not attempted, {} pending",
                    terminal_safe(&target.target),
                    target.kind,
                    target.enqueued,
                    target.due,
                    target.sent,
                    target.failed,
                    target.not_attempted,
                    target.pending
                );
            }
        }
    }
    for warning in report.warnings() {
        eprintln!("warning: {}", terminal_safe(&warning));
    }
    Ok(())
}
