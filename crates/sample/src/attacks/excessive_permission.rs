//! Excessive permissions: a signed-in session whose role lets it read the app's parameters and
//! secrets. Trap: the auditor's and the reporting job's backend roles (not pool credentials).

use serde_json::json;

use crate::scenario::{Timed, World, BOTO_AGENT, MICROS};

impl World {
    /// Pool credentials succeeding at reading parameters and a secret.
    pub(super) fn secrets_read(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self.users[21].clone();
        let ip = "175.16.199.37";
        let principal = self.user_credentials(t0, &user, ip, false, out);
        out.push(self.api_call(
            t0 + 10 * MICROS,
            &principal,
            "ssm.amazonaws.com",
            "GetParametersByPath",
            json!({"path": "/photoshare/prod/", "recursive": true, "withDecryption": true}),
            serde_json::Value::Null,
            ip,
            BOTO_AGENT,
            None,
        ));
        out.push(self.api_call(
            t0 + 20 * MICROS,
            &principal,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": "photoshare/prod/stripe"}),
            serde_json::Value::Null,
            ip,
            BOTO_AGENT,
            None,
        ));
    }
}
