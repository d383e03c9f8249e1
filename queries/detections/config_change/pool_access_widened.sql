/*---
id = "pool_access_widened"
title = "Identity pool settings changed in a way that widens access"
category = "config_change"
severity = "medium"
description = """
Identity-pool settings decide who gets AWS credentials at all. These changes widen access:
guests turned on (`allowUnauthenticatedIdentities: true` in CreateIdentityPool or
UpdateIdentityPool), the basic (classic) flow turned on (`allowClassicFlow: true`: identities
may call AssumeRoleWithWebIdentity with any role that trusts the pool), roles or role mappings
replaced (`SetIdentityPoolRoles`), and pools created or deleted. Each successful change is one
finding (high when it enables guests or the classic flow) naming who made it and from where.
Read-only calls (`DescribeIdentityPool`, `GetIdentityPoolRoles`, `ListIdentityPools`) and failed
attempts are not findings.
"""
references = [
  "https://docs.aws.amazon.com/cognito/latest/developerguide/logging-using-cloudtrail.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html",
  "https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html",
]
---*/
WITH changes AS (
    SELECT *,
           lower(coalesce(json_get_str(request_parameters, 'allowUnauthenticatedIdentities'),
                          CAST(json_get_bool(request_parameters, 'allowUnauthenticatedIdentities') AS VARCHAR))) AS guests,
           lower(coalesce(json_get_str(request_parameters, 'allowClassicFlow'),
                          CAST(json_get_bool(request_parameters, 'allowClassicFlow') AS VARCHAR))) AS classic
    FROM events
    WHERE event_source = 'cognito-identity.amazonaws.com'
      AND event_name IN ('CreateIdentityPool', 'UpdateIdentityPool', 'SetIdentityPoolRoles', 'DeleteIdentityPool')
      AND error_code IS NULL
)
SELECT NULL AS identity_id,
       coalesce(identity_pool_id, json_get_str(response_elements, 'identityPoolId')) AS identity_pool_id,
       access_key_id,
       event_time AS first_seen,
       event_time AS last_seen,
       make_array(event_id) AS event_ids,
       make_array(source_ip) AS source_ips,
       CASE WHEN guests = 'true' OR classic = 'true' THEN 'high' ELSE 'medium' END AS severity,
       concat(coalesce(principal_arn, principal_name, 'someone'), ' called ', event_name, ' on pool ',
              coalesce(identity_pool_id, json_get_str(response_elements, 'identityPoolId'), '(unnamed)'),
              CASE WHEN guests = 'true' THEN ': guests (unauthenticated identities) enabled' ELSE '' END,
              CASE WHEN classic = 'true' THEN ': basic (classic) flow enabled' ELSE '' END,
              CASE WHEN event_name = 'SetIdentityPoolRoles' THEN ': roles / role mappings replaced' ELSE '' END,
              CASE WHEN event_name = 'DeleteIdentityPool' THEN ': pool deleted' ELSE '' END,
              ' from ', coalesce(source_ip, source_address, 'an unknown address')) AS summary,
       event_id AS finding_key
FROM changes
WHERE event_name <> 'UpdateIdentityPool' OR guests = 'true' OR classic = 'true'
