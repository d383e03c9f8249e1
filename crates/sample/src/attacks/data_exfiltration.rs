//! Data exfiltration: one guest reading far more than the pool's guests ever do (also a guest
//! volume spike).

use crate::scenario::{Timed, World, GUEST_ROLE, MICROS, MOBILE_AGENTS};

impl World {
    /// One guest reading far more than the pool's guests ever do.
    pub(super) fn guest_scraper(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "1.128.0.77";
        let identity = self.new_identity();
        let pool = self.pool_id.clone();
        let agent = MOBILE_AGENTS[0];
        out.push(self.get_id(t0, &pool, &identity, None, ip, agent));
        let (event, issued) = self.get_credentials(t0 + MICROS, &pool, &identity, None, ip, agent);
        out.push(event);
        let principal = self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
        for index in 0..240 {
            let photo = format!("p-{:05}", index % 300);
            out.push(self.s3_object(
                t0 + 2 * MICROS + index * 4 * MICROS,
                &principal,
                "GetObject",
                &format!("public/photos/{photo}.jpg"),
                ip,
                agent,
                false,
            ));
        }
    }
}
