/*---
id = "cognito_trust_policy"
title = "IAM role trusts Cognito Identity without pinning the pool or the sign-in state"
category = "posture"
severity = "critical"
description = """
A role is handed out by an identity pool because its **trust policy** lets
`cognito-identity.amazonaws.com` federate into it (`sts:AssumeRoleWithWebIdentity`). Two
conditions make that safe, and the inventory (`role_statements`, `statement_conditions`, the
newest snapshot) checks every trust statement naming that principal:

- **`cognito-identity.amazonaws.com:aud`** must name the pool. Without it (or with only a
  wildcard, or only a negated or `…IfExists` condition) **any identity pool in any AWS account**
  can issue credentials for the role: an attacker creates a pool of their own, points it at the
  role's ARN and signs in through the basic flow. Critical.
- **`cognito-identity.amazonaws.com:amr`** must say `authenticated` for a role meant for
  signed-in users. Without it, a guest of the pool can take the role through the basic flow
  (`GetOpenIdToken` without logins, then `AssumeRoleWithWebIdentity`). High, for roles that a
  pool uses as its authenticated role or in a rule, and for roles no pool names; a role used
  only as a pool's guest role is fine without it.

One finding per statement and problem, naming the role, the pools that use it, the statement as
written, and the condition to add. It resolves when a later inventory shows the fix.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#role-trust-and-permissions",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html",
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc_user-id.html",
]
attack = ["T1078.004", "T1098.003", "T1550.001"]
false_positives = """
None for the `aud` case: there is no safe reading of a Cognito trust without it. A role
without `amr` that only guests should hold but that some rule also names will fire; restrict the
rule or add `"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"}`.
"""
---*/
WITH trust AS (
    SELECT *
    FROM role_statements
    WHERE policy_type = 'trust'
      AND effect = 'Allow'
      AND array_has(principals, 'Federated:cognito-identity.amazonaws.com')
),
-- Conditions that really pin a value: positive operators, no wildcard-only values.
pinning AS (
    SELECT statement_key, condition_key,
           bool_or(value NOT IN ('*', '') AND value NOT LIKE '%*') AS pins,
           string_agg(DISTINCT value, ', ') AS pinned_values
    FROM statement_conditions
    WHERE condition_key IN ('cognito-identity.amazonaws.com:aud', 'cognito-identity.amazonaws.com:amr')
      AND operator NOT LIKE '%Not%'
      AND operator NOT LIKE '%IfExists'
    GROUP BY statement_key, condition_key
),
uses AS (
    SELECT role_arn,
           string_agg(DISTINCT identity_pool_id || ' (' || kind || ')', ', ') AS used_by,
           min(identity_pool_id) AS first_pool,
           bool_or(kind <> 'guest role') AS for_signed_in
    FROM (
        SELECT identity_pool_id, authenticated_role_arn AS role_arn, 'authenticated role' AS kind FROM identity_pools
        UNION ALL
        SELECT identity_pool_id, unauthenticated_role_arn, 'guest role' FROM identity_pools
        UNION ALL
        SELECT identity_pool_id, role_arn, 'rule of ' || provider FROM role_mappings WHERE role_arn IS NOT NULL
    ) u
    WHERE role_arn IS NOT NULL
    GROUP BY role_arn
),
judged AS (
    SELECT t.role_arn, t.statement_index, t.statement, t.snapshot_time,
           coalesce(aud.pins, false) AS has_aud,
           coalesce(amr.pins, false) AS has_amr,
           aud.pinned_values AS aud_values,
           u.used_by, u.first_pool,
           coalesce(u.for_signed_in, true) AS for_signed_in
    FROM trust t
    LEFT JOIN pinning aud
      ON aud.statement_key = t.statement_key AND aud.condition_key = 'cognito-identity.amazonaws.com:aud'
    LEFT JOIN pinning amr
      ON amr.statement_key = t.statement_key AND amr.condition_key = 'cognito-identity.amazonaws.com:amr'
    LEFT JOIN uses u ON u.role_arn = t.role_arn
)
SELECT 'critical' AS severity,
       'Role ' || role_arn || ' trusts cognito-identity.amazonaws.com with no aud condition: any identity pool in any account can get its credentials'
         || ' (used by: ' || coalesce(used_by, 'no pool in the inventory') || ').'
         || ' Statement ' || CAST(statement_index AS VARCHAR) || ': ' || statement
         || ' Fix: add "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "' || coalesce(first_pool, '<your pool id>') || '"}} to that statement.' AS summary,
       first_pool AS identity_pool_id,
       role_arn || '#' || CAST(statement_index AS VARCHAR) || '#aud' AS finding_key,
       snapshot_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM judged
WHERE NOT has_aud
UNION ALL
SELECT 'high' AS severity,
       'Role ' || role_arn || ' trusts cognito-identity.amazonaws.com (aud ' || coalesce(aud_values, '?') || ') with no amr condition: guests of the pool can take it through the basic flow'
         || ' (used by: ' || coalesce(used_by, 'no pool in the inventory') || ').'
         || ' Statement ' || CAST(statement_index AS VARCHAR) || ': ' || statement
         || ' Fix: add "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"} to its Condition.' AS summary,
       first_pool AS identity_pool_id,
       role_arn || '#' || CAST(statement_index AS VARCHAR) || '#amr' AS finding_key,
       snapshot_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM judged
WHERE has_aud AND NOT has_amr AND for_signed_in
