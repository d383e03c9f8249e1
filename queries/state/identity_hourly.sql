/*---
name = "identity_hourly"
kind = "hourly"
description = """
Per identity and hour: the calls made with its credentials, how many failed and were denied, distinct
actions and services, bytes in and out (S3 `bytesTransferredIn/Out`), distinct source
addresses, and the credentials issued to it. Guest rows have `auth_type = 'unauthenticated'`.
Baselines (a guest's usual calls per hour) read this instead of raw events.
"""
---*/
-- Distinct counts in plain steps: a count(DISTINCT …) per (hour, identity) keeps a hash set
-- for each of the many groups (1.5 GB for 300,000 events); GROUP BYs keep one row per value.
WITH activity AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id, identity_pool_id, auth_type,
           event_source, event_name, source_ip, error_code, bytes_in, bytes_out
    FROM identity_activity
),
per_action AS (
    SELECT hour, identity_id, event_source, event_name,
           max(identity_pool_id) AS identity_pool_id,
           max(auth_type) AS auth_type,
           count(*) AS calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
           coalesce(sum(bytes_in), 0) AS bytes_in,
           coalesce(sum(bytes_out), 0) AS bytes_out
    FROM activity
    GROUP BY hour, identity_id, event_source, event_name
),
services AS (
    SELECT hour, identity_id, count(*) AS distinct_services
    FROM (SELECT hour, identity_id, event_source FROM per_action GROUP BY hour, identity_id, event_source)
    GROUP BY hour, identity_id
),
addresses AS (
    SELECT hour, identity_id, count(*) AS distinct_addresses
    FROM (SELECT hour, identity_id, source_ip FROM activity WHERE source_ip IS NOT NULL
          GROUP BY hour, identity_id, source_ip)
    GROUP BY hour, identity_id
),
calls AS (
    SELECT a.hour, a.identity_id,
           max(a.identity_pool_id) AS identity_pool_id,
           max(a.auth_type) AS auth_type,
           sum(a.calls) AS calls,
           sum(a.failed) AS failed,
           count(*) AS distinct_actions,
           sum(a.bytes_in) AS bytes_in,
           sum(a.bytes_out) AS bytes_out
    FROM per_action a
    GROUP BY a.hour, a.identity_id
),
denied AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id, count(*) AS denials
    FROM access_denials
    GROUP BY date_trunc('hour', event_time), identity_id
),
issued AS (
    SELECT date_trunc('hour', issued_at) AS hour, identity_id,
           max(identity_pool_id) AS identity_pool_id,
           max(auth_type) AS auth_type,
           count(*) AS credentials_issued
    FROM credentials
    WHERE identity_id IS NOT NULL
    GROUP BY date_trunc('hour', issued_at), identity_id
)
SELECT coalesce(c.hour, i.hour) AS hour,
       coalesce(c.identity_id, i.identity_id) AS identity_id,
       coalesce(c.identity_pool_id, i.identity_pool_id) AS identity_pool_id,
       coalesce(c.auth_type, i.auth_type) AS auth_type,
       coalesce(c.calls, 0) AS calls,
       coalesce(c.failed, 0) AS failed,
       coalesce(d.denials, 0) AS denials,
       coalesce(c.distinct_actions, 0) AS distinct_actions,
       coalesce(sv.distinct_services, 0) AS distinct_services,
       coalesce(ad.distinct_addresses, 0) AS distinct_addresses,
       coalesce(c.bytes_in, 0) AS bytes_in,
       coalesce(c.bytes_out, 0) AS bytes_out,
       coalesce(i.credentials_issued, 0) AS credentials_issued
FROM calls c
FULL OUTER JOIN issued i ON c.hour = i.hour AND c.identity_id = i.identity_id
LEFT JOIN denied d ON d.hour = coalesce(c.hour, i.hour) AND d.identity_id = coalesce(c.identity_id, i.identity_id)
LEFT JOIN services sv ON sv.hour = c.hour AND sv.identity_id = c.identity_id
LEFT JOIN addresses ad ON ad.hour = c.hour AND ad.identity_id = c.identity_id
