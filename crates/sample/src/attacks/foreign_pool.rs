//! Foreign pools: `AssumeRoleWithWebIdentity` with a token from another account's pool.

use crate::scenario::{uuid, Timed, World, AUTH_ROLE, BOTO_AGENT, ENTERPRISE_ROLE, MICROS, REGION};

impl World {
    /// AssumeRoleWithWebIdentity with a token from someone else's pool.
    pub(super) fn foreign_pool(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "67.43.156.14";
        let foreign = self.foreign_pool_ids[0].clone();
        let identity = format!("{REGION}:{}", uuid(self.rng()));
        let (event, issued) = self.assume_role_with_web_identity(
            t0, &foreign, &identity, AUTH_ROLE, ip, BOTO_AGENT, false,
        );
        out.push(event);
        let issued = issued.expect("succeeds");
        let amr = vec![
            "authenticated".to_string(),
            "accounts.google.com".to_string(),
        ];
        let principal = self.pool_principal(AUTH_ROLE, &issued, &foreign, &identity, amr);
        out.push(self.s3_list(
            t0 + 20 * MICROS,
            &principal,
            "photos/",
            ip,
            BOTO_AGENT,
            true,
        ));
        out.push(self.s3_object(
            t0 + 30 * MICROS,
            &principal,
            "GetObject",
            "public/photos/p-00042.jpg",
            ip,
            BOTO_AGENT,
            false,
        ));
        let other = self.foreign_pool_ids[1].clone();
        let identity = format!("eu-west-1:{}", uuid(self.rng()));
        let (event, _) = self.assume_role_with_web_identity(
            t0 + 120 * MICROS,
            &other,
            &identity,
            ENTERPRISE_ROLE,
            ip,
            BOTO_AGENT,
            true,
        );
        out.push(event);
    }
}
