/*---
id = "pool_settings_drift"
title = "Identity pool or its roles changed between two inventories in a way that widens access"
category = "config_change"
severity = "medium"
inventory = true
description = """
`pool_access_widened` sees a change in CloudTrail, when the trail records it. This detection
sees it in the inventory: each snapshot is compared with the one before it in the same account
(`inventory_pools`, `inventory_roles`, every pair in the history, so a change is found once
however many runs later it is looked at), which catches what the trail missed — a gap in
delivery, a change made before the lake started, a region no trail covers. Findings, each naming
both snapshots:

- guest access turned on, the classic flow turned on, or the guest role replaced: high;
- the authenticated role replaced, an identity provider added, a user pool's token check turned
  off, the role mappings changed: medium;
- a role's trust policy for `cognito-identity.amazonaws.com` rewritten: medium; rewritten so that
  a statement no longer pins the pool (`aud`): high.

A pool seen for the first time is not a change (its settings are judged by the posture
detections). Findings stay after a later snapshot reverts the change: it happened.
"""
references = [
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_DescribeIdentityPool.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetIdentityPoolRoles.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#role-trust-and-permissions",
]
attack = ["T1098.003", "T1556", "T1484.002"]
false_positives = """
Planned changes, as for `pool_access_widened` (which names who made them when the trail has
the call); suppress after review.
"""
---*/
WITH snaps AS (
    SELECT account_id, snapshot_id, snapshot_time,
           lag(snapshot_id) OVER (PARTITION BY account_id ORDER BY snapshot_id) AS previous_id,
           lag(snapshot_time) OVER (PARTITION BY account_id ORDER BY snapshot_id) AS previous_time
    FROM inventory_snapshots
),
pool_pairs AS (
    SELECT n.account_id, n.identity_pool_id, n.identity_pool_name, s.snapshot_id, s.snapshot_time,
           s.previous_id, s.previous_time,
           n.allow_unauthenticated, o.allow_unauthenticated AS was_guest,
           n.allow_classic_flow, o.allow_classic_flow AS was_classic,
           n.authenticated_role_arn, o.authenticated_role_arn AS was_auth,
           n.unauthenticated_role_arn, o.unauthenticated_role_arn AS was_unauth,
           array_except(n.providers, o.providers) AS added_providers,
           array_except(n.unchecked_token_providers, o.unchecked_token_providers) AS unchecked,
           n.roles_read AND o.roles_read AS roles_compared
    FROM inventory_pools n
    JOIN snaps s ON s.account_id = n.account_id AND s.snapshot_id = n.snapshot_id
    JOIN inventory_pools o
      ON o.account_id = n.account_id AND o.snapshot_id = s.previous_id
     AND o.identity_pool_id = n.identity_pool_id
),
mappings AS (
    SELECT account_id, snapshot_id, identity_pool_id,
           array_to_string(array_sort(array_agg(concat_ws('|', provider, mapping_type, ambiguous_role_resolution,
               CAST(rule_index AS VARCHAR), claim, match_type, value, role_arn))), ';') AS rules
    FROM inventory_role_mappings
    GROUP BY account_id, snapshot_id, identity_pool_id
),
pool_changes AS (
    SELECT p.*, 'high' AS severity, 'guest access turned on' AS what FROM pool_pairs p
    WHERE p.allow_unauthenticated AND NOT p.was_guest
    UNION ALL
    SELECT p.*, 'high', 'the basic (classic) flow turned on' FROM pool_pairs p
    WHERE p.allow_classic_flow AND NOT p.was_classic
    UNION ALL
    SELECT p.*, 'high', concat('the guest role replaced: ', coalesce(p.was_unauth, 'none'), ' → ', p.unauthenticated_role_arn)
    FROM pool_pairs p
    WHERE p.roles_compared AND p.unauthenticated_role_arn IS NOT NULL
      AND p.unauthenticated_role_arn IS DISTINCT FROM p.was_unauth
    UNION ALL
    SELECT p.*, 'medium', concat('the authenticated role replaced: ', coalesce(p.was_auth, 'none'), ' → ', p.authenticated_role_arn)
    FROM pool_pairs p
    WHERE p.roles_compared AND p.authenticated_role_arn IS NOT NULL
      AND p.authenticated_role_arn IS DISTINCT FROM p.was_auth
    UNION ALL
    SELECT p.*, 'medium', concat('identity providers added: ', array_to_string(p.added_providers, ', '))
    FROM pool_pairs p
    WHERE cardinality(p.added_providers) > 0
    UNION ALL
    SELECT p.*, 'medium', concat('the token check turned off for ', array_to_string(p.unchecked, ', '))
    FROM pool_pairs p
    WHERE cardinality(p.unchecked) > 0
    UNION ALL
    SELECT p.*, 'medium', 'the role mappings changed'
    FROM pool_pairs p
    LEFT JOIN mappings n ON n.account_id = p.account_id AND n.snapshot_id = p.snapshot_id AND n.identity_pool_id = p.identity_pool_id
    LEFT JOIN mappings o ON o.account_id = p.account_id AND o.snapshot_id = p.previous_id AND o.identity_pool_id = p.identity_pool_id
    WHERE p.roles_compared AND coalesce(n.rules, '') <> coalesce(o.rules, '')
),
-- Trust statements for Cognito that do not pin the pool, per snapshot.
unpinned AS (
    SELECT DISTINCT st.account_id, st.snapshot_id, st.role_arn
    FROM inventory_statements st
    WHERE st.policy_type = 'trust' AND st.effect = 'Allow'
      AND array_has(st.principals, 'Federated:cognito-identity.amazonaws.com')
      AND NOT EXISTS (
          SELECT 1 FROM inventory_conditions c
          WHERE c.account_id = st.account_id AND c.snapshot_id = st.snapshot_id
            AND c.statement_key = st.statement_key
            AND c.condition_key = 'cognito-identity.amazonaws.com:aud'
            AND c.operator NOT LIKE '%Not%' AND c.operator NOT LIKE '%IfExists'
            AND c.value NOT IN ('*', '') AND c.value NOT LIKE '%*')
),
role_changes AS (
    SELECT n.account_id, n.role_arn, array_to_string(n.pools, ', ') AS pools, s.snapshot_id, s.snapshot_time,
           s.previous_id, s.previous_time,
           u.role_arn IS NOT NULL AND w.role_arn IS NULL AS lost_aud
    FROM inventory_roles n
    JOIN snaps s ON s.account_id = n.account_id AND s.snapshot_id = n.snapshot_id
    JOIN inventory_roles o
      ON o.account_id = n.account_id AND o.snapshot_id = s.previous_id AND o.role_arn = n.role_arn
    LEFT JOIN unpinned u ON u.account_id = n.account_id AND u.snapshot_id = n.snapshot_id AND u.role_arn = n.role_arn
    LEFT JOIN unpinned w ON w.account_id = o.account_id AND w.snapshot_id = o.snapshot_id AND w.role_arn = o.role_arn
    WHERE (n.trusts_cognito OR o.trusts_cognito)
      AND n.trust_policy IS NOT NULL AND o.trust_policy IS NOT NULL
      AND n.trust_policy <> o.trust_policy
)
SELECT severity,
       concat('Pool ', identity_pool_id, ' (', identity_pool_name, '): ', what,
              ' between inventories ', previous_id, ' and ', snapshot_id, '.') AS summary,
       identity_pool_id,
       concat(identity_pool_id, '|', what, '|', snapshot_id) AS finding_key,
       previous_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM pool_changes
UNION ALL
SELECT CASE WHEN lost_aud THEN 'high' ELSE 'medium' END AS severity,
       concat('Role ', role_arn, ' (used by: ', CASE WHEN pools = '' THEN 'no pool' ELSE pools END,
              '): its trust policy for cognito-identity.amazonaws.com was rewritten between inventories ',
              previous_id, ' and ', snapshot_id,
              CASE WHEN lost_aud THEN ', and no longer pins the pool (aud): any pool in any account can now get it.'
                   ELSE '.' END) AS summary,
       CAST(NULL AS VARCHAR) AS identity_pool_id,
       concat(role_arn, '|trust|', snapshot_id) AS finding_key,
       previous_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM role_changes
