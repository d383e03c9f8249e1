//! `poolsight sql --lake DIR QUERY [--format …]`.

use anyhow::{Context, Result};
use poolsight_config::Config;
use poolsight_detect::LakeSession;

use crate::cli::SqlArgs;
use crate::output::write_batches;

pub fn run(args: &SqlArgs, config: &Config) -> Result<u8> {
    let lake = config.lake_or(args.lake.as_deref());
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let session = LakeSession::open(&lake).await?;
        let batches = session
            .query(&args.query)
            .await
            .context("the query failed")?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        write_batches(&mut out, &batches, args.format)?;
        Ok(0)
    })
}
