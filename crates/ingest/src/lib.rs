//! Ingest: payloads from any source → decoded records → normalized events
//! → the deduplicated lake, with bad input quarantined.
//!
//! - [`decode`]: the shapes a payload comes in (trail files, JSON Lines,
//!   EventBridge envelopes, AWS CLI outputs);
//! - [`split`]: a document split into records as a stream, in bounded memory;
//! - [`pipeline`]: the shared run state and per-thread workers;
//! - [`local`]: the local-files source behind `poolsight ingest`.

pub mod decode;
pub mod local;
pub mod pipeline;
pub mod split;

pub use local::{discover, ingest_paths};
pub use pipeline::{
    IngestError, IngestOptions, IngestSummary, PayloadCounts, PayloadSource, Pipeline, RecordInput,
    Worker,
};
