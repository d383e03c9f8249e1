//! `poolsight demo`: ingest `sample-data/` into a demo lake and report on it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use poolsight_detect::catalog::Catalog;
use poolsight_detect::detector::Detector;
use poolsight_detect::findings::open_findings;
use poolsight_detect::{report, LakeSession};
use poolsight_ingest::IngestOptions;

use crate::cli::{DemoArgs, OutputFormat};
use crate::output::write_batches;

/// Where the sample data is: `--sample-data`, else `./sample-data`, else
/// a copy generated into a temporary folder (the same files: `sample-data/`
/// is what the seeded generator writes), so an installed binary has a demo.
fn sample_data_dir(args: &DemoArgs) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = &args.sample_data {
        if !dir.is_dir() {
            bail!("--sample-data {}: no such folder", dir.display());
        }
        return Ok((dir.clone(), None));
    }
    let here = PathBuf::from("sample-data");
    if here.is_dir() {
        return Ok((here, None));
    }
    let scratch = tempfile::Builder::new()
        .prefix("poolsight-sample-")
        .tempdir()?;
    let out = scratch.path().join("sample-data");
    poolsight_sample::generate(&out, &poolsight_sample::sample_data_options())
        .context("generate the sample data")?;
    Ok((out, Some(scratch)))
}

pub fn run(args: &DemoArgs) -> Result<u8> {
    let (sample, _scratch) = sample_data_dir(args)?;
    println!(
        "poolsight demo: ingesting {} into {}",
        sample.display(),
        args.lake.display()
    );
    let started = Instant::now();
    let summary =
        crate::output::ingest_with_progress(&[sample], &args.lake, IngestOptions::default())?;
    println!(
        "{}",
        crate::output::summary_line(&summary, started.elapsed().as_secs_f64())
    );
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let session = LakeSession::open(&args.lake).await?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        use std::io::Write;
        for (title, batches) in report::run(&session).await? {
            writeln!(out, "\n== {title} ==")?;
            write_batches(&mut out, &batches, OutputFormat::Table)?;
        }
        let detect_args = crate::cli::DetectArgs::all(args.lake.clone());
        // The sample's addresses come from MaxMind's test networks: the demo
        // enriches with MaxMind's test databases, built in.
        let geoip = std::sync::Arc::new(poolsight_detect::geoip::GeoIp::test_databases()?);
        let detector = Detector::new(&args.lake, Catalog::embedded()?, geoip);
        detector.run(&detect_args.request(), None).await?.check()?;
        let findings = open_findings(&poolsight_lake::Lake::open(&args.lake)?)?;
        writeln!(out, "\n== Findings ==")?;
        crate::output::write_findings(&mut out, &findings, crate::cli::FindingsFormat::Table)?;
        Ok(0)
    })
}
