/*---
name = "pool_hourly"
kind = "hourly"
description = """
Per pool and hour: calls made with its identities' credentials (and by guests), denials,
distinct identities (and guests), distinct actions, bytes in and out, credentials issued and
new identities (`GetId`). The dashboard's overview and pool screens read this.
"""
---*/
WITH calls AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_pool_id,
           count(*) AS calls,
           count(*) FILTER (WHERE auth_type = 'unauthenticated') AS guest_calls,
           count(DISTINCT identity_id) AS identities,
           count(DISTINCT identity_id) FILTER (WHERE auth_type = 'unauthenticated') AS guest_identities,
           count(DISTINCT event_source || ':' || event_name) AS distinct_actions,
           coalesce(sum(bytes_in), 0) AS bytes_in,
           coalesce(sum(bytes_out), 0) AS bytes_out
    FROM identity_activity
    WHERE identity_pool_id IS NOT NULL
    GROUP BY date_trunc('hour', event_time), identity_pool_id
),
denied AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_pool_id,
           count(*) AS denials,
           count(*) FILTER (WHERE auth_type = 'unauthenticated') AS guest_denials
    FROM access_denials
    WHERE identity_pool_id IS NOT NULL
    GROUP BY date_trunc('hour', event_time), identity_pool_id
),
cognito AS (
    SELECT date_trunc('hour', event_time) AS hour, identity_pool_id,
           count(*) FILTER (WHERE event_name IN ('GetCredentialsForIdentity', 'AssumeRoleWithWebIdentity')) AS credentials_issued,
           count(DISTINCT identity_id) FILTER (WHERE event_name = 'GetId') AS new_identities,
           count(DISTINCT identity_id) FILTER (WHERE event_name = 'GetId' AND auth_type = 'unauthenticated') AS new_guest_identities
    FROM events
    WHERE error_code IS NULL
      AND identity_pool_id IS NOT NULL
      AND (event_source = 'cognito-identity.amazonaws.com'
           OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithWebIdentity'))
    GROUP BY date_trunc('hour', event_time), identity_pool_id
)
SELECT coalesce(c.hour, g.hour) AS hour,
       coalesce(c.identity_pool_id, g.identity_pool_id) AS identity_pool_id,
       coalesce(c.calls, 0) AS calls,
       coalesce(c.guest_calls, 0) AS guest_calls,
       coalesce(d.denials, 0) AS denials,
       coalesce(d.guest_denials, 0) AS guest_denials,
       coalesce(c.identities, 0) AS identities,
       coalesce(c.guest_identities, 0) AS guest_identities,
       coalesce(c.distinct_actions, 0) AS distinct_actions,
       coalesce(c.bytes_in, 0) AS bytes_in,
       coalesce(c.bytes_out, 0) AS bytes_out,
       coalesce(g.credentials_issued, 0) AS credentials_issued,
       coalesce(g.new_identities, 0) AS new_identities,
       coalesce(g.new_guest_identities, 0) AS new_guest_identities
FROM calls c
FULL OUTER JOIN cognito g ON c.hour = g.hour AND c.identity_pool_id = g.identity_pool_id
LEFT JOIN denied d ON d.hour = coalesce(c.hour, g.hour) AND d.identity_pool_id = coalesce(c.identity_pool_id, g.identity_pool_id)
