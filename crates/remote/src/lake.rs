//! [`RemoteLake`]: a lake in S3 opened for one command — the lock taken
//! (writers), the state copied into a working folder, the folder attached
//! to the bucket's tables, and at the end the changes copied back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use poolsight_collect::aws::{load_sdk_config, s3_client, AwsSettings, RequestCounter};
use poolsight_lake::remote::{attach, detach, RemoteTables};
use poolsight_lake::LakeError;

use crate::cache::{CacheStats, ReadCache};
use crate::lock::{default_owner, LockError, LockOptions, S3LakeLock};
use crate::mirror::{wait_on, Mirror, PullStats, PushStats};
use crate::store::S3Store;

/// `s3://bucket/prefix`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// No slashes at either end; may be empty.
    pub prefix: String,
}

impl S3Location {
    /// `Some` for an `s3://` location, `None` for a folder; an `s3://`
    /// text without a bucket is an error.
    pub fn parse(text: &str) -> Result<Option<Self>, RemoteError> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(None);
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(RemoteError::Location(format!(
                "{text:?} names no bucket (write s3://bucket/prefix)"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part == "." || part == ".." || (part.is_empty() && !prefix.is_empty()))
        {
            return Err(RemoteError::Location(format!(
                "{text:?}: the prefix has an empty, `.` or `..` part"
            )));
        }
        Ok(Some(Self {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }))
    }

    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Errors of a lake in S3.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("lake location: {0}")]
    Location(String),
    /// Another run holds the lake (exit 4).
    #[error(transparent)]
    Busy(Box<LockError>),
    #[error(transparent)]
    Lock(Box<LockError>),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("the working folder of the S3 lake: {0}")]
    WorkFolder(std::io::Error),
}

/// The read cache's folder in the working folder (hidden: never copied).
const READ_CACHE_FOLDER: &str = ".read-cache";

/// How a command uses the lake.
#[derive(Debug, Clone)]
pub enum Access {
    /// Reads only: no lock, nothing goes back.
    Read,
    /// Writes: the lease lock is held from open to close.
    Write { lock: LockOptions },
}

/// A lake in S3, open for one command.
pub struct RemoteLake {
    location: S3Location,
    /// Owns the S3 I/O (the store, the lock's renewal): it outlives every
    /// runtime a command makes.
    runtime: Option<tokio::runtime::Runtime>,
    mirror: Arc<Mirror>,
    lock: Option<S3LakeLock>,
    work: tempfile::TempDir,
    pulled: PullStats,
    cache: Option<Arc<ReadCache>>,
}

impl std::fmt::Debug for RemoteLake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteLake({})", self.location.url())
    }
}

/// What closing did.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloseReport {
    pub pushed: PushStats,
    /// What the read cache saved (zeros without one).
    pub read_cache: CacheStats,
}

