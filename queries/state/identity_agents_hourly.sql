/*---
name = "identity_agents_hourly"
kind = "hourly"
description = """
Per identity, user agent and hour: calls. What a pool's guests normally call from (app SDKs or
scripts), before the hour a detection judges, excluding the identity under test.
"""
---*/
SELECT date_trunc('hour', event_time) AS hour, identity_id,
       max(identity_pool_id) AS identity_pool_id,
       max(auth_type) AS auth_type,
       coalesce(user_agent, '') AS user_agent,
       count(*) AS calls
FROM identity_activity
GROUP BY date_trunc('hour', event_time), identity_id, coalesce(user_agent, '')
