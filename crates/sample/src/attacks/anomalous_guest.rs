//! Anomalous guests: a guest identity enumerating permissions, a flood of guest identities from
//! one address, guest writes, and the trap of a café's guests behind one NAT address.

use rand::Rng;
use serde_json::json;

use crate::scenario::{
    Probe, Timed, World, BOTO_AGENT, CATALOG_TABLE, CLI_AGENT, CURL_AGENT, MICROS, MOBILE_AGENTS,
    USER_TABLE,
};

impl World {
    /// A guest identity used from a script to enumerate permissions.
    pub(super) fn guest_enumeration(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "175.16.199.23";
        let (_, principal) = self.new_guest(t0, ip, BOTO_AGENT, out);
        let denied = (
            "AccessDenied",
            "User is not authorized to perform this operation",
        );
        let probes: [Probe; 16] = [
            ("sts.amazonaws.com", "GetCallerIdentity", None),
            ("s3.amazonaws.com", "ListBuckets", Some(denied)),
            (
                "dynamodb.amazonaws.com",
                "ListTables",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: dynamodb:ListTables",
                )),
            ),
            (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: lambda:ListFunctions",
                )),
            ),
            ("iam.amazonaws.com", "ListRoles", Some(denied)),
            (
                "iam.amazonaws.com",
                "GetAccountAuthorizationDetails",
                Some(denied),
            ),
            (
                "ec2.amazonaws.com",
                "DescribeInstances",
                Some((
                    "Client.UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )),
            ),
            (
                "secretsmanager.amazonaws.com",
                "ListSecrets",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: secretsmanager:ListSecrets",
                )),
            ),
            (
                "kms.amazonaws.com",
                "ListKeys",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: kms:ListKeys",
                )),
            ),
            (
                "sns.amazonaws.com",
                "ListTopics",
                Some((
                    "AuthorizationError",
                    "not authorized to perform: SNS:ListTopics",
                )),
            ),
            (
                "sqs.amazonaws.com",
                "ListQueues",
                Some(("AccessDenied", "Access to the resource is denied.")),
            ),
            (
                "cognito-idp.amazonaws.com",
                "ListUserPools",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cognito-idp:ListUserPools",
                )),
            ),
            (
                "cognito-identity.amazonaws.com",
                "ListIdentityPools",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cognito-identity:ListIdentityPools",
                )),
            ),
            (
                "ssm.amazonaws.com",
                "DescribeParameters",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: ssm:DescribeParameters",
                )),
            ),
            (
                "logs.amazonaws.com",
                "DescribeLogGroups",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: logs:DescribeLogGroups",
                )),
            ),
            (
                "cloudtrail.amazonaws.com",
                "DescribeTrails",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cloudtrail:DescribeTrails",
                )),
            ),
        ];
        let mut t = t0 + 5 * MICROS;
        for (source, name, error) in probes {
            t += self.rng().random_range(2..9) * MICROS;
            let agent = if source.starts_with("s3") {
                CLI_AGENT
            } else {
                BOTO_AGENT
            };
            out.push(self.generic(t, &principal, source, name, ip, agent, error));
        }
        t += 3 * MICROS;
        out.push(self.dynamodb(
            t,
            &principal,
            "Scan",
            USER_TABLE,
            json!({"limit": 1000}),
            ip,
            BOTO_AGENT,
            true,
        ));
        out.push(self.s3_list(t + MICROS, &principal, "", ip, CLI_AGENT, true));
        out.push(self.s3_list(t + 2 * MICROS, &principal, "public/", ip, CLI_AGENT, false));
    }

    /// Many guest identities minted from one address in minutes.
    pub(super) fn guest_flood(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "89.160.20.115";
        let pool = self.pool_id.clone();
        for index in 0..120 {
            let t = t0 + index * 4 * MICROS;
            let identity = self.new_identity();
            out.push(self.get_id(t, &pool, &identity, None, ip, CURL_AGENT));
            let (event, _) =
                self.get_credentials(t + 500_000, &pool, &identity, None, ip, CURL_AGENT);
            out.push(event);
        }
    }

    /// A guest writes where only signed-in users should.
    pub(super) fn guest_writes(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "216.160.83.58";
        let agent = MOBILE_AGENTS[3];
        let (_, principal) = self.new_guest(t0, ip, agent, out);
        out.push(self.s3_object(
            t0 + 10 * MICROS,
            &principal,
            "PutObject",
            "public/photos/free-gift-card.html",
            ip,
            agent,
            false,
        ));
        out.push(self.s3_object(
            t0 + 20 * MICROS,
            &principal,
            "DeleteObject",
            "public/photos/p-00001.jpg",
            ip,
            agent,
            true,
        ));
        out.push(self.dynamodb(
            t0 + 30 * MICROS,
            &principal,
            "PutItem",
            CATALOG_TABLE,
            json!({"key": {"photoId": "p-99999"}, "item": ["photoId", "title", "url"]}),
            ip,
            agent,
            false,
        ));
    }

    /// Trap: a café's guests behind one NAT address (normal volume each).
    pub(super) fn shared_nat_guests(&mut self, t0: i64, out: &mut Vec<Timed>) {
        for index in 0..14 {
            let start = t0 + index * 240 * MICROS;
            self.guest_session(start, Some("198.51.100.77".into()), out, usize::MAX);
        }
    }
}
