//! One writer at a time for a lake in S3: a lease lock on conditional
//! writes, the only primitive S3 gives (no rename, no file lock).
//!
//! The lock is a sequence of objects `<prefix>/_state/lock/<generation>.json`
//! (generation zero-padded to 20 digits, so they list in order), each
//! `{"owner", "generation", "acquired_at", "expires_at"}`. The newest
//! generation is the lock:
//!
//! - **acquire**: list the generations; if the newest one's lease has not
//!   expired, the lake is busy (its owner and expiry are reported). Else
//!   create the next generation with `PutObject` + `If-None-Match: *`: of
//!   two runs racing for the same generation exactly one succeeds, the
//!   other gets `412 Precondition Failed` and is busy. Older generations
//!   are deleted.
//! - **renew**: a live holder rewrites its own object with a later expiry
//!   every `renew_every` (a third of the lease by default), after checking
//!   that no newer generation exists. A holder that finds one, or could not
//!   renew before its lease ran out, has **lost** the lock
//!   ([`S3LakeLock::is_lost`]) and must stop writing.
//! - **release**: delete its object. A run killed with SIGKILL releases
//!   nothing: its lease expires and the next run takes over with the next
//!   generation.
//!
//! Only `If-None-Match` is needed (S3 has it since 2024; moto enforces it):
//! a takeover never deletes or overwrites another run's object, so a stale
//! reader cannot destroy a fresh lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Lease and renewal.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long a lock lives without renewal (default 60 s).
    pub lease: Duration,
    /// How often a holder renews (default a third of the lease).
    pub renew_every: Duration,
    /// Attempts per S3 call (retries of throttling and 5xx).
    pub attempts: u32,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            renew_every: Duration::from_secs(20),
            attempts: 4,
        }
    }
}

/// What a lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Who holds it: host, process and run.
    pub owner: String,
    pub generation: u64,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the lake s3://{bucket}/{prefix} is in use by {} (lock s3://{bucket}/{key}, generation {}, lease until {})", holder.owner, holder.generation, holder.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))]
    Busy {
        bucket: String,
        prefix: String,
        key: String,
        holder: LockInfo,
    },
    #[error("lock object s3://{bucket}/{key} cannot be read: {reason}; delete it if no run holds the lake")]
    Damaged {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error(transparent)]
    Aws(#[from] poolsight_collect::CollectError),
}

/// A held lock; renewed in the background until released or dropped.
#[derive(Debug)]
pub struct S3LakeLock {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    info: LockInfo,
    lost: Arc<AtomicBool>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    attempts: u32,
}

/// The folder of the lock objects under a lake prefix.
pub fn lock_folder(prefix: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        "_state/lock/".into()
    } else {
        format!("{prefix}/_state/lock/")
    }
}

fn key_of(folder: &str, generation: u64) -> String {
    format!("{folder}{generation:020}.json")
}

/// `host:pid:<random>`: who holds a lock.
pub fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{host}:{}:{:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// The generations under `folder`, oldest first.
async fn generations(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    attempts: u32,
) -> Result<Vec<u64>, LockError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = poolsight_collect::aws::call_with_retries("ListObjectsV2", attempts, || {
            client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(folder)
                .set_continuation_token(token.clone())
                .send()
        })
        .await?;
        for object in page.contents() {
            let name = object.key().unwrap_or_default();
            let generation = name
                .strip_prefix(folder)
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok());
            found.extend(generation);
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The lock object of a generation; `None` when it is gone.
async fn read_info(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    attempts: u32,
) -> Result<Option<LockInfo>, LockError> {
    let got = poolsight_collect::aws::call_with_retries("GetObject", attempts, || {
        client.get_object().bucket(bucket).key(key).send()
    })
    .await;
    let output = match got {
        Ok(output) => output,
        Err(poolsight_collect::CollectError::Aws {
            code: Some(code), ..
        }) if code == "NoSuchKey" => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let damaged = |reason: String| LockError::Damaged {
        bucket: bucket.to_string(),
        key: key.to_string(),
        reason,
    };
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| damaged(e.to_string()))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| damaged(e.to_string()))
}

async fn put_info(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    info: &LockInfo,
    create_only: bool,
) -> Result<bool, LockError> {
    let body = serde_json::to_vec(info).map_err(|e| LockError::Damaged {
        bucket: bucket.to_string(),
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    let mut request = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    if create_only {
        request = request.if_none_match("*");
    }
    match request.send().await {
        Ok(_) => Ok(true),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            let code = error.code().map(str::to_string);
            if status == Some(412) || code.as_deref() == Some("PreconditionFailed") {
                return Ok(false);
            }
            Err(poolsight_collect::CollectError::Aws {
                operation: "PutObject".into(),
                code,
                message: poolsight_collect::aws::describe(&error),
            }
            .into())
        }
    }
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60))
}

