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
grouped per identity and `window` (one finding per identity and hour); severity rises with the
count (`medium_at_denials`, `high_at_denials`) and with the number of distinct services touched
(`high_at_services`): probing touches many services, a broken app feature one. The counts are
taken over the hour itself and over the two half-hour-shifted windows that overlap it, so a
burst that straddles the top of the hour counts whole. Every denied call is evidence in exactly
one finding. Not counted: an S3 read of the caller's **own** key answered 403 — S3
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
high_at_denials = 50
high_at_services = 3
---*/
WITH denied AS (
    SELECT *,
           date_bin({{window}}, event_time) AS bin,
           date_bin({{window}}, event_time - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM access_denials
),
bins AS (
    SELECT identity_id, bin,
           first_value(identity_pool_id) AS identity_pool_id,
           first_value(access_key_id) AS access_key_id,
           first_value(auth_type) AS auth_type,
           count(*) AS denials,
           count(DISTINCT event_source) AS services,
           min(event_time) AS first_seen,
           max(event_time) AS last_seen,
           array_agg(event_id) AS event_ids,
           array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT split_part(event_source, '.', 1) || ':' || event_name)), ', ') AS actions
    FROM denied
    GROUP BY identity_id, bin
),
shifted AS (
    SELECT identity_id, shifted_bin, count(*) AS denials, count(DISTINCT event_source) AS services
    FROM denied
    GROUP BY identity_id, shifted_bin
),
peaks AS (
    SELECT b.identity_id, b.bin,
           max(s.denials) AS denials,
           max(s.services) AS services
    FROM bins b
    JOIN shifted s ON s.identity_id = b.identity_id
                  AND s.shifted_bin > b.bin - {{window}}
                  AND s.shifted_bin < b.bin + {{window}}
    GROUP BY b.identity_id, b.bin
)
SELECT b.identity_id,
       b.identity_pool_id,
       b.access_key_id,
       b.first_seen,
       b.last_seen,
       b.event_ids,
       b.source_ips,
       CASE WHEN greatest(b.denials, p.denials) >= {{high_at_denials}}
                 OR greatest(b.services, p.services) >= {{high_at_services}} THEN 'high'
            WHEN greatest(b.denials, p.denials) >= {{medium_at_denials}} THEN 'medium'
            ELSE 'low' END AS severity,
       concat('Identity ', b.identity_id, ' (', coalesce(b.auth_type, 'auth type unknown'), ') was denied ',
              b.denials, ' time(s) on ', b.services, ' service(s) in the hour from ', CAST(b.bin AS VARCHAR),
              CASE WHEN p.denials > b.denials
                   THEN concat(' (', p.denials, ' within one hour across its edge)') ELSE '' END,
              ': ', b.actions) AS summary,
       concat(b.identity_id, '|', CAST(b.bin AS VARCHAR)) AS finding_key
FROM bins b
LEFT JOIN peaks p ON p.identity_id = b.identity_id AND p.bin = b.bin
