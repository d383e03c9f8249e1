/*---
name = "pools"
description = """
The account's own identity pools: `[detect] own_pools` from the config when given (the
`configured_pools` table), otherwise inferred from the trail — pools named by this account's
Cognito Identity calls (`GetId`, `GetCredentialsForIdentity`, … are logged only in the pool's
own account) and by pool administration events, anywhere in the lake (not only in the time a
detection judges). A pool that appears only as the audience of an
`AssumeRoleWithWebIdentity` is not one of them: that is a foreign pool.
"""
---*/
SELECT identity_pool_id, 'config' AS known_from
FROM configured_pools
UNION ALL
SELECT DISTINCT identity_pool_id, 'trail' AS known_from
FROM lake_events
WHERE NOT EXISTS (SELECT 1 FROM configured_pools)
  AND event_source = 'cognito-identity.amazonaws.com'
  AND identity_pool_id IS NOT NULL
