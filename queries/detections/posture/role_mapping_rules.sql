/*---
id = "role_mapping_rules"
title = "Role-mapping rules a user can steer"
category = "posture"
severity = "medium"
description = """
Rule-based role mapping picks a signed-in user's role from a claim of their token. Two settings
let a user choose a role the pool's owner did not mean for them:

- a rule matching with **`Contains`** or **`StartsWith`** on a claim outside `trusted_claims`
  (claims the identity provider sets and users cannot: groups, `sub`, `aud`, …). A user who can
  edit their own attribute (`custom:department`, `nickname`, a social profile field) writes
  `xadmin` and matches the `Contains admin` rule;
- **`AmbiguousRoleResolution = AuthenticatedRole`** with rules: a user whom no rule matches gets
  the authenticated role anyway, so rules meant to grant access never deny it (`Deny` fails
  closed).

One finding per pool and provider, naming each rule and the fix. It resolves when a later
inventory shows the fix.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html",
  "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_MappingRule.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html",
]
attack = ["T1078.004", "T1548", "T1098.003"]
false_positives = """
Claims that only administrators can write but are not in `trusted_claims` (an immutable custom
attribute, a claim your IdP sets from HR data): add them to `trusted_claims`.
"""
[tunables]
trusted_claims = ["cognito:groups", "cognito:roles", "cognito:preferred_role", "sub", "aud", "iss", "amr", "email_verified", "phone_number_verified", "identities", "cognito:username"]
---*/
WITH loose_rules AS (
    SELECT account_id, snapshot_id, identity_pool_id, provider,
           string_agg('rule ' || CAST(rule_index AS VARCHAR) || ': ' || claim || ' ' || match_type || ' "' || value || '" gives ' || role_arn, '; ') AS rules
    FROM role_mappings
    WHERE match_type IN ('Contains', 'StartsWith')
      AND NOT array_has({{trusted_claims}}, claim)
    GROUP BY account_id, snapshot_id, identity_pool_id, provider
),
fail_open AS (
    SELECT DISTINCT account_id, snapshot_id, identity_pool_id, provider
    FROM role_mappings
    WHERE mapping_type = 'Rules' AND ambiguous_role_resolution = 'AuthenticatedRole'
),
pairs AS (
    SELECT account_id, snapshot_id, identity_pool_id, provider FROM loose_rules
    UNION
    SELECT account_id, snapshot_id, identity_pool_id, provider FROM fail_open
)
SELECT 'Pool ' || p.identity_pool_id || ', provider ' || p.provider || ': '
         || concat_ws(' Also: ',
              CASE WHEN l.rules IS NOT NULL THEN
                'rules match with Contains/StartsWith on claims a user may be able to set (' || l.rules || '). Fix: match with Equals on a claim the provider controls (cognito:groups).' END,
              CASE WHEN f.provider IS NOT NULL THEN
                'AmbiguousRoleResolution is AuthenticatedRole, so a user no rule matches still gets the authenticated role. Fix: set it to Deny.' END) AS summary,
       p.identity_pool_id,
       p.identity_pool_id || '#' || p.provider AS finding_key,
       s.snapshot_time AS first_seen, s.snapshot_time AS last_seen,
       CAST(make_array() AS VARCHAR[]) AS event_ids
FROM pairs p
JOIN latest_snapshots s ON s.account_id = p.account_id AND s.snapshot_id = p.snapshot_id
LEFT JOIN loose_rules l ON l.identity_pool_id = p.identity_pool_id AND l.provider = p.provider
LEFT JOIN fail_open f ON f.identity_pool_id = p.identity_pool_id AND f.provider = p.provider
