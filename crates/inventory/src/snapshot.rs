//! What an inventory holds, in the shapes of the AWS responses it comes from
//! (PascalCase, as `DescribeIdentityPool`, `GetIdentityPoolRoles`,
//! `GetRole`, `DescribeTrails`, `GetEventSelectors` return them), so a
//! snapshot written as JSON reads like the API and a test fixture is a
//! snapshot. Policy documents are kept as the JSON text IAM holds (the
//! URL-decoding of IAM's responses happens in the source).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One inventory run: every account and region it read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Snapshot {
    /// When the run started (the snapshot's time in every table).
    pub taken_at: DateTime<Utc>,
    pub accounts: Vec<AccountInventory>,
    /// API requests made (retries included); 0 for a snapshot read from a file.
    #[serde(default)]
    pub api_calls: u64,
}

/// What one account holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountInventory {
    pub account_id: String,
    #[serde(default)]
    pub regions: Vec<RegionInventory>,
    /// IAM roles (global): every role a pool names or that trusts
    /// `cognito-identity.amazonaws.com`.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Calls that failed (a missing permission, a throttle that outlasted
    /// the retries): reported, never fatal.
    #[serde(default)]
    pub errors: Vec<CallError>,
}

/// The identity pools and trails of one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegionInventory {
    pub region: String,
    #[serde(default)]
    pub pools: Vec<Pool>,
    #[serde(default)]
    pub trails: Vec<Trail>,
}

/// `DescribeIdentityPool`'s answer, with the pool's roles and principal tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pool {
    pub identity_pool_id: String,
    #[serde(default)]
    pub identity_pool_name: String,
    #[serde(default)]
    pub allow_unauthenticated_identities: bool,
    #[serde(default)]
    pub allow_classic_flow: bool,
    #[serde(default)]
    pub supported_login_providers: BTreeMap<String, String>,
    #[serde(default)]
    pub developer_provider_name: Option<String>,
    #[serde(default, rename = "OpenIdConnectProviderARNs")]
    pub open_id_connect_provider_arns: Vec<String>,
    #[serde(default)]
    pub cognito_identity_providers: Vec<CognitoProvider>,
    #[serde(default, rename = "SamlProviderARNs")]
    pub saml_provider_arns: Vec<String>,
    #[serde(default)]
    pub identity_pool_tags: BTreeMap<String, String>,
    /// `GetIdentityPoolRoles`; `None` when the call failed.
    #[serde(default)]
    pub roles: Option<PoolRoles>,
    /// `GetPrincipalTagAttributeMap`, per provider that has one.
    #[serde(default)]
    pub principal_tags: Vec<PrincipalTagMap>,
}

/// A Cognito user pool accepted by an identity pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CognitoProvider {
    pub provider_name: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub server_side_token_check: Option<bool>,
}

/// `GetIdentityPoolRoles`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolRoles {
    /// `authenticated` / `unauthenticated` → role ARN.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// Provider (`graph.facebook.com`, `cognito-idp.<region>.amazonaws.com/<pool>:<client>`) → mapping.
    #[serde(default)]
    pub role_mappings: BTreeMap<String, RoleMapping>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleMapping {
    /// `Token` or `Rules`.
    #[serde(rename = "Type")]
    pub mapping_type: String,
    /// `AuthenticatedRole` or `Deny`.
    #[serde(default)]
    pub ambiguous_role_resolution: Option<String>,
    #[serde(default)]
    pub rules_configuration: Option<RulesConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesConfiguration {
    #[serde(default)]
    pub rules: Vec<MappingRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingRule {
    pub claim: String,
    /// `Equals`, `Contains`, `StartsWith`, `NotEqual`.
    pub match_type: String,
    pub value: String,
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
}

/// `GetPrincipalTagAttributeMap`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrincipalTagMap {
    pub identity_provider_name: String,
    #[serde(default)]
    pub use_defaults: bool,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
}

/// `GetRole` with the role's policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: String,
    pub arn: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create_date: Option<String>,
    #[serde(default)]
    pub max_session_duration: Option<i32>,
    /// The trust policy (JSON text); `None` when `GetRole` failed (a role
    /// of another account, a missing permission).
    #[serde(default)]
    pub assume_role_policy_document: Option<String>,
    #[serde(default)]
    pub inline_policies: Vec<Policy>,
    #[serde(default)]
    pub attached_policies: Vec<Policy>,
}

