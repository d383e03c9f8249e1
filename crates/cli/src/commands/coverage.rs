//! `poolsight coverage`: what the trails record against what poolsight
//! needs, and stale or silent sources (`poolsight_detect::coverage`).

use anyhow::{anyhow, Result};
use poolsight_config::Config;
use poolsight_detect::coverage::{report, CoverageOptions, CoverageReport};

use crate::cli::{CoverageArgs, CoverageFormat};
use crate::output::terminal_safe;

pub fn run(args: &CoverageArgs, config: &Config) -> Result<u8> {
    let root = config.lake_or(args.lake.as_deref());
    let stale_after = poolsight_model::time::parse_span(&args.stale_after).ok_or_else(|| {
        anyhow!(
            "--stale-after {:?}: not a span (30m, 6h, 2d)",
            args.stale_after
        )
    })?;
    let options = CoverageOptions {
        stale_after,
        ..CoverageOptions::default()
    };
    let report = super::runtime()?.block_on(report(&root, &options))?;
    match args.format {
        CoverageFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        CoverageFormat::Table => print_table(&report),
    }
    Ok(if report.gaps() > 0 {
        crate::exit::FINDINGS
    } else {
        0
    })
}

fn mark(status: &str) -> &'static str {
    match status {
        "recorded" => "✓",
        "partial" => "◐",
        _ => "✗",
    }
}

fn print_table(report: &CoverageReport) {
    println!(
        "coverage from inventory {} ({}); newest event in the lake: {}",
        report.snapshot_id,
        report.snapshot_time,
        report.newest_event.as_deref().unwrap_or("none")
    );
    println!();
    println!("needed event classes");
    let mut commands_shown = std::collections::BTreeSet::new();
    for class in &report.classes {
        println!(
            "  {} {} {}  {}{}",
            mark(&class.status),
            class.account_id,
            class.region,
            terminal_safe(&class.label),
            if class.trails.is_empty() {
                String::new()
            } else {
                format!(" (trails: {})", terminal_safe(&class.trails.join(", ")))
            }
        );
        if class.status != "recorded" {
            println!(
                "      missing: {} — {}",
                class.missing_calls.join(", "),
                class.why
            );
            if let Some(selector) = &class.selector {
                println!("      advanced event selector: {selector}");
            }
            if let Some(command) = &class.command {
                if commands_shown.insert(command.clone()) {
                    println!(
                        "      fix (every gap of {} {} at once; keeps the trail's selectors): {}",
                        class.account_id,
                        class.region,
                        terminal_safe(command)
                    );
                }
            }
        }
    }
    if !report.deliveries.is_empty() {
        println!();
        println!("recommended");
        for delivery in &report.deliveries {
            println!(
                "  {} {} {}  {}",
                mark(&delivery.status),
                delivery.account_id,
                delivery.region,
                delivery.label
            );
            if delivery.status != "recorded" {
                if !delivery.missing_calls.is_empty() {
                    println!(
                        "      {} — {}",
                        delivery.missing_calls.join(", "),
                        delivery.why
                    );
                } else {
                    println!("      {}", delivery.why);
                }
                if let Some(command) = &delivery.command {
                    println!("      fix: {}", terminal_safe(command));
                }
            }
        }
    }
    println!();
    println!("sources in the lake (newest event)");
    if report.sources.is_empty() {
        println!("  ✗ no events: nothing collected yet");
    }
    for source in &report.sources {
        println!(
            "  {} {} {} {}  {} events, newest {}{}",
            if source.stale { "✗" } else { "✓" },
            terminal_safe(&source.source),
            terminal_safe(&source.account_id),
            terminal_safe(&source.region),
            source.events,
            source.newest_event,
            if source.stale {
                format!(
                    " — stale: {:.1} h behind the lake's newest event",
                    source.behind_hours
                )
            } else {
                String::new()
            }
        );
    }
    for silent in &report.silent {
        println!(
            "  ! {} {} {}: no events {} → {} ({} h; usually {} an hour)",
            terminal_safe(&silent.source),
            terminal_safe(&silent.account_id),
            terminal_safe(&silent.region),
            silent.from,
            silent.to,
            silent.hours,
            silent.usual_per_hour
        );
    }
    println!();
    let gaps = report.gaps();
    if gaps == 0 {
        println!("no gaps in what poolsight needs");
    } else {
        println!("{gaps} gap(s) in what poolsight needs (exit 1)");
    }
}
