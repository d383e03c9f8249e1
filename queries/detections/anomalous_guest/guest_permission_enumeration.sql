/*---
id = "guest_permission_enumeration"
title = "A guest identity is enumerating permissions"
category = "anomalous_guest"
severity = "high"
description = """
Guest (unauthenticated) credentials are free: anyone who finds the pool id in an app can get
them with two unauthenticated calls. Tools such as enumerate-iam, Pacu or ScoutSuite then try
operation after operation to map what the role allows. The sign: one guest identity calling
many distinct actions (`min_actions`) on several services (`min_services`) within
`window`, several of them denied (`min_denied_actions` distinct actions). An app's guest traffic
calls the same few actions again and again, and they are allowed. Windows are 15-minute bins
and the bins shifted by half of one, so a scan that straddles a bin edge is seen whole; the
windows of one scan that overlap are one finding.
"""
references = [
  "https://github.com/andresriancho/enumerate-iam",
  "https://rhinosecuritylabs.com/aws/assume-worst-aws-assume-role-enumeration/",
  "https://attack.mitre.org/techniques/T1069/003/",
]
window = "15m"
lookback = "8m"
[tunables]
min_actions = 8
min_services = 3
min_denied_actions = 4
---*/
WITH guest_calls AS (
    SELECT *,
           date_bin({{window}}, event_time) AS bin,
           date_bin({{window}}, event_time - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
),
-- Counts first, per window (bins and shifted bins): no evidence is gathered
-- for the many windows the thresholds drop.
placed AS (
    SELECT g.identity_id, g.event_source, g.event_name, g.error_code,
           CASE WHEN s.shifted THEN g.shifted_bin ELSE g.bin END AS window_start
    FROM guest_calls g CROSS JOIN (VALUES (false), (true)) AS s(shifted)
),
-- Distinct counts in two plain steps: a count(DISTINCT …) per group keeps a
-- hash set for each of the many (identity, window) groups.
window_actions AS (
    SELECT identity_id, window_start, event_source, event_name,
           bool_or(error_code IS NOT NULL) AS denied
    FROM placed
    GROUP BY identity_id, window_start, event_source, event_name
),
window_services AS (
    SELECT identity_id, window_start, event_source,
           count(*) AS actions,
           count(*) FILTER (WHERE denied) AS denied_actions
    FROM window_actions
    GROUP BY identity_id, window_start, event_source
),
windows AS (
    SELECT identity_id, window_start,
           sum(actions) AS actions,
           sum(denied_actions) AS denied_actions,
           count(*) AS services
    FROM window_services
    GROUP BY identity_id, window_start
),
passing AS (
    SELECT * FROM windows
    WHERE actions >= {{min_actions}}
      AND services >= {{min_services}}
      AND denied_actions >= {{min_denied_actions}}
),
evidence AS (
    SELECT p.identity_id, p.window_start, p.actions, p.services,
           count(*) AS calls,
           count(*) FILTER (WHERE g.error_code IS NOT NULL) AS denied,
           first_value(g.identity_pool_id) AS identity_pool_id,
           first_value(g.access_key_id) AS access_key_id,
           min(g.event_time) AS first_seen,
           max(g.event_time) AS last_seen,
           array_agg(g.event_id) AS event_ids,
           array_agg(DISTINCT g.source_ip) FILTER (WHERE g.source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT g.user_agent)), ' | ') AS agents
    FROM passing p
    JOIN guest_calls g ON g.identity_id = p.identity_id
                      AND g.event_time >= p.window_start
                      AND g.event_time < p.window_start + {{window}}
    GROUP BY p.identity_id, p.window_start, p.actions, p.services
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       concat('Guest ', identity_id, ' called ', actions, ' distinct actions on ', services,
              ' services within ', {{window_minutes}}, ' minutes, ', denied, ' of ', calls,
              ' denied (user agent: ', agents, ')') AS summary,
       concat(identity_id, '|', CAST(window_start AS VARCHAR)) AS finding_key,
       identity_id AS group_key
FROM evidence
