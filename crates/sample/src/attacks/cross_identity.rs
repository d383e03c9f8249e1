//! Cross-identity access: a signed-in user reaching for other identities' data; the trap of a
//! backend reporting job reading many users' rows (a backend role, not pool credentials).

use serde_json::json;

use crate::scenario::{Timed, World, MICROS, USER_TABLE};

impl World {
    /// A signed-in user reaching for another identity's data.
    pub(super) fn cross_identity(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let attacker = self.users[1].clone();
        let victim = self.users[2].identity_id.clone();
        let victim2 = self.users[3].identity_id.clone();
        let ip = attacker.home_ip.clone();
        let agent = attacker.user_agent.clone();
        let principal = self.user_credentials(t0, &attacker, &ip, true, out);
        let at = |step: i64| t0 + (10 + step * 7) * MICROS;
        let events = vec![
            self.s3_object(at(0), &principal, "GetObject", &format!("private/{victim}/passport.jpg"), &ip, &agent, true),
            self.s3_list(at(1), &principal, &format!("private/{victim}/"), &ip, &agent, true),
            self.s3_object(at(2), &principal, "GetObject", &format!("private/{}/id-card.png", victim2.replace(':', "%3A")), &ip, &agent, true),
            self.s3_object(at(3), &principal, "PutObject", &format!("protected/{victim}/avatar.png"), &ip, &agent, true),
            self.dynamodb(at(4), &principal, "GetItem", USER_TABLE, json!({"key": {"userId": victim, "photoId": "00000001"}}), &ip, &agent, true),
            self.dynamodb(at(5), &principal, "Query", USER_TABLE, json!({"keyConditionExpression": "userId = :u", "expressionAttributeValues": {":u": {"S": victim2}}}), &ip, &agent, true),
            self.dynamodb(at(6), &principal, "ExecuteStatement", USER_TABLE, json!({"statement": format!("SELECT * FROM UserPhotos WHERE userId = '{victim}'")}), &ip, &agent, true),
            // The policy variable is missing on UpdateItem: this one succeeds.
            self.dynamodb(at(7), &principal, "UpdateItem", USER_TABLE, json!({"key": {"userId": victim, "photoId": "00000001"}, "updateExpression": "SET caption = :c", "returnConsumedCapacity": "NONE"}), &ip, &agent, false),
        ];
        out.extend(events);
    }

    /// Trap: the nightly reporting job reads many users' rows with a backend role.
    pub(super) fn reporting_job_trap(&mut self, t0: i64, out: &mut Vec<Timed>) {
        self.reporting_job(t0, out, usize::MAX);
    }
}
