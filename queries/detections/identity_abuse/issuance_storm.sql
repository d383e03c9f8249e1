/*---
id = "issuance_storm"
title = "One identity minting credentials far above its history"
category = "identity_abuse"
severity = "medium"
description = """
Credentials from a pool last an hour, and an app asks again when they expire: an identity gets
a few per hour. An identity id that is shared out — hardcoded in a scraper, leaked and replayed,
abused as a free AWS session for a botnet — gets credentials again and again, often from many
addresses. Counted per identity in windows of `window` (bins and bins shifted by half):
at least `min_issuances` issuances (`GetCredentialsForIdentity`, `AssumeRoleWithWebIdentity`)
and more than `multiplier` times the most that identity got in any hour of the `history` before
(`identity_hourly`; an identity without history is compared with nothing but `min_issuances`).
High when the issuances came from at least `min_addresses` addresses (the id is being shared),
medium otherwise. Many identities minted from one source are `guest_identity_flood`'s.
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/identity-pools.html",
  "https://attack.mitre.org/techniques/T1550/001/",
]
attack = ["T1550.001", "T1496", "T1078.004"]
false_positives = """
An app bug that throws away its cached credentials and asks again on every request; a load test
that reuses one identity. Both come from few addresses and one app stack (medium), and repeat
with every install for a bug.
"""
window = "1h"
lookback = "30m"
history = "7d"
[tunables]
min_issuances = 30
multiplier = 5
min_addresses = 5
---*/
WITH issued AS (
    SELECT identity_id, identity_pool_id, event_id, issued_at, issuing_ip, issuing_user_agent, access_key_id,
           date_bin({{window}}, issued_at) AS bin,
           date_bin({{window}}, issued_at - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM credentials
    WHERE identity_id IS NOT NULL
),
placed AS (
    SELECT i.identity_id, i.issuing_ip,
           CASE WHEN s.shifted THEN i.shifted_bin ELSE i.bin END AS window_start
    FROM issued i CROSS JOIN (VALUES (false), (true)) AS s(shifted)
),
per_address AS (
    SELECT identity_id, window_start, coalesce(issuing_ip, '') AS issuing_ip, count(*) AS issuances
    FROM placed
    GROUP BY 1, 2, 3
),
windows AS (
    SELECT identity_id, window_start, sum(issuances) AS issuances,
           count(*) FILTER (WHERE issuing_ip <> '') AS addresses
    FROM per_address
    GROUP BY identity_id, window_start
    HAVING sum(issuances) >= {{min_issuances}}
),
heavy AS (
    SELECT w.*, coalesce(max(h.credentials_issued), 0) AS most_before
    FROM windows w
    LEFT JOIN identity_hourly h ON h.identity_id = w.identity_id
                               AND h.hour >= w.window_start - {{history}}
                               AND h.hour < date_trunc('hour', w.window_start)
    WHERE is_judged(w.window_start)
    GROUP BY w.identity_id, w.window_start, w.issuances, w.addresses
),
flagged AS (
    SELECT * FROM heavy WHERE issuances > {{multiplier}} * most_before
),
evidence AS (
    SELECT f.identity_id, f.window_start, f.issuances, f.addresses, f.most_before,
           first_value(i.identity_pool_id) FILTER (WHERE i.identity_pool_id IS NOT NULL) AS identity_pool_id,
           first_value(i.access_key_id) FILTER (WHERE i.access_key_id IS NOT NULL) AS access_key_id,
           min(i.issued_at) AS first_seen,
           max(i.issued_at) AS last_seen,
           array_agg(i.event_id) AS event_ids,
           array_agg(DISTINCT i.issuing_ip) FILTER (WHERE i.issuing_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT coalesce(i.issuing_user_agent, ''))), ' | ') AS agents
    FROM flagged f
    JOIN issued i ON i.identity_id = f.identity_id
                 AND i.issued_at >= f.window_start
                 AND i.issued_at < f.window_start + {{window}}
    GROUP BY f.identity_id, f.window_start, f.issuances, f.addresses, f.most_before
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       CASE WHEN addresses >= {{min_addresses}} THEN 'high' ELSE 'medium' END AS severity,
       concat('Identity ', identity_id, ' got credentials ', issuances, ' times within ', {{window_minutes}},
              ' minutes from ', addresses, ' address(es) (user agent: ', agents, '); its most in an hour of the ',
              'history before: ', most_before) AS summary,
       concat(identity_id, '|', CAST(window_start AS VARCHAR)) AS finding_key,
       identity_id AS group_key
FROM evidence
