//! One module per subcommand.

pub mod collect;
pub mod demo;
pub mod detect;
pub mod ingest;
pub mod sample;
pub mod sql;

/// A tokio runtime for the commands that query.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
