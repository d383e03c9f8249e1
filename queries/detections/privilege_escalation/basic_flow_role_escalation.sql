/*---
id = "basic_flow_role_escalation"
title = "A guest session holding a role the pool gives only to signed-in users"
category = "privilege_escalation"
severity = "high"
description = """
The basic (classic) flow lets a client pick the role itself: `GetOpenIdToken` for a guest
identity, then `sts:AssumeRoleWithWebIdentity` with **any** role ARN whose trust policy accepts
Cognito tokens. A trust policy that checks `aud` but not `amr` (`"ForAnyValue:StringLike":
{"cognito-identity.amazonaws.com:amr": "authenticated"}`) then hands the authenticated role to
a guest — the "basic flow role escalation" of published write-ups and Pacu's
`cognito__attack`. The session's `amr` still says `unauthenticated`, and the issuance's auth
type comes from the `GetOpenIdToken` before it (no `logins`). This fires on every issuance and
call where an **unauthenticated** session holds a role that, before the hour of the call, the
pool's signed-in identities held and its guests never did (`pool_role_usage`), or a role the
pool never gave anyone while its guests had another. One finding per identity and role, with the
issuance and every call made with the role as evidence; critical when a write went through.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html",
  "https://rhinosecuritylabs.com/aws/assume-worst-aws-cognito-identity-pool-misconfigurations/",
  "https://github.com/RhinoSecurityLabs/pacu/tree/master/pacu/modules/cognito__attack",
]
attack = ["T1078.004", "T1548", "T1098.003"]
false_positives = """
A pool whose guests and signed-in users share one role by design (then the role was held by
guests before and this stays silent), or a new guest role deployed by a release (a role the
pool never gave anyone, held first by guests): the finding names the role; suppress it after
review. Before a pool has history in the lake (its first hour) nothing is known and nothing fires.
"""
---*/
WITH guest_sessions AS (
    -- Calls made with a guest session (its `amr`), the pool's own role (no chain) ...
    SELECT identity_id, identity_pool_id, role_arn, access_key_id, event_id, event_time, source_ip,
           action, is_read, error_code, false AS issuance
    FROM identity_activity
    WHERE auth_type = 'unauthenticated' AND chain_depth = 0 AND role_arn IS NOT NULL
      AND identity_id IS NOT NULL AND identity_pool_id IS NOT NULL
    UNION ALL
    -- ... and the issuances that named their role (basic flow, customRoleArn).
    SELECT identity_id, identity_pool_id, role_arn, access_key_id, event_id, issued_at, issuing_ip,
           concat(issued_by, ' (issuance)'), true, CAST(NULL AS VARCHAR), true
    FROM credentials
    WHERE auth_type = 'unauthenticated' AND role_arn IS NOT NULL
      AND identity_id IS NOT NULL AND identity_pool_id IS NOT NULL
),
pairs AS (
    SELECT identity_pool_id, role_arn, date_trunc('hour', event_time) AS hour
    FROM guest_sessions
    GROUP BY 1, 2, 3
),
-- What the pool showed before each hour: who held the role, and whether guests held any role.
before AS (
    SELECT p.identity_pool_id, p.role_arn, p.hour,
           bool_or(u.role_arn = p.role_arn AND u.auth_type = 'authenticated') AS signed_in_role,
           bool_or(u.role_arn = p.role_arn AND u.auth_type = 'unauthenticated') AS guest_role,
           bool_or(u.role_arn <> p.role_arn AND u.auth_type = 'unauthenticated') AS other_guest_role,
           bool_or(u.role_arn = p.role_arn) AS known_role
    FROM pairs p
    JOIN pool_role_usage u ON u.identity_pool_id = p.identity_pool_id AND u.first_seen < p.hour
    GROUP BY p.identity_pool_id, p.role_arn, p.hour
),
escalated AS (
    SELECT identity_pool_id, role_arn, hour,
           CASE WHEN signed_in_role THEN 'held before only by signed-in identities'
                ELSE 'never given to anyone by the pool, whose guests hold another' END AS why
    FROM before
    WHERE NOT guest_role AND (signed_in_role OR (NOT known_role AND other_guest_role))
)
SELECT g.identity_id, g.identity_pool_id,
       first_value(g.access_key_id) FILTER (WHERE g.access_key_id IS NOT NULL) AS access_key_id,
       min(g.event_time) AS first_seen,
       max(g.event_time) AS last_seen,
       array_agg(g.event_id) AS event_ids,
       array_agg(DISTINCT g.source_ip) FILTER (WHERE g.source_ip IS NOT NULL) AS source_ips,
       CASE WHEN bool_or(NOT g.is_read AND g.error_code IS NULL AND NOT g.issuance) THEN 'critical' ELSE 'high' END AS severity,
       concat('Guest ', g.identity_id, ' (unauthenticated session) holds role ', g.role_arn, ', ',
              first_value(e.why), ': ', count(*) FILTER (WHERE g.issuance), ' issuance(s), ',
              count(*) FILTER (WHERE NOT g.issuance), ' call(s) (',
              count(*) FILTER (WHERE NOT g.issuance AND g.error_code IS NULL), ' succeeded',
              CASE WHEN bool_or(NOT g.is_read AND g.error_code IS NULL AND NOT g.issuance) THEN ', writes among them' ELSE '' END,
              '): ', coalesce(array_to_string(array_sort(array_agg(DISTINCT g.action) FILTER (WHERE NOT g.issuance)), ', '), 'no calls yet')) AS summary,
       concat(g.identity_id, '|', g.role_arn) AS finding_key
FROM escalated e
JOIN guest_sessions g
  ON g.identity_pool_id = e.identity_pool_id AND g.role_arn = e.role_arn
 AND date_trunc('hour', g.event_time) = e.hour
GROUP BY g.identity_id, g.identity_pool_id, g.role_arn
