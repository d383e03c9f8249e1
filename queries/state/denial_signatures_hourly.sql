/*---
name = "denial_signatures_hourly"
kind = "hourly"
description = """
Per hour, pool and denial signature (`action`, `error_code`): how many calls were denied and
how many distinct identities were. A signature denied to many identities in an hour is a
broken release or a tightened policy, not one user probing: `access_denial` rolls such
signatures up into one finding and reads this to know which ones were already broken before
the window it judges.
"""
---*/
WITH per_identity AS (
    SELECT date_trunc('hour', event_time) AS hour,
           coalesce(identity_pool_id, '') AS identity_pool_id,
           action,
           coalesce(error_code, '') AS error_code,
           identity_id,
           count(*) AS denials
    FROM access_denials
    WHERE identity_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
)
SELECT hour, identity_pool_id, action, error_code,
       count(*) AS identities,
       sum(denials) AS denials
FROM per_identity
GROUP BY hour, identity_pool_id, action, error_code
