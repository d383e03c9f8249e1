//! `poolsight collect`: pull from the configured AWS sources into the lake
//! (the step `run` starts with; both call [`crate::collecting`]).

use anyhow::Result;
use poolsight_config::Config;

use crate::cli::CollectArgs;
use crate::collecting;

pub fn run(args: &CollectArgs, config: &Config, quiet: bool) -> Result<u8> {
    let Some(collected) = collecting::collect(args, config, quiet, "collect")? else {
        return Ok(crate::exit::BUSY);
    };
    collecting::print(&collected, args.json);
    Ok(collecting::exit_code(&collected))
}
