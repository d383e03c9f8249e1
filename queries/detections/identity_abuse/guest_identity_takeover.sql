/*---
id = "guest_identity_takeover"
title = "Credentials issued for an existing guest identity from a new network and client"
category = "identity_abuse"
severity = "medium"
description = """
A guest identity id is a bearer secret: `GetCredentialsForIdentity` with the id alone (no
login) returns that identity's credentials, and with them whatever the app stored under
`private/<id>/`. Ids leak through logs, analytics, URLs and shared devices, and an app that
hardcodes one id shares it with everyone. This fires when an identity that existed before the
hour of the call (`identity_profile`) gets guest credentials (or a guest OpenID token) from a
network (the /24, or the IPv6 /48) **and** a user agent it never used before: a phone moving
from Wi-Fi to mobile data keeps its agent, an app update keeps its network. High when the
credentials were then used, medium when only issued. One finding per identity and day of issuance.
Signed-in identities need a login token for this; stolen tokens are `identity_issuance_travel`'s.
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/identity-pools.html",
  "https://attack.mitre.org/techniques/T1550/001/",
]
attack = ["T1550.001", "T1078.004", "T1528"]
false_positives = """
A user reinstalling the app on a new phone on another network keeps the identity only when the
app restored its cached id (backups of the app's storage do that); a browser extension that
rewrites the user agent, on a trip. Both are one-off; a leaked or hardcoded id shows on many
networks at once.
"""
---*/
WITH issued AS (
    -- Guest issuances: GetCredentialsForIdentity and GetOpenIdToken without logins.
    SELECT identity_id, identity_pool_id, issued_access_key_id AS access_key_id, event_id, event_time,
           source_ip, coalesce(user_agent, '') AS user_agent,
           ip_network(source_ip, 24, 48) AS network, date_trunc('hour', event_time) AS hour
    -- `issuance_events` reaches 12 hours before what is judged: calls judged now can be traced
    -- to an issuance judged in an earlier run.
    FROM issuance_events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('GetCredentialsForIdentity', 'GetOpenIdToken')
      AND auth_type = 'unauthenticated'
      AND error_code IS NULL
      AND identity_id IS NOT NULL AND source_ip IS NOT NULL
),
candidates AS (
    SELECT DISTINCT identity_id, hour, network, user_agent FROM issued
),
-- What each identity was seen with before the hour, by exact key (identity, attribute, value):
-- one profile row per candidate at most, never an identity's whole profile per candidate.
existed AS (
    SELECT c.*
    FROM candidates c
    JOIN identity_profile p
      ON p.identity_id = c.identity_id AND p.attribute = 'pool' AND p.first_seen < c.hour
),
new_network AS (
    SELECT e.*
    FROM existed e
    LEFT JOIN identity_profile n
      ON n.identity_id = e.identity_id AND n.attribute = 'network' AND n.value = e.network
     AND n.first_seen < e.hour
    WHERE n.identity_id IS NULL
),
new_network_and_agent AS (
    SELECT x.*
    FROM new_network x
    LEFT JOIN identity_profile a
      ON a.identity_id = x.identity_id AND a.attribute = 'user_agent' AND a.value = x.user_agent
     AND a.first_seen < x.hour
    WHERE a.identity_id IS NULL
),
-- The networks it used before, for the summary (only the few identities taken).
networks_before AS (
    SELECT k.identity_id, k.hour,
           array_to_string(array_sort(array_agg(DISTINCT p.value)), ', ') AS networks_before
    FROM (SELECT DISTINCT identity_id, hour FROM new_network_and_agent) k
    JOIN identity_profile p ON p.identity_id = k.identity_id AND p.attribute = 'network' AND p.first_seen < k.hour
    GROUP BY k.identity_id, k.hour
),
taken AS (
    SELECT i.*, b.networks_before
    FROM new_network_and_agent k
    JOIN issued i ON i.identity_id = k.identity_id AND i.hour = k.hour
                 AND i.network = k.network AND i.user_agent = k.user_agent
    LEFT JOIN networks_before b ON b.identity_id = k.identity_id AND b.hour = k.hour
),
used AS (
    SELECT a.identity_id, t.day, a.event_id, a.event_time, a.source_ip, a.action
    FROM (SELECT access_key_id, min(date_trunc('day', event_time)) AS day FROM taken
          WHERE access_key_id IS NOT NULL GROUP BY access_key_id) t
    JOIN identity_activity a ON a.access_key_id = t.access_key_id
),
-- Evidence is what this run judges; the issuance and the calls may be judged in two runs and
-- meet in one finding (same identity and day of issuance).
evidence AS (
    SELECT identity_id, date_trunc('day', event_time) AS day, identity_pool_id, access_key_id, event_id,
           event_time, source_ip, user_agent, networks_before, CAST(NULL AS VARCHAR) AS action
    FROM taken
    WHERE is_judged(event_time)
    UNION ALL
    SELECT identity_id, day, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), event_id, event_time, source_ip,
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), action
    FROM used
    WHERE is_judged(event_time)
)
SELECT identity_id,
       first_value(identity_pool_id) FILTER (WHERE identity_pool_id IS NOT NULL) AS identity_pool_id,
       first_value(access_key_id) FILTER (WHERE access_key_id IS NOT NULL) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN count(action) > 0 THEN 'high' ELSE 'medium' END AS severity,
       concat('Guest ', identity_id, ', known before from ', coalesce(max(networks_before), 'other networks'),
              ', got credentials from ',
              coalesce(array_to_string(array_sort(array_agg(DISTINCT source_ip) FILTER (WHERE action IS NULL)), ', '), 'a new network'),
              ' with a user agent it never used (',
              array_to_string(array_sort(array_agg(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL)), ' | '),
              '); ', count(action), ' call(s) made with them',
              coalesce(concat(': ', array_to_string(array_sort(array_agg(DISTINCT action) FILTER (WHERE action IS NOT NULL)), ', ')), '')) AS summary,
       concat(identity_id, '|', CAST(day AS VARCHAR)) AS finding_key
FROM evidence
GROUP BY identity_id, day
