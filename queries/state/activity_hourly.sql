/*---
name = "activity_hourly"
kind = "hourly"
description = """
Per hour, identity, source address and role: the calls made with its credentials (the first
and the last), how many failed and how many were denied. What the dashboard's overview and pool screens count
addresses, roles and identities from (distinct across hours), instead of raw events.
"""
---*/
WITH calls AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id,
           coalesce(source_ip, '') AS source_ip,
           coalesce(role_arn, '') AS role_arn,
           max(identity_pool_id) AS identity_pool_id,
           max(auth_type) AS auth_type,
           max(login_provider) AS login_provider,
           min(event_time) AS first_call,
           max(event_time) AS last_call,
           count(*) AS calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed
    FROM identity_activity
    WHERE identity_id IS NOT NULL
    GROUP BY date_trunc('hour', event_time), identity_id, coalesce(source_ip, ''), coalesce(role_arn, '')
),
denied AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id,
           coalesce(source_ip, '') AS source_ip,
           coalesce(role_arn, '') AS role_arn,
           count(*) AS denials
    FROM access_denials
    WHERE identity_id IS NOT NULL
    GROUP BY date_trunc('hour', event_time), identity_id, coalesce(source_ip, ''), coalesce(role_arn, '')
)
SELECT c.hour, c.identity_id, c.identity_pool_id, c.auth_type, c.login_provider,
       c.role_arn, c.source_ip, c.first_call, c.last_call, c.calls, c.failed,
       coalesce(d.denials, 0) AS denials
FROM calls c
LEFT JOIN denied d
  ON d.hour = c.hour AND d.identity_id = c.identity_id
 AND d.source_ip = c.source_ip AND d.role_arn = c.role_arn
