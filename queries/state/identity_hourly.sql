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
WITH calls AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id,
           first_value(identity_pool_id) AS identity_pool_id,
           first_value(auth_type) AS auth_type,
           count(*) AS calls,
           count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
           count(DISTINCT event_source || ':' || event_name) AS distinct_actions,
           count(DISTINCT event_source) AS distinct_services,
           count(DISTINCT source_ip) AS distinct_addresses,
           coalesce(sum(bytes_in), 0) AS bytes_in,
           coalesce(sum(bytes_out), 0) AS bytes_out
    FROM identity_activity
    GROUP BY date_trunc('hour', event_time), identity_id
),
denied AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_id, count(*) AS denials
    FROM access_denials
    GROUP BY date_trunc('hour', event_time), identity_id
),
issued AS (
    SELECT date_trunc('hour', issued_at) AS hour, identity_id,
           first_value(identity_pool_id) AS identity_pool_id,
           first_value(auth_type) AS auth_type,
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
       coalesce(c.distinct_services, 0) AS distinct_services,
       coalesce(c.distinct_addresses, 0) AS distinct_addresses,
       coalesce(c.bytes_in, 0) AS bytes_in,
       coalesce(c.bytes_out, 0) AS bytes_out,
       coalesce(i.credentials_issued, 0) AS credentials_issued
FROM calls c
FULL OUTER JOIN issued i ON c.hour = i.hour AND c.identity_id = i.identity_id
LEFT JOIN denied d ON d.hour = coalesce(c.hour, i.hour) AND d.identity_id = coalesce(c.identity_id, i.identity_id)
