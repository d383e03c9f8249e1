/*---
name = "pools"
description = """
The account's own identity pools: `[detect] own_pools` from the config when given (the
`configured_pools` table); otherwise the pools of the newest inventory (`identity_pools`,
`known_from = 'inventory'`: what `ListIdentityPools` returned, active or not), together with
the pools inferred from the trail that the inventory does not list (a region it does not read)
— pools with a **successful** `GetId` or `GetCredentialsForIdentity` anywhere in the lake (these
data events are logged only in the pool's own account, and only a pool that exists answers
them). A failed call, or one that merely names a pool (an `AssumeRoleWithWebIdentity`
audience, a denied `DescribeIdentityPool` for someone else's pool), does not make a pool the
account's.
"""
---*/
SELECT identity_pool_id, 'config' AS known_from
FROM configured_pools
UNION ALL
SELECT DISTINCT identity_pool_id, 'inventory' AS known_from
FROM identity_pools
WHERE NOT EXISTS (SELECT 1 FROM configured_pools)
UNION ALL
SELECT DISTINCT identity_pool_id, 'trail' AS known_from
FROM lake_events
WHERE NOT EXISTS (SELECT 1 FROM configured_pools)
  AND event_source = 'cognito-identity.amazonaws.com'
  AND event_name IN ('GetId', 'GetCredentialsForIdentity')
  AND error_code IS NULL
  AND identity_pool_id IS NOT NULL
  AND identity_pool_id NOT IN (SELECT identity_pool_id FROM identity_pools)
