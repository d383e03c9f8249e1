//! The Security Hub sink: `BatchImportFindings` with up to 100 ASFF
//! findings per call ([`crate::asff`]); a finding Security Hub lists in
//! `FailedFindings` fails alone. Status changes are also sent with
//! `BatchUpdateFindings` (workflow `NOTIFIED`, `RESOLVED`, `SUPPRESSED`,
//! `NEW` when reopened, with a note), since a provider's import cannot
//! change a finding's workflow after it was created.
//!
//! The calling account (`sts:GetCallerIdentity`) names the default product
//! ARN and is the findings' `AwsAccountId`.

use std::collections::HashMap;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, FindingProviderFields,
    FindingProviderSeverity, Network, NetworkDirection, NoteUpdate, RecordState, Resource,
    Severity, SeverityLabel, Workflow, WorkflowStatus, WorkflowUpdate,
};

use crate::asff::AsffFinding;
use crate::notice::{Change, Notice};
use crate::DeliveryError;

/// Findings per `BatchImportFindings` call (Security Hub's limit).
pub const BATCH: usize = 100;

#[derive(Debug)]
pub struct SecurityHubSink {
    client: aws_sdk_securityhub::Client,
    region: String,
    account: String,
    workflow_updates: bool,
    attempts: u32,
}

impl SecurityHubSink {
    pub fn new(
        client: aws_sdk_securityhub::Client,
        region: &str,
        account: &str,
        workflow_updates: bool,
        attempts: u32,
    ) -> Self {
        Self {
            client,
            region: region.to_string(),
            account: account.to_string(),
            workflow_updates,
            attempts,
        }
    }

    /// The ASFF finding a notice is imported as.
    pub fn asff(&self, notice: &Notice<'_>) -> AsffFinding {
        crate::asff::finding(notice, &self.account, &self.region)
    }

