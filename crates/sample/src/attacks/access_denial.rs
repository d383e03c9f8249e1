//! Access denials: a signed-in identity denied again and again across services.

use serde_json::json;

use crate::scenario::{Timed, World, CATALOG_TABLE, MICROS};

impl World {
    /// A signed-in identity denied again and again across services.
    pub(super) fn denial_storm(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self.users[8].clone();
        let principal = self.user_credentials(t0, &user, &user.home_ip, false, out);
        for index in 0..36 {
            let t = t0 + (10 + index * 15) * MICROS;
            let event = match index % 3 {
                0 => self.dynamodb(
                    t,
                    &principal,
                    "Scan",
                    CATALOG_TABLE,
                    json!({"limit": 100}),
                    &user.home_ip,
                    &user.user_agent,
                    true,
                ),
                1 => self.s3_list(
                    t,
                    &principal,
                    "photos/",
                    &user.home_ip,
                    &user.user_agent,
                    true,
                ),
                _ => self.generic(
                    t,
                    &principal,
                    "lambda.amazonaws.com",
                    "Invoke",
                    &user.home_ip,
                    &user.user_agent,
                    Some((
                        "AccessDeniedException",
                        "not authorized to perform: lambda:InvokeFunction",
                    )),
                ),
            };
            out.push(event);
        }
    }
}
