//! Data exfiltration: one guest reading far more than the pool's guests ever do (also a guest
//! volume spike).

use crate::scenario::{Timed, World, MICROS, MOBILE_AGENTS};

impl World {
    /// One guest reading far more than the pool's guests ever do.
    pub(super) fn guest_scraper(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "1.128.0.77";
        let agent = MOBILE_AGENTS[0];
        let (_, principal) = self.new_guest(t0, ip, agent, out);
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