impl S3LakeLock {
    /// Takes the lock of the lake at `s3://bucket/prefix`, or says who holds it.
    pub async fn acquire(
        client: &aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        owner: &str,
        options: LockOptions,
    ) -> Result<Self, LockError> {
        let folder = lock_folder(prefix);
        let busy = |key: String, holder: LockInfo| LockError::Busy {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            key,
            holder,
        };
        // A race lost to a release (the newest object vanished between the
        // listing and the read) is retried; a race lost to another taker is busy.
        for _ in 0..3 {
            let listed = generations(client, bucket, &folder, options.attempts).await?;
            let now = Utc::now();
            let newest = listed.last().copied().unwrap_or(0);
            if newest > 0 {
                let key = key_of(&folder, newest);
                match read_info(client, bucket, &key, options.attempts).await? {
                    Some(holder) if holder.expires_at > now => return Err(busy(key, holder)),
                    Some(expired) => {
                        tracing::warn!(owner = %expired.owner, generation = expired.generation, expired_at = %expired.expires_at, "taking over an expired lake lock (a run that died)");
                    }
                    None => {}
                }
            }
            let info = LockInfo {
                owner: owner.to_string(),
                generation: newest + 1,
                acquired_at: now,
                expires_at: lease_until(now, options.lease),
            };
            let key = key_of(&folder, info.generation);
            if !put_info(client, bucket, &key, &info, true).await? {
                // Someone created this generation first: theirs is the lock.
                let holder = read_info(client, bucket, &key, options.attempts)
                    .await?
                    .unwrap_or(info.clone());
                if holder.owner == owner {
                    continue;
                }
                return Err(busy(key, holder));
            }
            // Older generations are history.
            for old in listed {
                let old_key = key_of(&folder, old);
                let _ = client
                    .delete_object()
                    .bucket(bucket)
                    .key(&old_key)
                    .send()
                    .await;
            }
            let lost = Arc::new(AtomicBool::new(false));
            let renewer = tokio::spawn(renew(
                client.clone(),
                bucket.to_string(),
                folder.clone(),
                info.clone(),
                options,
                Arc::clone(&lost),
            ));
            return Ok(Self {
                client: client.clone(),
                bucket: bucket.to_string(),
                key,
                info,
                lost,
                renewer: Some(renewer),
                attempts: options.attempts,
            });
        }
        let listed = generations(client, bucket, &folder, options.attempts).await?;
        let key = key_of(&folder, listed.last().copied().unwrap_or(0));
        let holder = read_info(client, bucket, &key, options.attempts)
            .await?
            .unwrap_or(LockInfo {
                owner: "unknown".into(),
                generation: 0,
                acquired_at: Utc::now(),
                expires_at: Utc::now(),
            });
        Err(busy(key, holder))
    }

    /// What this lock object says (as acquired).
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// `s3://bucket/key` of the lock object.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Whether the lock was lost (a newer generation appeared, or renewal
    /// failed until the lease ran out): the holder must stop writing.
    pub fn lost_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.lost)
    }

    /// Whether the lock was lost (taken over, or not renewed in time).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and deletes the lock object.
    pub async fn release(mut self) -> Result<(), LockError> {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        if self.is_lost() {
            return Ok(());
        }
        poolsight_collect::aws::call_with_retries("DeleteObject", self.attempts, || {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
        })
        .await?;
        Ok(())
    }
}

impl Drop for S3LakeLock {
    /// Dropped without [`S3LakeLock::release`] (a panic, an early return):
    /// renewal stops and the lease runs out, as for a killed run.
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

/// Renews `info` until aborted; sets `lost` and stops when a newer
/// generation exists or the lease ran out unrenewed.
async fn renew(
    client: aws_sdk_s3::Client,
    bucket: String,
    folder: String,
    mut info: LockInfo,
    options: LockOptions,
    lost: Arc<AtomicBool>,
) {
    let key = key_of(&folder, info.generation);
    loop {
        tokio::time::sleep(options.renew_every).await;
        let newest = generations(&client, &bucket, &folder, options.attempts)
            .await
            .map(|g| g.last().copied().unwrap_or(0));
        match newest {
            Ok(newest) if newest != info.generation => {
                tracing::error!(
                    generation = info.generation,
                    newest,
                    "the lake lock was taken over: this run must stop writing"
                );
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Ok(_) => {
                let renewed = LockInfo {
                    expires_at: lease_until(Utc::now(), options.lease),
                    ..info.clone()
                };
                match put_info(&client, &bucket, &key, &renewed, false).await {
                    Ok(_) => info = renewed,
                    Err(error) => {
                        tracing::warn!(error = %error, "renewing the lake lock failed; retrying");
                    }
                }
            }
            Err(error) => tracing::warn!(error = %error, "checking the lake lock failed; retrying"),
        }
        if Utc::now() >= info.expires_at {
            tracing::error!(generation = info.generation, "the lake lock's lease ran out before it could be renewed: this run must stop writing");
            lost.store(true, Ordering::SeqCst);
            return;
        }
    }
}
