//! The inventory: what the identity pools, their IAM roles and the trails
//! of an account look like at one moment, kept in the lake as dated
//! snapshots that any engine reads.
//!
//! - [`snapshot`]: the model, in the shapes of the AWS responses (a test
//!   fixture or `poolsight inventory --from-file` is a snapshot as JSON);
//! - [`policy`]: IAM policy documents as statements and conditions;
//! - [`tables`]: a snapshot as Arrow tables, written under `<lake>/inventory/`;
//! - [`selectors`]: which event classes a trail's event selectors record,
//!   and the advanced selectors that close a gap;
//! - [`rows`]: the small row builder the tables use.
//!
//! The AWS calls that fill a snapshot live with the other sources, in
//! `poolsight-collect`'s `inventory` module; the posture detections and
//! the coverage report read the tables through the query layer.

pub mod policy;
pub mod rows;
pub mod selectors;
pub mod snapshot;
pub mod tables;

use std::path::Path;

pub use snapshot::{AccountInventory, CallError, Snapshot};
pub use tables::{latest_snapshot, write_snapshot, INVENTORY_DIR, TABLES};

/// Errors of reading a snapshot file.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an inventory snapshot: {message} (line {line}, column {column})")]
    Json {
        path: std::path::PathBuf,
        message: String,
        line: usize,
        column: usize,
    },
    #[error(transparent)]
    Lake(#[from] poolsight_lake::LakeError),
}

/// Reads a snapshot written as JSON (a fixture, or an inventory taken elsewhere).
pub fn read_snapshot_file(path: &Path) -> Result<Snapshot, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut snapshot: Snapshot = serde_json::from_str(&text).map_err(|e| InventoryError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })?;
    snapshot.check_documents();
    Ok(snapshot)
}

impl Snapshot {
    /// Reports every policy document that is not a readable IAM policy as
    /// an error of its account (its statements are left out of the
    /// tables); idempotent.
    pub fn check_documents(&mut self) {
        for account in &mut self.accounts {
            let mut found = Vec::new();
            for role in &account.roles {
                let documents = role
                    .assume_role_policy_document
                    .iter()
                    .map(|d| ("trust policy".to_string(), d))
                    .chain(
                        role.inline_policies
                            .iter()
                            .chain(&role.attached_policies)
                            .filter_map(|p| {
                                p.document.as_ref().map(|d| (p.policy_name.clone(), d))
                            }),
                    );
                for (name, document) in documents {
                    if let Err(error) = policy::parse(document) {
                        found.push(CallError {
                            operation: "ReadPolicyDocument".into(),
                            region: None,
                            resource: Some(format!("{} {name}", role.arn)),
                            code: "MalformedPolicyDocument".into(),
                            message: error.to_string(),
                        });
                    }
                }
            }
            for error in found {
                if !account.errors.contains(&error) {
                    account.errors.push(error);
                }
            }
        }
    }
}
