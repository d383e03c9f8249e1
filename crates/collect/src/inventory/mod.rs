//! The inventory source: reads identity pools (Cognito Identity), the IAM
//! roles they use or that trust `cognito-identity.amazonaws.com`, and the
//! trails (CloudTrail) of each account and region into a
//! [`poolsight_inventory::Snapshot`], and writes it into the lake.
//!
//! Accounts are the credential chain's own and, per `[[inventory.accounts]]`,
//! one reached by assuming a role. Calls are spaced by a rate limiter per
//! service, account and region, retried like the collectors' (throttling,
//! 5xx, timeouts), and run a few at a time. A call that fails for good —
//! a missing permission most often — is recorded in the snapshot's
//! errors (and the `inventory_errors` table) and the rest goes on: an
//! inventory without `GetPrincipalTagAttributeMap` is still an inventory.

mod cognito;
mod iam;
mod trails;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_config::SdkConfig;
use chrono::Utc;
use poolsight_config::{Config, InventoryAccount};
use poolsight_inventory::snapshot::{AccountInventory, CallError, RegionInventory};
use poolsight_inventory::Snapshot;
use serde::Serialize;

use crate::aws::{self, AwsSettings, RequestCounter};
use crate::limiter::Limiters;
use crate::CollectError;

/// What an inventory run reads and how hard it pushes.
#[derive(Debug, Clone)]
pub struct InventoryOptions {
    pub aws: AwsSettings,
    /// Regions of identity pools and trails (empty: `[aws] region`, or the chain's).
    pub regions: Vec<String>,
    pub accounts: Vec<InventoryAccount>,
    pub include_own_account: bool,
    /// Calls per second per service, account and region.
    pub calls_per_second: f64,
    /// Calls in flight at once per account and kind (pools, roles).
    pub concurrency: usize,
}

impl InventoryOptions {
    /// The options of `[inventory]` (defaults when the table is absent).
    pub fn from_config(config: &Config) -> Self {
        let inventory = config.inventory.clone().unwrap_or_default();
        let include_own_account = inventory
            .include_own_account
            .unwrap_or(inventory.accounts.is_empty());
        Self {
            aws: AwsSettings::from_config(config, config.collect.max_attempts.unwrap_or(6)),
            regions: inventory.regions,
            accounts: inventory.accounts,
            include_own_account,
            calls_per_second: inventory.calls_per_second.unwrap_or(10.0),
            concurrency: inventory.concurrency.unwrap_or(4).max(1),
        }
    }
}

/// What an inventory run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InventoryReport {
    pub snapshot_id: String,
    pub accounts: usize,
    pub regions: Vec<String>,
    pub pools: usize,
    pub roles: usize,
    pub statements: usize,
    pub trails: usize,
    pub api_calls: u64,
    pub seconds: f64,
    /// Calls that failed (`operation resource: code message`).
    pub errors: Vec<CallError>,
}

/// One account's calls: its SDK config, limiters, counter and the errors met.
pub(crate) struct AccountCalls {
    pub account_id: String,
    pub sdk: SdkConfig,
    pub settings: AwsSettings,
    pub counter: RequestCounter,
    limiters: Arc<Limiters>,
    rate: f64,
    pub concurrency: usize,
    errors: Mutex<Vec<CallError>>,
}

impl AccountCalls {
    /// Runs one AWS call under the rate limit of (`service`, account,
    /// `region`), with retries; a failure is recorded and gives `None`.
    pub async fn call<T, E, F, Fut>(
        &self,
        service: &str,
        region: Option<&str>,
        operation: &str,
        resource: Option<&str>,
        mut call: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
            >,
        >,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let key = format!(
            "inventory:{service}:{}:{}",
            self.account_id,
            region.unwrap_or("global")
        );
        let limiter = self.limiters.get(&key, self.rate);
        let result = aws::call_with_retries(operation, self.settings.max_attempts, || {
            let limiter = Arc::clone(&limiter);
            let attempt = call();
            async move {
                limiter.acquire().await;
                attempt.await
            }
        })
        .await;
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let (code, message) = match error {
                    CollectError::Aws { code, message, .. } => {
                        (code.unwrap_or_else(|| "Error".into()), message)
                    }
                    other => ("Error".into(), other.to_string()),
                };
                tracing::warn!(account = %self.account_id, region, operation, resource, code = %code, "inventory call failed; going on without it");
                self.errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(CallError {
                        operation: operation.to_string(),
                        region: region.map(str::to_string),
                        resource: resource.map(str::to_string),
                        code,
                        message,
                    });
                None
            }
        }
    }
}

/// The SDK config of an account reached through `role`.
async fn assumed(base: &SdkConfig, role: &InventoryAccount) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
        .session_name("poolsight-inventory")
        .configure(base);
    if let Some(external_id) = &role.external_id {
        provider = provider.external_id(external_id);
    }
    let provider = provider.build().await;
    base.to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Takes an inventory of every configured account and region.
