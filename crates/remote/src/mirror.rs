//! The working folder of a lake in S3 and the copying between the two.
//!
//! The lake's paths fall in three classes ([`class_of`]):
//!
//! - **append-only** (`events/`, `insights/`, `quarantine/`, the dedup
//!   sidecars, `_state/damaged/`): never copied down. A run's new files
//!   are uploaded (whole `PutObject`, or a multipart upload that only
//!   `CompleteMultipartUpload` makes visible) and removed from the folder.
//!   Readers query them in the bucket.
//! - **mirrored** (findings, state tables, inventory, the outbox,
//!   checkpoints, progress): copied down before a command ([`Mirror::pull`]);
//!   what the command created or changed goes back, and what it removed
//!   is deleted ([`Mirror::push`]).
//! - **local** (the folder's own lock file, hidden temporaries, the S3
//!   lock objects): never copied either way.
//!
//! Push order is the commit order of the local lake: event files, then
//! their sidecars, then the quarantine, then mirrored state, the
//! checkpoints last. A crash anywhere leaves S3 in a state an earlier
//! crash of a local run could leave (see `docs/s3-lake.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use poolsight_lake::remote::{DayKeys, KeyShardSource, Publish};
use poolsight_lake::LakeError;
use poolsight_model::PARTITION_COLUMN;

use crate::store::S3Store;

/// Objects at or above this size go up as multipart uploads.
const MULTIPART_FROM: usize = 16 << 20;
/// Part size of multipart uploads.
const PART_BYTES: usize = 8 << 20;
/// Downloads and uploads in flight at once.
const CONCURRENCY: usize = 16;

/// How a lake path is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Event and insight files (uploaded first).
    Events,
    /// Their dedup sidecars.
    Sidecars,
    /// Quarantine files and files set aside.
    Quarantine,
    /// Rewritten state, copied both ways.
    Mirrored,
    /// Checkpoints and detection progress (uploaded last).
    Checkpoints,
    /// Never copied.
    Local,
}

impl Class {
    /// The step name after this class is uploaded (crash tests).
    fn step(self) -> &'static str {
        match self {
            Class::Events => "s3:pushed:events",
            Class::Sidecars => "s3:pushed:sidecars",
            Class::Quarantine => "s3:pushed:quarantine",
            Class::Mirrored => "s3:pushed:state",
            Class::Checkpoints => "s3:pushed:checkpoints",
            Class::Local => "s3:pushed:local",
        }
    }

    fn is_append_only(self) -> bool {
        matches!(self, Class::Events | Class::Sidecars | Class::Quarantine)
    }
}

/// The class of a path relative to the lake root (`/`-separated).
pub fn class_of(relative: &str) -> Class {
    if relative
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return Class::Local;
    }
    let first = relative.split('/').next().unwrap_or_default();
    match first {
        "events" | "insights" => Class::Events,
        "quarantine" => Class::Quarantine,
        "_state" => {
            let second = relative.split('/').nth(1).unwrap_or_default();
            match second {
                "event_keys" | "insight_keys" => Class::Sidecars,
                "damaged" => Class::Quarantine,
                "lock" => Class::Local,
                "checkpoints" | "detect_progress.json" => Class::Checkpoints,
                _ => Class::Mirrored,
            }
        }
        _ => Class::Mirrored,
    }
}

/// What a push did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushStats {
    pub uploaded: usize,
    pub bytes: u64,
    pub deleted: usize,
}

/// What a pull did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullStats {
    pub objects: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        size: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// The working folder and its lake in S3.
#[derive(Debug)]
pub struct Mirror {
    store: S3Store,
    /// `s3://bucket/prefix`.
    url: String,
    /// The key prefix (no slashes at either end; may be empty).
    prefix: String,
    root: PathBuf,
    handle: tokio::runtime::Handle,
    /// Mirrored files as last pulled or pushed: what changed since.
    known: Mutex<BTreeMap<String, Stamp>>,
    /// Set for writers; a lost lock stops every later push.
    lock_lost: Option<Arc<AtomicBool>>,
}

