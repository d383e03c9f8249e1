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
`guest_permission_enumeration`'s and `cross_identity_access`'s to rate. Every denied call is
evidence in exactly one finding. Not counted: an S3 read of the caller's **own** key answered 403 — S3
answers 403 instead of 404 for a missing object when the role may not list the bucket.
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
[tunables]
medium_at_denials = 10
medium_at_services = 3
---*/
WITH placed AS (
    SELECT d.identity_id, d.identity_pool_id, d.access_key_id, d.auth_type, d.event_id, d.event_time,
           d.event_source, d.action, d.source_ip,
           (CAST(d.event_time AS BIGINT) - s.shift * {{window_minutes}} * 30000000) / ({{window_minutes}} * 60000000)
               * ({{window_minutes}} * 60000000) + s.shift * {{window_minutes}} * 30000000 AS window_us
    FROM access_denials d
    CROSS JOIN (VALUES (0), (1)) AS s(shift)
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
    FROM placed
    GROUP BY identity_id, window_us
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
