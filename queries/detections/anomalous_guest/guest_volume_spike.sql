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
Calls are counted in one-hour windows that hop by half an hour (the hour bins and the bins
shifted by 30 minutes), so a burst that straddles the top of an hour is counted whole; the
windows of one burst that overlap are one finding. A window with at least `min_calls` calls and
more than `multiplier` times that percentile is a finding (high beyond ten times the
percentile). The baseline stops at the last whole hour before the window starts. Pools with too
few guest identity-hours in their history (`min_baseline_hours`) have no baseline and stay
silent.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
  "https://attack.mitre.org/techniques/T1530/",
]
attack = ["T1530", "T1119"]
false_positives = """
A guest using the app heavily (a long session, a feed refreshing in a loop because of a bug); a
marketing push that sends a crowd to one page. A bug repeats across many identities; a crowd
raises many identities a little, not one a lot.
"""
window = "1h"
lookback = "30m"
history = "7d"
[tunables]
min_calls = 100
multiplier = 5.0
min_baseline_hours = 20
---*/
WITH guest_calls AS (
    SELECT identity_id, identity_pool_id, event_time,
           date_bin({{window}}, event_time) AS bin,
           date_bin({{window}}, event_time - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM identity_activity
    WHERE auth_type = 'unauthenticated'
),
-- Counts first, per window (bins and shifted bins); evidence only for the
-- windows that pass.
windows AS (
    SELECT g.identity_id, g.identity_pool_id,
           CASE WHEN s.shifted THEN g.shifted_bin ELSE g.bin END AS window_start,
           count(*) AS calls
    FROM guest_calls g CROSS JOIN (VALUES (false), (true)) AS s(shifted)
    GROUP BY 1, 2, 3
),
heavy AS (
    SELECT * FROM windows WHERE calls >= {{min_calls}} AND is_judged(window_start)
),
baseline AS (
    SELECT h.identity_id, h.identity_pool_id, h.window_start,
           approx_percentile_cont(CAST(p.calls AS DOUBLE), 0.95) AS p95,
           count(*) AS samples
    FROM heavy h
    JOIN identity_hourly p ON p.identity_pool_id = h.identity_pool_id
                          AND p.auth_type = 'unauthenticated'
                          AND p.calls > 0
                          AND p.hour >= h.window_start - {{history}}
                          AND p.hour < date_trunc('hour', h.window_start)
    GROUP BY h.identity_id, h.identity_pool_id, h.window_start
),
flagged AS (
    SELECT h.identity_id, h.identity_pool_id, h.window_start, h.calls, b.p95
    FROM heavy h
    JOIN baseline b ON b.identity_id = h.identity_id AND b.identity_pool_id = h.identity_pool_id
                   AND b.window_start = h.window_start
    WHERE b.samples >= {{min_baseline_hours}}
      AND h.calls > {{multiplier}} * b.p95
),
evidence AS (
    SELECT f.identity_id, f.identity_pool_id, f.window_start, f.calls, f.p95,
           first_value(a.access_key_id) AS access_key_id,
           min(a.event_time) AS first_seen,
           max(a.event_time) AS last_seen,
           array_agg(a.event_id) AS event_ids,
           array_agg(DISTINCT a.source_ip) FILTER (WHERE a.source_ip IS NOT NULL) AS source_ips,
           array_to_string(array_sort(array_agg(DISTINCT split_part(a.event_source, '.', 1) || ':' || a.event_name)), ', ') AS actions
    FROM flagged f
    JOIN identity_activity a ON a.identity_id = f.identity_id
                            AND a.auth_type = 'unauthenticated'
                            AND a.event_time >= f.window_start
                            AND a.event_time < f.window_start + {{window}}
    GROUP BY f.identity_id, f.identity_pool_id, f.window_start, f.calls, f.p95
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       CASE WHEN calls > 10 * p95 THEN 'high' ELSE 'medium' END AS severity,
       concat('Guest ', identity_id, ' made ', calls, ' calls within an hour (', actions,
              '); in the week before, the pool''s guests made at most ', CAST(ceil(p95) AS BIGINT),
              ' per hour 95% of the time') AS summary,
       concat(identity_id, '|', CAST(window_start AS VARCHAR)) AS finding_key,
       identity_id AS group_key
FROM evidence
