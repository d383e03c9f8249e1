//! A lake whose append-only tables live in an object store (`lake =
//! "s3://bucket/prefix"`).
//!
//! Such a lake is worked on through a local **working folder**: the small,
//! rewritten state (findings, state tables, inventory, checkpoints, the
//! outbox) is copied there before a command and back after it, by the
//! `poolsight-remote` crate. The append-only tables — `events/`,
//! `insights/`, `quarantine/` and their dedup sidecars — are never copied
//! down: readers query them in the store, and the dedup index loads the
//! sidecars of the days a run writes ([`KeyShardSource`]).
//!
//! The working folder is *attached* to its remote tables for the life of
//! the process ([`attach`]); [`crate::Lake::open`] and
//! [`crate::Lake::create`] of that folder find the attachment, so every
//! library that takes a lake folder works on an S3 lake unchanged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::Result;

/// The keys of one day of the lake (`events/` and `insights/`), as the
/// dedup index needs them.
#[derive(Debug, Default)]
pub struct DayKeys {
    /// The hashes of the `event_key`s of the day's files (any order).
    pub keys: Vec<u128>,
    /// Files read.
    pub files: usize,
    /// Sidecars rebuilt from their Parquet file (missing: a crash between
    /// the two, or a lake copied without `_state/`).
    pub rebuilt_sidecars: usize,
    /// Files that could not be read as events: `(was, now, why)`.
    pub moved_aside: Vec<(String, String, String)>,
}

/// Where the dedup index finds the keys of a day.
pub trait KeyShardSource: Send + Sync + std::fmt::Debug {
    /// The keys of every file of `date` (`YYYY-MM-DD`) in `events/` and
    /// `insights/`. Called from worker threads, never from async code.
    fn day_keys(&self, date: &str) -> Result<DayKeys>;
}

/// Copies what the working folder holds and the store does not (new
/// event files, their sidecars, the quarantine, changed state) to the
/// store, in commit order: event files, then sidecars, then the rest, the
/// checkpoints last.
pub trait Publish: Send + Sync + std::fmt::Debug {
    /// Called when a writer finishes a step (an ingest, a collect). Never
    /// from async code.
    fn publish(&self) -> Result<()>;
}

/// The tables of a lake that stay in the object store.
#[derive(Debug)]
pub struct RemoteTables {
    /// `s3://bucket/prefix` (no trailing slash).
    pub url: String,
    /// The store holding `url`'s bucket (registered with query engines).
    pub store: Arc<dyn object_store::ObjectStore>,
    /// The dedup keys of a day.
    pub keys: Arc<dyn KeyShardSource>,
    /// What makes a writer's files visible in the store.
    pub publisher: Arc<dyn Publish>,
}

impl RemoteTables {
    /// `s3://bucket/prefix/<table>/` — the listing URL of a table.
    pub fn table_url(&self, table: &str) -> String {
        format!("{}/{table}/", self.url.trim_end_matches('/'))
    }

    /// `s3://bucket` — what a query engine registers the store under.
    pub fn bucket_url(&self) -> String {
        let rest = self.url.trim_start_matches("s3://");
        let bucket = rest.split('/').next().unwrap_or_default();
        format!("s3://{bucket}")
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<RemoteTables>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<RemoteTables>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn key_of(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// Attaches the working folder `root` to its remote tables until
/// [`detach`] (or the end of the process).
pub fn attach(root: &Path, tables: Arc<RemoteTables>) {
    registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(key_of(root), tables);
}

/// Forgets the attachment of `root`.
pub fn detach(root: &Path) {
    registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&key_of(root));
}

/// The remote tables `root` is attached to, if any.
pub fn attached(root: &Path) -> Option<Arc<RemoteTables>> {
    let map = registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.is_empty() {
        return None;
    }
    map.get(&key_of(root)).cloned()
}
