/*---
name = "role_actions"
kind = "accumulating"
keys = ["identity_pool_id", "role_arn", "auth_type", "action"]
description = """
Per pool, role and auth type, every action (`service:EventName`) its credentials called: first
and last seen, calls and denials. What a role is normally used for: an action it never called
before is new.
"""
---*/
SELECT identity_pool_id,
       coalesce(role_arn, '') AS role_arn,
       coalesce(auth_type, '') AS auth_type,
       split_part(event_source, '.', 1) || ':' || event_name AS action,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) AS calls,
       count(*) FILTER (WHERE error_code IS NOT NULL) AS errors
FROM identity_activity
WHERE ingested_at > {{arrived_after}}
GROUP BY 1, 2, 3, 4
