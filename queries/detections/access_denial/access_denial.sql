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
grouped per identity and `window_minutes`; severity rises with the count (`medium_at_denials`,
`high_at_denials`) and with the number of distinct services touched (`high_at_services`):
probing touches many services, a broken app feature one. Every denied call is evidence in
exactly one finding. Not counted: an S3 read of the caller's **own** key answered 403 — S3
answers 403 instead of 404 for a missing object when the role may not list the bucket.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax",
  "https://attack.mitre.org/techniques/T1580/",
]
[tunables]
window_minutes = 60
medium_at_denials = 10
high_at_denials = 50
high_at_services = 3
---*/
WITH denied AS (
    SELECT * FROM access_denials
),
grouped AS (
    SELECT identity_id,
           date_bin(INTERVAL '{{window_minutes}} minutes', event_time) AS window_start,
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
    GROUP BY identity_id, date_bin(INTERVAL '{{window_minutes}} minutes', event_time)
)
SELECT identity_id,
       identity_pool_id,
       access_key_id,
       first_seen,
       last_seen,
       event_ids,
       source_ips,
       CASE WHEN denials >= {{high_at_denials}} OR services >= {{high_at_services}} THEN 'high'
            WHEN denials >= {{medium_at_denials}} THEN 'medium'
            ELSE 'low' END AS severity,
       concat('Identity ', identity_id, ' (', coalesce(auth_type, 'auth type unknown'), ') was denied ',
              denials, ' time(s) on ', services, ' service(s) within ', {{window_minutes}},
              ' minutes: ', actions) AS summary,
       concat(identity_id, '|', CAST(window_start AS VARCHAR)) AS finding_key
FROM grouped
