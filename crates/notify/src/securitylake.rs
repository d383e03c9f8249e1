//! The Security Lake sink (`[[notify.securitylake]]`): the new and changed
//! finding versions of a run as OCSF Parquet in a custom source's location,
//! one file per partition (`region=/accountId=/eventDay=`), the export's
//! layout ([`crate::export`]). A file's name is a hash of its rows' versions
//! and times, so a delivery repeated after a crash overwrites the same
//! object: Security Lake gets each version once.

use serde_json::Value;

use crate::export::{partition_files, write_to_folder, write_to_s3, Destination};
use crate::notice::Notice;
use crate::DeliveryError;

/// Finding versions per delivery (one file per partition among them).
pub const BATCH: usize = 1000;

#[derive(Debug)]
pub struct SecurityLakeSink {
    destination: Destination,
    s3: Option<aws_sdk_s3::Client>,
    account: String,
    region: String,
    attempts: u32,
}

impl SecurityLakeSink {
    pub fn new(
        destination: Destination,
        s3: Option<aws_sdk_s3::Client>,
        account: &str,
        region: &str,
        attempts: u32,
    ) -> Self {
        Self {
            destination,
            s3,
            account: account.to_string(),
            region: region.to_string(),
            attempts,
        }
    }

    /// Writes the notices; all succeed or all fail.
    pub async fn deliver(&self, notices: &[Notice<'_>]) -> Vec<Result<(), DeliveryError>> {
        let events: Vec<Value> = notices.iter().map(crate::ocsf::detection_finding).collect();
        let result = self.write(&events).await;
        notices.iter().map(|_| result.clone()).collect()
    }

    async fn write(&self, events: &[Value]) -> Result<(), DeliveryError> {
        let files = partition_files(events, &self.account, &self.region)
            .map_err(|e| DeliveryError::permanent(format!("OCSF Parquet: {e}")))?;
        match (&self.destination, &self.s3) {
            (Destination::Folder(folder), _) => write_to_folder(folder, &files)
                .map(|_| ())
                .map_err(|e| DeliveryError::transient(e.to_string())),
            (Destination::S3 { bucket, prefix }, Some(client)) => {
                write_to_s3(client, bucket, prefix, &files, self.attempts)
                    .await
                    .map(|_| ())
                    .map_err(|e| match e {
                        crate::NotifyError::Aws(aws) => DeliveryError::from_aws(aws),
                        other => DeliveryError::transient(other.to_string()),
                    })
            }
            (Destination::S3 { .. }, None) => {
                Err(DeliveryError::permanent("no S3 client for the destination"))
            }
        }
    }
}
