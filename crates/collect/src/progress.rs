//! Live counters of each source, read by the terminal progress display
//! while the run goes on.

use std::sync::atomic::{AtomicU64, Ordering};

/// One source's progress.
#[derive(Debug, Default)]
pub struct SourceProgress {
    pub name: String,
    /// Objects (S3) or pages (CloudWatch Logs, LookupEvents) read.
    pub objects: AtomicU64,
    /// Records handed to the normalizer.
    pub records: AtomicU64,
    /// Events new to the lake.
    pub written: AtomicU64,
    /// Bytes downloaded.
    pub bytes: AtomicU64,
    /// HTTP requests sent.
    pub requests: AtomicU64,
    /// Set when the source has finished (successfully or not).
    pub done: std::sync::atomic::AtomicBool,
}

impl SourceProgress {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Default::default()
        }
    }

    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
