/*---
id = "classic_flow"
title = "Identity pool allows the basic (classic) authentication flow"
category = "posture"
severity = "medium"
description = """
With `AllowClassicFlow` on, an identity can take a pool's OpenID token (`GetOpenIdToken`) to
`sts:AssumeRoleWithWebIdentity` itself and ask for **any role whose trust policy accepts the
pool**, not only the one the pool's settings and rules would pick: role mappings stop being a
boundary. Medium for every pool with the flow on (Datadog's and AWS Config's checks flag the same
setting). High when one of the roles that trust the pool has no
`cognito-identity.amazonaws.com:amr` condition: a guest then reaches the authenticated role.
The finding names the pool and those roles; it resolves when a later inventory shows the flow
off.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CreateIdentityPool.html",
]
attack = ["T1078.004", "T1548"]
false_positives = """
Old apps built on the basic flow (SDKs from before 2015) need it; keep their roles' trust
policies pinned with both `aud` and `amr`, and the finding stays medium.
"""
---*/
WITH pools AS (
    SELECT identity_pool_id, identity_pool_name, snapshot_time
    FROM identity_pools
    WHERE allow_classic_flow
),
-- Trust statements naming each pool in their aud condition.
trusting AS (
    SELECT c.value AS identity_pool_id, s.role_arn, s.statement_key
    FROM role_statements s
    JOIN statement_conditions c
      ON c.statement_key = s.statement_key AND c.snapshot_id = s.snapshot_id AND c.account_id = s.account_id
    WHERE s.policy_type = 'trust'
      AND array_has(s.principals, 'Federated:cognito-identity.amazonaws.com')
      AND c.condition_key = 'cognito-identity.amazonaws.com:aud'
),
unpinned AS (
    SELECT t.identity_pool_id, string_agg(DISTINCT t.role_arn, ', ') AS roles
    FROM trusting t
    WHERE NOT EXISTS (
        SELECT 1 FROM statement_conditions a
        WHERE a.statement_key = t.statement_key
          AND a.condition_key = 'cognito-identity.amazonaws.com:amr'
          AND a.operator NOT LIKE '%Not%')
    GROUP BY t.identity_pool_id
)
SELECT CASE WHEN u.roles IS NOT NULL THEN 'high' ELSE 'medium' END AS severity,
       'Pool ' || p.identity_pool_id || ' (' || p.identity_pool_name || ') allows the basic (classic) flow: its identities may assume any role that trusts the pool'
         || CASE WHEN u.roles IS NOT NULL
                 THEN ', and ' || u.roles || ' trust it with no amr condition, so a guest can take them.'
                 ELSE '.' END
         || ' Fix: aws cognito-identity update-identity-pool --identity-pool-id ' || p.identity_pool_id || ' --no-allow-classic-flow (with the pool''s other settings)'
         || CASE WHEN u.roles IS NOT NULL THEN ', and add an amr condition to those roles'' trust.' ELSE '.' END AS summary,
       p.identity_pool_id,
       p.identity_pool_id AS finding_key,
       p.snapshot_time AS first_seen, p.snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM pools p
LEFT JOIN unpinned u ON u.identity_pool_id = p.identity_pool_id
