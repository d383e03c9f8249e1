//! Test support for poolsight (not published): real servers for the
//! collectors' tests.
//!
//! - [`MotoServer`]: starts moto's server (S3, CloudWatch Logs) from the test
//!   venv on 127.0.0.1 and stops it when dropped.
//! - [`LookupServer`]: a small server speaking CloudTrail's JSON protocol for
//!   `LookupEvents` (moto lacks it): time window, one lookup attribute,
//!   pagination tokens, `ThrottlingException` past a request rate.
//! - [`CognitoServer`]: Cognito Identity's admin calls over its JSON
//!   protocol (moto lacks pool roles and classic flow): pools per region,
//!   roles and role mappings, principal tags, refused operations, throttling.
//! - [`FaultProxy`]: sits between an SDK client and a server and answers
//!   throttling and 500 errors for a share of requests, or cuts a response
//!   off halfway.
//! - [`WebhookReceiver`]: records webhook deliveries (key, signature, body)
//!   and answers by a plan: 500 to the first N, slow answers, 500s.
//! - [`SecurityHubShim`]: moto's Security Hub plus the `BatchUpdateFindings`
//!   moto lacks (workflow status and note, written onto moto's findings).
//! - [`run_measured`]: runs a command under an address-space limit and
//!   reports its own peak memory.
//! - [`aws_test_env`]: static credentials in the environment, so the SDK's
//!   default chain finds them and never probes the instance metadata service.

mod cognito_server;
mod fault_proxy;
mod http;
mod lookup_server;
mod measure;
mod moto;
mod securityhub_shim;
mod webhook_receiver;

pub use cognito_server::{CognitoServer, CognitoServerOptions, CognitoStats};
pub use fault_proxy::{FaultPlan, FaultProxy, FaultStats};
pub use lookup_server::{LookupServer, LookupServerOptions, LookupStats};
pub use measure::{run_measured, Measured};
pub use moto::MotoServer;
pub use securityhub_shim::SecurityHubShim;
pub use webhook_receiver::{ReceivedDelivery, ReceiverPlan, WebhookReceiver};

/// Puts static test credentials in the environment (idempotent). The
/// values are the same on every call, so concurrent tests agree.
pub fn aws_test_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (key, value) in aws_env_vars() {
            // SAFETY-free in edition 2021; the values never change afterwards.
            std::env::set_var(key, value);
        }
    });
}

/// The environment a child `poolsight` process needs to reach an emulator
/// with the SDK's default credential chain.
pub fn aws_env_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/poolsight-test-aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/poolsight-test-aws-credentials",
        ),
    ]
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port on 127.0.0.1")
}
