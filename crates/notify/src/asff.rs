//! Findings in the AWS Security Finding Format (ASFF) that Security Hub
//! imports. [`AsffFinding`] holds exactly the members poolsight sends, in
//! ASFF's names, so `notify --dry-run` can print what Security Hub would
//! get; [`crate::securityhub`] turns it into the SDK's type.
//!
//! - `ProductArn`: the account's default product,
//!   `arn:aws:securityhub:<region>:<account>:product/<account>/default`;
//!   `AwsAccountId` is that calling account (Security Hub requires it for
//!   the default product); the account the evidence was logged in is in
//!   `ProductFields` (`poolsight/account_id`) and in the resources' ARNs.
//! - `Types` from the category ([`types_of`]), `Severity.Label` from the
//!   severity, also in `FindingProviderFields` (how a provider updates them).
//! - `RecordState` `ARCHIVED` once resolved or suppressed; the workflow
//!   status goes by `BatchUpdateFindings` ([`workflow_status`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::notice::cut;
use crate::notice::{is_closed, Notice};

/// ASFF's schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Security Hub's limits: a `Description` of at most 1024 characters, a
/// `Title` of at most 256.
const MAX_DESCRIPTION: usize = 1024;
const MAX_TITLE: usize = 256;
/// Evidence event ids quoted in `ProductFields` (the rest are counted).
const EVIDENCE_IN_PRODUCT_FIELDS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_observed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_observed_at: Option<String>,
    pub severity: AsffSeverity,
    pub finding_provider_fields: AsffProviderFields,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<AsffNetwork>,
    pub record_state: String,
    /// Only on a finding's first import: afterwards Security Hub ignores an
    /// import's workflow, and [`crate::securityhub`] updates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<AsffWorkflow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    pub label: String,
    pub original: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffProviderFields {
    pub severity: AsffSeverity,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffNetwork {
    pub direction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_v4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_v6: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffWorkflow {
    pub status: String,
}

/// ASFF severity label of a poolsight severity.
pub fn severity_label(severity: &str) -> &'static str {
    match severity {
        "low" => "LOW",
        "medium" => "MEDIUM",
        "high" => "HIGH",
        "critical" => "CRITICAL",
        _ => "INFORMATIONAL",
    }
}

/// ASFF finding types (`namespace/category/classifier`) of a category;
/// the classifier is the detection id.
pub fn types_of(category: &str, detection: &str) -> Vec<String> {
    let namespace_category = match category {
        "access_denial" => "TTPs/Discovery",
        "anomalous_guest" => "Unusual Behaviors/User",
        "cross_identity" => "TTPs/Collection",
        "foreign_pool" => "Unusual Behaviors/Application",
        "credential_reuse" => "TTPs/Credential Access",
        "config_change" => "TTPs/Persistence",
        "privilege_escalation" => "TTPs/Privilege Escalation",
        "identity_abuse" => "TTPs/Credential Access",
        "excessive_permission" => "Unusual Behaviors/User",
        "data_exfiltration" => "Effects/Data Exfiltration",
        "posture" => "Software and Configuration Checks/AWS Security Best Practices",
        _ => "Unusual Behaviors/Application",
    };
    vec![format!("{namespace_category}/poolsight-{detection}")]
}

/// The workflow status a poolsight status is in Security Hub.
pub fn workflow_status(status: &str) -> &'static str {
    match status {
        "acknowledged" => "NOTIFIED",
        "resolved" => "RESOLVED",
        "suppressed" => "SUPPRESSED",
        _ => "NEW",
    }
}

/// The default product ARN of `account` in `region`.
pub fn default_product_arn(region: &str, account: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
}

