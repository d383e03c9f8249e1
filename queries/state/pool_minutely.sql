/*---
name = "pool_minutely"
kind = "hourly"
description = """
Per pool and minute (`hour` is the minute's hour): calls made with its identities' credentials,
by guests and signed-in identities, how many failed and how many were denied. The dashboard's
time series read this, so that a one-hour window still has one point per minute. Calls whose
pool is unknown have an empty `identity_pool_id`.
"""
---*/
WITH calls AS (
    SELECT date_trunc('minute', event_time) AS minute,
           coalesce(identity_pool_id, '') AS identity_pool_id,
           count(*) AS calls,
           count(*) FILTER (WHERE auth_type = 'unauthenticated') AS guest_calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed
    FROM identity_activity
    GROUP BY date_trunc('minute', event_time), coalesce(identity_pool_id, '')
),
denied AS (
    SELECT date_trunc('minute', event_time) AS minute,
           coalesce(identity_pool_id, '') AS identity_pool_id,
           count(*) AS denials,
           count(*) FILTER (WHERE auth_type = 'unauthenticated') AS guest_denials
    FROM access_denials
    GROUP BY date_trunc('minute', event_time), coalesce(identity_pool_id, '')
)
SELECT date_trunc('hour', c.minute) AS hour, c.minute, c.identity_pool_id,
       c.calls, c.guest_calls, c.calls - c.guest_calls AS signed_in_calls, c.failed,
       coalesce(d.denials, 0) AS denials,
       coalesce(d.guest_denials, 0) AS guest_denials
FROM calls c
LEFT JOIN denied d ON d.minute = c.minute AND d.identity_pool_id = c.identity_pool_id
