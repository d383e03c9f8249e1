/*---
name = "pool_role_usage"
kind = "accumulating"
keys = ["identity_pool_id", "auth_type", "login_provider", "role_arn"]
description = """
Per pool, auth type, login provider (`''` for guests and unknown) and role: when that
combination was first and last seen and how many calls and issuances carried it. Read from
the calls made with pool credentials (the role is the session's issuer, the provider the
session's `amr`) and from the issuances that name their role (`AssumeRoleWithWebIdentity`,
`GetCredentialsForIdentity` with a `customRoleArn`). The role mapping a pool has shown: which
roles its guests and each provider's users hold. Role-escalation detections read what was
seen **before** the hour they judge.
"""
---*/
WITH seen AS (
    SELECT identity_pool_id, auth_type, login_provider, role_arn, event_time
    FROM identity_activity
    WHERE ingested_at > {{arrived_after}} AND chain_depth = 0
    UNION ALL
    SELECT identity_pool_id, auth_type, login_provider, role_arn, issued_at AS event_time
    FROM credentials
    WHERE ingested_at > {{arrived_after}}
)
SELECT identity_pool_id,
       coalesce(auth_type, '') AS auth_type,
       coalesce(login_provider, '') AS login_provider,
       role_arn,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) AS calls
FROM seen
WHERE identity_pool_id IS NOT NULL AND role_arn IS NOT NULL
GROUP BY 1, 2, 3, 4
