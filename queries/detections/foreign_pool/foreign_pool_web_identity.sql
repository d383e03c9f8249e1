/*---
id = "foreign_pool_web_identity"
title = "A role was assumed with an identity from another account's pool"
category = "foreign_pool"
severity = "high"
description = """
A role that trusts `cognito-identity.amazonaws.com` must pin the pool in its trust policy
(`"StringEquals": {"cognito-identity.amazonaws.com:aud": "<pool id>"}`). Without that
condition, anyone can create an identity pool in their own account, get an OpenID token for
it, and call `AssumeRoleWithWebIdentity` on the role. This finds `AssumeRoleWithWebIdentity`
calls through Cognito whose audience (pool id) is not one of the account's pools (`pools`:
the config's `own_pools`, else inferred from the trail). Succeeded = critical (the trust
policy is open); denied = high (someone is trying). One finding per role and foreign pool.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#role-trust-and-permissions",
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc_secure-by-default.html",
]
attack = ["T1078.004", "T1199"]
false_positives = """
A pool of another account of the same organisation used on purpose (a shared login across
accounts), or a pool of this account that `own_pools` does not list and that had no successful
GetId in the lake. List the account's pools in `[detect] own_pools`.
"""
---*/
WITH calls AS (
    SELECT *,
           coalesce(web_identity_audience, identity_pool_id) AS audience
    FROM events
    WHERE event_source = 'sts.amazonaws.com'
      AND event_name = 'AssumeRoleWithWebIdentity'
      AND (identity_provider = 'cognito-identity.amazonaws.com'
           OR principal_id LIKE 'cognito-identity.amazonaws.com:%')
)
SELECT first_value(identity_id) AS identity_id,
       audience AS identity_pool_id,
       first_value(issued_access_key_id) FILTER (WHERE issued_access_key_id IS NOT NULL) AS access_key_id,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       array_agg(event_id) AS event_ids,
       array_agg(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL) AS source_ips,
       CASE WHEN count(*) FILTER (WHERE error_code IS NULL) > 0 THEN 'critical' ELSE 'high' END AS severity,
       concat('Role ', coalesce(role_arn, '(unknown role)'), ' was assumed through Cognito by identities of pool ',
              audience, ', which is not one of this account''s pools: ',
              count(*) FILTER (WHERE error_code IS NULL), ' succeeded, ',
              count(*) FILTER (WHERE error_code IS NOT NULL), ' denied') AS summary,
       concat(coalesce(role_arn, ''), '|', audience) AS finding_key
FROM calls
WHERE audience IS NOT NULL
  AND audience NOT IN (SELECT identity_pool_id FROM pools)
GROUP BY role_arn, audience
