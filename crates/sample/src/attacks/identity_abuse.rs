//! Identity abuse: a guest identity taken over from a new network and client, identity ids
//! guessed from one address, one guest id minting credentials from many addresses, a
//! signed-in session listing and deleting the pool's identities. Traps: returning guests on a
//! new network with their own app (benign traffic), a retention job deleting a few inactive
//! identities. (Developer-authenticated identities are not part of the sample's app.)

use serde_json::json;

use crate::scenario::{device_agent, Timed, World, BOTO_AGENT, CURL_AGENT, MICROS, MOBILE_AGENTS};

impl World {
    /// A guest that used the app the day before gets credentials from a new network and a
    /// client it never used, and reads with them.
    pub(super) fn guest_takeover(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let pool = self.pool_id.clone();
        let identity = self.new_identity();
        let agent = device_agent(&identity);
        let home = "24.5.13.77";
        // Its history, half a day earlier.
        let before = t0 - 12 * 3600 * MICROS;
        out.push(self.get_id(before, &pool, &identity, None, home, agent));
        let principal = self.guest_credentials(before + MICROS, &identity, home, agent, out);
        out.push(self.s3_object(
            before + 5 * MICROS,
            &principal,
            "GetObject",
            "public/photos/p-00007.jpg",
            home,
            agent,
            false,
        ));
        // The taker: another network, another client.
        let taker_agent = MOBILE_AGENTS
            .iter()
            .find(|candidate| **candidate != agent)
            .copied()
            .unwrap_or(MOBILE_AGENTS[0]);
        let ip = "81.2.69.192";
        let principal = self.guest_credentials(t0, &identity, ip, taker_agent, out);
        out.push(self.s3_list(
            t0 + 10 * MICROS,
            &principal,
            &format!("private/{identity}/"),
            ip,
            taker_agent,
            false,
        ));
        out.push(self.s3_object(
            t0 + 20 * MICROS,
            &principal,
            "GetObject",
            &format!("private/{identity}/saved.json"),
            ip,
            taker_agent,
            false,
        ));
    }

    /// One address guessing identity ids.
    pub(super) fn identity_guessing(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let pool = self.pool_id.clone();
        let ip = "175.16.199.35";
        for index in 0..30 {
            let guess = self.new_identity();
            let (mut event, _) =
                self.get_credentials(t0 + index * 8 * MICROS, &pool, &guess, None, ip, CURL_AGENT);
            let (code, message) = if index % 3 == 0 {
                (
                    "NotAuthorizedException",
                    "Unauthenticated access is not supported for this identity pool.",
                )
            } else {
                ("ResourceNotFoundException", "Identity not found.")
            };
            event.1["errorCode"] = json!(code);
            event.1["errorMessage"] = json!(message);
            event.1["responseElements"] = serde_json::Value::Null;
            out.push(event);
        }
    }

    /// One guest id handed out: credentials again and again from eight addresses.
    pub(super) fn shared_identity_storm(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let pool = self.pool_id.clone();
        let identity = self.new_identity();
        out.push(self.get_id(
            t0,
            &pool,
            &identity,
            None,
            "89.160.20.112",
            "Go-http-client/1.1",
        ));
        for index in 0..40 {
            let ip = format!("89.160.20.{}", 112 + index % 8);
            let (event, _) = self.get_credentials(
                t0 + (5 + index * 20) * MICROS,
                &pool,
                &identity,
                None,
                &ip,
                "Go-http-client/1.1",
            );
            out.push(event);
        }
    }

    /// A signed-in session whose role kept `cognito-identity:*` lists the pool's identities and
    /// deletes some.
    pub(super) fn identity_sweep(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self.users[17].clone();
        let pool = self.pool_id.clone();
        let ip = "175.16.199.36";
        let principal = self.user_credentials(t0, &user, ip, false, out);
        for page in 0..3 {
            out.push(self.api_call(
                t0 + (10 + page * 5) * MICROS,
                &principal,
                "cognito-identity.amazonaws.com",
                "ListIdentities",
                json!({"identityPoolId": pool, "maxResults": 60}),
                json!({"identityPoolId": pool}),
                ip,
                BOTO_AGENT,
                None,
            ));
        }
        let victims: Vec<String> = self.guests.iter().take(5).cloned().collect();
        out.push(self.api_call(
            t0 + 40 * MICROS,
            &principal,
            "cognito-identity.amazonaws.com",
            "DeleteIdentities",
            json!({"identityIdsToDelete": victims}),
            json!({"unprocessedIdentityIds": []}),
            ip,
            BOTO_AGENT,
            None,
        ));
    }

    /// Trap: the nightly retention job deletes a few inactive identities.
    pub(super) fn retention_job(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let principal = self.backend_principal("PhotoShareRetentionJob", "nightly-retention", t0);
        let stale: Vec<String> = self.guests.iter().skip(390).cloned().collect();
        out.push(self.api_call(
            t0,
            &principal,
            "cognito-identity.amazonaws.com",
            "DeleteIdentities",
            json!({"identityIdsToDelete": stale}),
            json!({"unprocessedIdentityIds": []}),
            "10.0.12.34",
            BOTO_AGENT,
            None,
        ));
    }
}
