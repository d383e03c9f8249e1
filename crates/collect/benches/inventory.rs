//! `cargo bench --bench inventory`: an inventory of 50 identity pools and
//! 200 roles (each with an inline policy and one of 10 shared managed
//! policies) against the test servers — moto's IAM and CloudTrail, the
//! testkit's Cognito Identity — through the AWS SDK crates. Prints the API
//! calls per service and the time, at the default client-side rate (10
//! calls per second per service, account and region) and unthrottled (what
//! the servers and the SDK cost). Needs `POOLSIGHT_PYTHON` (a venv with
//! moto[server], as scripts/test makes).

#[path = "../tests/fleet/mod.rs"]
mod fleet;

use std::path::Path;

use poolsight_collect::inventory::{take_inventory, InventoryOptions};
use poolsight_config::Config;
use poolsight_testkit::{CognitoServer, CognitoServerOptions, MotoServer};

fn options(moto: &str, cognito: &str, rate: f64, concurrency: usize) -> InventoryOptions {
    let text = format!(
        "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{moto}\"\n[aws.endpoint_urls]\ncognito_identity = \"{cognito}\"\n[inventory]\nregions = [\"us-east-1\"]\ncalls_per_second = {rate}\nconcurrency = {concurrency}\n"
    );
    InventoryOptions::from_config(
        &Config::parse(&text, Path::new("/bench/poolsight.toml")).expect("bench config"),
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let moto = MotoServer::start();
    let cognito = CognitoServer::start(CognitoServerOptions::default());
    let fleet = fleet::Fleet {
        pools: 50,
        roles: 200,
        managed_policies: 10,
    };
    let started = std::time::Instant::now();
    runtime.block_on(fleet::populate(
        &moto.endpoint(),
        &cognito.endpoint(),
        &fleet,
    ));
    println!(
        "set-up: {} pools, {} roles, {} managed policies in {:.1} s",
        fleet.pools,
        fleet.roles,
        fleet.managed_policies,
        started.elapsed().as_secs_f64()
    );
    println!("| rate (calls/s per service) | concurrency | API calls | Cognito calls | seconds | pools | roles | statements |");
    println!("|---|---|---|---|---|---|---|---|");
    for (rate, concurrency) in [(10.0, 4), (1_000_000.0, 4), (1_000_000.0, 16)] {
        let before: u64 = cognito.stats().by_operation().values().sum();
        let (_, report) = runtime
            .block_on(take_inventory(&options(
                &moto.endpoint(),
                &cognito.endpoint(),
                rate,
                concurrency,
            )))
            .expect("inventory");
        let cognito_calls: u64 = cognito.stats().by_operation().values().sum::<u64>() - before;
        assert_eq!(report.pools, fleet.pools);
        assert_eq!(report.roles, fleet.roles);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        println!(
            "| {} | {concurrency} | {} | {cognito_calls} | {:.2} | {} | {} | {} |",
            if rate > 1000.0 {
                "unlimited".to_string()
            } else {
                format!("{rate}")
            },
            report.api_calls,
            report.seconds,
            report.pools,
            report.roles,
            report.statements
        );
    }
}
