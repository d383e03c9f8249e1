//! The local-files source: `poolsight ingest PATH...`.
//!
//! Walks folders (CloudTrail S3-layout trees `AWSLogs/…/*.json.gz`, CLI
//! outputs, JSON Lines exports), skips CloudTrail digest files, and feeds
//! the files to the pipeline's workers in parallel, largest first so the
//! cores finish together.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use walkdir::WalkDir;

use crate::pipeline::{IngestError, IngestOptions, IngestSummary, PayloadSource, Pipeline};

/// A file to ingest.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub size: u64,
}

/// What walking the inputs found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<InputFile>,
    /// Digest files and names that are not JSON: `(path, why)`.
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// Paths that do not exist or cannot be listed: `(path, error)`.
    pub missing: Vec<(PathBuf, String)>,
}

/// File names ingested when found by walking a folder (a file named on the
/// command line is always ingested).
fn looks_ingestible(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    [".json", ".jsonl", ".ndjson", ".log", ".txt"]
        .iter()
        .any(|ext| base.ends_with(ext))
}

/// Why a file is skipped on purpose, if it is.
fn skip_reason(path: &Path) -> Option<&'static str> {
    let text = path.to_string_lossy();
    // Insights files are read: their events go to the `insights` table.
    text.contains("CloudTrail-Digest")
        .then_some("CloudTrail digest file (integrity metadata, not events)")
}

/// Finds the files under `paths`.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    for root in paths {
        if root.is_file() {
            match skip_reason(root) {
                Some(why) => discovery.skipped.push((root.clone(), why)),
                None => discovery.files.push(InputFile {
                    size: root.metadata().map(|m| m.len()).unwrap_or(0),
                    path: root.clone(),
                }),
            }
            continue;
        }
        if !root.exists() {
            discovery
                .missing
                .push((root.clone(), "no such file or folder".into()));
            continue;
        }
        for entry in WalkDir::new(root).follow_links(true).sort_by_file_name() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    let path = error
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    discovery.missing.push((path, error.to_string()));
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy();
            if entry.depth() > 0 && name.starts_with('.') {
                continue;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path().to_path_buf();
            if let Some(why) = skip_reason(&path) {
                discovery.skipped.push((path, why));
            } else if looks_ingestible(&name) {
                discovery.files.push(InputFile {
                    size: entry.metadata().map(|m| m.len()).unwrap_or(0),
                    path,
                });
            } else {
                discovery.skipped.push((path, "not a JSON file by name"));
            }
        }
    }
    discovery
}

/// Ingests local files and folders into the lake at `lake_dir`.
///
/// `progress` is called after each file with (files done, files total).
pub fn ingest_paths(
    paths: &[PathBuf],
    lake_dir: &Path,
    options: IngestOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let discovery = discover(paths);
    let pipeline = Pipeline::open(lake_dir, options)?;
    for (path, why) in &discovery.skipped {
        pipeline.skip_file(&path.display().to_string(), why);
    }
    for (path, error) in &discovery.missing {
        pipeline.fail_file(
            &path.display().to_string(),
            "unreadable_file",
            format!("cannot read: {error}"),
        )?;
    }
    let mut files = discovery.files;
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let total = files.len() as u64;
    let workers = pipeline.options().workers.clamp(1, files.len().max(1));
    let (sender, receiver) = crossbeam_channel::unbounded::<InputFile>();
    for file in files {
        let _ = sender.send(file);
    }
    drop(sender);
    let done = std::sync::atomic::AtomicU64::new(0);

    let results: Vec<Result<_, IngestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|id| {
                let receiver = receiver.clone();
                let pipeline = Arc::clone(&pipeline);
                let done = &done;
                scope.spawn(move || {
                    let mut worker = pipeline.worker(id)?;
                    for file in receiver.iter() {
                        let uri = file.path.display().to_string();
                        let source = PayloadSource {
                            kind: "file",
                            uri: &uri,
                        };
                        match worker.ingest_file(&file.path, &source) {
                            Ok(_) => {}
                            Err(IngestError::Io { source: error, .. }) => {
                                pipeline.fail_file(
                                    &uri,
                                    "unreadable_file",
                                    format!("cannot read: {error}"),
                                )?;
                            }
                            Err(error) => return Err(error),
                        }
                        let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(finished, total);
                    }
                    worker.finish()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(Err(IngestError::WorkerPanicked)))
            .collect()
    });
    let mut writes = Vec::new();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(stats) => writes.push(stats),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    pipeline.finish(&writes)
}