/// An inline policy (`GetRolePolicy`) or the default version of an attached
/// one (`GetPolicy` + `GetPolicyVersion`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub policy_name: String,
    #[serde(default)]
    pub policy_arn: Option<String>,
    /// The policy (JSON text); `None` when it could not be read.
    #[serde(default)]
    pub document: Option<String>,
}

/// `DescribeTrails` with `GetTrailStatus` and `GetEventSelectors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trail {
    pub name: String,
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    #[serde(default)]
    pub home_region: String,
    #[serde(default)]
    pub is_multi_region_trail: bool,
    #[serde(default)]
    pub is_organization_trail: bool,
    #[serde(default)]
    pub s3_bucket_name: Option<String>,
    #[serde(default)]
    pub s3_key_prefix: Option<String>,
    #[serde(default)]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// `GetTrailStatus`; `None` when it failed.
    #[serde(default)]
    pub is_logging: Option<bool>,
    #[serde(default)]
    pub latest_delivery_time: Option<String>,
    #[serde(default)]
    pub latest_delivery_error: Option<String>,
    /// `GetEventSelectors`; `None` when it failed.
    #[serde(default)]
    pub selectors: Option<EventSelectors>,
}

/// `GetEventSelectors`: basic or advanced selectors (a trail has one kind).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelectors {
    #[serde(default)]
    pub event_selectors: Vec<EventSelector>,
    #[serde(default)]
    pub advanced_event_selectors: Vec<AdvancedEventSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly`, `All`.
    #[serde(default)]
    pub read_write_type: Option<String>,
    #[serde(default = "yes")]
    pub include_management_events: bool,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    /// `AWS::S3::Object`, `AWS::DynamoDB::Table`, `AWS::Lambda::Function`.
    #[serde(rename = "Type")]
    pub resource_type: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub field_selectors: Vec<FieldSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldSelector {
    /// `eventCategory`, `resources.type`, `resources.ARN`, `readOnly`, `eventName`, …
    pub field: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ends_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_starts_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ends_with: Vec<String>,
}

/// A call that failed, for the report (and the `inventory_errors` table).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallError {
    pub operation: String,
    #[serde(default)]
    pub region: Option<String>,
    /// The pool, role, policy or trail the call was about.
    #[serde(default)]
    pub resource: Option<String>,
    pub code: String,
    pub message: String,
}

impl Pool {
    /// The role ARNs the pool names: its default roles and every rule's.
    pub fn role_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .roles
            .iter()
            .flat_map(|r| {
                r.roles.values().cloned().chain(
                    r.role_mappings
                        .values()
                        .filter_map(|m| m.rules_configuration.as_ref())
                        .flat_map(|c| c.rules.iter().map(|rule| rule.role_arn.clone())),
                )
            })
            .collect();
        arns.sort();
        arns.dedup();
        arns
    }

    /// Every identity provider the pool accepts (login provider names,
    /// developer provider, OIDC and SAML provider ARNs, Cognito user pools).
    pub fn providers(&self) -> Vec<String> {
        let mut providers: Vec<String> = self
            .supported_login_providers
            .keys()
            .cloned()
            .chain(self.developer_provider_name.clone())
            .chain(self.open_id_connect_provider_arns.iter().cloned())
            .chain(self.saml_provider_arns.iter().cloned())
            .chain(
                self.cognito_identity_providers
                    .iter()
                    .map(|p| p.provider_name.clone()),
            )
            .collect();
        providers.sort();
        providers.dedup();
        providers
    }

    /// The Cognito user pools whose server-side token check is off.
    pub fn unchecked_providers(&self) -> Vec<String> {
        self.cognito_identity_providers
            .iter()
            .filter(|p| p.server_side_token_check != Some(true))
            .map(|p| p.provider_name.clone())
            .collect()
    }
}

/// The account id in an ARN (`arn:aws:iam::123456789012:role/x`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}