pub async fn take_inventory(
    options: &InventoryOptions,
) -> Result<(Snapshot, InventoryReport), CollectError> {
    let started = Instant::now();
    let taken_at = Utc::now();
    let base = aws::load_sdk_config(&options.aws).await;
    let regions: Vec<String> = if options.regions.is_empty() {
        base.region().map(|r| vec![r.to_string()]).ok_or_else(|| {
            CollectError::Invalid(
                "no region to read identity pools in: set [inventory] regions (or [aws] region)"
                    .into(),
            )
        })?
    } else {
        options.regions.clone()
    };
    let limiters = Arc::new(Limiters::default());
    let counter = RequestCounter::default();
    let mut targets: Vec<(Option<String>, SdkConfig)> = Vec::new();
    if options.include_own_account {
        targets.push((None, base.clone()));
    }
    for role in &options.accounts {
        let account =
            poolsight_inventory::snapshot::account_of_arn(&role.role_arn).map(str::to_string);
        targets.push((account, assumed(&base, role).await));
    }
    let mut snapshot = Snapshot {
        taken_at,
        ..Snapshot::default()
    };
    for (known_account, sdk) in targets {
        let mut calls = AccountCalls {
            account_id: known_account.clone().unwrap_or_else(|| "unknown".into()),
            sdk,
            settings: options.aws.clone(),
            counter: counter.clone(),
            limiters: Arc::clone(&limiters),
            rate: options.calls_per_second,
            concurrency: options.concurrency,
            errors: Mutex::new(Vec::new()),
        };
        let sts = aws::sts_client(&calls.sdk, &calls.settings, None, &calls.counter);
        if let Some(identity) = calls
            .call("sts", None, "sts:GetCallerIdentity", None, || {
                sts.get_caller_identity().send()
            })
            .await
        {
            if let Some(account) = identity.account() {
                calls.account_id = account.to_string();
            }
        }
        let mut account = AccountInventory {
            account_id: calls.account_id.clone(),
            ..AccountInventory::default()
        };
        // IAM is global and rate-limited apart from Cognito and CloudTrail:
        // the roles are listed while the regions' pools and trails are read.
        let read_regions = futures::future::join_all(regions.iter().map(|region| {
            let calls = &calls;
            async move {
                let (pools, trails) = futures::join!(
                    cognito::read_pools(calls, region),
                    trails::read_trails(calls, region)
                );
                RegionInventory {
                    region: region.clone(),
                    pools,
                    trails,
                }
            }
        }));
        // The roles that trust Cognito are read (with their policies) while
        // the pools are; the roles a pool names that do not are read after.
        let trusting = async {
            let (trusting, others): (BTreeMap<_, _>, BTreeMap<_, _>) = iam::list_roles(&calls)
                .await
                .into_iter()
                .partition(|(_, role)| iam::trusts_cognito(role));
            (iam::read_roles(&calls, trusting, &[]).await, others)
        };
        let (read, (mut roles, others)) = futures::join!(read_regions, trusting);
        account.regions = read;
        let named: Vec<String> = account
            .regions
            .iter()
            .flat_map(|r| &r.pools)
            .flat_map(|p| p.role_arns())
            .filter(|arn| !roles.iter().any(|r| &r.arn == arn))
            .collect();
        if !named.is_empty() {
            roles.extend(iam::read_roles(&calls, others, &named).await);
        }
        roles.sort_by(|a, b| a.arn.cmp(&b.arn));
        account.roles = roles;
        account.errors = calls.errors.into_inner().unwrap_or_else(|p| p.into_inner());
        snapshot.accounts.push(account);
    }
    snapshot.api_calls = counter.0.load(Ordering::Relaxed);
    snapshot.check_documents();
    let report = report_of(&snapshot, started.elapsed().as_secs_f64());
    Ok((snapshot, report))
}

/// The report of a snapshot.
fn report_of(snapshot: &Snapshot, seconds: f64) -> InventoryReport {
    let regions_of = || snapshot.accounts.iter().flat_map(|a| &a.regions);
    let mut regions: Vec<String> = regions_of().map(|r| r.region.clone()).collect();
    regions.sort();
    regions.dedup();
    InventoryReport {
        snapshot_id: poolsight_inventory::tables::snapshot_id(snapshot),
        accounts: snapshot.accounts.len(),
        regions,
        pools: regions_of().map(|r| r.pools.len()).sum(),
        roles: snapshot.accounts.iter().map(|a| a.roles.len()).sum(),
        statements: poolsight_inventory::tables::rows_of(snapshot)
            .get("inventory_statements")
            .map(Vec::len)
            .unwrap_or(0),
        trails: regions_of().map(|r| r.trails.len()).sum(),
        api_calls: snapshot.api_calls,
        seconds,
        errors: snapshot
            .accounts
            .iter()
            .flat_map(|a| a.errors.clone())
            .collect(),
    }
}

/// `poolsight inventory`: takes an inventory (or reads one taken
/// elsewhere, `from_file`, a snapshot as JSON) and writes it into `lake`,
/// whose writer lock the caller holds.
pub fn run_inventory(
    config: &Config,
    lake: &poolsight_lake::Lake,
    _lock: &poolsight_lake::LakeLock,
    from_file: Option<&std::path::Path>,
) -> Result<InventoryReport, CollectError> {
    let (snapshot, mut report) = match from_file {
        Some(path) => {
            let snapshot = poolsight_inventory::read_snapshot_file(path)
                .map_err(|e| CollectError::Invalid(e.to_string()))?;
            let report = report_of(&snapshot, 0.0);
            (snapshot, report)
        }
        None => {
            let options = InventoryOptions::from_config(config);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| {
                    CollectError::Invalid(format!("cannot start the async runtime: {e}"))
                })?;
            runtime.block_on(take_inventory(&options))?
        }
    };
    let started = Instant::now();
    poolsight_inventory::write_snapshot(lake, &snapshot).map_err(|e| CollectError::Io {
        path: lake.inventory_dir(),
        message: e.to_string(),
    })?;
    report.seconds += started.elapsed().as_secs_f64();
    Ok(report)
}

/// IAM and CloudTrail return policy documents URL-encoded; a document
/// that is already JSON is kept as it is.
pub(crate) fn decode_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
