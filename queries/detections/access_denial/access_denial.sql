/*---
id = "access_denial"
title = "Denied calls made with identity-pool credentials"
category = "access_denial"
severity = "low"
description = """
Identity-pool credentials are handed to every app user (and to guests), so the IAM role behind
them is the only thing between a user and the account. A denied call made with them means the
app asked for something its role does not allow (a bug or a policy regression) or that someone
took the credentials out of the app and is probing what they can do. Denials
(`AccessDenied*`, `*UnauthorizedOperation`, `NotAuthorizedException`, API Gateway 403s, …) are
counted per identity in windows of `window` (hours, and hours shifted by half of one), and the
windows of one identity that overlap are one finding: a burst that straddles the top of the
hour is one finding, counted whole. Denials are attempts: low, or medium from
`medium_at_denials` denials or `medium_at_services` distinct services in one window (probing
touches many services, a broken app feature one) — what the role let through is
`guest_permission_enumeration`'s and `cross_identity_access`'s to rate.

**Rollup.** A broken release denies every user the same thing. A denial *signature* (pool,
action, error) denied to `rollup_identities` or more identities in one window is one finding
for the pool (low), whatever the number of users. Once a signature was rolled up in an hour of
the `history` before the bin of a denial, that denial counts only there, not in the
identities' own findings. The first window of a new breakage raises both the rollup and the
users' own findings: a finding is never taken back, and a window judged while its events are
still arriving cannot yet know that more users will follow (deciding from the window itself
would make hour-by-hour and whole-lake runs disagree). An attacker who breaks a signature on
purpose with many identities to hide behind it still raises the rollup, and everything else
they probe counts as before.

Not counted: an S3 read of the caller's **own** key answered 403 in one of the pool's own
buckets (the `access_denials` view) — S3 answers 403 instead of 404 for a missing object when
the role may not list the bucket; elsewhere such a read is a denial like any other.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax",
  "https://attack.mitre.org/techniques/T1580/",
]
attack = ["T1580", "T1526", "T1078.004"]
false_positives = """
A release that calls an action its role was not granted (a new feature, a renamed bucket)
denies every user at once; a tightened policy does the same for a while. Such denials cluster
on one action and error across many identities, and stop after a fix.
"""
window = "1h"
lookback = "30m"
history = "24h"
[tunables]
rollup_identities = 5
medium_at_denials = 10
medium_at_services = 3
---*/
WITH placed AS (
    SELECT d.identity_id, d.identity_pool_id, d.access_key_id, d.auth_type, d.event_id, d.event_time,
           d.event_source, d.action, coalesce(d.error_code, '') AS error_code, d.source_ip,
           (CAST(d.event_time AS BIGINT) - s.shift * {{window_minutes}} * 30000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + s.shift * {{window_minutes}} * 30000000 AS window_us
    FROM access_denials d
    CROSS JOIN (VALUES (0), (1)) AS s(shift)
),
-- Signatures denied to many identities in a window: one rollup finding each.
signature_identities AS (
    SELECT coalesce(identity_pool_id, '') AS identity_pool_id, action, error_code, window_us, identity_id
    FROM placed
    WHERE identity_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
),
rolled_up AS (
    SELECT identity_pool_id, action, error_code, window_us, count(*) AS identities
    FROM signature_identities
    GROUP BY identity_pool_id, action, error_code, window_us
    HAVING count(*) >= {{rollup_identities}}
),
-- Denials of a signature already broken for many identities in an hour wholly before the
-- bin of the denial (not of the window: a shifted window reaches into the bin before).
known_broken AS (
    SELECT DISTINCT d.event_id
    FROM (SELECT DISTINCT event_id, coalesce(identity_pool_id, '') AS identity_pool_id, action, error_code,
                 CAST(event_time AS BIGINT) / ({{window_minutes}} * 60000000) * ({{window_minutes}} * 60000000) AS bin_us
          FROM placed) d
    JOIN denial_signatures_hourly h
      ON h.identity_pool_id = d.identity_pool_id AND h.action = d.action AND h.error_code = d.error_code
    WHERE h.identities >= {{rollup_identities}}
      AND h.hour + INTERVAL '1 hour' <= to_timestamp_micros(d.bin_us)
      AND h.hour >= to_timestamp_micros(d.bin_us) - {{history}}
),
own AS (
    SELECT p.*
    FROM placed p
    LEFT JOIN known_broken k ON k.event_id = p.event_id
    WHERE k.event_id IS NULL
),
windows AS (
    SELECT identity_id, window_us,
           first_value(identity_pool_id) AS identity_pool_id,
           first_value(access_key_id) AS access_key_id,
           first_value(auth_type) AS auth_type,
           count(*) AS denials,
           count(DISTINCT event_source) AS services,
           min(event_time) AS first_seen,
           max(event_time) AS last_seen,
           array_agg(event_id) AS event_ids,
           array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT action)), ', ') AS actions
    FROM own
    GROUP BY identity_id, window_us
),
rollups AS (
    SELECT r.identity_pool_id, r.action, r.error_code, r.window_us, max(r.identities) AS identities,
           count(*) AS denials,
           min(p.event_time) AS first_seen,
           max(p.event_time) AS last_seen,
           array_agg(p.event_id) AS event_ids,
           array_agg(DISTINCT p.source_ip) FILTER (WHERE p.source_ip IS NOT NULL) AS source_ips
    FROM rolled_up r
    JOIN placed p
      ON coalesce(p.identity_pool_id, '') = r.identity_pool_id AND p.action = r.action
     AND p.error_code = r.error_code AND p.window_us = r.window_us
    GROUP BY r.identity_pool_id, r.action, r.error_code, r.window_us
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       CASE WHEN denials >= {{medium_at_denials}} OR services >= {{medium_at_services}} THEN 'medium'
            ELSE 'low' END AS severity,
       concat('Identity ', identity_id, ' (', coalesce(auth_type, 'auth type unknown'), ') was denied ',
              denials, ' time(s) on ', services, ' service(s) within ', {{window_minutes}}, ' minutes from ',
              CAST(to_timestamp_micros(window_us) AS VARCHAR), ': ', actions) AS summary,
       concat(identity_id, '|', CAST(window_us AS VARCHAR)) AS finding_key,
       identity_id AS group_key
FROM windows
UNION ALL
SELECT CAST(NULL AS VARCHAR) AS identity_id, nullif(identity_pool_id, '') AS identity_pool_id,
       CAST(NULL AS VARCHAR) AS access_key_id, first_seen, last_seen, event_ids, source_ips,
       'low' AS severity,
       concat(identities, ' identities of pool ', identity_pool_id, ' were denied ', action, ' (',
              error_code, ') ', denials, ' time(s) within ', {{window_minutes}}, ' minutes from ',
              CAST(to_timestamp_micros(window_us) AS VARCHAR),
              ': one cause for all of them — a release calling what the role does not grant, a tightened policy, or a probe spread over many identities') AS summary,
       concat('rollup|', identity_pool_id, '|', action, '|', error_code, '|', CAST(window_us AS VARCHAR)) AS finding_key,
       concat('rollup|', identity_pool_id, '|', action, '|', error_code) AS group_key
FROM rollups
