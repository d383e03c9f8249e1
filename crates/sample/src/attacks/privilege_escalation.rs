//! Privilege escalation: a guest taking the authenticated role through the basic flow, a
//! signed-in session chaining into a deploy role, a Google user asking for the SAML users'
//! role with `customRoleArn`. Traps: signed-in users using the basic flow as designed (benign
//! traffic), SAML users on their own role.

use serde_json::json;

use crate::scenario::{
    device_agent, Timed, User, World, ACCOUNT, AUTH_ROLE, BOTO_AGENT, CATALOG_TABLE,
    ENTERPRISE_ROLE, MICROS,
};

/// The role a signed-in session's policy lets it assume (a wildcard `sts:AssumeRole`).
const DEPLOY_ROLE: &str = "PhotoShareDeployRole";

impl World {
    /// A guest identity asks for an OpenID token without logins, then assumes the
    /// authenticated role with it (its trust policy checks `aud` but not `amr`).
    pub(super) fn basic_flow_escalation(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "175.16.199.33";
        let pool = self.pool_id.clone();
        let identity = self.new_identity();
        let agent = device_agent(&identity);
        out.push(self.get_id(t0, &pool, &identity, None, ip, agent));
        out.push(self.get_open_id_token(t0 + MICROS, &pool, &identity, None, ip, agent));
        let (event, issued) = self.assume_role_with_web_identity(
            t0 + 2 * MICROS,
            &pool,
            &identity,
            AUTH_ROLE,
            ip,
            agent,
            false,
        );
        out.push(event);
        let issued = issued.expect("succeeds");
        let principal = self.pool_principal(
            AUTH_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
        out.push(self.s3_list(t0 + 10 * MICROS, &principal, "photos/", ip, agent, false));
        out.push(self.dynamodb(
            t0 + 20 * MICROS,
            &principal,
            "Query",
            CATALOG_TABLE,
            json!({"indexName": "byOwner", "keyConditionExpression": "owner = :o", "expressionAttributeValues": {":o": {"S": "admin"}}}),
            ip,
            agent,
            false,
        ));
    }

    /// A signed-in session assumes the deploy role and changes a function with it.
    pub(super) fn role_chaining(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self.users[9].clone();
        let ip = "175.16.199.34";
        let principal = self.user_credentials(t0, &user, ip, false, out);
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{DEPLOY_ROLE}");
        let chained_key = self.access_key();
        out.push(self.api_call(
            t0 + 10 * MICROS,
            &principal,
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": role_arn, "roleSessionName": "x"}),
            json!({
                "credentials": {"accessKeyId": chained_key, "sessionToken": "FwoGZXIvYXdzEXAMPLECHAINED", "expiration": "Nov 21, 2026, 8:00:00 AM"},
                "assumedRoleUser": {"assumedRoleId": format!("{}:x", Self::role_id(DEPLOY_ROLE)), "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{DEPLOY_ROLE}/x")}
            }),
            ip,
            BOTO_AGENT,
            None,
        ));
        let chained = Self::role_session(DEPLOY_ROLE, "x", chained_key, t0 + 10 * MICROS);
        out.push(self.api_call(
            t0 + 20 * MICROS,
            &chained,
            "lambda.amazonaws.com",
            "ListFunctions20150331",
            json!({}),
            serde_json::Value::Null,
            ip,
            BOTO_AGENT,
            None,
        ));
        out.push(self.api_call(
            t0 + 30 * MICROS,
            &chained,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!({"functionName": "photoshare-thumbnail", "environment": {"variables": "HIDDEN_DUE_TO_SECURITY_REASONS"}}),
            serde_json::Value::Null,
            ip,
            BOTO_AGENT,
            None,
        ));
    }

    /// A Google user asks Cognito for the SAML users' role and gets it.
    pub(super) fn custom_role_request(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self
            .users
            .iter()
            .filter(|u| u.provider == "accounts.google.com")
            .nth(3)
            .cloned()
            .expect("Google users");
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{ENTERPRISE_ROLE}");
        // Cognito honoured the asked-for role: the session holds it.
        let as_staff = User {
            role: ENTERPRISE_ROLE,
            ..user.clone()
        };
        let home = user.home_ip.clone();
        let principal = self.user_credentials(t0, &as_staff, &home, true, out);
        if let Some((_, issuance)) = out.last_mut() {
            issuance["requestParameters"]["customRoleArn"] = json!(role_arn);
        }
        for (index, key) in ["enterprise/reports/q3.pdf", "enterprise/contracts/acme.pdf"]
            .iter()
            .enumerate()
        {
            out.push(self.s3_object(
                t0 + (10 + index as i64 * 10) * MICROS,
                &principal,
                "GetObject",
                key,
                &user.home_ip,
                &user.user_agent,
                false,
            ));
        }
    }
}
