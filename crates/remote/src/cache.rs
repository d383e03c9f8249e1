//! A read cache for the lake's immutable files in an object store.
//!
//! DataFusion keeps no data cache: every detection of a `detect` run reads
//! the column chunks it needs again, so one run over the sample made 511
//! ranged GETs on 6 event files. [`ReadCache`] wraps the bucket's store and
//! keeps what was read on local disk, in blocks of [`BLOCK_BYTES`]: a
//! ranged read is served from the blocks already there and fetches the
//! missing ones (each run of consecutive missing blocks in one request).
//!
//! Only files that never change once written are cached — event and
//! insight files (`…/events|insights/event_date=…/*.parquet`) and
//! quarantine files (`…/quarantine/ingest_date=…/*.parquet`): poolsight
//! writes each of them once under a new name and never rewrites it, so a
//! cached block can never be stale. Everything else (state tables,
//! findings — rewritten in place) goes to the store on every read.
//!
//! The cache is bounded: past its capacity the least recently used files
//! are dropped whole. Any cache failure (disk full, a file gone) falls back
//! to reading the store; the cache never makes a read fail.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// The unit the cache fetches and keeps. A Parquet footer read costs one
/// block; a column chunk of a few MiB a few blocks in one request.
pub const BLOCK_BYTES: u64 = 1 << 20;

/// What a cache did, for logs and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Ranged reads of immutable files.
    pub reads: u64,
    /// Of those, served from local disk without a request.
    pub hits: u64,
    /// Requests made to the store for missing blocks.
    pub fetches: u64,
    /// Bytes those requests brought.
    pub fetched_bytes: u64,
    /// Files dropped to stay within the capacity.
    pub evictions: u64,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    hits: AtomicU64,
    fetches: AtomicU64,
    fetched_bytes: AtomicU64,
    evictions: AtomicU64,
}

/// One cached file: a sparse local file holding the blocks fetched so far.
struct Entry {
    file: Arc<File>,
    path: PathBuf,
    /// The object's metadata, from its first fetch.
    meta: Option<ObjectMeta>,
    present: Vec<bool>,
    bytes: u64,
    last_used: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<Path, Entry>,
    next_file: u64,
    clock: u64,
    bytes: u64,
}

/// An [`ObjectStore`] that caches ranged reads of immutable lake files on
/// local disk, in front of another store.
pub struct ReadCache {
    inner: Arc<dyn ObjectStore>,
    folder: PathBuf,
    capacity: u64,
    state: Mutex<State>,
    counters: Counters,
    warned: AtomicBool,
}

impl fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadCache({}, {} bytes)", self.inner, self.capacity)
    }
}

impl fmt::Display for ReadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadCache({})", self.inner)
    }
}

/// Whether `key` names a file poolsight writes once and never changes: an
/// event or insight file (`…/events/event_date=…/x.parquet`) or a
/// quarantine file (`…/quarantine/ingest_date=…/x.parquet`), and not a
/// state table that happens to be named like one (`…/state/events/…`).
pub fn is_immutable_file(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let [.., before, table, partition, name] = parts.as_slice() else {
        return match parts.as_slice() {
            [table, partition, name] => immutable_tail(table, partition, name),
            _ => false,
        };
    };
    !matches!(*before, "state" | "_state") && immutable_tail(table, partition, name)
}

fn immutable_tail(table: &str, partition: &str, name: &str) -> bool {
    let partition_key = match table {
        "events" | "insights" => "event_date=",
        "quarantine" => "ingest_date=",
        _ => return false,
    };
    partition.starts_with(partition_key) && name.ends_with(".parquet") && !name.starts_with('.')
}

