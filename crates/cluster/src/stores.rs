//! Where a scheduler or executor finds the lake's files: local paths as
//! DataFusion does, and any `s3://bucket` through poolsight's S3 store
//! (the AWS SDK with `[aws]`'s credentials, region and endpoint), created
//! the first time a plan names the bucket. Reads of the lake's immutable
//! files go through a [`ReadCache`] per bucket (`[s3_lake]
//! read_cache_mib`), in a temporary folder of the process.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use poolsight_collect::aws::{load_sdk_config, s3_client, AwsSettings, RequestCounter};
use poolsight_remote::{ReadCache, S3Store};
use url::Url;

/// The object stores of one cluster process.
#[derive(Debug)]
pub struct LakeStores {
    known: DefaultObjectStoreRegistry,
    client: aws_sdk_s3::Client,
    handle: tokio::runtime::Handle,
    attempts: u32,
    cache_bytes: u64,
    /// Holds each bucket's read cache (removed with the process's end).
    cache_folder: Option<tempfile::TempDir>,
    caches: std::sync::atomic::AtomicU64,
}

impl LakeStores {
    /// Builds the S3 client from `[aws]`; S3 requests will run on the
    /// current runtime (the process's).
    pub async fn new(config: &poolsight_config::Config) -> Self {
        let settings = AwsSettings::from_config(config, config.collect.max_attempts.unwrap_or(6));
        let sdk = load_sdk_config(&settings).await;
        Self {
            known: DefaultObjectStoreRegistry::new(),
            client: s3_client(&sdk, &settings, None, &RequestCounter::default()),
            handle: tokio::runtime::Handle::current(),
            attempts: settings.max_attempts,
            cache_bytes: config.s3_lake.read_cache_bytes(),
            cache_folder: tempfile::Builder::new()
                .prefix("poolsight-read-cache-")
                .tempdir()
                .map_err(|error| {
                    tracing::warn!(error = %error, "no folder for the read cache; reading S3 directly");
                })
                .ok(),
            caches: Default::default(),
        }
    }

    /// `store` behind a read cache, when there is room for one.
    fn cached(&self, bucket: &str, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        let Some(folder) = self.cache_folder.as_ref().filter(|_| self.cache_bytes > 0) else {
            return store;
        };
        // Numbered: a name from a plan never becomes a path.
        let number = self
            .caches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = folder.path().join(format!("bucket-{number}"));
        match ReadCache::new(Arc::clone(&store), path, self.cache_bytes) {
            Ok(cache) => Arc::new(cache),
            Err(error) => {
                tracing::warn!(bucket = %bucket, error = %error, "no read cache for the bucket");
                store
            }
        }
    }
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        match self.known.get_store(url) {
            Ok(store) => Ok(store),
            Err(missing) => {
                let bucket = match (url.scheme(), url.host_str()) {
                    ("s3", Some(bucket)) if !bucket.is_empty() => bucket.to_string(),
                    _ => return Err(missing),
                };
                let store = self.cached(
                    &bucket,
                    Arc::new(S3Store::new(
                        self.client.clone(),
                        &bucket,
                        self.handle.clone(),
                        self.attempts,
                    )),
                );
                let base = Url::parse(&format!("s3://{bucket}")).map_err(|e| {
                    datafusion::common::DataFusionError::Configuration(format!(
                        "bucket {bucket:?}: {e}"
                    ))
                })?;
                self.known.register_store(&base, Arc::clone(&store));
                tracing::debug!(bucket = %bucket, "S3 store for the bucket");
                Ok(store)
            }
        }
    }
}
