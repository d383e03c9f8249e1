//! `poolsight detect` (run the detections, print and store findings) and
//! `poolsight lint` (check every detection plans against the schema).

use anyhow::{Context, Result};
use poolsight_config::Config;
use poolsight_detect::catalog::Catalog;
use poolsight_detect::detector::Detector;
use poolsight_detect::findings::open_findings;
use poolsight_detect::{lint, LakeSession, SessionOptions};
use poolsight_lake::LakeError;

use crate::cli::{DetectArgs, LintArgs};

pub fn run(args: &DetectArgs, config: &Config) -> Result<u8> {
    let lake = config.lake_or(args.lake.as_deref());
    let detector = Detector::from_config(config, &lake)?;
    let runtime = super::runtime()?;
    let outcome = match runtime.block_on(async {
        let detector = match super::engine(config, args.engine.as_deref()).await? {
            Some(engine) => detector.with_engine(engine),
            None => detector,
        };
        let outcome = detector.run(&args.request(), None).await?;
        outcome.check()?;
        Ok::<_, anyhow::Error>(outcome)
    }) {
        Ok(outcome) => outcome,
        Err(error) => {
            let locked = match error.downcast_ref::<poolsight_detect::DetectError>() {
                Some(poolsight_detect::DetectError::Lake(locked)) => Some(locked),
                _ => error.downcast_ref::<LakeError>(),
            };
            if let Some(LakeError::Locked { path, lock }) = locked {
                return Ok(crate::output::lake_busy(
                    "detect",
                    path,
                    lock,
                    "findings were not stored. Run again when it ends, or add --no-store.",
                ));
            }
            return Err(error);
        }
    };
    let shown = if args.all && !args.no_store {
        open_findings(&poolsight_lake::Lake::open(&lake)?)?
    } else {
        outcome.findings.clone()
    };
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("create {}", path.display()))?;
            crate::output::write_lake_findings(&mut file, &shown, args.format, config, &lake)?;
        }
        None => crate::output::write_lake_findings(
            &mut std::io::stdout().lock(),
            &shown,
            args.format,
            config,
            &lake,
        )?,
    }
    // --fail-on counts what this run found new or changed.
    Ok(
        if crate::output::fails(&outcome.findings, args.fail_on.map(Into::into)) {
            crate::exit::FINDINGS
        } else {
            0
        },
    )
}

pub fn run_lint(args: &LintArgs, config: &Config) -> Result<u8> {
    let catalog = Catalog::from_config(config)?;
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
        let layouts = poolsight_dash::layout::Layouts::from_config(config, None)?;
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
    Ok(if failed > 0 { crate::exit::ERROR } else { 0 })
}
