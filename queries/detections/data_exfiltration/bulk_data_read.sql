/*---
id = "bulk_data_read"
title = "An identity reading far more data than it and its pool ever did"
category = "data_exfiltration"
severity = "high"
description = """
Pool credentials read what the role allows: every public photo, the catalog table, whatever the
policy variables do not confine. Someone who took credentials out of the app (or a scraper
posing as a guest) reads it all. Counted per identity in windows of `window` (bins and bins
shifted by half): successful data reads (S3 `GetObject`, DynamoDB `GetItem`, `Query`, `Scan`,
`BatchGetItem`, PartiQL `SELECT`) and bytes sent (S3 `bytesTransferredOut`; CloudTrail does not
log DynamoDB item counts, so calls stand for items). A window is flagged when it reaches
`min_reads` reads or `min_bytes` bytes **and** is more than `multiplier` times both the most
that identity did in an hour of the `history` before and the pool's 95th percentile of
identity-hours then (`identity_hourly`; at least `min_baseline_hours` identity-hours of the
pool, else nothing is known and nothing fires). A power user who reads their own files every day has
that history; a new identity is compared with the pool. High: the data left.
"""
references = [
  "https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html",
  "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html",
  "https://attack.mitre.org/techniques/T1530/",
]
attack = ["T1530", "T1119", "T1567"]
false_positives = """
A new user importing or exporting their whole library on the first day; an app feature that
pre-fetches a feed (then many identities do it at once, and it becomes the pool's percentile
within a week). Check whether the reads were the identity's own data.
"""
window = "1h"
lookback = "30m"
history = "7d"
[tunables]
min_reads = 200
min_bytes = 1073741824
multiplier = 5
min_baseline_hours = 12
---*/
WITH reads AS (
    SELECT identity_id, identity_pool_id, access_key_id, event_id, event_time, source_ip, action,
           coalesce(bytes_out, 0) AS bytes_out, target_identity_ids,
           date_bin({{window}}, event_time) AS bin,
           date_bin({{window}}, event_time - {{half_window}}) + {{half_window}} AS shifted_bin
    FROM identity_activity
    WHERE error_code IS NULL AND identity_id IS NOT NULL
      AND ((event_source = 's3.amazonaws.com' AND event_name = 'GetObject')
        OR (event_source = 'dynamodb.amazonaws.com'
            AND (event_name IN ('GetItem', 'Query', 'Scan', 'BatchGetItem')
                 OR (event_name IN ('ExecuteStatement', 'BatchExecuteStatement')
                     AND upper(trim(coalesce(dynamodb_statement, ''))) LIKE 'SELECT%'))))
),
windows AS (
    SELECT r.identity_id,
           CASE WHEN s.shifted THEN r.shifted_bin ELSE r.bin END AS window_start,
           first_value(r.identity_pool_id) AS identity_pool_id,
           count(*) AS reads,
           sum(r.bytes_out) AS bytes
    FROM reads r CROSS JOIN (VALUES (false), (true)) AS s(shifted)
    GROUP BY 1, 2
),
heavy AS (
    SELECT * FROM windows
    WHERE (reads >= {{min_reads}} OR bytes >= {{min_bytes}}) AND is_judged(window_start)
),
own_history AS (
    SELECT h.identity_id, h.window_start,
           coalesce(max(p.calls), 0) AS most_calls, coalesce(max(p.bytes_out), 0) AS most_bytes
    FROM heavy h
    LEFT JOIN identity_hourly p ON p.identity_id = h.identity_id
                               AND p.hour >= h.window_start - {{history}}
                               AND p.hour < date_trunc('hour', h.window_start)
    GROUP BY h.identity_id, h.window_start
),
pool_history AS (
    SELECT h.identity_id, h.window_start,
           coalesce(approx_percentile_cont(CAST(p.calls AS DOUBLE), 0.95), 0) AS p95_calls,
           coalesce(approx_percentile_cont(CAST(p.bytes_out AS DOUBLE), 0.95), 0) AS p95_bytes,
           count(p.hour) AS samples
    FROM heavy h
    LEFT JOIN identity_hourly p ON p.identity_pool_id = h.identity_pool_id
                               AND p.calls > 0
                               AND p.hour >= h.window_start - {{history}}
                               AND p.hour < date_trunc('hour', h.window_start)
    GROUP BY h.identity_id, h.window_start
),
flagged AS (
    SELECT h.*, o.most_calls, o.most_bytes, p.p95_calls, p.p95_bytes
    FROM heavy h
    JOIN own_history o ON o.identity_id = h.identity_id AND o.window_start = h.window_start
    JOIN pool_history p ON p.identity_id = h.identity_id AND p.window_start = h.window_start
    WHERE p.samples >= {{min_baseline_hours}}
      AND ((h.reads >= {{min_reads}}
           AND h.reads > {{multiplier}} * o.most_calls AND h.reads > {{multiplier}} * p.p95_calls)
       OR (h.bytes >= {{min_bytes}}
           AND h.bytes > {{multiplier}} * o.most_bytes AND h.bytes > {{multiplier}} * p.p95_bytes))
),
evidence AS (
    SELECT f.identity_id, f.window_start, f.reads, f.bytes, f.most_calls, f.most_bytes, f.p95_calls, f.p95_bytes,
           first_value(r.identity_pool_id) AS identity_pool_id,
           first_value(r.access_key_id) FILTER (WHERE r.access_key_id IS NOT NULL) AS access_key_id,
           min(r.event_time) AS first_seen, max(r.event_time) AS last_seen,
           array_agg(r.event_id) AS event_ids,
           array_agg(DISTINCT r.source_ip) FILTER (WHERE r.source_ip IS NOT NULL) AS source_ips,
           count(*) FILTER (WHERE array_has(r.target_identity_ids, r.identity_id)) AS own_reads,
           array_to_string(array_sort(array_agg(DISTINCT r.action)), ', ') AS actions
    FROM flagged f
    JOIN reads r ON r.identity_id = f.identity_id
                AND r.event_time >= f.window_start AND r.event_time < f.window_start + {{window}}
    GROUP BY f.identity_id, f.window_start, f.reads, f.bytes, f.most_calls, f.most_bytes, f.p95_calls, f.p95_bytes
)
SELECT identity_id, identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips,
       'high' AS severity,
       concat('Identity ', identity_id, ' read ', reads, ' item(s) or object(s) (', bytes, ' bytes; ', own_reads,
              ' of its own data) within ', {{window_minutes}}, ' minutes: ', actions,
              '; in the week before it read at most ', most_calls, ' calls / ', most_bytes,
              ' bytes in an hour, and the pool''s identities ', CAST(ceil(p95_calls) AS BIGINT), ' calls / ',
              CAST(ceil(p95_bytes) AS BIGINT), ' bytes 95% of the time') AS summary,
       concat(identity_id, '|', CAST(window_start AS VARCHAR)) AS finding_key,
       identity_id AS group_key
FROM evidence
