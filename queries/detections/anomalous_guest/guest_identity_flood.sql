/*---
id = "guest_identity_flood"
title = "Many guest identities created from one address"
category = "anomalous_guest"
severity = "medium"
description = """
Each `GetId` without logins creates a new guest identity (and `GetCredentialsForIdentity` hands
it credentials). A script minting identities in a loop — to spread requests over many
identities, dodge per-identity limits or inflate the pool — shows as many new guest identities
from one source IP within minutes. People behind one NAT (a café, a carrier) also share an
address, but they arrive minutes apart and use their credentials: the threshold is per
`window` (`min_identities`), and the summary says how many of the identities ever made a
call with their credentials (high when almost none did). Windows are 10-minute bins and the
bins shifted by half of one, so a burst that straddles a bin edge is seen whole; the windows of
one burst that overlap are one finding.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/limits.html",
]
window = "10m"
lookback = "5m"
[tunables]
min_identities = 25
---*/
WITH minted AS (
    SELECT *,
           date_bin({{window}}, event_time) AS bin,
           date_bin({{window}}, event_time - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('GetId', 'GetCredentialsForIdentity')
      AND auth_type = 'unauthenticated'
      AND source_ip IS NOT NULL
),
-- Counts first, per window (bins and shifted bins); evidence only for floods.
placed AS (
    SELECT m.source_ip, m.identity_id, m.event_name,
           CASE WHEN s.shifted THEN m.shifted_bin ELSE m.bin END AS window_start
    FROM minted m CROSS JOIN (VALUES (false), (true)) AS s(shifted)
),
-- Distinct identities in two plain steps (a count(DISTINCT …) per group
-- keeps a hash set for each of the many (address, window) groups).
minted_in_window AS (
    SELECT source_ip, window_start, identity_id
    FROM placed
    WHERE event_name = 'GetId' AND identity_id IS NOT NULL
    GROUP BY source_ip, window_start, identity_id
),
windows AS (
    SELECT source_ip, window_start, count(*) AS new_identities
    FROM minted_in_window
    GROUP BY source_ip, window_start
),
flooded AS (
    SELECT * FROM windows WHERE new_identities >= {{min_identities}}
),
evidence AS (
    SELECT f.source_ip, f.window_start, f.new_identities,
           first_value(m.identity_pool_id) FILTER (WHERE m.identity_pool_id IS NOT NULL) AS identity_pool_id,
           array_agg(DISTINCT m.identity_id) FILTER (WHERE m.identity_id IS NOT NULL) AS identities,
           min(m.event_time) AS first_seen,
           max(m.event_time) AS last_seen,
           array_agg(m.event_id) AS event_ids,
           array_to_string(array_sort(array_agg(DISTINCT m.user_agent)), ' | ') AS agents
    FROM flooded f
    JOIN minted m ON m.source_ip = f.source_ip
                 AND m.event_time >= f.window_start
                 AND m.event_time < f.window_start + {{window}}
    GROUP BY f.source_ip, f.window_start, f.new_identities
),
minted_identities AS (
    SELECT source_ip, window_start, unnest(identities) AS minted_identity
    FROM evidence
),
used AS (
    SELECT DISTINCT identity_id FROM identity_activity WHERE auth_type = 'unauthenticated'
),
usage AS (
    SELECT m.source_ip, m.window_start, count(u.identity_id) AS used_identities
    FROM minted_identities m
    LEFT JOIN used u ON m.minted_identity = u.identity_id
    GROUP BY m.source_ip, m.window_start
),
flagged AS (
    SELECT e.*, coalesce(usage.used_identities, 0) AS used_identities
    FROM evidence e
    LEFT JOIN usage ON e.source_ip = usage.source_ip AND e.window_start = usage.window_start
)
SELECT NULL AS identity_id, identity_pool_id, NULL AS access_key_id, first_seen, last_seen, event_ids,
       make_array(source_ip) AS source_ips,
       CASE WHEN used_identities * 10 < new_identities THEN 'high' ELSE 'medium' END AS severity,
       concat(source_ip, ' created ', new_identities, ' guest identities within ', {{window_minutes}}, ' minutes; ',
              used_identities, ' of them used their credentials (user agent: ', agents, ')') AS summary,
       concat(source_ip, '|', CAST(window_start AS VARCHAR)) AS finding_key,
       source_ip AS group_key
FROM flagged
