//! Findings out: OCSF Detection Findings and an Amazon Security Lake
//! export, and delivery to AWS Security Hub, SNS topics and webhooks
//! through an outbox that sends each finding version once.
//!
//! In the pipeline's vocabulary these are the **sinks**:
//!
//! - [`notice`]: one finding version on its way out; [`context`]: what its
//!   evidence says (account, region, roles, logins), read from the lake;
//! - formats: [`ocsf`] (Detection Finding, class 2004), [`asff`] (Security
//!   Hub), [`message`] (webhook and SNS bodies, chat text);
//! - sinks: [`webhook`], [`sns`], [`securityhub`], [`securitylake`] (the
//!   outbox's versions as Security Lake Parquet), and [`export`] (all
//!   findings laid out as a Security Lake custom source, to a folder or S3);
//! - [`outbox`]: what is due to whom, acknowledged or not, crash-safe;
//! - [`deliver`]: `poolsight notify` (and the last step of `run`).

pub mod asff;
pub mod context;
pub mod deliver;
pub mod export;
pub mod message;
pub mod notice;
pub mod ocsf;
pub mod outbox;
pub mod securityhub;
pub mod securitylake;
pub mod sns;
pub mod webhook;

pub use deliver::{notify, NotifyOptions, NotifyReport, TargetReport};

/// Errors of the sinks (a failed delivery is not one: it is a
/// [`DeliveryError`] kept in the outbox and retried).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Lake(#[from] poolsight_lake::LakeError),
    #[error(transparent)]
    Detect(#[from] poolsight_detect::DetectError),
    #[error("{path}: {reason}")]
    Damaged {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Aws(#[from] poolsight_collect::CollectError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("datafusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Why one delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub message: String,
    /// The target looks down (timeouts, connection failures, throttling,
    /// 5xx): after a few in a row its other deliveries wait for the next run.
    pub transient: bool,
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }

    /// An AWS call's failure (after its retries).
    pub fn from_aws(error: poolsight_collect::CollectError) -> Self {
        let transient = match &error {
            poolsight_collect::CollectError::Aws { code, .. } => code.as_deref().is_none_or(|c| {
                matches!(
                    c,
                    "Timeout"
                        | "ConnectionFailed"
                        | "InternalError"
                        | "InternalFailure"
                        | "ServiceUnavailable"
                ) || c.contains("Throttl")
            }),
            _ => true,
        };
        Self {
            message: error.to_string(),
            transient,
        }
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