    /// Imports up to [`BATCH`] notices; one result per notice.
    pub async fn deliver(&self, notices: &[Notice<'_>]) -> Vec<Result<(), DeliveryError>> {
        let asff: Vec<AsffFinding> = notices.iter().map(|n| self.asff(n)).collect();
        let findings: Vec<AwsSecurityFinding> = asff.iter().map(to_sdk).collect();
        let imported =
            poolsight_collect::aws::call_with_retries("BatchImportFindings", self.attempts, || {
                self.client
                    .batch_import_findings()
                    .set_findings(Some(findings.clone()))
                    .send()
            })
            .await;
        let output = match imported {
            Ok(output) => output,
            Err(error) => {
                let error = DeliveryError::from_aws(error);
                return notices.iter().map(|_| Err(error.clone())).collect();
            }
        };
        let failed: HashMap<&str, String> = output
            .failed_findings()
            .iter()
            .map(|f| {
                (
                    f.id().unwrap_or_default(),
                    format!(
                        "Security Hub refused the finding: {} {}",
                        f.error_code().unwrap_or_default(),
                        f.error_message().unwrap_or_default()
                    ),
                )
            })
            .collect();
        let mut results: Vec<Result<(), DeliveryError>> = notices
            .iter()
            .map(|n| match failed.get(n.finding.finding_id.as_str()) {
                Some(message) => Err(DeliveryError::permanent(message.clone())),
                None => Ok(()),
            })
            .collect();
        if self.workflow_updates {
            self.update_workflows(notices, &asff, &mut results).await;
        }
        results
    }

    /// `BatchUpdateFindings` for the imported status changes, one call per
    /// workflow status.
    async fn update_workflows(
        &self,
        notices: &[Notice<'_>],
        asff: &[AsffFinding],
        results: &mut [Result<(), DeliveryError>],
    ) {
        let mut by_status: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, notice) in notices.iter().enumerate() {
            if notice.change == Change::Status && results[i].is_ok() {
                by_status
                    .entry(crate::asff::workflow_status(&notice.finding.status))
                    .or_default()
                    .push(i);
            }
        }
        for (status, indexes) in by_status {
            let identifiers: Vec<AwsSecurityFindingIdentifier> = indexes
                .iter()
                .map(|&i| {
                    AwsSecurityFindingIdentifier::builder()
                        .id(&asff[i].id)
                        .product_arn(&asff[i].product_arn)
                        .build()
                })
                .collect();
            let note = NoteUpdate::builder()
                .text(format!(
                    "poolsight: the finding is {}",
                    notices[indexes[0]].finding.status
                ))
                .updated_by("poolsight")
                .build();
            let updated = poolsight_collect::aws::call_with_retries(
                "BatchUpdateFindings",
                self.attempts,
                || {
                    self.client
                        .batch_update_findings()
                        .set_finding_identifiers(Some(identifiers.clone()))
                        .workflow(
                            WorkflowUpdate::builder()
                                .status(WorkflowStatus::from(status))
                                .build(),
                        )
                        .note(note.clone())
                        .send()
                },
            )
            .await;
            match updated {
                Ok(output) => {
                    let unprocessed: HashMap<&str, String> = output
                        .unprocessed_findings()
                        .iter()
                        .map(|u| {
                            (
                                u.finding_identifier()
                                    .and_then(|f| f.id())
                                    .unwrap_or_default(),
                                format!(
                                    "workflow update refused: {} {}",
                                    u.error_code().unwrap_or_default(),
                                    u.error_message().unwrap_or_default()
                                ),
                            )
                        })
                        .collect();
                    for &i in &indexes {
                        if let Some(message) = unprocessed.get(asff[i].id.as_str()) {
                            results[i] = Err(DeliveryError::permanent(message.clone()));
                        }
                    }
                }
                Err(error) => {
                    let error = DeliveryError::from_aws(error);
                    for &i in &indexes {
                        results[i] = Err(error.clone());
                    }
                }
            }
        }
    }
}

/// The SDK's finding of an [`AsffFinding`].
pub fn to_sdk(finding: &AsffFinding) -> AwsSecurityFinding {
    let severity_label = SeverityLabel::from(finding.severity.label.as_str());
    let network = finding.network.as_ref().map(|n| {
        let mut b = Network::builder().direction(NetworkDirection::In);
        if let Some(ip) = &n.source_ip_v4 {
            b = b.source_ipv4(ip);
        }
        if let Some(ip) = &n.source_ip_v6 {
            b = b.source_ipv6(ip);
        }
        b.build()
    });
    let mut builder = AwsSecurityFinding::builder()
        .schema_version(&finding.schema_version)
        .id(&finding.id)
        .product_arn(&finding.product_arn)
        .generator_id(&finding.generator_id)
        .aws_account_id(&finding.aws_account_id)
        .set_types(Some(finding.types.clone()))
        .created_at(&finding.created_at)
        .updated_at(&finding.updated_at)
        .set_first_observed_at(finding.first_observed_at.clone())
        .set_last_observed_at(finding.last_observed_at.clone())
        .severity(
            Severity::builder()
                .label(severity_label.clone())
                .original(&finding.severity.original)
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(severity_label)
                        .original(&finding.finding_provider_fields.severity.original)
                        .build(),
                )
                .set_types(Some(finding.finding_provider_fields.types.clone()))
                .build(),
        )
        .title(&finding.title)
        .description(&finding.description)
        .set_source_url(finding.source_url.clone())
        .set_product_fields(Some(
            finding
                .product_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .set_network(network)
        .record_state(RecordState::from(finding.record_state.as_str()))
        .set_workflow(finding.workflow.as_ref().map(|w| {
            Workflow::builder()
                .status(WorkflowStatus::from(w.status.as_str()))
                .build()
        }));
    for resource in &finding.resources {
        builder = builder.resources(
            Resource::builder()
                .r#type(&resource.kind)
                .id(&resource.id)
                .partition(aws_sdk_securityhub::types::Partition::from(
                    resource.partition.as_str(),
                ))
                .set_region(resource.region.clone())
                .build(),
        );
    }
    builder.build()
}
