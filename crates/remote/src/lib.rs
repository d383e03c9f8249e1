//! The lake in S3 (`lake = "s3://bucket/prefix"`). So far: [`lock`], one
//! writer at a time per lake through an S3 lease lock built on
//! conditional writes (`PutObject` with `If-None-Match: *`).

pub mod lock;

pub use lock::{LockError, LockInfo, LockOptions, S3LakeLock};
