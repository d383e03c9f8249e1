//! Configuration changes that widen a pool; the trap of an auditor's read-only review.

use serde_json::{json, Value};

use crate::records::Principal;
use crate::scenario::{Timed, World, ACCOUNT, AUTH_ROLE, MICROS};

impl World {
    /// Pool settings that widen access.
    pub(super) fn config_changes(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let admin = Principal::IamUser {
            account: ACCOUNT.into(),
            name: "deploy-bot".into(),
            user_id: "AIDAEXAMPLEDEPLOYBOT1".into(),
            access_key: "AKIAEXAMPLEDEPLOYBOT".into(),
        };
        let pool = self.pool_id.clone();
        let staging = self.staging_pool_id.clone();
        let ip = "203.0.113.50";
        let providers = json!({"accounts.google.com": "123456789012-example.apps.googleusercontent.com", "graph.facebook.com": "1234567890"});
        out.push(self.pool_admin(t0, &admin, "UpdateIdentityPool", json!({"identityPoolId": pool, "identityPoolName": "PhotoShare", "allowUnauthenticatedIdentities": true, "allowClassicFlow": true, "supportedLoginProviders": providers}), json!({"identityPoolId": pool, "identityPoolName": "PhotoShare", "allowUnauthenticatedIdentities": true, "allowClassicFlow": true, "supportedLoginProviders": providers}), false, ip));
        out.push(self.pool_admin(t0 + 60 * MICROS, &admin, "SetIdentityPoolRoles", json!({"identityPoolId": pool, "roles": {"authenticated": format!("arn:aws:iam::{ACCOUNT}:role/{AUTH_ROLE}"), "unauthenticated": format!("arn:aws:iam::{ACCOUNT}:role/PhotoShareAdminRole")}, "roleMappings": {"cognito-idp.us-east-1.amazonaws.com/us-east-1_Ph0t0Shr1:1example": {"type": "Token", "ambiguousRoleResolution": "AuthenticatedRole"}}}), Value::Null, false, ip));
        out.push(self.pool_admin(t0 + 120 * MICROS, &admin, "CreateIdentityPool", json!({"identityPoolName": "PhotoShareStaging", "allowUnauthenticatedIdentities": true, "allowClassicFlow": false}), json!({"identityPoolId": staging, "identityPoolName": "PhotoShareStaging", "allowUnauthenticatedIdentities": true, "allowClassicFlow": false}), false, ip));
        out.push(self.pool_admin(
            t0 + 180 * MICROS,
            &admin,
            "DeleteIdentityPool",
            json!({"identityPoolId": staging}),
            Value::Null,
            false,
            ip,
        ));
    }

    /// Trap: an auditor's read-only look at the pool (not a change).
    pub(super) fn auditor_review(&mut self, t0: i64, out: &mut Vec<Timed>) {
        self.admin_session(t0, out, usize::MAX);
    }
}
