/*---
name = "credentials"
description = """
Every credential issuance to a Cognito identity: `GetCredentialsForIdentity` (enhanced flow)
and `AssumeRoleWithWebIdentity` through `cognito-identity.amazonaws.com` (basic/classic flow,
or a token from another pool). One row per successful issuance with the issued access key,
identity, pool, auth type, login provider, role, issuing IP and user agent, issue and expiry
time. Failed attempts stay in `events` (error_code set).
"""
---*/
SELECT
    event_id,
    event_time AS issued_at,
    event_date,
    event_name AS issued_by,
    issued_access_key_id AS access_key_id,
    identity_id,
    coalesce(identity_pool_id, web_identity_audience) AS identity_pool_id,
    auth_type,
    login_provider,
    login_providers,
    role_arn,
    source_ip AS issuing_ip,
    user_agent AS issuing_user_agent,
    credentials_expiration AS expires_at,
    web_identity_audience,
    aws_region,
    recipient_account_id,
    ingested_at
FROM events
WHERE error_code IS NULL
  AND (
        (event_source = 'cognito-identity.amazonaws.com' AND event_name = 'GetCredentialsForIdentity')
     OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithWebIdentity'
         AND (identity_provider = 'cognito-identity.amazonaws.com' OR attribution_source IS NOT NULL))
  )
