/*---
id = "pool_role_chaining"
title = "Identity-pool credentials used to assume another role"
category = "privilege_escalation"
severity = "high"
description = """
An identity pool's roles are meant for app users: nothing an app does needs `sts:AssumeRole`
from them. A pool role allowed `sts:AssumeRole` (a wildcard `Action`, `sts:*`) on a role that
trusts the account (`"Principal": {"AWS": "arn:aws:iam::<account>:root"}`) or the pool role
lets any app user — a guest, if it is the guest role — step into that role, in this account or
another. This fires on every `sts:AssumeRole` made with pool credentials (denied: medium, an
attempt; succeeded: high) and lists what the chained sessions then did: their calls are
attributed to the originating identity through `issued_keys` (`chain_depth` 1 or 2). Critical
when a chained session wrote something. Roles the app assumes by design can be listed in
`allowed_roles` (a regular expression on the role ARN). One finding per identity and assumed role.
"""
references = [
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining",
  "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
]
attack = ["T1548", "T1078.004", "T1550.001"]
false_positives = """
An app that deliberately chains from its pool role into a narrower role (rare; listed in
`allowed_roles`). Denied attempts also come from SDKs configured with a role profile by
mistake; they repeat on every install with the same role.
"""
[tunables]
allowed_roles = "^$"
---*/
WITH assumed AS (
    SELECT identity_id, identity_pool_id, access_key_id, event_id, event_time, source_ip, error_code,
           auth_type, role_arn AS caller_role_arn,
           json_get_str(request_parameters, 'roleArn') AS assumed_role_arn
    FROM identity_activity
    WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole'
      AND identity_id IS NOT NULL
),
attempts AS (
    SELECT * FROM assumed
    WHERE assumed_role_arn IS NOT NULL AND NOT regexp_like(assumed_role_arn, {{allowed_roles}})
),
-- What the chained sessions did (their keys stand for the identity in `identity_activity`).
chained AS (
    SELECT identity_id, identity_pool_id, access_key_id, auth_type, via_role_arn AS caller_role_arn,
           role_arn AS assumed_role_arn, event_id, event_time, source_ip, action, is_read, error_code
    FROM identity_activity
    WHERE chain_depth >= 1 AND identity_id IS NOT NULL AND role_arn IS NOT NULL
      AND NOT regexp_like(role_arn, {{allowed_roles}})
),
evidence AS (
    SELECT identity_id, identity_pool_id, access_key_id, auth_type, caller_role_arn, assumed_role_arn,
           event_id, event_time, source_ip,
           CASE WHEN error_code IS NULL THEN 'assumed' ELSE 'denied' END AS kind,
           CAST(NULL AS VARCHAR) AS action, true AS is_read
    FROM attempts
    UNION ALL
    SELECT identity_id, identity_pool_id, CAST(NULL AS VARCHAR), auth_type, caller_role_arn, assumed_role_arn,
           event_id, event_time, source_ip,
           CASE WHEN error_code IS NULL THEN 'chained_ok' ELSE 'chained_failed' END, action, is_read
    FROM chained
)
SELECT identity_id,
       first_value(identity_pool_id) FILTER (WHERE identity_pool_id IS NOT NULL) AS identity_pool_id,
       first_value(access_key_id) FILTER (WHERE access_key_id IS NOT NULL) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(DISTINCT event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN bool_or(kind = 'chained_ok' AND NOT is_read) THEN 'critical'
            WHEN bool_or(kind IN ('assumed', 'chained_ok', 'chained_failed')) THEN 'high'
            ELSE 'medium' END AS severity,
       concat('Identity ', identity_id, ' (', coalesce(first_value(auth_type) FILTER (WHERE auth_type IS NOT NULL), 'auth type unknown'),
              ', pool role ', coalesce(first_value(caller_role_arn) FILTER (WHERE caller_role_arn IS NOT NULL), 'unknown'),
              ') assumed ', assumed_role_arn,
              CASE WHEN split_part(assumed_role_arn, ':', 5) <> coalesce(split_part(first_value(caller_role_arn) FILTER (WHERE caller_role_arn IS NOT NULL), ':', 5), '')
                   THEN ' in another account' ELSE '' END, ': ',
              count(*) FILTER (WHERE kind = 'assumed'), ' succeeded, ',
              count(*) FILTER (WHERE kind = 'denied'), ' denied; the chained sessions made ',
              count(*) FILTER (WHERE kind LIKE 'chained%'), ' call(s) (',
              count(*) FILTER (WHERE kind = 'chained_ok'), ' succeeded',
              CASE WHEN bool_or(kind = 'chained_ok' AND NOT is_read) THEN ', writes among them' ELSE '' END, ')',
              coalesce(concat(': ', array_to_string(array_sort(array_agg(DISTINCT action) FILTER (WHERE action IS NOT NULL)), ', ')), '')) AS summary,
       concat(identity_id, '|', assumed_role_arn) AS finding_key
FROM evidence
GROUP BY identity_id, assumed_role_arn
