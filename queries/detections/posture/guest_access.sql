/*---
id = "guest_access"
title = "Identity pool gives guests credentials, and what its guest role can do"
category = "posture"
severity = "info"
description = """
A pool with `AllowUnauthenticatedIdentities` hands AWS credentials for its guest
(unauthenticated) role to anyone on the internet who asks: no sign-in, no rate limit beyond the
account's. What the guest role allows is what the internet can do. From the newest inventory,
per pool with guest access:

- **high** when an allowing statement of the guest role (inline or attached policy) grants a
  **write or delete** action (`write_actions`: put, delete, update, create, upload, copy,
  PartiQL writes, …) on resources not confined to the caller's own
  `${cognito-identity.amazonaws.com:sub}`, or a **wildcard** action (`s3:*`, `*`);
- **medium** when the writes are confined to the caller's own identity's resources (a
  `${cognito-identity.amazonaws.com:sub}` in every resource): guests can fill storage and write
  under ids they create without end;
- **info** otherwise: guest access is on, and worth knowing.

Actions in `allowed_actions` (the console's default guest policy) are left out. The finding
names the pool, the role and every risky statement as written. It resolves when a later
inventory shows the fix.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/identity-pools.html#authenticated-and-unauthenticated-identities",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/security-best-practices.html",
]
attack = ["T1078.004", "T1190", "T1565.001"]
false_positives = """
Apps whose guests really upload (an anonymous feedback form writing to one prefix) get a
medium when the write is confined to the guest's own id, high otherwise; move such writes behind
an API, or suppress the finding for the pool with a reason.
"""
[tunables]
write_actions = "^[a-z0-9-]+:(put|delete|update|create|write|upload|batchwrite|batchexecute|executestatement|partiql|remove|attach|detach|modify|set|copy|restore|abort|transactwrite|tag|untag)"
allowed_actions = ["mobileanalytics:putevents", "cognito-sync:*", "cognito-identity:*"]
---*/
WITH guest_pools AS (
    SELECT identity_pool_id, identity_pool_name, unauthenticated_role_arn AS role_arn, snapshot_time
    FROM identity_pools
    WHERE allow_unauthenticated
),
grants AS (
    SELECT role_arn, statement_key, statement, resources, unnest(actions) AS action
    FROM role_statements
    WHERE policy_type <> 'trust' AND effect = 'Allow'
),
risky AS (
    SELECT role_arn, statement_key, statement,
           bool_or(strpos(action, '*') > 0) AS wildcard,
           bool_or(regexp_like(action, {{write_actions}})) AS writes,
           bool_and(array_length(resources) > 0
                    AND NOT array_has(resources, '*')
                    AND array_to_string(resources, '|') LIKE '%${cognito-identity.amazonaws.com:sub}%') AS own_only,
           string_agg(DISTINCT action, ', ') AS actions
    FROM grants
    WHERE NOT array_has({{allowed_actions}}, action)
      AND (strpos(action, '*') > 0 OR regexp_like(action, {{write_actions}}))
    GROUP BY role_arn, statement_key, statement
),
per_pool AS (
    SELECT p.identity_pool_id, p.identity_pool_name, p.role_arn, p.snapshot_time,
           bool_or(r.wildcard OR (r.writes AND NOT r.own_only)) AS wide,
           bool_or(r.writes) AS writes,
           string_agg(r.actions || ' in ' || r.statement, '; ') AS statements
    FROM guest_pools p
    LEFT JOIN risky r ON r.role_arn = p.role_arn
    GROUP BY p.identity_pool_id, p.identity_pool_name, p.role_arn, p.snapshot_time
)
SELECT CASE WHEN wide THEN 'high' WHEN writes THEN 'medium' ELSE 'info' END AS severity,
       CASE
         WHEN wide OR writes THEN
           'Pool ' || identity_pool_id || ' (' || identity_pool_name || ') gives guests credentials for ' || coalesce(role_arn, 'no role')
           || ', which can ' || CASE WHEN wide THEN 'write, delete or use wildcards' ELSE 'write, under their own identity id only' END
           || ': ' || statements
           || ' Fix: remove these actions from the guest role (give them to the authenticated role, scoped to ${cognito-identity.amazonaws.com:sub}), or turn guest access off (AllowUnauthenticatedIdentities = false).'
         ELSE
           'Pool ' || identity_pool_id || ' (' || identity_pool_name || ') gives guests credentials for ' || coalesce(role_arn, 'no role (guests get none until one is set)')
           || '; the role grants no write, delete or wildcard action. Turn guest access off if the app does not need it.'
       END AS summary,
       identity_pool_id,
       identity_pool_id AS finding_key,
       snapshot_time AS first_seen, snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM per_pool