/// Runs `work` on `handle` and waits for it from synchronous code (worker
/// threads, the CLI), without entering the runtime.
pub fn wait_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = sender.send(work.await);
    });
    receiver
        .recv()
        .expect("the S3 runtime lives as long as the remote lake")
}

impl Mirror {
    pub fn new(
        store: S3Store,
        prefix: &str,
        root: &Path,
        handle: tokio::runtime::Handle,
        lock_lost: Option<Arc<AtomicBool>>,
    ) -> Self {
        let prefix = prefix.trim_matches('/').to_string();
        let url = if prefix.is_empty() {
            format!("s3://{}", store.bucket())
        } else {
            format!("s3://{}/{prefix}", store.bucket())
        };
        Self {
            store,
            url,
            prefix,
            root: root.to_path_buf(),
            handle,
            known: Mutex::new(BTreeMap::new()),
            lock_lost,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn store(&self) -> &S3Store {
        &self.store
    }

    fn error(&self, message: impl std::fmt::Display) -> LakeError {
        LakeError::Remote {
            url: self.url.clone(),
            message: message.to_string(),
        }
    }

    /// One whole object's bytes.
    async fn get_bytes(&self, location: &StorePath) -> Result<bytes::Bytes, LakeError> {
        self.store
            .get(location)
            .await
            .map_err(|e| self.error(e))?
            .bytes()
            .await
            .map_err(|e| self.error(e))
    }

    fn key(&self, relative: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(relative)
        } else {
            StorePath::from(format!("{}/{relative}", self.prefix))
        }
    }

    /// The lake-relative path of a key under the prefix.
    fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(&self.prefix)?.strip_prefix('/')
        }
    }

    /// Lists the objects of the mirrored classes (without walking the
    /// append-only tables, which may hold millions of objects).
    async fn list_mirrored(&self) -> Result<Vec<object_store::ObjectMeta>, LakeError> {
        let mut found = Vec::new();
        let mut folders = vec![if self.prefix.is_empty() {
            None
        } else {
            Some(StorePath::from(self.prefix.as_str()))
        }];
        while let Some(folder) = folders.pop() {
            let listed = self
                .store
                .list_with_delimiter(folder.as_ref())
                .await
                .map_err(|e| self.error(e))?;
            for object in listed.objects {
                if let Some(relative) = self.relative(object.location.as_ref()) {
                    if matches!(class_of(relative), Class::Mirrored | Class::Checkpoints) {
                        found.push(object);
                    }
                }
            }
            for sub in listed.common_prefixes {
                let Some(relative) = self.relative(sub.as_ref()) else {
                    continue;
                };
                // Folders of append-only or local files are never walked;
                // `_state/` is walked level by level (it holds the dedup
                // sidecars), the others in one listing.
                match class_of(&format!("{relative}/x")) {
                    Class::Mirrored if relative != "_state" && !relative.starts_with("_state/") => {
                        let objects: Vec<_> = self
                            .store
                            .list(Some(&sub))
                            .try_collect()
                            .await
                            .map_err(|e| self.error(e))?;
                        found.extend(objects.into_iter().filter(|o| {
                            self.relative(o.location.as_ref()).is_some_and(|r| {
                                matches!(class_of(r), Class::Mirrored | Class::Checkpoints)
                            })
                        }));
                    }
                    Class::Mirrored | Class::Checkpoints => folders.push(Some(sub)),
                    _ => {}
                }
            }
        }
        Ok(found)
    }

    /// A copy sharing the store, for the S3 runtime's tasks.
    fn shallow(&self) -> Arc<Mirror> {
        Arc::new(Mirror {
            store: self.store.clone(),
            url: self.url.clone(),
            prefix: self.prefix.clone(),
            root: self.root.clone(),
            handle: self.handle.clone(),
            known: Mutex::new(self.known_now()),
            lock_lost: self.lock_lost.clone(),
        })
    }

    fn known_now(&self) -> BTreeMap<String, Stamp> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn pull_async(
        self: Arc<Self>,
    ) -> Result<(PullStats, BTreeMap<String, Stamp>), LakeError> {
        let objects = self.list_mirrored().await?;
        let mut stats = PullStats::default();
        let downloads = futures::stream::iter(objects.into_iter().map(|object| {
            let this = Arc::clone(&self);
            async move {
                let relative = this
                    .relative(object.location.as_ref())
                    .unwrap_or_default()
                    .to_string();
                let local = poolsight_lake::path_under(&this.root, &relative)
                    .map_err(|e| this.error(format!("object {}: {e}", object.location)))?;
                let bytes = this.get_bytes(&object.location).await?;
                if let Some(parent) = local.parent() {
                    poolsight_lake::fsio::create_dir_durable(parent)?;
                }
                poolsight_lake::write_atomically(&local, &bytes)?;
                Ok::<_, LakeError>((relative, local, bytes.len() as u64))
            }
        }))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
        let mut known = BTreeMap::new();
        for (relative, local, size) in downloads {
            stats.objects += 1;
            stats.bytes += size;
            if let Some(stamp) = stamp(&local) {
                known.insert(relative, stamp);
            }
        }
        Ok((stats, known))
    }

    fn check_lock(&self) -> Result<(), LakeError> {
        match &self.lock_lost {
            None => Err(self.error("opened for reading: nothing may be written to the lake")),
            Some(lost) if lost.load(Ordering::SeqCst) => Err(self.error(
                "this run lost the lake's lock (another run took it over after the lease ran out); nothing more is written",
            )),
            Some(_) => Ok(()),
        }
    }

    /// Copies the folder's new and changed files up, in commit order, and
    /// deletes what the folder no longer has. Append-only files leave the
    /// folder once uploaded.
    pub fn push(&self) -> Result<PushStats, LakeError> {
        self.check_lock()?;
        let known = self.known_now();
        let mut changed: BTreeMap<Class, Vec<(String, PathBuf)>> = BTreeMap::new();
        let mut present = std::collections::BTreeSet::new();
        for (relative, local) in walk(&self.root)? {
            let class = class_of(&relative);
            if class == Class::Local {
                continue;
            }
            if !class.is_append_only() {
                present.insert(relative.clone());
                if known.get(&relative) == stamp(&local).as_ref() {
                    continue;
                }
            }
            changed.entry(class).or_default().push((relative, local));
        }
        let removed: Vec<String> = known
            .keys()
            .filter(|relative| !present.contains(*relative))
            .cloned()
            .collect();
        let this = self.shallow();
        let to_delete = removed.clone();
        let (stats, stamps) = wait_on(&self.handle, async move {
            let mut stats = PushStats::default();
            let mut stamps = Vec::new();
            for (class, files) in changed {
                // One class at a time: a later class never lands before an earlier one.
                this.check_lock()?;
                let uploads = futures::stream::iter(files.into_iter().map(|(relative, local)| {
                    let this = Arc::clone(&this);
                    async move {
                        let size = this.upload(&relative, &local).await?;
                        Ok::<_, LakeError>((relative, local, size))
                    }
                }))
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<_>>()
                .await?;
                poolsight_lake::failpoint::step(class.step());
                for (relative, local, size) in uploads {
                    stats.uploaded += 1;
                    stats.bytes += size;
                    if class.is_append_only() {
                        std::fs::remove_file(&local).map_err(|e| LakeError::io(&local, e))?;
                    } else {
                        stamps.push((relative, stamp(&local)));
                    }
                }
            }
            for relative in &to_delete {
                this.check_lock()?;
                match this.store.delete(&this.key(relative)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => stats.deleted += 1,
                    Err(e) => return Err(this.error(e)),
                }
            }
            Ok::<_, LakeError>((stats, stamps))
        })?;
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for relative in removed {
            known.remove(&relative);
        }
        for (relative, stamp) in stamps {
            match stamp {
                Some(stamp) => known.insert(relative, stamp),
                None => known.remove(&relative),
            };
        }
        Ok(stats)
    }

    async fn upload(&self, relative: &str, local: &Path) -> Result<u64, LakeError> {
        let bytes = tokio::fs::read(local)
            .await
            .map_err(|e| LakeError::io(local, e))?;
        let size = bytes.len() as u64;
        let key = self.key(relative);
        if bytes.len() < MULTIPART_FROM {
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(|e| self.error(e))?;
        } else {
            let upload = self
                .store
                .put_multipart(&key)
                .await
                .map_err(|e| self.error(e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            writer.write(&bytes);
            writer.finish().await.map_err(|e| self.error(e))?;
        }
        Ok(size)
    }

    /// Adopts the pull's record of what the folder holds.
    fn remember(&self, known: BTreeMap<String, Stamp>) {
        *self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = known;
    }

    /// Copies the mirrored state down into the (empty) working folder and
    /// records what it holds.
    pub fn pull(&self) -> Result<PullStats, LakeError> {
        let this = self.shallow();
        let (stats, known) = wait_on(&self.handle, async move { this.pull_async().await })?;
        self.remember(known);
        Ok(stats)
    }

    async fn day_keys_async(self: Arc<Self>, date: String) -> Result<DayKeys, LakeError> {
        let partition = format!("{PARTITION_COLUMN}={date}");
        let mut out = DayKeys::default();
        for (table, sidecars) in [("events", "event_keys"), ("insights", "insight_keys")] {
            let files: Vec<_> = self
                .store
                .list(Some(&self.key(&format!("{table}/{partition}"))))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| self.error(e))?
                .into_iter()
                .filter(|o| {
                    let name = o.location.filename().unwrap_or_default();
                    name.ends_with(".parquet") && !name.starts_with('.')
                })
                .collect();
            let sidecar_folder = format!("_state/{sidecars}/{partition}");
            let known_sidecars: std::collections::HashSet<String> = self
                .store
                .list(Some(&self.key(&sidecar_folder)))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| self.error(e))?
                .into_iter()
                .map(|o| o.location.to_string())
                .collect();
            let loaded = futures::stream::iter(files.into_iter().map(|file| {
                let this = Arc::clone(&self);
                let name = file.location.filename().unwrap_or_default().to_string();
                let sidecar = this.key(&format!("{sidecar_folder}/{name}.keys"));
                let has_sidecar = known_sidecars.contains(sidecar.as_ref());
                async move { this.file_keys(file.location, sidecar, has_sidecar).await }
            }))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
            for file in loaded {
                match file {
                    FileKeys::Keys { keys, rebuilt } => {
                        out.files += 1;
                        out.rebuilt_sidecars += usize::from(rebuilt);
                        out.keys.extend(keys);
                    }
                    FileKeys::MovedAside { was, now, why } => out.moved_aside.push((was, now, why)),
                }
            }
        }
        Ok(out)
    }

    /// The keys of one remote event file: its sidecar, else the file's
    /// `event_key` column (and the sidecar is written). A file that is not
    /// poolsight events is moved to `_state/damaged/`.
    async fn file_keys(
        &self,
        file: StorePath,
        sidecar: StorePath,
        has_sidecar: bool,
    ) -> Result<FileKeys, LakeError> {
        if has_sidecar {
            let bytes = self.get_bytes(&sidecar).await?;
            if let Some(keys) = poolsight_lake::keys::keys_of_sidecar(&bytes) {
                return Ok(FileKeys::Keys {
                    keys,
                    rebuilt: false,
                });
            }
        }
        let bytes = self.get_bytes(&file).await?;
        let name = format!("s3://{}/{file}", self.store.bucket());
        match poolsight_lake::keys::keys_of_parquet_bytes(bytes, Path::new(&name)) {
            Ok(mut keys) => {
                keys.sort_unstable();
                self.check_lock()?;
                self.store
                    .put(
                        &sidecar,
                        PutPayload::from(poolsight_lake::keys::sidecar_bytes(&keys)),
                    )
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(FileKeys::Keys {
                    keys,
                    rebuilt: true,
                })
            }
            Err(LakeError::Io { path, source }) => Err(LakeError::Io { path, source }),
            Err(damage) => {
                self.check_lock()?;
                let relative = self.relative(file.as_ref()).unwrap_or(file.as_ref());
                let aside = self.key(&format!(
                    "_state/damaged/{relative}.{}",
                    poolsight_lake::new_run_id()
                ));
                self.store
                    .copy(&file, &aside)
                    .await
                    .map_err(|e| self.error(e))?;
                self.store.delete(&file).await.map_err(|e| self.error(e))?;
                tracing::warn!(file = %name, moved_to = %aside, error = %damage, "a Parquet file in events/ cannot be read as poolsight events; moved aside");
                Ok(FileKeys::MovedAside {
                    was: name,
                    now: format!("s3://{}/{aside}", self.store.bucket()),
                    why: damage.to_string(),
                })
            }
        }
    }
}

