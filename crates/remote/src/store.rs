//! An [`ObjectStore`] over the AWS SDK's S3 client: what DataFusion (and
//! the mirror) read and write the lake's bucket through.
//!
//! Why not `object_store`'s own `AmazonS3`: every other AWS call of
//! poolsight goes through the SDK, so the lake gets the same credentials
//! chain (profiles, SSO, web identity, instance roles), `[aws]` region and
//! `endpoint_url`, and the same retries ([`call_with_retries`]) as the
//! collectors, with one TLS stack in the binary.
//!
//! Every request runs on the runtime given at construction (the remote
//! lake's own): the store is called from DataFusion's runtime, from worker
//! threads through `block_on`, and from the CLI's runtime, while the SDK's
//! connection pool lives on one.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    UploadPart,
};
use poolsight_collect::aws::call_with_retries;
use poolsight_collect::CollectError;
use tokio::runtime::Handle;

const STORE: &str = "S3";

/// One bucket through the SDK.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: aws_sdk_s3::Client,
    bucket: String,
    handle: Handle,
    attempts: u32,
    /// Odd keys already warned about.
    warned: Mutex<std::collections::HashSet<String>>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store({})", self.inner.bucket)
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3(s3://{})", self.inner.bucket)
    }
}

type Result<T, E = object_store::Error> = std::result::Result<T, E>;

/// An SDK error as the object store's: missing objects, failed
/// preconditions and denials keep their meaning (DataFusion and the mirror
/// act on them), the rest is `Generic` with the whole message.
fn store_error(path: &str, error: CollectError) -> object_store::Error {
    let code = match &error {
        CollectError::Aws { code, .. } => code.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let path = path.to_string();
    let source: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
    match code.as_str() {
        "NoSuchKey" | "NotFound" | "NoSuchUpload" => object_store::Error::NotFound { path, source },
        "PreconditionFailed" | "ConditionalRequestConflict" => {
            object_store::Error::Precondition { path, source }
        }
        "NotModified" => object_store::Error::NotModified { path, source },
        "AccessDenied" | "Forbidden" => object_store::Error::PermissionDenied { path, source },
        _ => object_store::Error::Generic {
            store: STORE,
            source,
        },
    }
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: message.into(),
    }
}

fn to_chrono(time: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    time.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

/// `bytes 0-99/1234` → (0..100, 1234).
fn parse_content_range(header: &str) -> Option<(Range<u64>, u64)> {
    let rest = header.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.parse().ok()?;
    let end: u64 = end.parse().ok()?;
    Some((start..end + 1, total.parse().ok()?))
}

/// `key` as an object path, when it is one: S3 takes any key, but one with
/// an empty part (`a//b`), a `.` or `..` part or a character
/// `object_store` escapes would be read back under another key, and
/// walked as a folder it would list itself again. Such objects are left
/// alone in the bucket ([`Inner::lake_path`] logs them).
fn addressable(key: &str) -> Result<Path, NotAddressable> {
    if key.ends_with('/') {
        // A folder marker (the console's "Create folder"): no data.
        return Err(NotAddressable::FolderMarker);
    }
    match Path::parse(key) {
        Ok(path) if path.as_ref() == key => Ok(path),
        _ => Err(NotAddressable::Odd),
    }
}

enum NotAddressable {
    FolderMarker,
    Odd,
}

/// Odd keys named in warnings per store: DataFusion lists a table for
/// every query, and a key is worth one warning, not one per listing.
const WARNED_KEYS: usize = 1000;

impl Inner {
    /// [`addressable`], warning once per odd key (escaped: it is anyone's
    /// text).
    fn lake_path(&self, key: &str) -> Option<Path> {
        match addressable(key) {
            Ok(path) => Some(path),
            Err(NotAddressable::FolderMarker) => None,
            Err(NotAddressable::Odd) => {
                let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
                if warned.len() < WARNED_KEYS && warned.insert(key.to_string()) {
                    tracing::warn!(
                        object = ?format!("s3://{}/{key}", self.bucket),
                        "not a lake path (an empty, `.` or `..` part, or a character object_store escapes); left alone"
                    );
                }
                None
            }
        }
    }
}

/// Runs one request's `work` on the remote lake's runtime (`handle`),
/// whichever runtime awaits it.
async fn on_runtime<T: Send + 'static>(
    handle: &Handle,
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    handle
        .spawn(work)
        .await
        .map_err(|e| generic(format!("an S3 request task failed: {e}")))?
}