/// The ASFF finding of a notice, imported by `caller_account` in `region`.
pub fn finding(notice: &Notice<'_>, caller_account: &str, region: &str) -> AsffFinding {
    let finding = notice.finding;
    let context = notice.context;
    let label = severity_label(&finding.severity).to_string();
    let types = types_of(&finding.category, &finding.detection);
    let severity = AsffSeverity {
        label,
        original: finding.severity.clone(),
    };
    let mut fields = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.insert(format!("poolsight/{key}"), cut(&value, 2048));
        }
    };
    put("detection", Some(finding.detection.clone()));
    put("category", Some(finding.category.clone()));
    put("status", Some(finding.status.clone()));
    put("change", Some(notice.change.as_str().to_string()));
    put("version", Some(notice.version.to_string()));
    put("identity_id", finding.identity_id.clone());
    put("identity_pool_id", finding.identity_pool_id.clone());
    put("access_key_id", finding.access_key_id.clone());
    put("source_ips", Some(finding.source_ips.join(",")));
    put("account_id", context.account_id.clone());
    put("login_providers", Some(context.login_providers.join(",")));
    put("auth_types", Some(context.auth_types.join(",")));
    put("event_count", Some(finding.event_count.to_string()));
    put(
        "event_ids",
        Some(
            finding
                .event_ids
                .iter()
                .take(EVIDENCE_IN_PRODUCT_FIELDS)
                .cloned()
                .collect::<Vec<_>>()
                .join(","),
        ),
    );
    put("attack", Some(notice.techniques().join(",")));
    let mut resources = Vec::new();
    if let Some(pool) = &finding.identity_pool_id {
        let pool_region = crate::context::region_of(pool);
        let account = context.account_id.as_deref().unwrap_or(caller_account);
        resources.push(AsffResource {
            kind: "Other".into(),
            id: format!(
                "arn:aws:cognito-identity:{}:{account}:identitypool/{pool}",
                pool_region.as_deref().unwrap_or(region)
            ),
            partition: "aws".into(),
            region: pool_region,
        });
    }
    for role in &context.role_arns {
        resources.push(AsffResource {
            kind: "AwsIamRole".into(),
            id: role.clone(),
            partition: "aws".into(),
            region: None,
        });
    }
    if resources.is_empty() {
        resources.push(AsffResource {
            kind: "AwsAccount".into(),
            id: format!(
                "AWS::::Account:{}",
                context.account_id.as_deref().unwrap_or(caller_account)
            ),
            partition: "aws".into(),
            region: context.region.clone(),
        });
    }
    let network = finding.source_ips.first().map(|ip| {
        let v6 = ip.contains(':');
        AsffNetwork {
            direction: "IN".into(),
            source_ip_v4: (!v6).then(|| ip.clone()),
            source_ip_v6: v6.then(|| ip.clone()),
        }
    });
    let nonempty = |t: &str| (!t.is_empty()).then(|| t.to_string());
    AsffFinding {
        schema_version: SCHEMA_VERSION.into(),
        id: finding.finding_id.clone(),
        product_arn: default_product_arn(region, caller_account),
        generator_id: format!("poolsight/{}", finding.detection),
        aws_account_id: caller_account.to_string(),
        types: types.clone(),
        created_at: finding.detected_at.clone(),
        updated_at: if finding.updated_at.is_empty() {
            finding.detected_at.clone()
        } else {
            finding.updated_at.clone()
        },
        first_observed_at: nonempty(&finding.first_seen),
        last_observed_at: nonempty(&finding.last_seen),
        severity: severity.clone(),
        finding_provider_fields: AsffProviderFields { severity, types },
        title: cut(&finding.title, MAX_TITLE),
        description: cut(&finding.summary, MAX_DESCRIPTION),
        source_url: notice.detection.and_then(|d| d.references.first().cloned()),
        product_fields: fields,
        resources,
        network,
        record_state: if is_closed(&finding.status) {
            "ARCHIVED".into()
        } else {
            "ACTIVE".into()
        },
        workflow: (notice.change == crate::notice::Change::New).then(|| AsffWorkflow {
            status: workflow_status(&finding.status).into(),
        }),
    }
}
