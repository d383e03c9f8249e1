//! poolsight's data model: the shapes CloudTrail records come in, the one
//! Arrow schema they are normalized to, and identity attribution — which
//! Cognito identity, pool, auth type and login provider each call belongs to.
//!
//! Nothing here does I/O: [`normalize::normalize`] turns one record's JSON
//! text into one [`Event`] row (or a [`Rejection`](normalize::Rejection)
//! saying why not), and [`EventBatchBuilder`] turns rows into Arrow batches.

pub mod apigateway;
pub mod attribution;
pub mod columns;
pub mod json;
pub mod normalize;
pub mod principal;
pub mod redact;
pub mod resources;
pub mod time;

pub use columns::{event_schema, Event, EventBatchBuilder, COLUMN_DOCS, PARTITION_COLUMN};
pub use normalize::{normalize, NormalizeOptions, Origin, Rejection};
