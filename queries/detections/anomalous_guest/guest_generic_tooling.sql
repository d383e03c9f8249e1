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
table), **other identities only, and none that used generic tooling itself in that week** —
neither the identity under test nor a fleet of scrapers can dilute it. The calls that got the
credentials (`GetId`, `GetCredentialsForIdentity`, `GetOpenIdToken`) count as the identity's
calls when it then used the credentials in that hour: a script that mints credentials with
`python-requests` and then sends an app's user agent is still caught (identities minted and
never used are `guest_identity_flood`'s). Android's `okhttp` and `Dalvik`, and iOS's `CFNetwork`, are app stacks,
not tooling. This fires only where at least
`min_baseline_calls` such calls came from app SDKs at least `min_sdk_share` of the time (a pool
used from scripts by design stays silent). One finding per identity.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1552/",
]
attack = ["T1528", "T1078.004"]
false_positives = """
A developer testing the app's backend with the CLI or curl using a guest session; an app built
on a stack that sends a generic user agent. The first comes from a known address; the second
shows in every install (add its agent to `sdk_pattern`).
"""
history = "7d"
[tunables]
tooling_pattern = "(?i)(aws-cli|boto3|botocore|curl/|python-requests|go-http-client|postmanruntime|java/|wget)"
sdk_pattern = "(?i)(aws-amplify|aws-sdk-js|aws-sdk-ios|aws-sdk-android|aws-sdk-swift|aws-sdk-kotlin|aws-sdk-flutter|amplify-|okhttp|dalvik|cfnetwork)"
min_sdk_share = 0.8
min_baseline_calls = 20
---*/
WITH guest AS (
    SELECT identity_id, identity_pool_id, access_key_id, event_id, event_time, source_ip, user_agent,
           true AS used_credentials
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
    UNION ALL
    -- The calls that got the credentials: a script that mints them shows its own agent there.
    SELECT identity_id, identity_pool_id, issued_access_key_id, event_id, event_time, source_ip, user_agent,
           false AS used_credentials
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('GetId', 'GetCredentialsForIdentity', 'GetOpenIdToken')
      AND auth_type = 'unauthenticated'
      AND error_code IS NULL
      AND identity_id IS NOT NULL
),
marked AS (
    SELECT *, date_trunc('hour', event_time) AS hour,
           regexp_like(coalesce(user_agent, ''), {{tooling_pattern}}) AS tooling
    FROM guest
),
-- Identities that used their credentials in the hour, with tooling somewhere in it (identities
-- minted and never used are guest_identity_flood's).
suspects AS (
    SELECT identity_id, identity_pool_id, hour
    FROM marked
    WHERE is_judged(event_time)
    GROUP BY identity_id, identity_pool_id, hour
    HAVING bool_or(tooling) AND bool_or(used_credentials)
),
-- The pool's guests in the history before each suspect's hour ...
history AS (
    SELECT s.identity_id AS suspect, s.identity_pool_id, s.hour,
           p.identity_id, p.user_agent, p.calls
    FROM suspects s
    JOIN identity_agents_hourly p ON p.identity_pool_id = s.identity_pool_id
                                 AND p.auth_type = 'unauthenticated'
                                 AND p.identity_id <> s.identity_id
                                 AND p.hour >= s.hour - {{history}}
                                 AND p.hour < s.hour
),
-- ... less every identity that used tooling itself then: a fleet of scrapers cannot make
-- generic tooling look normal.
tainted AS (
    SELECT DISTINCT suspect, hour, identity_id
    FROM history
    WHERE regexp_like(user_agent, {{tooling_pattern}})
),
baseline AS (
    SELECT h.suspect AS identity_id, h.identity_pool_id, h.hour,
           sum(h.calls) AS calls,
           CAST(sum(h.calls) FILTER (WHERE regexp_like(h.user_agent, {{sdk_pattern}})) AS DOUBLE) / sum(h.calls) AS sdk_share
    FROM history h
    LEFT JOIN tainted t ON t.suspect = h.suspect AND t.hour = h.hour AND t.identity_id = h.identity_id
    WHERE t.identity_id IS NULL
    GROUP BY h.suspect, h.identity_pool_id, h.hour
),
judged AS (
    SELECT m.*, b.sdk_share
    FROM marked m
    JOIN baseline b ON m.identity_id = b.identity_id AND m.identity_pool_id = b.identity_pool_id AND m.hour = b.hour
    WHERE m.tooling AND is_judged(m.event_time)
      AND b.calls >= {{min_baseline_calls}}
      AND b.sdk_share >= {{min_sdk_share}}
)
SELECT identity_id,
       identity_pool_id,
       first_value(access_key_id) FILTER (WHERE access_key_id IS NOT NULL) AS access_key_id,
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
