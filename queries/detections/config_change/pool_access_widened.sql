/*---
id = "pool_access_widened"
title = "Identity pool or its roles' trust changed in a way that widens access"
category = "config_change"
severity = "medium"
description = """
Identity-pool settings decide who gets AWS credentials at all. A change is compared with the
pool's **previous known state** — the last successful `CreateIdentityPool`/`UpdateIdentityPool`
seen (the `pool_changes` state table) or the last `DescribeIdentityPool` answer in the lake — so
a redeploy that repeats the current settings is silent. Findings:

- guests turned on (`allowUnauthenticatedIdentities`) or the basic (classic) flow turned on
  (`allowClassicFlow`: identities may call AssumeRoleWithWebIdentity with any role that trusts
  the pool): high; when the previous state is unknown, a pool created or updated with either on
  is high too, and says the previous state is unknown;
- an identity provider added (a login provider, an OIDC or SAML provider, a user pool, a
  developer provider): medium — whoever controls that provider can now sign in;
- `serverSideTokenCheck` turned off for a user pool provider: medium — revoked tokens keep
  working;
- roles replaced (`SetIdentityPoolRoles`): the unauthenticated role replaced = high (every guest
  on the internet gets the new role), the authenticated role or the role mappings = medium; with
  nothing known before, medium; the same roles again are silent;
- principal tags mapped (`SetPrincipalTagAttributeMap`, what ABAC policies match on): medium,
  silent when unchanged; a pool created: medium; a pool deleted: medium;
- the trust policy of an IAM role that trusts `cognito-identity.amazonaws.com` written
  (`UpdateAssumeRolePolicy`, `CreateRole`) without an `aud` condition — any pool in any account
  can then assume it — high; without an `amr` condition — guests can take it through the basic
  flow — medium.

Each change is one finding naming who made it, from where, and what widened. Read-only calls and
failed attempts are not findings (access_denial sees the failed ones).
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/logging-using-cloudtrail.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#role-trust-and-permissions",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CognitoIdentityProvider.html",
]
attack = ["T1098.003", "T1556", "T1484.002"]
false_positives = """
Planned changes: a release that adds a login provider, a migration that replaces roles, a new
pool for a new app. Each names who made it; suppress findings of the deploy role after review
(`[[detect.suppress]]`).
"""
---*/
WITH changes AS (
    SELECT event_id, event_time, event_name, access_key_id, source_ip, source_address,
           coalesce(principal_arn, principal_name, 'someone') AS who,
           coalesce(identity_pool_id, json_get_str(response_elements, 'identityPoolId'),
                    json_get_str(request_parameters, 'identityPoolId')) AS pool,
           request_parameters AS now
    FROM events
    WHERE error_code IS NULL
      AND event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('CreateIdentityPool', 'UpdateIdentityPool', 'SetIdentityPoolRoles',
                         'SetPrincipalTagAttributeMap', 'DeleteIdentityPool')
),
-- Every known state of every pool: changes seen, and what DescribeIdentityPool answered.
known AS (
    SELECT identity_pool_id AS pool, event_time,
           CASE WHEN event_name IN ('CreateIdentityPool', 'UpdateIdentityPool') THEN 'settings' ELSE event_name END AS part,
           request_parameters AS state
    FROM pool_changes
    WHERE error_code IS NULL
    UNION ALL
    SELECT identity_pool_id, event_time, 'settings', response_elements
    FROM lake_events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name = 'DescribeIdentityPool'
      AND error_code IS NULL
      AND response_elements IS NOT NULL
),
previous AS (
    SELECT c.event_id, last_value(k.state ORDER BY k.event_time) AS before
    FROM changes c
    JOIN known k ON k.pool = c.pool
                AND k.event_time < c.event_time
                AND k.part = CASE WHEN c.event_name IN ('CreateIdentityPool', 'UpdateIdentityPool') THEN 'settings'
                                  ELSE c.event_name END
    GROUP BY c.event_id
),
-- The settings of each side, read from its JSON before the join (one table at a time).
now_settings AS (
    SELECT c.*,
           lower(coalesce(json_get_str(now, 'allowUnauthenticatedIdentities'),
                          CAST(json_get_bool(now, 'allowUnauthenticatedIdentities') AS VARCHAR))) = 'true' AS guests_now,
           lower(coalesce(json_get_str(now, 'allowClassicFlow'),
                          CAST(json_get_bool(now, 'allowClassicFlow') AS VARCHAR))) = 'true' AS classic_now,
           pool_providers(now) AS providers_now,
           pool_unchecked_providers(now) AS unchecked_now,
           json_get_str(now, 'roles', 'unauthenticated') AS guest_role_now,
           json_get_str(now, 'roles', 'authenticated') AS auth_role_now,
           coalesce(json_get_json(now, 'roleMappings'), '') AS mappings_now
    FROM changes c
),
before_settings AS (
    SELECT event_id AS before_event_id, before,
           lower(coalesce(json_get_str(before, 'allowUnauthenticatedIdentities'),
                          CAST(json_get_bool(before, 'allowUnauthenticatedIdentities') AS VARCHAR))) = 'true' AS guests_before,
           lower(coalesce(json_get_str(before, 'allowClassicFlow'),
                          CAST(json_get_bool(before, 'allowClassicFlow') AS VARCHAR))) = 'true' AS classic_before,
           coalesce(pool_providers(before), make_array('')) AS providers_before,
           coalesce(pool_unchecked_providers(before), make_array('')) AS unchecked_before,
           json_get_str(before, 'roles', 'unauthenticated') AS guest_role_before,
           json_get_str(before, 'roles', 'authenticated') AS auth_role_before,
           coalesce(json_get_json(before, 'roleMappings'), '') AS mappings_before
    FROM previous
),
compared AS (
    SELECT n.*, b.*,
           array_except(n.providers_now, b.providers_before) AS providers_added,
           array_except(n.unchecked_now, b.unchecked_before) AS unchecked_added
    FROM now_settings n
    LEFT JOIN before_settings b ON b.before_event_id = n.event_id
),
pool_findings AS (
    SELECT *,
           concat_ws('; ',
               CASE WHEN guests_now AND NOT coalesce(guests_before, false) THEN 'guests (unauthenticated identities) enabled' END,
               CASE WHEN classic_now AND NOT coalesce(classic_before, false) THEN 'basic (classic) flow enabled' END,
               CASE WHEN event_name = 'UpdateIdentityPool' AND before IS NOT NULL AND array_length(providers_added) > 0
                    THEN concat('identity provider added: ', array_to_string(providers_added, ', ')) END,
               CASE WHEN event_name = 'UpdateIdentityPool' AND before IS NOT NULL AND array_length(unchecked_added) > 0
                    THEN concat('server-side token check off for ', array_to_string(unchecked_added, ', ')) END,
               CASE WHEN event_name = 'SetIdentityPoolRoles' AND before IS NOT NULL
                         AND guest_role_now IS DISTINCT FROM guest_role_before
                    THEN concat('unauthenticated role replaced: ', coalesce(guest_role_before, 'none'), ' -> ', coalesce(guest_role_now, 'none')) END,
               CASE WHEN event_name = 'SetIdentityPoolRoles' AND before IS NOT NULL
                         AND auth_role_now IS DISTINCT FROM auth_role_before
                    THEN concat('authenticated role replaced: ', coalesce(auth_role_before, 'none'), ' -> ', coalesce(auth_role_now, 'none')) END,
               CASE WHEN event_name = 'SetIdentityPoolRoles' AND before IS NOT NULL AND mappings_now <> mappings_before
                    THEN 'role mappings replaced' END,
               CASE WHEN event_name = 'SetIdentityPoolRoles' AND before IS NULL
                    THEN 'roles / role mappings set (no earlier roles known)' END,
               CASE WHEN event_name = 'SetPrincipalTagAttributeMap' AND before IS DISTINCT FROM now
                    THEN 'principal tags mapped (what ABAC policies match on)' END,
               CASE WHEN event_name = 'CreateIdentityPool' THEN 'pool created' END,
               CASE WHEN event_name = 'DeleteIdentityPool' THEN 'pool deleted' END
           ) AS widened,
           (guests_now AND NOT coalesce(guests_before, false))
             OR (classic_now AND NOT coalesce(classic_before, false))
             OR (event_name = 'SetIdentityPoolRoles' AND before IS NOT NULL
                 AND guest_role_now IS DISTINCT FROM guest_role_before) AS high
    FROM compared
),
trust AS (
    SELECT event_id, event_time, event_name, access_key_id, source_ip, source_address,
           coalesce(principal_arn, principal_name, 'someone') AS who,
           coalesce(json_get_str(request_parameters, 'roleName'), '(unnamed role)') AS role_name,
           coalesce(json_get_str(request_parameters, 'policyDocument'),
                    json_get_str(request_parameters, 'assumeRolePolicyDocument')) AS policy
    FROM events
    WHERE error_code IS NULL
      AND event_source = 'iam.amazonaws.com'
      AND event_name IN ('UpdateAssumeRolePolicy', 'CreateRole')
),
trust_findings AS (
    SELECT *,
           strpos(policy, 'cognito-identity.amazonaws.com:aud') = 0 AS no_aud,
           strpos(policy, 'cognito-identity.amazonaws.com:amr') = 0 AS no_amr
    FROM trust
    WHERE strpos(policy, 'cognito-identity.amazonaws.com') > 0
)
SELECT NULL AS identity_id, pool AS identity_pool_id, access_key_id,
       event_time AS first_seen, event_time AS last_seen,
       make_array(event_id) AS event_ids,
       make_array(source_ip) AS source_ips,
       CASE WHEN high THEN 'high' ELSE 'medium' END AS severity,
       concat(who, ' called ', event_name, ' on pool ', coalesce(pool, '(unnamed)'), ': ', widened,
              CASE WHEN before IS NULL AND event_name = 'UpdateIdentityPool' THEN ' (the previous state is unknown)' ELSE '' END,
              ' from ', coalesce(source_ip, source_address, 'an unknown address')) AS summary,
       event_id AS finding_key
FROM pool_findings
WHERE widened <> ''
UNION ALL
SELECT NULL AS identity_id, NULL AS identity_pool_id, access_key_id,
       event_time AS first_seen, event_time AS last_seen,
       make_array(event_id) AS event_ids, make_array(source_ip) AS source_ips,
       CASE WHEN no_aud THEN 'high' ELSE 'medium' END AS severity,
       concat(who, ' called ', event_name, ' on role ', role_name, ', which trusts cognito-identity.amazonaws.com, ',
              CASE WHEN no_aud THEN 'without an aud condition: identities of any pool, in any account, can assume it'
                   ELSE 'without an amr condition: guests can assume it through the basic flow' END,
              ' from ', coalesce(source_ip, source_address, 'an unknown address')) AS summary,
       event_id AS finding_key
FROM trust_findings
WHERE no_aud OR no_amr