impl S3Store {
    /// The store of `bucket`; requests run on `handle`, each tried
    /// `attempts` times when the error is transient.
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, handle: Handle, attempts: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                bucket: bucket.to_string(),
                handle,
                attempts: attempts.max(1),
                warned: Mutex::default(),
            }),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    async fn on_runtime<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        on_runtime(&self.inner.handle, work).await
    }

    async fn head_object(&self, location: &Path) -> Result<ObjectMeta> {
        let inner = Arc::clone(&self.inner);
        let key = location.to_string();
        let location = location.clone();
        self.on_runtime(async move {
            let out = call_with_retries("s3:HeadObject", inner.attempts, || {
                inner
                    .client
                    .head_object()
                    .bucket(&inner.bucket)
                    .key(&key)
                    .send()
            })
            .await
            .map_err(|e| store_error(&key, e))?;
            Ok(ObjectMeta {
                location,
                last_modified: to_chrono(out.last_modified()),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                e_tag: out.e_tag().map(str::to_string),
                version: out.version_id().map(str::to_string),
            })
        })
        .await
    }

    async fn list_objects(
        inner: Arc<Inner>,
        prefix: Option<Path>,
        delimiter: bool,
    ) -> Result<ListResult> {
        let prefix = prefix
            .map(|p| p.to_string())
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"));
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        let mut token: Option<String> = None;
        loop {
            let page = call_with_retries("s3:ListObjectsV2", inner.attempts, || {
                let mut request = inner.client.list_objects_v2().bucket(&inner.bucket);
                if let Some(prefix) = &prefix {
                    request = request.prefix(prefix);
                }
                if delimiter {
                    request = request.delimiter("/");
                }
                if let Some(token) = &token {
                    request = request.continuation_token(token);
                }
                request.send()
            })
            .await
            .map_err(|e| store_error(prefix.as_deref().unwrap_or(""), e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(location) = inner.lake_path(key) else {
                    continue;
                };
                result.objects.push(ObjectMeta {
                    location,
                    last_modified: to_chrono(object.last_modified()),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    e_tag: object.e_tag().map(str::to_string),
                    version: None,
                });
            }
            for common in page.common_prefixes() {
                let Some(prefix) = common.prefix() else {
                    continue;
                };
                let folder = prefix.strip_suffix('/').unwrap_or(prefix);
                if let Some(folder) = inner.lake_path(folder) {
                    result.common_prefixes.push(folder);
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(result)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let inner = Arc::clone(&self.inner);
        let key = location.to_string();
        let body = Bytes::from(payload);
        let mode = opts.mode;
        self.on_runtime(async move {
            let out = call_with_retries("s3:PutObject", inner.attempts, || {
                let mut request = inner
                    .client
                    .put_object()
                    .bucket(&inner.bucket)
                    .key(&key)
                    .body(ByteStream::from(body.clone()));
                match &mode {
                    PutMode::Overwrite => {}
                    PutMode::Create => request = request.if_none_match("*"),
                    PutMode::Update(version) => {
                        if let Some(e_tag) = &version.e_tag {
                            request = request.if_match(e_tag);
                        }
                    }
                }
                request.send()
            })
            .await
            .map_err(|e| match (store_error(&key, e), &mode) {
                (object_store::Error::Precondition { path, source }, PutMode::Create) => {
                    object_store::Error::AlreadyExists { path, source }
                }
                (other, _) => other,
            })?;
            Ok(PutResult {
                e_tag: out.e_tag().map(str::to_string),
                version: out.version_id().map(str::to_string),
            })
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let inner = Arc::clone(&self.inner);
        let key = location.to_string();
        let upload_id = self
            .on_runtime(async move {
                let out = call_with_retries("s3:CreateMultipartUpload", inner.attempts, || {
                    inner
                        .client
                        .create_multipart_upload()
                        .bucket(&inner.bucket)
                        .key(&key)
                        .send()
                })
                .await
                .map_err(|e| store_error(&key, e))?;
                out.upload_id()
                    .map(str::to_string)
                    .ok_or_else(|| generic(format!("{key}: S3 returned no upload id")))
            })
            .await?;
        Ok(Box::new(S3Upload {
            inner: Arc::clone(&self.inner),
            key: location.to_string(),
            upload_id,
            next_part: 0,
            parts: Arc::new(Mutex::new(Vec::new())),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if options.head {
            let meta = self.head_object(location).await?;
            return Ok(GetResult {
                payload: GetResultPayload::Stream(futures::stream::empty().boxed()),
                range: 0..meta.size,
                meta,
                attributes: Default::default(),
            });
        }
        let inner = Arc::clone(&self.inner);
        let key = location.to_string();
        let range = options.range.as_ref().map(ToString::to_string);
        let (body, e_tag, version, modified, content_range) = self
            .on_runtime(async move {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let out = call_with_retries("s3:GetObject", inner.attempts, || {
                        let mut request =
                            inner.client.get_object().bucket(&inner.bucket).key(&key);
                        if let Some(range) = &range {
                            request = request.range(range);
                        }
                        if let Some(e_tag) = &options.if_match {
                            request = request.if_match(e_tag);
                        }
                        if let Some(e_tag) = &options.if_none_match {
                            request = request.if_none_match(e_tag);
                        }
                        if let Some(time) = options.if_modified_since {
                            request = request.if_modified_since(
                                aws_sdk_s3::primitives::DateTime::from_secs(time.timestamp()),
                            );
                        }
                        if let Some(time) = options.if_unmodified_since {
                            request = request.if_unmodified_since(
                                aws_sdk_s3::primitives::DateTime::from_secs(time.timestamp()),
                            );
                        }
                        if let Some(version) = &options.version {
                            request = request.version_id(version);
                        }
                        request.send()
                    })
                    .await
                    .map_err(|e| store_error(&key, e))?;
                    let e_tag = out.e_tag().map(str::to_string);
                    let version = out.version_id().map(str::to_string);
                    let modified = to_chrono(out.last_modified());
                    let content_range = out.content_range().map(str::to_string);
                    // A body cut off mid-way is read again, whole.
                    match out.body.collect().await {
                        Ok(body) => {
                            return Ok((body.into_bytes(), e_tag, version, modified, content_range))
                        }
                        Err(error) if attempt < inner.attempts => {
                            tracing::warn!(key = %key, attempt, error = %error, "S3 body cut off; reading again");
                        }
                        Err(error) => {
                            return Err(generic(format!("{key}: reading the body: {error}")))
                        }
                    }
                }
            })
            .await?;
        let (range, size) = match content_range.as_deref().and_then(parse_content_range) {
            Some((range, total)) => (range, total),
            None => (0..body.len() as u64, body.len() as u64),
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(
                futures::stream::once(async move { Ok(body) }).boxed(),
            ),
            meta: ObjectMeta {
                location: location.clone(),
                last_modified: modified,
                size,
                e_tag,
                version,
            },
            range,
            attributes: Default::default(),
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let store = self.clone();
        locations
            .then(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    let inner = Arc::clone(&store.inner);
                    let key = location.to_string();
                    store
                        .on_runtime(async move {
                            call_with_retries("s3:DeleteObject", inner.attempts, || {
                                inner
                                    .client
                                    .delete_object()
                                    .bucket(&inner.bucket)
                                    .key(&key)
                                    .send()
                            })
                            .await
                            .map_err(|e| store_error(&key, e))
                        })
                        .await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let store = self.clone();
        let prefix = prefix.cloned();
        futures::stream::once(async move {
            let inner = Arc::clone(&store.inner);
            store
                .on_runtime(Self::list_objects(inner, prefix, false))
                .await
        })
        .map(|listed| match listed {
            Ok(result) => futures::stream::iter(result.objects.into_iter().map(Ok)).boxed(),
            Err(error) => futures::stream::iter([Err(error)]).boxed(),
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let inner = Arc::clone(&self.inner);
        self.on_runtime(Self::list_objects(inner, prefix.cloned(), true))
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if matches!(options.mode, CopyMode::Create) {
            return Err(object_store::Error::NotSupported {
                source: "copy-if-not-exists on S3 (use PutMode::Create)".into(),
            });
        }
        let inner = Arc::clone(&self.inner);
        let source = format!(
            "{}/{}",
            inner.bucket,
            percent_encoding::utf8_percent_encode(
                from.as_ref(),
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let key = to.to_string();
        self.on_runtime(async move {
            call_with_retries("s3:CopyObject", inner.attempts, || {
                inner
                    .client
                    .copy_object()
                    .bucket(&inner.bucket)
                    .copy_source(&source)
                    .key(&key)
                    .send()
            })
            .await
            .map_err(|e| store_error(&key, e))?;
            Ok(())
        })
        .await
    }
}

/// A multipart upload: parts go up as they come (concurrently when the
/// caller drives several), and only `complete` makes the object visible.
#[derive(Debug)]
struct S3Upload {
    inner: Arc<Inner>,
    key: String,
    upload_id: String,
    next_part: i32,
    parts: Arc<Mutex<Vec<CompletedPart>>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)
    }
}

#[async_trait]
impl MultipartUpload for S3Upload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.next_part += 1;
        let number = self.next_part;
        let inner = Arc::clone(&self.inner);
        let key = self.key.clone();
        let upload_id = self.upload_id.clone();
        let parts = Arc::clone(&self.parts);
        let body = Bytes::from(data);
        let handle = inner.handle.clone();
        Box::pin(async move {
            on_runtime(&handle, async move {
                let out = call_with_retries("s3:UploadPart", inner.attempts, || {
                    inner
                        .client
                        .upload_part()
                        .bucket(&inner.bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .body(ByteStream::from(body.clone()))
                        .send()
                })
                .await
                .map_err(|e| store_error(&key, e))?;
                parts
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(out.e_tag().map(str::to_string))
                            .build(),
                    );
                Ok(())
            })
            .await
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let mut parts = self
            .parts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        parts.sort_by_key(|p| p.part_number());
        let inner = Arc::clone(&self.inner);
        let key = self.key.clone();
        let upload_id = self.upload_id.clone();
        let handle = inner.handle.clone();
        on_runtime(&handle, async move {
            let upload = CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build();
            let out = call_with_retries("s3:CompleteMultipartUpload", inner.attempts, || {
                inner
                    .client
                    .complete_multipart_upload()
                    .bucket(&inner.bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .multipart_upload(upload.clone())
                    .send()
            })
            .await
            .map_err(|e| store_error(&key, e))?;
            Ok(PutResult {
                e_tag: out.e_tag().map(str::to_string),
                version: out.version_id().map(str::to_string),
            })
        })
        .await
    }

    async fn abort(&mut self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        let key = self.key.clone();
        let upload_id = self.upload_id.clone();
        let handle = inner.handle.clone();
        on_runtime(&handle, async move {
            call_with_retries("s3:AbortMultipartUpload", inner.attempts, || {
                inner
                    .client
                    .abort_multipart_upload()
                    .bucket(&inner.bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .send()
            })
            .await
            .map_err(|e| store_error(&key, e))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::{addressable, parse_content_range};

    #[test]
    fn only_canonical_keys_are_addressable() {
        for key in [
            "lake/events/event_date=2026-11-20/part-1.parquet",
            "lake",
            "a/b c/d",
        ] {
            assert_eq!(
                addressable(key).ok().map(|p| p.to_string()),
                Some(key.into())
            );
        }
        for key in [
            "lake/findings/../../x",
            "lake/./x",
            "lake//tmp/x",
            "/lake/x",
            "lake/x/",
            "lake/\u{1b}[2Jx",
        ] {
            assert!(addressable(key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-99/1234"), Some((0..100, 1234)));
        assert_eq!(parse_content_range("bytes 5-5/6"), Some((5..6, 6)));
        assert_eq!(parse_content_range("bytes */1234"), None);
        assert_eq!(parse_content_range("garbage"), None);
    }
}
