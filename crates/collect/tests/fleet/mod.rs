//! A fleet of identity pools and roles on the test servers (moto's IAM,
//! the testkit's Cognito Identity), through the AWS SDK crates: shared by
//! the inventory tests and `benches/inventory.rs`.

use poolsight_testkit::aws_test_env;
use serde_json::json;

/// moto's account.
pub const ACCOUNT: &str = "123456789012";

/// How many of each.
pub struct Fleet {
    pub pools: usize,
    pub roles: usize,
    pub managed_policies: usize,
}

/// `pools` pools, each naming two roles of `roles` (authenticated, guest)
/// and the rest of the roles trusting Cognito unnamed; every role with one
/// inline policy and one of `managed_policies` attached.
pub async fn populate(moto: &str, cognito: &str, fleet: &Fleet) {
    aws_test_env();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto)
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let identity = aws_sdk_cognitoidentity::Client::from_conf(
        aws_sdk_cognitoidentity::config::Builder::from(&config)
            .endpoint_url(cognito)
            .build(),
    );
    let mut managed = Vec::new();
    for n in 0..fleet.managed_policies {
        let created = iam
            .create_policy()
            .policy_name(format!("shared-{n}"))
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "mobileanalytics:PutEvents", "Resource": "*"}]})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        managed.push(created.policy().unwrap().arn().unwrap().to_string());
    }
    let mut pool_ids = Vec::new();
    for n in 0..fleet.pools {
        let pool = identity
            .create_identity_pool()
            .identity_pool_name(format!("pool-{n}"))
            .allow_unauthenticated_identities(n % 2 == 0)
            .supported_login_providers("accounts.google.com", "123.apps.googleusercontent.com")
            .send()
            .await
            .unwrap();
        pool_ids.push(pool.identity_pool_id().to_string());
    }
    for r in 0..fleet.roles {
        let pool = &pool_ids[(r / 2) % pool_ids.len()];
        let name = format!("role-{r}");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool}}}]});
        iam.create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("app")
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app/*"}]})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(&managed[r % managed.len()])
            .send()
            .await
            .unwrap();
    }
    for (n, pool) in pool_ids.iter().enumerate() {
        identity
            .set_identity_pool_roles()
            .identity_pool_id(pool)
            .roles(
                "authenticated",
                format!("arn:aws:iam::{ACCOUNT}:role/role-{}", 2 * n),
            )
            .roles(
                "unauthenticated",
                format!("arn:aws:iam::{ACCOUNT}:role/role-{}", 2 * n + 1),
            )
            .send()
            .await
            .unwrap();
    }
}
