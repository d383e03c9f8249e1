/*---
id = "role_mapping_abuse"
title = "A signed-in identity holding a role its login provider never got from the pool"
category = "privilege_escalation"
severity = "high"
description = """
An identity pool picks the role of a signed-in identity from its login provider: a default
authenticated role, rules on token claims, or a role the token names (`cognito:roles`,
`cognito:preferred_role`), which the client may choose with `GetCredentialsForIdentity`'s
`customRoleArn`. A lax rule (`Contains` on a claim a user sets, a provider whose tokens carry
roles it should not) or a crafted `customRoleArn` hands a user a role meant for others, e.g.
a Google identity receiving the role only SAML users get. This compares every signed-in
session's (login provider, role) with the pool's history (`pool_role_usage`, before the hour):
- a role the pool gave before only to **other** providers' users, held by a provider whose
  users got another role (or asked for with `customRoleArn`): high — a provider new to the pool
  on the default authenticated role is the mapping at work (and `pool_access_widened`'s);
- a role the pool never gave anyone, asked for with `customRoleArn`: high; without it: medium
  (a new mapping or a release);
- a `customRoleArn` that Cognito refused: medium (an attempt);
- with an inventory (`poolsight inventory`): a role that the pool's newest settings do not give
  at all — neither its default roles nor any rule name it, and no provider takes roles from its
  token (`Token` mapping) — high, whatever the history.
Only pools whose signed-in identities were first seen `min_pool_age_hours` before count: a
lake's first day teaches the mapping. One finding per pool,
provider and role; every issuance and call of that hour is evidence.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html",
]
attack = ["T1078.004", "T1548", "T1098.003"]
false_positives = """
A release that adds a login provider or a role mapping: the first users of the new pair raise
one finding (per pair, not per user); review the pool's role mapping and suppress it. A
provider renamed (a new user pool id) looks like a new provider holding the old one's role.
"""
[tunables]
min_pool_age_hours = 24
---*/
WITH signed_in AS (
    SELECT identity_id, identity_pool_id, coalesce(login_provider, '') AS login_provider, role_arn,
           access_key_id, event_id, event_time, source_ip, action, false AS custom_role, error_code
    FROM identity_activity
    WHERE auth_type = 'authenticated' AND chain_depth = 0 AND role_arn IS NOT NULL
      AND identity_pool_id IS NOT NULL
    UNION ALL
    SELECT identity_id, identity_pool_id, coalesce(login_provider, ''), role_arn, access_key_id, event_id,
           issued_at, issuing_ip, concat(issued_by, ' (issuance)'),
           custom_role_arn IS NOT NULL, CAST(NULL AS VARCHAR)
    FROM credentials
    WHERE auth_type = 'authenticated' AND role_arn IS NOT NULL AND identity_pool_id IS NOT NULL
),
refused AS (
    SELECT identity_id, coalesce(identity_pool_id, '') AS identity_pool_id, coalesce(login_provider, '') AS login_provider,
           json_get_str(request_parameters, 'customRoleArn') AS role_arn,
           access_key_id, event_id, event_time, source_ip, error_code
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com' AND event_name = 'GetCredentialsForIdentity'
      AND error_code IS NOT NULL AND json_get_str(request_parameters, 'customRoleArn') IS NOT NULL
),
pairs AS (
    SELECT identity_pool_id, login_provider, role_arn, date_trunc('hour', event_time) AS hour,
           bool_or(custom_role) AS custom_role
    FROM signed_in
    GROUP BY 1, 2, 3, 4
),
before AS (
    SELECT p.identity_pool_id, p.login_provider, p.role_arn, p.hour, p.custom_role,
           bool_or(u.login_provider = p.login_provider AND u.role_arn = p.role_arn) AS known_pair,
           bool_or(u.login_provider <> p.login_provider AND u.role_arn = p.role_arn) AS other_providers_role,
           bool_or(u.role_arn = p.role_arn) AS known_role,
           bool_or(u.login_provider = p.login_provider AND u.role_arn <> p.role_arn) AS provider_had_other_role,
           min(u.first_seen) AS pool_first_seen,
           array_to_string(array_sort(array_agg(DISTINCT u.login_provider) FILTER (WHERE u.role_arn = p.role_arn AND u.login_provider <> p.login_provider)), ', ') AS role_owners
    FROM pairs p
    JOIN pool_role_usage u
      ON u.identity_pool_id = p.identity_pool_id AND u.auth_type = 'authenticated' AND u.first_seen < p.hour
    GROUP BY p.identity_pool_id, p.login_provider, p.role_arn, p.hour, p.custom_role
),
-- The newest inventory's settings of the pool (`poolsight inventory`), when its roles could be
-- read and no provider takes its role from the token: every role the pool can give.
settings AS (
    SELECT p.identity_pool_id, p.role_arns, p.snapshot_id
    FROM identity_pools p
    WHERE p.roles_read
      AND NOT EXISTS (SELECT 1 FROM role_mappings m
                      WHERE m.identity_pool_id = p.identity_pool_id AND m.mapping_type = 'Token')
),
outside_settings AS (
    SELECT p.identity_pool_id, p.login_provider, p.role_arn, p.hour, 'high' AS severity,
           concat('a role the pool''s settings do not give (inventory ', s.snapshot_id, ': ',
                  array_to_string(s.role_arns, ', '), ')') AS why
    FROM pairs p
    JOIN settings s ON s.identity_pool_id = p.identity_pool_id
    WHERE NOT array_has(s.role_arns, p.role_arn)
),
from_history AS (
    SELECT identity_pool_id, login_provider, role_arn, hour,
           CASE WHEN other_providers_role OR custom_role THEN 'high' ELSE 'medium' END AS severity,
           CASE WHEN other_providers_role THEN concat('a role the pool gave before only to ', role_owners,
                                                      ' users, while its own users got another')
                WHEN custom_role THEN 'a role the pool never gave anyone, asked for with customRoleArn'
                ELSE 'a role the pool never gave anyone (a new mapping?)' END AS why
    FROM before
    -- A provider new to the pool on a role others hold is the default mapping at work (and
    -- pool_access_widened's, when the provider was added): only a provider whose users held
    -- another role, or that asked for this one, crosses over.
    WHERE NOT known_pair
      AND pool_first_seen < to_timestamp_micros(CAST(hour AS BIGINT) - {{min_pool_age_hours}} * 3600000000)
      AND ((other_providers_role AND (provider_had_other_role OR custom_role)) OR NOT known_role)
),
flagged AS (
    SELECT * FROM outside_settings
    UNION ALL
    SELECT h.* FROM from_history h
    WHERE NOT EXISTS (SELECT 1 FROM outside_settings o
                      WHERE o.identity_pool_id = h.identity_pool_id AND o.login_provider = h.login_provider
                        AND o.role_arn = h.role_arn AND o.hour = h.hour)
),
granted AS (
    SELECT f.identity_pool_id, f.login_provider, f.role_arn, f.severity, f.why,
           min(s.event_time) AS first_seen, max(s.event_time) AS last_seen,
           array_agg(s.event_id) AS event_ids,
           array_agg(DISTINCT s.source_ip) FILTER (WHERE s.source_ip IS NOT NULL) AS source_ips,
           array_agg(DISTINCT s.identity_id) FILTER (WHERE s.identity_id IS NOT NULL) AS identities,
           first_value(s.access_key_id) FILTER (WHERE s.access_key_id IS NOT NULL) AS access_key_id,
           count(*) AS events
    FROM flagged f
    JOIN signed_in s
      ON s.identity_pool_id = f.identity_pool_id AND s.login_provider = f.login_provider
     AND s.role_arn = f.role_arn AND date_trunc('hour', s.event_time) = f.hour
    GROUP BY f.identity_pool_id, f.login_provider, f.role_arn, f.severity, f.why
)
SELECT CASE WHEN cardinality(identities) = 1 THEN identities[1] END AS identity_id,
       identity_pool_id, access_key_id, first_seen, last_seen, event_ids, source_ips, severity,
       concat(cardinality(identities), ' identit', CASE WHEN cardinality(identities) = 1 THEN 'y' ELSE 'ies' END,
              ' signed in with ', CASE WHEN login_provider = '' THEN 'an unknown provider' ELSE login_provider END,
              ' held ', role_arn, ', ', why, ' (', events, ' issuance(s) and call(s)): ',
              array_to_string(array_sort(identities), ', ')) AS summary,
       concat(identity_pool_id, '|', login_provider, '|', role_arn) AS finding_key
FROM granted
UNION ALL
SELECT identity_id, nullif(identity_pool_id, '') AS identity_pool_id, access_key_id,
       event_time AS first_seen, event_time AS last_seen, [event_id] AS event_ids,
       CASE WHEN source_ip IS NOT NULL THEN [source_ip] END AS source_ips,
       'medium' AS severity,
       concat('Identity ', coalesce(identity_id, 'unknown'), ' asked Cognito for role ', role_arn,
              ' with customRoleArn and was refused (', error_code, ')') AS summary,
       concat('refused|', event_id) AS finding_key
FROM refused