impl RemoteLake {
    /// Opens the lake at `location` with `[aws]`'s credentials, region and
    /// endpoint: takes the lock for writers (busy: [`RemoteError::Busy`]),
    /// copies the state into a fresh working folder and attaches it.
    /// Queries read the append-only tables through a [`ReadCache`] of
    /// `read_cache_bytes` in the working folder (0: none).
    pub fn open(
        location: &S3Location,
        settings: &AwsSettings,
        access: Access,
        read_cache_bytes: u64,
    ) -> Result<Self, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("poolsight-s3")
            .enable_all()
            .build()
            .map_err(RemoteError::WorkFolder)?;
        let handle = runtime.handle().clone();
        let client = {
            let settings = settings.clone();
            wait_on(&handle, async move {
                let sdk = load_sdk_config(&settings).await;
                s3_client(&sdk, &settings, None, &RequestCounter::default())
            })
        };
        let lock = match access {
            Access::Read => None,
            Access::Write { lock } => {
                let client = client.clone();
                let location = location.clone();
                let acquired = wait_on(&handle, async move {
                    S3LakeLock::acquire(
                        &client,
                        &location.bucket,
                        &location.prefix,
                        &default_owner(),
                        lock,
                    )
                    .await
                });
                match acquired {
                    Ok(lock) => Some(lock),
                    Err(busy @ LockError::Busy { .. }) => {
                        return Err(RemoteError::Busy(Box::new(busy)))
                    }
                    Err(other) => return Err(RemoteError::Lock(Box::new(other))),
                }
            }
        };
        let work = tempfile::Builder::new()
            .prefix("poolsight-lake-")
            .tempdir()
            .map_err(RemoteError::WorkFolder)?;
        let store = S3Store::new(
            client,
            &location.bucket,
            handle.clone(),
            settings.max_attempts,
        );
        let mirror = Arc::new(Mirror::new(
            store.clone(),
            &location.prefix,
            work.path(),
            handle,
            lock.as_ref().map(S3LakeLock::lost_flag),
        ));
        let cache = match read_cache_bytes {
            0 => None,
            bytes => Some(Arc::new(
                ReadCache::new(
                    Arc::new(store.clone()),
                    work.path().join(READ_CACHE_FOLDER),
                    bytes,
                )
                .map_err(RemoteError::WorkFolder)?,
            )),
        };
        let query_store: Arc<dyn ObjectStore> = match &cache {
            Some(cache) => Arc::clone(cache) as _,
            None => Arc::new(store),
        };
        let mut lake = RemoteLake {
            location: location.clone(),
            runtime: Some(runtime),
            mirror: Arc::clone(&mirror),
            lock,
            work,
            pulled: PullStats::default(),
            cache,
        };
        lake.pulled = mirror.pull()?;
        poolsight_lake::Lake::create(lake.work.path())?;
        attach(
            lake.work.path(),
            Arc::new(RemoteTables {
                url: location.url(),
                store: query_store,
                keys: Arc::clone(&mirror) as _,
                publisher: mirror as _,
            }),
        );
        tracing::debug!(
            lake = %location.url(),
            objects = lake.pulled.objects,
            bytes = lake.pulled.bytes,
            folder = %lake.work.path().display(),
            "state of the S3 lake copied into the working folder"
        );
        Ok(lake)
    }

    /// The working folder: give it to the commands as the lake.
    pub fn folder(&self) -> &Path {
        self.work.path()
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// What opening copied down.
    pub fn pulled(&self) -> PullStats {
        self.pulled
    }

    /// Whether this run lost the lock (it must stop writing).
    pub fn is_lost(&self) -> bool {
        self.lock.as_ref().is_some_and(S3LakeLock::is_lost)
    }

    /// Copies the changes back now (writers).
    pub fn push(&self) -> Result<PushStats, RemoteError> {
        Ok(self.mirror.push()?)
    }

    /// Ends the command: writers copy the changes back and release the
    /// lock; the working folder is removed.
    pub fn close(mut self) -> Result<CloseReport, RemoteError> {
        let mut report = CloseReport::default();
        if let Some(cache) = &self.cache {
            report.read_cache = cache.stats();
        }
        if report.read_cache.reads > 0 {
            tracing::info!(
                lake = %self.location.url(),
                reads = report.read_cache.reads,
                from_cache = report.read_cache.hits,
                requests = report.read_cache.fetches,
                bytes_fetched = report.read_cache.fetched_bytes,
                files_evicted = report.read_cache.evictions,
                "read cache of the S3 lake"
            );
        }
        let pushed = match &self.lock {
            Some(_) => self.mirror.push().map(Some),
            None => Ok(None),
        };
        if let (Some(lock), Some(runtime)) = (self.lock.take(), self.runtime.as_ref()) {
            // Released even when the push failed: the next run must not
            // wait a lease for a lake this run left consistent.
            let released = wait_on(runtime.handle(), async move { lock.release().await });
            if let Err(error) = released {
                tracing::warn!(error = %error, "the S3 lake lock could not be released; its lease will run out");
            }
        }
        if let Some(pushed) = pushed? {
            report.pushed = pushed;
        }
        Ok(report)
    }

    /// Where the working folder is (for messages).
    pub fn folder_path(&self) -> PathBuf {
        self.work.path().to_path_buf()
    }
}

impl Drop for RemoteLake {
    fn drop(&mut self) {
        detach(self.work.path());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(S3Location::parse("/var/lake").unwrap(), None);
        let location = S3Location::parse("s3://bucket/a/b/").unwrap().unwrap();
        assert_eq!(
            (location.bucket.as_str(), location.prefix.as_str()),
            ("bucket", "a/b")
        );
        assert_eq!(location.url(), "s3://bucket/a/b");
        let bare = S3Location::parse("s3://bucket").unwrap().unwrap();
        assert_eq!(
            (bare.prefix.as_str(), bare.url().as_str()),
            ("", "s3://bucket")
        );
        for bad in ["s3://", "s3:///prefix", "s3://b/a/../c", "s3://b/a//c"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
