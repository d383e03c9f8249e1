/*---
id = "guest_generic_tooling"
title = "Guest credentials used by generic tooling"
category = "anomalous_guest"
severity = "medium"
description = """
An app's guests call AWS through the app: the Amplify, JavaScript, iOS or Android SDKs. When a
guest identity's credentials show up in the AWS CLI, boto3/botocore, curl, python-requests or a
Go/Java HTTP client, someone took them out of the app. The pool's own traffic is the baseline: the guest calls of
the `history` (7 days) before the hour of the call (the `identity_agents_hourly` state
table), **other identities only** — the identity
under test cannot dilute it with its own calls. This fires only where at least
`min_baseline_calls` such calls came from app SDKs at least `min_sdk_share` of the time (a pool
used from scripts by design stays silent). One finding per identity.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1552/",
]
history = "7d"
[tunables]
tooling_pattern = "(?i)(aws-cli|boto3|botocore|curl/|python-requests|go-http-client|okhttp|postmanruntime|java/|wget)"
sdk_pattern = "(?i)(aws-amplify|aws-sdk-js|aws-sdk-ios|aws-sdk-android|aws-sdk-swift|aws-sdk-kotlin|aws-sdk-flutter|amplify-)"
min_sdk_share = 0.8
min_baseline_calls = 20
---*/
WITH guest AS (
    SELECT *, date_trunc('hour', event_time) AS hour,
           regexp_like(coalesce(user_agent, ''), {{tooling_pattern}}) AS tooling,
           regexp_like(coalesce(user_agent, ''), {{sdk_pattern}}) AS sdk
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
),
suspects AS (
    SELECT DISTINCT identity_id, identity_pool_id, hour
    FROM guest
    WHERE tooling AND is_judged(event_time)
),
baseline AS (
    SELECT s.identity_id, s.identity_pool_id, s.hour,
           sum(p.calls) AS calls,
           CAST(sum(p.calls) FILTER (WHERE regexp_like(p.user_agent, {{sdk_pattern}})) AS DOUBLE) / sum(p.calls) AS sdk_share
    FROM suspects s
    JOIN identity_agents_hourly p ON p.identity_pool_id = s.identity_pool_id
                                 AND p.auth_type = 'unauthenticated'
                                 AND p.identity_id <> s.identity_id
                                 AND p.hour >= s.hour - {{history}}
                                 AND p.hour < s.hour
    GROUP BY s.identity_id, s.identity_pool_id, s.hour
),
judged AS (
    SELECT g.*, b.sdk_share
    FROM guest g
    JOIN baseline b ON g.identity_id = b.identity_id AND g.identity_pool_id = b.identity_pool_id AND g.hour = b.hour
    WHERE g.tooling AND is_judged(g.event_time)
      AND b.calls >= {{min_baseline_calls}}
      AND b.sdk_share >= {{min_sdk_share}}
)
SELECT identity_id,
       identity_pool_id,
       first_value(access_key_id) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       concat('Guest ', identity_id, ' made ', count(*), ' call(s) with generic tooling (',
              array_to_string(array_sort(array_agg(DISTINCT user_agent)), ' | '), ') while ',
              CAST(round(min(sdk_share) * 100) AS BIGINT), '% or more of the other guests'' calls in the week before came from app SDKs') AS summary,
       identity_id AS finding_key
FROM judged
GROUP BY identity_id, identity_pool_id
