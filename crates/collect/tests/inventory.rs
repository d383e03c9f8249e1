//! The inventory source against real wire protocols: IAM and CloudTrail on
//! moto's server, Cognito Identity on the testkit's server, through the
//! AWS SDK crates. Many pools (more than one `ListIdentityPools` page),
//! many roles sharing managed policies (each read once), a call refused
//! for want of permission (recorded, the rest read), throttling (retried).

use std::path::Path;

use poolsight_collect::inventory::{take_inventory, InventoryOptions};
use poolsight_config::Config;
mod fleet;

use fleet::{populate, Fleet, ACCOUNT};
use poolsight_testkit::{CognitoServer, CognitoServerOptions, MotoServer};

fn options(moto: &str, cognito: &str, rate: f64) -> InventoryOptions {
    let text = format!(
        "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{moto}\"\n[aws.endpoint_urls]\ncognito_identity = \"{cognito}\"\n[inventory]\nregions = [\"us-east-1\"]\ncalls_per_second = {rate}\nconcurrency = 8\n"
    );
    InventoryOptions::from_config(&Config::parse(&text, Path::new("/test/poolsight.toml")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_reads_every_pool_and_role_and_reads_shared_policies_once() {
    let moto = MotoServer::start();
    let cognito = CognitoServer::start(CognitoServerOptions {
        denied_operations: ["GetPrincipalTagAttributeMap".to_string()].into(),
        max_tps: Some(400.0),
    });
    let fleet = Fleet {
        pools: 65,
        roles: 140,
        managed_policies: 3,
    };
    populate(&moto.endpoint(), &cognito.endpoint(), &fleet).await;
    let before = cognito.stats().by_operation();
    let (snapshot, report) =
        take_inventory(&options(&moto.endpoint(), &cognito.endpoint(), 1000.0))
            .await
            .unwrap();
    assert_eq!(report.pools, 65, "two ListIdentityPools pages");
    // The pools name 130 roles; the 10 others trust Cognito and are found by ListRoles.
    assert_eq!(report.roles, 140);
    assert_eq!(snapshot.accounts[0].account_id, ACCOUNT);
    let role = snapshot.accounts[0]
        .roles
        .iter()
        .find(|r| r.role_name == "role-7")
        .unwrap();
    let trust = role.assume_role_policy_document.as_deref().unwrap();
    assert!(
        trust.starts_with('{') && trust.contains("cognito-identity.amazonaws.com:aud"),
        "decoded: {trust}"
    );
    assert_eq!(role.inline_policies.len(), 1);
    assert_eq!(role.attached_policies.len(), 1);
    assert!(role.attached_policies[0]
        .document
        .as_deref()
        .unwrap()
        .contains("mobileanalytics:PutEvents"));
    let pool = &snapshot.accounts[0].regions[0].pools[3];
    assert_eq!(pool.role_arns().len(), 2, "roles read: {pool:?}");

    // The refused call is recorded per pool; nothing else failed.
    assert_eq!(
        report.errors.len(),
        65,
        "{:?}",
        &report.errors[..2.min(report.errors.len())]
    );
    assert!(report.errors.iter().all(|e| e.operation
        == "cognito-identity:GetPrincipalTagAttributeMap"
        && e.code == "NotAuthorizedException"));

    let calls = cognito.stats().by_operation();
    let made =
        |op: &str| calls.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!(made("ListIdentityPools"), 2);
    assert_eq!(made("DescribeIdentityPool"), 65);
    assert_eq!(made("GetIdentityPoolRoles"), 65);
    println!(
        "inventory of {} pools and {} roles: {} API calls in {:.2} s",
        report.pools, report.roles, report.api_calls, report.seconds
    );
    // Cognito: 2 + 65 × 3; STS 1; CloudTrail 1; IAM: ListRoles, then
    // ListRolePolicies, GetRolePolicy and ListAttachedRolePolicies per
    // role, GetPolicy + GetPolicyVersion per shared policy (3, not 140).
    assert_eq!(report.api_calls, 2 + 65 * 3 + 1 + 1 + 1 + 140 * 3 + 3 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_retried_and_the_rate_is_kept() {
    let moto = MotoServer::start();
    let cognito = CognitoServer::start(CognitoServerOptions {
        max_tps: Some(8.0),
        ..CognitoServerOptions::default()
    });
    populate(
        &moto.endpoint(),
        &cognito.endpoint(),
        &Fleet {
            pools: 4,
            roles: 8,
            managed_policies: 1,
        },
    )
    .await;
    // Faster than the server allows: throttled, retried, all read.
    let (_, report) = take_inventory(&options(&moto.endpoint(), &cognito.endpoint(), 1000.0))
        .await
        .unwrap();
    assert_eq!(report.pools, 4);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let throttled = cognito
        .stats()
        .throttled
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(throttled > 0, "the server throttled some calls");
    // At the configured rate, nothing is throttled (once the server's
    // one-second bucket, emptied by the run above, has refilled).
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let before = throttled;
    let (_, report) = take_inventory(&options(&moto.endpoint(), &cognito.endpoint(), 5.0))
        .await
        .unwrap();
    assert_eq!(report.pools, 4);
    assert_eq!(
        cognito
            .stats()
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed),
        before
    );
}
