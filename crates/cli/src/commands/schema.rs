//! `poolsight schema`: the columns of `events`; with `--athena`, the lake
//! as Athena tables (`poolsight_detect::athena`).

use anyhow::{anyhow, Result};
use poolsight_config::Config;
use poolsight_detect::athena::{ddl, hive_type, AthenaOptions};
use poolsight_detect::catalog::Catalog;
use poolsight_detect::{LakeSession, SessionOptions};

use crate::cli::SchemaArgs;

pub fn run(args: &SchemaArgs, config: &Config) -> Result<u8> {
    if !args.athena {
        println!("{} string (partition)", poolsight_model::PARTITION_COLUMN);
        for field in poolsight_model::event_schema().fields() {
            println!("{} {}", field.name(), hive_type(field.data_type()));
        }
        return Ok(0);
    }
    let location = args.location.clone().ok_or_else(|| {
        anyhow!("--athena needs --location s3://bucket/prefix: where the lake is in S3")
    })?;
    let catalog = Catalog::from_config(config)?;
    // The state tables' columns come from planning their SQL: an empty
    // scratch lake is enough (removed when the command ends).
    let scratch = tempfile::Builder::new()
        .prefix("poolsight-schema-")
        .tempdir()?;
    poolsight_lake::Lake::create(scratch.path())?;
    let text = super::runtime()?.block_on(async {
        let session =
            LakeSession::open_with(scratch.path(), &SessionOptions::default(), &catalog).await?;
        ddl(
            &session,
            &catalog,
            &AthenaOptions {
                location,
                database: args.database.clone(),
                since: args.since.clone(),
            },
        )
        .await
    })?;
    print!("{text}");
    Ok(0)
}
