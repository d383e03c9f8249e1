//! One module per subcommand.

pub mod cluster;
pub mod collect;
pub mod compact;
pub mod coverage;
pub mod dash;
pub mod demo;
pub mod detect;
pub mod export;
pub mod findings;
pub mod ingest;
pub mod inventory;
pub mod notify;
pub mod run;
pub mod sample;
pub mod schema;
pub mod sql;
pub mod state;

/// The ingest options `[ingest]` asks for (`ingest` and `collect` share them).
pub fn ingest_options(config: &poolsight_config::Config) -> poolsight_ingest::IngestOptions {
    let mut options = poolsight_ingest::IngestOptions::default();
    let ingest = &config.ingest;
    if let Some(bytes) = ingest.max_record_bytes {
        options.max_record_bytes = bytes;
    }
    if let Some(bytes) = ingest.max_inflated_bytes {
        options.max_inflated_bytes = bytes;
    }
    if let Some(workers) = ingest.workers {
        options.workers = workers.max(1);
    }
    options
}

/// Where detections and `sql` run: `--engine`, else `[engine] ballista`,
/// else in process (`None`; also for `--engine local`). Called inside the
/// runtime the queries run on.
pub async fn engine(
    config: &poolsight_config::Config,
    from_command_line: Option<&str>,
) -> anyhow::Result<Option<std::sync::Arc<dyn poolsight_detect::Engine>>> {
    let url = match from_command_line {
        Some("local") => return Ok(None),
        Some(url) => url,
        None => match config.engine.ballista.as_deref() {
            Some(url) => url,
            None => return Ok(None),
        },
    };
    let engine = poolsight_cluster::BallistaEngine::connect(url, config)
        .await
        .map_err(|e| anyhow::anyhow!("--engine {url}: {e}"))?;
    tracing::info!(engine = url, "queries run on the Ballista cluster");
    Ok(Some(std::sync::Arc::new(engine)))
}

/// A tokio runtime for the commands that query.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Per-user state (SQL history, the dashboard's log):
/// `$XDG_STATE_HOME/poolsight`, else `~/.local/state/poolsight`.
pub fn state_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("poolsight"))
}
