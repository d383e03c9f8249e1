/*---
id = "guest_generic_tooling"
title = "Guest credentials used by generic tooling"
category = "anomalous_guest"
severity = "medium"
description = """
An app's guests call AWS through the app: the Amplify, JavaScript, iOS or Android SDKs. When a
guest identity's credentials show up in the AWS CLI, boto3/botocore, curl, python-requests or a
Go/Java HTTP client, someone took them out of the app. The pool's own traffic is the baseline:
this fires only for pools whose guest calls come from app SDKs at least `min_sdk_share` of the
time (a pool used from scripts by design stays silent). One finding per identity.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1552/",
]
[tunables]
tooling_pattern = "(?i)(aws-cli|boto3|botocore|curl/|python-requests|go-http-client|okhttp|postmanruntime|java/|wget)"
sdk_pattern = "(?i)(aws-amplify|aws-sdk-js|aws-sdk-ios|aws-sdk-android|aws-sdk-swift|aws-sdk-kotlin|aws-sdk-flutter|amplify-)"
min_sdk_share = 0.8
---*/
WITH guest AS (
    SELECT *, regexp_like(coalesce(user_agent, ''), {{tooling_pattern}}) AS tooling,
           regexp_like(coalesce(user_agent, ''), {{sdk_pattern}}) AS sdk
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
),
pool_baseline AS (
    SELECT identity_pool_id, CAST(count(*) FILTER (WHERE sdk) AS DOUBLE) / count(*) AS sdk_share
    FROM guest
    GROUP BY identity_pool_id
)
SELECT g.identity_id,
       g.identity_pool_id,
       first_value(g.access_key_id) AS access_key_id,
       min(g.event_time) AS first_seen,
       max(g.event_time) AS last_seen,
       array_agg(g.event_id) AS event_ids,
       array_agg(DISTINCT g.source_ip) FILTER (WHERE g.source_ip IS NOT NULL) AS source_ips,
       concat('Guest ', g.identity_id, ' made ', count(*), ' call(s) with generic tooling (',
              array_to_string(array_sort(array_agg(DISTINCT g.user_agent)), ' | '), ') while ',
              CAST(round(first_value(b.sdk_share) * 100) AS BIGINT), '% of the pool''s guest calls come from app SDKs') AS summary,
       g.identity_id AS finding_key
FROM guest g
JOIN pool_baseline b ON g.identity_pool_id = b.identity_pool_id
WHERE g.tooling AND b.sdk_share >= {{min_sdk_share}}
GROUP BY g.identity_id, g.identity_pool_id
