/*---
name = "issued_keys"
cached = true
description = """
Every access key issued to a Cognito identity, with the identity, pool, auth type, login
provider and role it stands for, and where and when it was issued, read from `issuance_events`
(12 hours, the longest session, before the session's events), so a key issued before the
judged hour still attributes its calls. Three kinds of issuance:
`GetCredentialsForIdentity` (enhanced flow); `AssumeRoleWithWebIdentity` through Cognito
(basic flow: its auth type and provider come from the `GetOpenIdToken` before it, with
`logins` = signed in, without = guest); and **role chaining**, `sts:AssumeRole` called with
pool credentials (`chain_depth` 1) or with a key chained from them (depth 2): the new key
still stands for the identity at its origin, `role_arn` is the role assumed and
`via_role_arn` the pool role the chain started from. Computed once per session (`cached`):
every detection joins it.
"""
---*/
WITH cognito_issued AS (
    SELECT issued_access_key_id AS access_key_id,
           identity_id,
           coalesce(identity_pool_id, web_identity_audience) AS identity_pool_id,
           auth_type, login_provider, role_arn,
           source_ip AS issuing_ip,
           event_time AS issued_at,
           coalesce(event_id, event_key) AS issue_event_id,
           event_name AS issued_by
    FROM issuance_events
    WHERE error_code IS NULL
      AND issued_access_key_id IS NOT NULL
      AND identity_id IS NOT NULL
      AND (
            (event_source = 'cognito-identity.amazonaws.com' AND event_name = 'GetCredentialsForIdentity')
         OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithWebIdentity'
             AND (identity_provider = 'cognito-identity.amazonaws.com' OR attribution_source IS NOT NULL))
      )
),
-- Basic flow: the auth type of the OpenID token the identity was given just before.
open_id_tokens AS (
    SELECT identity_id, event_time, auth_type, login_provider
    FROM issuance_events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('GetOpenIdToken', 'GetOpenIdTokenForDeveloperIdentity')
      AND error_code IS NULL
      AND identity_id IS NOT NULL
),
basic_flow AS (
    SELECT c.access_key_id,
           last_value(t.auth_type ORDER BY t.event_time) AS auth_type,
           last_value(t.login_provider ORDER BY t.event_time) AS login_provider
    FROM cognito_issued c
    JOIN open_id_tokens t
      ON t.identity_id = c.identity_id
     AND t.event_time <= c.issued_at
     AND t.event_time > c.issued_at - INTERVAL '24 hours'
    WHERE c.auth_type IS NULL
    GROUP BY c.access_key_id
),
issued AS (
    SELECT c.access_key_id, c.identity_id, c.identity_pool_id,
           coalesce(c.auth_type, b.auth_type) AS auth_type,
           coalesce(c.login_provider, b.login_provider) AS login_provider,
           c.role_arn, c.issuing_ip, c.issued_at, c.issue_event_id,
           CAST(0 AS INT) AS chain_depth,
           CAST(NULL AS VARCHAR) AS via_role_arn
    FROM cognito_issued c
    LEFT JOIN basic_flow b ON b.access_key_id = c.access_key_id
),
assume_role AS (
    SELECT issued_access_key_id, access_key_id AS caller_key, identity_id, identity_pool_id,
           auth_type, login_provider, role_arn AS caller_role_arn,
           json_get_str(request_parameters, 'roleArn') AS assumed_role_arn,
           source_ip, event_time, coalesce(event_id, event_key) AS event_id
    FROM issuance_events
    WHERE event_source = 'sts.amazonaws.com'
      AND event_name = 'AssumeRole'
      AND error_code IS NULL
      AND issued_access_key_id IS NOT NULL
),
chained_once AS (
    -- The caller's record names its identity (webIdFederationData) ...
    SELECT issued_access_key_id AS access_key_id, identity_id, identity_pool_id, auth_type,
           login_provider, assumed_role_arn AS role_arn, source_ip AS issuing_ip,
           event_time AS issued_at, event_id AS issue_event_id,
           CAST(1 AS INT) AS chain_depth, caller_role_arn AS via_role_arn
    FROM assume_role
    WHERE identity_id IS NOT NULL
    UNION ALL
    -- ... or only the pool key it called with.
    SELECT a.issued_access_key_id, i.identity_id, i.identity_pool_id, i.auth_type,
           i.login_provider, a.assumed_role_arn, a.source_ip, a.event_time, a.event_id,
           CAST(1 AS INT), i.role_arn
    FROM issued i
    JOIN assume_role a ON a.caller_key = i.access_key_id
    WHERE a.identity_id IS NULL
),
chained_twice AS (
    SELECT a.issued_access_key_id AS access_key_id, c.identity_id, c.identity_pool_id, c.auth_type,
           c.login_provider, a.assumed_role_arn AS role_arn, a.source_ip AS issuing_ip,
           a.event_time AS issued_at, a.event_id AS issue_event_id,
           CAST(2 AS INT) AS chain_depth, c.via_role_arn
    FROM chained_once c
    JOIN assume_role a ON a.caller_key = c.access_key_id
    WHERE a.identity_id IS NULL
),
every_key AS (
    SELECT * FROM issued
    UNION ALL
    SELECT * FROM chained_once
    UNION ALL
    SELECT * FROM chained_twice
)
SELECT access_key_id,
       first_value(identity_id) AS identity_id,
       first_value(identity_pool_id) AS identity_pool_id,
       first_value(auth_type) AS auth_type,
       first_value(login_provider) AS login_provider,
       first_value(role_arn) AS role_arn,
       first_value(issuing_ip) AS issuing_ip,
       first_value(issued_at) AS issued_at,
       first_value(issue_event_id) AS issue_event_id,
       min(chain_depth) AS chain_depth,
       first_value(via_role_arn) AS via_role_arn
FROM every_key
GROUP BY access_key_id
