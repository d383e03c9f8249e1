//! `lake = "s3://bucket/prefix"` for every command: before the command,
//! the lake is opened in S3 ([`poolsight_remote::RemoteLake`]: the lock
//! for writers, the state copied into a working folder) and the command is
//! given that folder as its lake; after it, a writer's changes go back and
//! the lock is released. The commands themselves do not know.

use std::path::PathBuf;

use anyhow::Context;
use poolsight_config::{is_remote_lake, Config};
use poolsight_remote::{Access, LockOptions, RemoteError, RemoteLake, S3Location};

use crate::cli::{Command, ExportWhat, FindingsAction, StateAction};

/// What opening found.
pub enum Opened {
    /// A local lake (or a command without one): nothing to do.
    Local,
    /// A lake in S3, open; the command's lake is now its working folder.
    Remote(Box<RemoteLake>),
    /// The command must not run: exit with this code (another run holds
    /// the lake: 4).
    Exit(u8),
}

/// The command's lake argument and whether it writes.
fn lake_of(command: &mut Command) -> Option<(&mut Option<PathBuf>, bool, &'static str)> {
    Some(match command {
        Command::Ingest(args) => (&mut args.lake, true, "ingest"),
        Command::Collect(args) => (&mut args.lake, true, "collect"),
        Command::Run(args) => (&mut args.lake, true, "run"),
        Command::Detect(args) => {
            let writes = !args.no_store;
            (&mut args.lake, writes, "detect")
        }
        Command::Lint(args) => (&mut args.lake, false, "lint"),
        Command::Sql(args) => (&mut args.lake, false, "sql"),
        Command::Findings(args) => {
            let writes = !matches!(
                args.action,
                FindingsAction::List(_) | FindingsAction::Show { .. }
            );
            (&mut args.lake, writes, "findings")
        }
        Command::State(args) => {
            let writes = matches!(args.action, StateAction::Rebuild);
            (&mut args.lake, writes, "state")
        }
        Command::Dash(args) => (&mut args.lake, false, "dash"),
        Command::Compact(args) => (&mut args.lake, true, "compact"),
        Command::Inventory(args) => (&mut args.lake, true, "inventory"),
        Command::Coverage(args) => (&mut args.lake, false, "coverage"),
        Command::Notify(args) => {
            let writes = !args.dry_run;
            (&mut args.lake, writes, "notify")
        }
        Command::Export(args) => match &mut args.what {
            ExportWhat::Ocsf(args) => (&mut args.lake, false, "export"),
        },
        Command::Sample(_) | Command::Demo(_) | Command::Schema(_) | Command::Cluster(_) => {
            return None
        }
    })
}

/// Opens the command's lake when it is in S3 and points the command at
/// its working folder.
pub fn open(command: &mut Command, config: &Config) -> anyhow::Result<Opened> {
    if let Command::Demo(args) = command {
        if is_remote_lake(&args.lake) {
            anyhow::bail!(
                "demo builds a local lake; ingest the sample into S3 with `poolsight ingest sample-data --lake s3://…`"
            );
        }
    }
    let Some((lake, writes, name)) = lake_of(command) else {
        return Ok(Opened::Local);
    };
    let location = config.lake_or(lake.as_deref());
    if !is_remote_lake(&location) {
        return Ok(Opened::Local);
    }
    let text = location.to_string_lossy().into_owned();
    let Some(location) = S3Location::parse(&text)? else {
        return Ok(Opened::Local);
    };
    let access = if writes {
        let mut lock = LockOptions::default();
        if let Some(lease) = config
            .s3_lake
            .lease
            .as_deref()
            .and_then(poolsight_model::time::parse_span)
            .and_then(|span| span.to_std().ok())
        {
            lock.lease = lease;
            lock.renew_every = lease / 3;
        }
        Access::Write { lock }
    } else {
        Access::Read
    };
    let settings = poolsight_collect::AwsSettings::from_config(
        config,
        config.collect.max_attempts.unwrap_or(6),
    );
    match RemoteLake::open(
        &location,
        &settings,
        access,
        config.s3_lake.read_cache_bytes(),
    ) {
        Ok(remote) => {
            *lake = Some(remote.folder().to_path_buf());
            tracing::info!(
                lake = %location.url(),
                writes,
                state_objects = remote.pulled().objects,
                state_bytes = remote.pulled().bytes,
                "opened the lake in S3"
            );
            Ok(Opened::Remote(Box::new(remote)))
        }
        Err(RemoteError::Busy(busy)) => {
            eprintln!(
                "poolsight {name}: {}; nothing was done",
                crate::output::terminal_safe(&busy.to_string())
            );
            Ok(Opened::Exit(crate::exit::BUSY))
        }
        Err(other) => Err(other).with_context(|| format!("open the lake {}", location.url())),
    }
}

/// Ends the command on a lake in S3: copies a writer's changes back and
/// releases the lock. A failed copy turns the exit code into an error.
pub fn close(remote: Box<RemoteLake>, code: u8) -> anyhow::Result<u8> {
    let url = remote.location().url();
    let report = remote
        .close()
        .with_context(|| format!("copy the changes back to the lake {url}"))?;
    tracing::info!(
        lake = %url,
        uploaded = report.pushed.uploaded,
        bytes = report.pushed.bytes,
        deleted = report.pushed.deleted,
        "closed the lake in S3"
    );
    Ok(code)
}