impl ReadCache {
    /// A cache of at most `capacity` bytes in `folder` (created if
    /// missing; its files are the cache's own) in front of `inner`.
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        folder: impl Into<PathBuf>,
        capacity: u64,
    ) -> std::io::Result<Self> {
        let folder = folder.into();
        std::fs::create_dir_all(&folder)?;
        Ok(Self {
            inner,
            folder,
            capacity,
            state: Mutex::new(State::default()),
            counters: Counters::default(),
            warned: AtomicBool::new(false),
        })
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            reads: self.counters.reads.load(Ordering::Relaxed),
            hits: self.counters.hits.load(Ordering::Relaxed),
            fetches: self.counters.fetches.load(Ordering::Relaxed),
            fetched_bytes: self.counters.fetched_bytes.load(Ordering::Relaxed),
            evictions: self.counters.evictions.load(Ordering::Relaxed),
        }
    }

    /// Bytes held on disk now.
    pub fn held_bytes(&self) -> u64 {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts, never bytes, off.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn warn_once(&self, location: &Path, error: &dyn fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                folder = %self.folder.display(),
                file = ?location.as_ref(),
                error = %error,
                "the read cache failed; reading the store directly"
            );
        }
    }

    /// `ranges` of `location` (an immutable file) from the cache, the
    /// blocks missing for any of them fetched once, in runs. `None`: the
    /// caller reads the store directly (a disk failure, warned once; an
    /// entry dropped meanwhile; a range empty or past the end).
    async fn cached(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> Result<Option<(Vec<Bytes>, ObjectMeta)>> {
        self.counters
            .reads
            .fetch_add(ranges.len() as u64, Ordering::Relaxed);
        match self.read_cached(location, ranges).await {
            Ok(found) => Ok(found),
            Err(Failure::Store(error)) => {
                self.forget_if_empty(location);
                Err(error)
            }
            Err(Failure::Disk(error)) => {
                self.warn_once(location, &error);
                Ok(None)
            }
        }
    }

    /// `None` when the store must be read directly (the entry was dropped
    /// meanwhile, or a range is empty or past the end).
    async fn read_cached(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> Result<Option<(Vec<Bytes>, ObjectMeta)>, Failure> {
        if ranges.is_empty() || ranges.iter().any(Range::is_empty) {
            return Ok(None);
        }
        let (file, missing) =
            {
                let mut state = self.lock();
                let State {
                    entries,
                    next_file,
                    clock,
                    ..
                } = &mut *state;
                *clock += 1;
                let entry = match entries.entry(location.clone()) {
                    std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
                    std::collections::hash_map::Entry::Vacant(new) => {
                        let path = self.folder.join(format!("{next_file}.blocks"));
                        *next_file += 1;
                        let file = std::fs::OpenOptions::new()
                            .read(true)
                            .write(true)
                            .create_new(true)
                            .open(&path)?;
                        new.insert(Entry {
                            file: Arc::new(file),
                            path,
                            meta: None,
                            present: Vec::new(),
                            bytes: 0,
                            last_used: *clock,
                        })
                    }
                };
                entry.last_used = *clock;
                let blocks_of = |range: &Range<u64>| {
                    let mut end = range.end.div_ceil(BLOCK_BYTES);
                    if let Some(meta) = &entry.meta {
                        end = end.min(meta.size.div_ceil(BLOCK_BYTES));
                    }
                    range.start / BLOCK_BYTES..end
                };
                let mut wanted: Vec<u64> = Vec::new();
                let mut hits = 0;
                for range in ranges {
                    let before = wanted.len();
                    wanted.extend(blocks_of(range).filter(|block| {
                        !entry.present.get(*block as usize).copied().unwrap_or(false)
                    }));
                    if wanted.len() == before {
                        hits += 1;
                    }
                }
                self.counters.hits.fetch_add(hits, Ordering::Relaxed);
                wanted.sort_unstable();
                wanted.dedup();
                (Arc::clone(&entry.file), runs(&wanted))
            };
        let fetches = missing.iter().map(|blocks| {
            let bytes = blocks.start * BLOCK_BYTES..blocks.end * BLOCK_BYTES;
            async move {
                let result = self
                    .inner
                    .get_opts(location, GetOptions::new().with_range(Some(bytes)))
                    .await?;
                let meta = result.meta.clone();
                let at = result.range.start;
                Ok::<_, object_store::Error>((result.bytes().await?, at, meta))
            }
        });
        let fetched = futures::future::try_join_all(fetches)
            .await
            .map_err(Failure::Store)?;
        let mut meta = None;
        for (bytes, at, fetched_meta) in fetched {
            self.counters.fetches.fetch_add(1, Ordering::Relaxed);
            self.counters
                .fetched_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            let file = Arc::clone(&file);
            let written = bytes.clone();
            tokio::task::spawn_blocking(move || write_at(&file, &written, at))
                .await
                .map_err(std::io::Error::other)??;
            self.mark_present(location, at, bytes.len() as u64, &fetched_meta);
            meta = Some(fetched_meta);
        }
        let meta = match meta {
            Some(meta) => meta,
            None => match self
                .lock()
                .entries
                .get(location)
                .and_then(|entry| entry.meta.clone())
            {
                Some(meta) => meta,
                None => return Ok(None),
            },
        };
        if ranges.iter().any(|range| range.end > meta.size) {
            return Ok(None);
        }
        let ranges = ranges.to_vec();
        let found = tokio::task::spawn_blocking(move || {
            ranges
                .into_iter()
                .map(|range| read_at(&file, range))
                .collect::<std::io::Result<Vec<Bytes>>>()
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(Some((found, meta)))
    }

    /// Drops the entry of a file the store could not give (missing, denied)
    /// when nothing of it is held.
    fn forget_if_empty(&self, location: &Path) {
        let mut state = self.lock();
        if state
            .entries
            .get(location)
            .is_some_and(|entry| entry.bytes == 0)
        {
            if let Some(entry) = state.entries.remove(location) {
                let _ = std::fs::remove_file(&entry.path);
            }
        }
    }

    /// Records `len` bytes at `at` as held, then keeps within capacity.
    fn mark_present(&self, location: &Path, at: u64, len: u64, meta: &ObjectMeta) {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(location) else {
            return;
        };
        if entry.meta.is_none() {
            entry.meta = Some(meta.clone());
        }
        let end = at + len;
        let first = at / BLOCK_BYTES;
        // A block is held when it is whole: full, or cut by the file's end.
        let last = if end >= meta.size {
            end.div_ceil(BLOCK_BYTES)
        } else {
            end / BLOCK_BYTES
        };
        if entry.present.len() < last as usize {
            entry.present.resize(last as usize, false);
        }
        let mut added = 0;
        for block in first..last {
            if !entry.present[block as usize] {
                entry.present[block as usize] = true;
                let block_end = ((block + 1) * BLOCK_BYTES).min(meta.size);
                added += block_end.saturating_sub(block * BLOCK_BYTES);
            }
        }
        entry.bytes += added;
        state.bytes += added;
        self.evict(&mut state, location);
    }

    /// Drops the least recently used files (never `keep`) until the cache
    /// holds at most its capacity.
    fn evict(&self, state: &mut State, keep: &Path) {
        if state.bytes <= self.capacity {
            return;
        }
        let mut by_age: Vec<(u64, Path)> = state
            .entries
            .iter()
            .filter(|(path, _)| *path != keep)
            .map(|(path, entry)| (entry.last_used, path.clone()))
            .collect();
        by_age.sort();
        for (_, path) in by_age {
            if state.bytes <= self.capacity {
                break;
            }
            if let Some(entry) = state.entries.remove(&path) {
                state.bytes -= entry.bytes;
                // Readers holding the file keep it until they are done.
                let _ = std::fs::remove_file(&entry.path);
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Why a cached read did not complete.
enum Failure {
    /// The store's answer (missing object, denied): the caller's error.
    Store(object_store::Error),
    /// Local disk: the read goes to the store instead.
    Disk(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Disk(error)
    }
}

/// Sorted block numbers as runs of consecutive blocks.
fn runs(blocks: &[u64]) -> Vec<Range<u64>> {
    let mut runs: Vec<Range<u64>> = Vec::new();
    for &block in blocks {
        match runs.last_mut() {
            Some(run) if run.end == block => run.end = block + 1,
            _ => runs.push(block..block + 1),
        }
    }
    runs
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
}

#[cfg(unix)]
fn read_at(file: &File, range: Range<u64>) -> std::io::Result<Bytes> {
    let mut buffer = BytesMut::zeroed((range.end - range.start) as usize);
    std::os::unix::fs::FileExt::read_exact_at(file, &mut buffer, range.start)?;
    Ok(buffer.freeze())
}

#[cfg(windows)]
fn write_at(file: &File, mut bytes: &[u8], mut at: u64) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let written = std::os::windows::fs::FileExt::seek_write(file, bytes, at)?;
        bytes = &bytes[written..];
        at += written as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn read_at(file: &File, range: Range<u64>) -> std::io::Result<Bytes> {
    let mut buffer = BytesMut::zeroed((range.end - range.start) as usize);
    let mut done = 0;
    while done < buffer.len() {
        let read = std::os::windows::fs::FileExt::seek_read(
            file,
            &mut buffer[done..],
            range.start + done as u64,
        )?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        done += read;
    }
    Ok(buffer.freeze())
}

/// The bounded range of a plain ranged read the cache can serve.
fn cacheable_range(location: &Path, options: &GetOptions) -> Option<Range<u64>> {
    let plain = !options.head
        && options.if_match.is_none()
        && options.if_none_match.is_none()
        && options.if_modified_since.is_none()
        && options.if_unmodified_since.is_none()
        && options.version.is_none();
    match &options.range {
        Some(GetRange::Bounded(range)) if plain && is_immutable_file(location.as_ref()) => {
            Some(range.clone())
        }
        _ => None,
    }
}

#[async_trait]
impl ObjectStore for ReadCache {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let Some(range) = cacheable_range(location, &options) else {
            return self.inner.get_opts(location, options).await;
        };
        let Some((mut found, meta)) = self.cached(location, std::slice::from_ref(&range)).await?
        else {
            return self.inner.get_opts(location, options).await;
        };
        let bytes = found.pop().unwrap_or_default();
        let served = range.start..range.start + bytes.len() as u64;
        Ok(GetResult {
            payload: GetResultPayload::Stream(
                futures::stream::once(async move { Ok(bytes) }).boxed(),
            ),
            meta,
            range: served,
            attributes: Default::default(),
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if !is_immutable_file(location.as_ref()) {
            return self.inner.get_ranges(location, ranges).await;
        }
        match self.cached(location, ranges).await? {
            Some((found, _)) => Ok(found),
            None => self.inner.get_ranges(location, ranges).await,
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[test]
    fn only_files_written_once_are_cached() {
        for key in [
            "events/event_date=2026-11-20/part-a-w0-0.parquet",
            "lake/prefix/insights/event_date=2026-11-20/part-a-w0-0.parquet",
            "p/quarantine/ingest_date=2026-11-20/quarantine-a-0.parquet",
        ] {
            assert!(is_immutable_file(key), "{key}");
        }
        for key in [
            "state/identity_hourly/event_date=2026-11-20/part-0.parquet",
            "p/state/events/event_date=2026-11-20/part-0.parquet",
            "p/_state/events/event_date=2026-11-20/part-0.parquet",
            "findings/findings.parquet",
            "events/event_date=2026-11-20/.part-a.parquet",
            "events/event_date=2026-11-20/part-a.parquet.keys",
            "events/part-a.parquet",
            "events/other=1/part-a.parquet",
        ] {
            assert!(!is_immutable_file(key), "{key}");
        }
    }

    #[test]
    fn blocks_are_fetched_in_runs() {
        assert_eq!(runs(&[1, 2, 4, 5, 6, 9]), vec![1..3, 4..7, 9..10]);
        assert!(runs(&[]).is_empty());
    }

    fn object(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    /// Counts the store's ranged reads.
    #[derive(Debug)]
    struct Counting {
        inner: InMemory,
        gets: AtomicU64,
    }

    impl fmt::Display for Counting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Counting")
        }
    }

    #[async_trait]
    impl ObjectStore for Counting {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            self.gets.fetch_add(1, Ordering::Relaxed);
            self.inner.get_opts(l, o).await
        }
        fn delete_stream(
            &self,
            l: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(l)
        }
        fn list(&self, p: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(p)
        }
        async fn list_with_delimiter(&self, p: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(p).await
        }
        async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
            self.inner.copy_opts(f, t, o).await
        }
    }

    async fn store_with(files: &[(&str, usize)]) -> Arc<Counting> {
        let store = Arc::new(Counting {
            inner: InMemory::new(),
            gets: AtomicU64::new(0),
        });
        for (key, len) in files {
            store
                .put(&Path::from(*key), object(*len).into())
                .await
                .unwrap();
        }
        store.gets.store(0, Ordering::Relaxed);
        store
    }

    const EVENTS: &str = "events/event_date=2026-11-20/part-a-w0-0.parquet";
    const OTHER: &str = "events/event_date=2026-11-21/part-b-w0-0.parquet";
    const STATE: &str = "state/identity_hourly/event_date=2026-11-20/part-0.parquet";

    #[tokio::test]
    async fn a_second_read_is_served_from_disk_with_the_same_bytes() {
        let len = 3 * BLOCK_BYTES as usize + 1000;
        let store = store_with(&[(EVENTS, len), (STATE, 5000)]).await;
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(store.clone(), dir.path(), 64 << 20).unwrap();
        let whole = object(len);
        let path = Path::from(EVENTS);
        // A footer read (the last block, cut by the file's end), then a
        // range across blocks 0–2, then both again.
        let tail = (len as u64 - 800)..len as u64;
        let middle = 1000..(2 * BLOCK_BYTES + 10);
        for _ in 0..2 {
            assert_eq!(
                cache.get_range(&path, tail.clone()).await.unwrap(),
                whole.slice(tail.start as usize..tail.end as usize)
            );
            let got = cache
                .get_ranges(&path, &[middle.clone(), 5..10])
                .await
                .unwrap();
            assert_eq!(
                got[0],
                whole.slice(middle.start as usize..middle.end as usize)
            );
            assert_eq!(got[1], whole.slice(5..10));
        }
        // Block 3 (tail), blocks 0–2 (one request); nothing after.
        assert_eq!(store.gets.load(Ordering::Relaxed), 2);
        let stats = cache.stats();
        assert_eq!((stats.reads, stats.hits, stats.fetches), (6, 3, 2));
        assert_eq!(cache.held_bytes(), len as u64);
        // A file that may be rewritten always goes to the store.
        let state = Path::from(STATE);
        for _ in 0..2 {
            cache.get_range(&state, 0..100).await.unwrap();
        }
        assert_eq!(store.gets.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn past_its_capacity_the_least_recently_used_file_goes() {
        let len = BLOCK_BYTES as usize;
        let store = store_with(&[(EVENTS, len), (OTHER, len)]).await;
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(store.clone(), dir.path(), BLOCK_BYTES).unwrap();
        let (events, other) = (Path::from(EVENTS), Path::from(OTHER));
        cache.get_range(&events, 0..10).await.unwrap();
        cache.get_range(&other, 0..10).await.unwrap();
        assert_eq!(cache.stats().evictions, 1);
        assert_eq!(cache.held_bytes(), BLOCK_BYTES);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // `other` is still held, `events` is fetched again.
        cache.get_range(&other, 20..30).await.unwrap();
        assert_eq!(store.gets.load(Ordering::Relaxed), 2);
        assert_eq!(
            cache.get_range(&events, 0..10).await.unwrap(),
            object(len).slice(0..10)
        );
        assert_eq!(store.gets.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_broken_cache_folder_reads_the_store() {
        let store = store_with(&[(EVENTS, 5000)]).await;
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(store.clone(), dir.path().join("c"), 1 << 20).unwrap();
        std::fs::remove_dir_all(dir.path().join("c")).unwrap();
        let path = Path::from(EVENTS);
        assert_eq!(
            cache.get_range(&path, 10..20).await.unwrap(),
            object(5000).slice(10..20)
        );
        // A missing object is the store's error, not the cache's, and
        // leaves nothing behind.
        let healthy = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(store.clone(), healthy.path(), 1 << 20).unwrap();
        let missing = Path::from(OTHER);
        assert!(matches!(
            cache.get_range(&missing, 0..10).await,
            Err(object_store::Error::NotFound { .. })
        ));
        assert_eq!(std::fs::read_dir(healthy.path()).unwrap().count(), 0);
    }
}
