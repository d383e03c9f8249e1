/*---
id = "guest_volume_spike"
title = "A guest identity far above the pool's own baseline"
category = "anomalous_guest"
severity = "medium"
description = """
A scraper with guest credentials reads everything public, one object after another, far more
than any app session does. The baseline is the pool's own history: the 95th percentile of calls
per guest identity per hour over the `history` (7 days) **before** the hour judged, read from
the `identity_hourly` state table, so the
scraper's own hour (or a crowd of scrapers in one hour) cannot raise the bar it is judged by.
An identity-hour with at least `min_calls` calls and more than `multiplier` times that
percentile is a finding (high beyond ten times the percentile). Pools with too few guest
identity-hours in their history (`min_baseline_hours`) have no baseline and stay silent.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1530/",
]
window = "1h"
history = "7d"
[tunables]
min_calls = 100
multiplier = 5.0
min_baseline_hours = 20
---*/
WITH guest_hours AS (
    SELECT identity_id, identity_pool_id, date_trunc('hour', event_time) AS hour, count(*) AS calls
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
    GROUP BY identity_id, identity_pool_id, date_trunc('hour', event_time)
),
heavy AS (
    SELECT * FROM guest_hours WHERE calls >= {{min_calls}} AND is_judged(hour)
),
baseline AS (
    SELECT h.identity_id, h.identity_pool_id, h.hour,
           approx_percentile_cont(CAST(p.calls AS DOUBLE), 0.95) AS p95,
           count(*) AS samples
    FROM heavy h
    JOIN identity_hourly p ON p.identity_pool_id = h.identity_pool_id
                          AND p.auth_type = 'unauthenticated'
                          AND p.calls > 0
                          AND p.hour >= h.hour - {{history}}
                          AND p.hour < h.hour
    GROUP BY h.identity_id, h.identity_pool_id, h.hour
),
flagged AS (
    SELECT h.identity_id, h.identity_pool_id, h.hour, h.calls, b.p95
    FROM heavy h
    JOIN baseline b ON b.identity_id = h.identity_id AND b.identity_pool_id = h.identity_pool_id AND b.hour = h.hour
    WHERE b.samples >= {{min_baseline_hours}}
      AND h.calls > {{multiplier}} * b.p95
),
evidence AS (
    SELECT f.identity_id, f.identity_pool_id, f.hour, f.calls, f.p95,
           first_value(a.access_key_id) AS access_key_id,
           min(a.event_time) AS first_seen,
           max(a.event_time) AS last_seen,
           array_agg(a.event_id) AS event_ids,
           array_agg(DISTINCT a.source_ip) FILTER (WHERE a.source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT split_part(a.event_source, '.', 1) || ':' || a.event_name)), ', ') AS actions
    FROM flagged f
    JOIN identity_activity a ON a.identity_id = f.identity_id
                            AND a.auth_type = 'unauthenticated'
                            AND date_trunc('hour', a.event_time) = f.hour
    GROUP BY f.identity_id, f.identity_pool_id, f.hour, f.calls, f.p95
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       CASE WHEN calls > 10 * p95 THEN 'high' ELSE 'medium' END AS severity,
       concat('Guest ', identity_id, ' made ', calls, ' calls in one hour (', actions,
              '); in the week before, the pool''s guests made at most ', CAST(ceil(p95) AS BIGINT),
              ' per hour 95% of the time') AS summary,
       concat(identity_id, '|', CAST(hour AS VARCHAR)) AS finding_key
FROM evidence
