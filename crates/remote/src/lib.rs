//! The lake in S3 (`lake = "s3://bucket/prefix"`).
//!
//! - [`lake`]: [`RemoteLake`], a lake in S3 opened for one command: lock,
//!   state copied into a working folder, changes copied back.
//! - [`mirror`]: what is copied, in which order; the dedup keys of a day
//!   read from the bucket.
//! - [`store`]: an `object_store::ObjectStore` over the AWS SDK (what
//!   DataFusion reads `events` through).
//! - [`lock`]: one writer at a time per lake, an S3 lease lock built on
//!   conditional writes (`PutObject` with `If-None-Match: *`).
//!
//! The protocol and why a reader never sees a partial file:
//! `docs/s3-lake.md`.

pub mod cache;
pub mod lake;
pub mod lock;
pub mod mirror;
pub mod store;

pub use cache::{CacheStats, ReadCache};
pub use lake::{Access, CloseReport, RemoteError, RemoteLake, S3Location};
pub use lock::{LockError, LockInfo, LockOptions, S3LakeLock};
pub use store::S3Store;
