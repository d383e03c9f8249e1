/*---
id = "guest_volume_spike"
title = "A guest identity far above the pool's own baseline"
category = "anomalous_guest"
severity = "medium"
description = """
A scraper with guest credentials reads everything public, one object after another, far more
than any app session does. The baseline is the pool's own: the 95th percentile of calls per
guest identity per hour. An identity-hour with at least `min_calls` calls and more than
`multiplier` times that percentile is a finding (high beyond ten times the percentile). Pools with too few
guest identity-hours (`min_baseline_hours`) have no baseline and stay silent.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1530/",
]
[tunables]
min_calls = 100
multiplier = 5.0
min_baseline_hours = 20
---*/
WITH hours AS (
    SELECT identity_id, identity_pool_id, date_trunc('hour', event_time) AS hour,
           count(*) AS calls,
           first_value(access_key_id) AS access_key_id,
           min(event_time) AS first_seen,
           max(event_time) AS last_seen,
           array_agg(event_id) AS event_ids,
           array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT split_part(event_source, '.', 1) || ':' || event_name)), ', ') AS actions
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
    GROUP BY identity_id, identity_pool_id, date_trunc('hour', event_time)
),
baseline AS (
    SELECT identity_pool_id, approx_percentile_cont(CAST(calls AS DOUBLE), 0.95) AS p95, count(*) AS samples
    FROM hours
    GROUP BY identity_pool_id
)
SELECT h.identity_id, h.identity_pool_id, h.access_key_id, h.first_seen, h.last_seen, h.event_ids, h.source_ips,
       CASE WHEN h.calls > 10 * b.p95 THEN 'high' ELSE 'medium' END AS severity,
       concat('Guest ', h.identity_id, ' made ', h.calls, ' calls in one hour (', h.actions,
              '); the pool''s guests make at most ', CAST(ceil(b.p95) AS BIGINT),
              ' per hour 95% of the time') AS summary,
       concat(h.identity_id, '|', CAST(h.hour AS VARCHAR)) AS finding_key
FROM hours h
JOIN baseline b ON h.identity_pool_id = b.identity_pool_id
WHERE b.samples >= {{min_baseline_hours}}
  AND h.calls >= {{min_calls}}
  AND h.calls > {{multiplier}} * b.p95