enum FileKeys {
    Keys {
        keys: Vec<u128>,
        rebuilt: bool,
    },
    MovedAside {
        was: String,
        now: String,
        why: String,
    },
}

impl KeyShardSource for Mirror {
    fn day_keys(&self, date_text: &str) -> Result<DayKeys, LakeError> {
        let this = self.shallow();
        let date = date_text.to_string();
        let mut keys = wait_on(&self.handle, async move { this.day_keys_async(date).await })?;
        // Files of this process not yet published (none, normally: every
        // writer publishes when it finishes).
        let local = poolsight_lake::keys::LocalKeys::new(poolsight_lake::Lake::create(&self.root)?)
            .day_keys(date_text)?;
        keys.files += local.files;
        keys.keys.extend(local.keys);
        Ok(keys)
    }
}

impl Publish for Mirror {
    fn publish(&self) -> Result<(), LakeError> {
        let stats = self.push()?;
        tracing::info!(
            lake = %self.url,
            uploaded = stats.uploaded,
            bytes = stats.bytes,
            deleted = stats.deleted,
            "published to S3"
        );
        Ok(())
    }
}

/// Every file under `root` as (`/`-separated relative path, path).
fn walk(root: &Path) -> Result<Vec<(String, PathBuf)>, LakeError> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LakeError::io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| LakeError::io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| LakeError::io(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((relative, path));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_their_class() {
        for (path, class) in [
            ("events/event_date=2026-11-20/part-1.parquet", Class::Events),
            (
                "insights/event_date=2026-11-20/part-1.parquet",
                Class::Events,
            ),
            (
                "_state/event_keys/event_date=2026-11-20/part-1.parquet.keys",
                Class::Sidecars,
            ),
            (
                "quarantine/ingest_date=2026-11-20/q.parquet",
                Class::Quarantine,
            ),
            ("_state/damaged/events/x.parquet.1", Class::Quarantine),
            ("_state/checkpoints/s3-trail.json", Class::Checkpoints),
            ("_state/detect_progress.json", Class::Checkpoints),
            ("_state/lock", Class::Local),
            ("_state/lock/00000000000000000001.json", Class::Local),
            (
                "events/event_date=2026-11-20/.part-1.parquet.tmp",
                Class::Local,
            ),
            ("findings/findings.parquet", Class::Mirrored),
            (
                "state/identity_hourly/event_date=2026-11-20/x.parquet",
                Class::Mirrored,
            ),
            ("_state/arrival.json", Class::Mirrored),
            ("notify/outbox.parquet", Class::Mirrored),
        ] {
            assert_eq!(class_of(path), class, "{path}");
        }
    }
}
