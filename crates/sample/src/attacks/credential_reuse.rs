//! Credential reuse: credentials issued in one country and used from another; the trap of a
//! phone moving between addresses of one ASN.

use crate::scenario::{Timed, World, BOTO_AGENT, MICROS};

impl World {
    /// Credentials issued in one country and used from another.
    pub(super) fn credential_theft(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let victim = self.users[5].clone();
        let principal = self.user_credentials(t0, &victim, "81.2.69.160", false, out);
        let id = victim.identity_id.clone();
        out.push(self.s3_object(
            t0 + 30 * MICROS,
            &principal,
            "GetObject",
            &format!("photos/{id}/a1.jpg"),
            "81.2.69.160",
            &victim.user_agent,
            false,
        ));
        for index in 0..6 {
            out.push(self.s3_object(
                t0 + (600 + index * 20) * MICROS,
                &principal,
                "GetObject",
                &format!("photos/{id}/b{index}.jpg"),
                "175.16.199.61",
                BOTO_AGENT,
                false,
            ));
        }
    }

    /// Trap: a phone moving between addresses of one ASN while its key is live (staged a minute
    /// after the theft).
    pub(super) fn cell_tower_mover(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let mover = self.users[6].clone();
        let principal = self.user_credentials(t0, &mover, "1.128.0.10", false, out);
        let id = mover.identity_id.clone();
        for index in 0..4 {
            let ip = if index < 2 {
                "1.128.0.10"
            } else {
                "1.130.44.7"
            };
            out.push(self.s3_object(
                t0 + (30 + index * 300) * MICROS,
                &principal,
                "GetObject",
                &format!("photos/{id}/m{index}.jpg"),
                ip,
                &mover.user_agent,
                false,
            ));
        }
    }
}
