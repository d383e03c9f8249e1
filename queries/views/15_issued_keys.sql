/*---
name = "issued_keys"
description = """
Every access key issued to a Cognito identity, with the identity, pool, auth type, login
provider and role it stands for, and where and when it was issued: the issuances of `credentials`, read from `issuance_events`,
which reaches 12 hours (the longest web-identity session) before the session's events. A
detection judging one hour of calls still attributes a key issued before that hour.
"""
---*/
SELECT issued_access_key_id AS access_key_id,
       first_value(identity_id) AS identity_id,
       first_value(coalesce(identity_pool_id, web_identity_audience)) AS identity_pool_id,
       first_value(auth_type) AS auth_type,
       first_value(login_provider) AS login_provider,
       first_value(role_arn) AS role_arn,
       first_value(source_ip) AS issuing_ip,
       first_value(event_time) AS issued_at,
       first_value(event_id) AS issue_event_id
FROM issuance_events
WHERE error_code IS NULL
  AND issued_access_key_id IS NOT NULL
  AND identity_id IS NOT NULL
  AND (
        (event_source = 'cognito-identity.amazonaws.com' AND event_name = 'GetCredentialsForIdentity')
     OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithWebIdentity'
         AND (identity_provider = 'cognito-identity.amazonaws.com' OR attribution_source IS NOT NULL))
  )
GROUP BY issued_access_key_id
